/*
 * reexec: the static musl smtpd's two hand-overs to smtpd-full (see
 * reexec.h), and smtpd-full's side of both.
 *
 * TLS: where TLS would run in this process (no tls_proxy, or pombo-tlsd
 * would not serve), smtpd execs smtpd-full with its own arguments and
 * --resume. RFC 3207 4.2 starts the session over after STARTTLS, so
 * little is carried: the error, junk and failed-login counters (a client
 * must not reset them by STARTTLS) and the HELO name, kept only for the
 * session in the clear after a 454 (a certificate smtpd-full cannot
 * load). The client's address, the config and --submission come again
 * from fd 0, -c and argv. The exec happens before the 220: a bad
 * certificate still gets 454, not a closed connection.
 *
 * AUTH: one smtpd-full --check-login child a check, the request on a
 * pipe (never argv or the environment), login_check_as there, and the
 * result on another pipe. Delay, counting and logging stay in auth.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "lineio.h"
#include "log.h"
#include "reexec.h"
#include "str.h"
#include "tls.h"

extern char **environ;

#define REEXEC_ARGV_MAX	32	/* smtpd's own arguments are a handful */

static struct smtp_session *rs;
static int rargc;
static char **rargv;
static const char *rconfpath;

int
reexec_static(void)
{
#ifdef POMBO_STATIC_SMTPD
	return 1;
#else
	return 0;
#endif
}

/* smtpd-full in the folder of the running binary (/proc/self/exe) */
static int
full_path(char *buf, size_t len, char *err, size_t errlen)
{
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0) {
		str_fmt_trunc(err, errlen, "cannot read /proc/self/exe: %s",
		    strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		slash = exe;
	*slash = '\0';
	if (str_fmt(buf, len, "%s/%s", exe, REEXEC_FULL) == -1) {
		str_fmt_trunc(err, errlen, "%s: path too long", exe);
		return -1;
	}
	if (access(buf, X_OK) == -1) {
		str_fmt_trunc(err, errlen, "cannot run %s: %s", buf,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A certificate or key that cannot be opened gets its 454 here, in the
 * session as it is: what the client pipelined after STARTTLS (RFC 3207
 * forbids it) would be lost if smtpd-full said it. One that opens but
 * does not load gets its 454 from smtpd-full.
 */
static int
readable(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, ok;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		str_fmt_trunc(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return 0;
	}
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	if (!ok)
		str_fmt_trunc(err, errlen, "%s: not a regular file", path);
	return ok;
}

/* tls_inprocess_hook: exec smtpd-full for the rest of the session */
static int
tls_handover(const char *ready, char *err, size_t errlen)
{
	char path[PATH_MAX], resume[80], helo[sizeof(rs->helo) + 16];
	char *av[REEXEC_ARGV_MAX];
	size_t junk;
	int i, n = 0;

	if (!readable(rs->conf->tls_cert, err, errlen) ||
	    !readable(rs->conf->tls_key, err, errlen) ||
	    full_path(path, sizeof(path), err, errlen) == -1)
		return -1;
	if (rargc + 3 > REEXEC_ARGV_MAX) {
		str_copy_trunc(err, "too many arguments to hand over", errlen);
		return -1;
	}
	av[n++] = path;
	for (i = 1; i < rargc; i++)
		av[n++] = rargv[i];
	if (ready == NULL)
		str_copy_trunc(resume, "--resume=implicit", sizeof(resume));
	else
		str_fmt_trunc(resume, sizeof(resume),
		    "--resume=starttls:%u:%u:%u:%d", rs->errors, rs->junk,
		    rs->auth_failures, rs->esmtp);
	av[n++] = resume;
	if (ready != NULL && rs->helo[0] != '\0') {
		str_fmt_trunc(helo, sizeof(helo), "--resume-helo=%s", rs->helo);
		av[n++] = helo;
	}
	av[n] = NULL;
	/* what smtpd-full must not see: queued's connection, our buffers */
	submit_quit(rs);
	if (lineio_flush(&rs->io) == -1) {
		str_copy_trunc(err, "cannot write to the client", errlen);
		return -1;
	}
	if ((junk = lineio_discard_input(&rs->io)) > 0)
		log_warnx("%s: %zu octets pipelined after STARTTLS discarded",
		    rs->client, junk);
	log_debug("%s: TLS in %s", rs->client, path);
	execve(path, av, environ);
	str_fmt_trunc(err, errlen, "cannot run %s: %s", path, strerror(errno));
	return -1;
}

void
reexec_init(struct smtp_session *s, int argc, char **argv,
    const char *confpath)
{
	rs = s;
	rargc = argc;
	rargv = argv;
	rconfpath = confpath;
	if (reexec_static())
		tls_inprocess_hook = tls_handover;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The child's answer, within the session's timeout. */
static enum login_result
check_child(const struct conf *conf, int in, int out, const char *req,
    size_t reqlen, char *addr, size_t addrlen)
{
	int64_t deadline = lineio_now() + (int64_t)conf->smtp_timeout * 1000;
	char res[16 + ADDR_MAX + 2], *nl;
	size_t got = 0;
	ssize_t n;
	int r;

	/* a pipe holds 64 KiB: this write does not wait for the child */
	r = write_all(in, req, reqlen);
	close(in);
	if (r == -1)
		return LOGIN_TEMP;
	while (got < sizeof(res) - 1) {
		if (lineio_wait(out, POLLIN, deadline) <= 0)
			return LOGIN_TEMP;
		if ((n = read(out, res + got, sizeof(res) - 1 - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	res[got] = '\0';
	if (got < 3 || res[1] != ' ' || (nl = strchr(res, '\n')) == NULL)
		return LOGIN_TEMP;
	*nl = '\0';
	switch (res[0]) {
	case '0' + LOGIN_OK:
	case '0' + LOGIN_AUTHZ:
		if (str_copy(addr, res + 2, addrlen) == -1)
			return LOGIN_TEMP;
		return res[0] - '0';
	case '0' + LOGIN_FAIL:
		return LOGIN_FAIL;
	default:
		return LOGIN_TEMP;
	}
}

enum login_result
reexec_login_check(const struct conf *conf, const char *authzid,
    const char *name, const char *password, char *addr, size_t addrlen)
{
	char path[PATH_MAX], err[PATH_MAX + 64], req[REEXEC_REQ_MAX];
	char *av[5];
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, n = 0, status;
	enum login_result r = LOGIN_TEMP;
	size_t la, ln, lp;
	pid_t pid = -1;

	if (!reexec_static())
		return login_check_as(conf, authzid, name, password, addr,
		    addrlen, NULL, 0);
	la = strlen(authzid) + 1;
	ln = strlen(name) + 1;
	lp = strlen(password) + 1;
	if (la + ln + lp > sizeof(req))
		return LOGIN_FAIL;	/* longer than SASL allows: never right */
	memcpy(req, authzid, la);
	memcpy(req + la, name, ln);
	memcpy(req + la + ln, password, lp);
	if (full_path(path, sizeof(path), err, sizeof(err)) == -1) {
		log_warnx("%s: cannot check passwords: %s", rs->client, err);
		goto done;
	}
	av[n++] = path;
	av[n++] = "--check-login";
	if (rconfpath != NULL) {
		av[n++] = "-c";
		av[n++] = (char *)rconfpath;
	}
	av[n] = NULL;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		log_warn("%s: cannot check passwords: pipe", rs->client);
		goto done;
	}
	/* stdin the request, stdout the result; stderr may be the client */
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto done;
	if (posix_spawn_file_actions_adddup2(&fa, in[0], 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
	    0) != 0 ||
	    (errno = posix_spawn(&pid, path, &fa, NULL, av, environ)) != 0) {
		log_warn("%s: cannot check passwords: %s", rs->client, path);
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (pid != -1) {
		r = check_child(conf, in[1], out[0], req, la + ln + lp, addr,
		    addrlen);
		in[1] = -1;	/* check_child closed it */
		if (r == LOGIN_TEMP)
			kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (r == LOGIN_TEMP)
			log_warnx("%s: the password check (%s) failed",
			    rs->client, path);
	}
done:
	explicit_bzero(req, sizeof(req));
	if (in[1] != -1)
		close(in[1]);
	if (out[0] != -1)
		close(out[0]);
	return r;
}

int
reexec_check_login_main(const char *confpath)
{
	char req[REEXEC_REQ_MAX + 1], addr[ADDR_MAX + 1];
	const char *authz, *name, *pass, *end;
	struct conf_error cerr;
	struct conf conf;
	enum login_result r = LOGIN_TEMP;
	size_t got = 0;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	log_init("pombo/smtpd", 0);
	addr[0] = '\0';
	/* one request, then EOF: more than REEXEC_REQ_MAX is no request */
	while (got < sizeof(req)) {
		if ((n = read(0, req + got, sizeof(req) - got)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* three strings, each NUL-terminated, filling req exactly */
	end = req + got;
	authz = req;
	name = pass = end;
	if (got > 0 && got <= REEXEC_REQ_MAX && req[got - 1] == '\0' &&
	    (name = authz + strlen(authz) + 1) < end)
		pass = name + strlen(name) + 1;
	if (pass >= end || pass + strlen(pass) + 1 != end) {
		log_warnx("--check-login: malformed request");
		goto out;
	}
	if (conf_load(&conf, conf_path(confpath), &cerr) == -1) {
		log_warnx("%s", cerr.msg);
		conf_free(&conf);
		goto out;
	}
	log_set_file(conf.log_file);
	r = login_check_as(&conf, authz, name, pass, addr, sizeof(addr), NULL,
	    0);
	conf_free(&conf);
out:
	explicit_bzero(req, sizeof(req));
	if (r != LOGIN_OK && r != LOGIN_AUTHZ)
		addr[0] = '\0';
	if (dprintf(1, "%d %s\n", (int)r, addr) < 0)
		return 1;
	return 0;
}

int
reexec_resume(struct smtp_session *s, struct conf *conf, const char *arg,
    const char *helo)
{
	char cmd[] = "STARTTLS";
	unsigned e, j, a;
	int esmtp, end = 0;

	/* the static smtpd asked pombo-tlsd already: not twice */
	if (conf->tls_proxy[0] != '\0')
		conf->tls_proxy[0] = '\0';
	if (strcmp(arg, "implicit") == 0)
		return REEXEC_IMPLICIT;
	if (sscanf(arg, "starttls:%u:%u:%u:%d%n", &e, &j, &a, &esmtp,
	    &end) != 4 || arg[end] != '\0')
		return -1;
	s->errors = e;
	s->junk = j;
	s->auth_failures = a;
	s->esmtp = esmtp != 0;
	if (helo != NULL && helo[0] != '\0') {
		/* checked as HELO checks it: it was a client's */
		if (strlen(helo) > SMTP_HELO_MAX ||
		    !addr_helo_valid(helo, strlen(helo)))
			return -1;
		str_copy_trunc(s->helo, helo, sizeof(s->helo));
		s->state = ST_GREETED;
	}
	/* the command the static smtpd read, answered through the table */
	smtpd_commands_dispatch(s, cmd, sizeof(cmd) - 1);
	return REEXEC_STARTTLS;
}
