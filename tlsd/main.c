/*
 * pombo-tlsd: the handlers' TLS in one long-lived process (or a few),
 * so OpenSSL is loaded and initialised once, not per connection
 * (tests/bench/README.md: three quarters of a handler's TLS CPU was
 * that). The handler keeps the SMTP or POP3 session; tlsd only turns
 * TLS records into plaintext and back. As Postfix's tlsproxy(8).
 *
 * Runs as: the user its unit gives it (one that may read the key),
 *   or started as root with -U, the user it becomes once its socket is
 *   bound; as root without -U it refuses to start. May touch: the certificate and key files a
 *   handler names, its socket. Holds the private key, never the spool.
 * Trusts: handlers by their uid (SO_PEERCRED: root, its own, -u);
 *   nothing from the TLS clients.
 * Logs to syslog, and stderr (the journal).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "log.h"
#include "str.h"
#include "tlsd.h"

#define TLSD_MAX_WORKERS	64
#define TLSD_MAX_USERS		16
#define TLSD_MAX_SESSIONS	4096	/* per worker, fds permitting */
#define TLSD_TICKET_LIFETIME	3600	/* s, as Postfix's tlsmgr */

int tlsd_drain_ms = TLSD_DRAIN_MS;

static void
usage(void)
{
	fprintf(stderr, "usage: pombo-tlsd [-d] [-s socket] [-t seconds] "
	    "[-T seconds] [-U user] [-w workers] [-u user[,user...]]\n");
	exit(64);
}

/* A number option out of its range: say which and why, then the usage. */
static long
number(int opt, const char *arg, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi) {
		fprintf(stderr, "pombo-tlsd: -%c %s: not a number from %ld to "
		    "%ld\n", opt, arg, lo, hi);
		usage();
	}
	return v;
}

/* The socket from systemd (LISTEN_PID, LISTEN_FDS), or -1. */
static int
activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	if (pid == NULL || fds == NULL)
		return -1;
	p = strtol(pid, &end, 10);
	if (*end || p != (long)getpid())
		return -1;
	n = strtol(fds, &end, 10);
	if (*end || n < 1)
		return -1;
	if (n > 1)
		fatalx("expected one socket from systemd, got %ld", n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	/* 3 is SD_LISTEN_FDS_START; accept4 runs until EAGAIN: no blocking */
	if (fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) == -1)
		fatal("the socket from systemd");
	return 3;
}

/*
 * Descriptors left open by whoever started us (an inetd, a shell) are
 * not ours to keep: all but 0-2, and 3 from systemd.
 */
static void
close_inherited(int keep3)
{
	struct rlimit rl;
	rlim_t i, max = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < max)
		max = rl.rlim_cur;
	for (i = keep3 ? 4 : 3; i < max; i++)
		(void)close((int)i);
}

/* -U: become that user, groups and all, and check it took. */
static void
drop_to(const char *name)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if ((pw = getpwnam(name)) == NULL)
		fatalx("-U: no user %s", name);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		fatalx("-U %s: that is root", name);
	if (geteuid() == uid)
		return;
	if (geteuid() != 0)
		fatalx("-U %s: only root can become another user", name);
	if (initgroups(name, gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1)
		fatal("-U %s", name);
	if (setuid(0) != -1 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid)
		fatalx("-U %s: root not given up", name);
	log_info("running as %s", name);
}

/* Bind path, mode 0660 (owner uid, group gid if not -1); a stale socket
 * goes. */
static int
bind_socket(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd;

	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1)
		fatalx("%s: path too long", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket", path);
		/* one that accepts is another tlsd's */
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			fatalx("%s: another pombo-tlsd listens there", path);
		if (fd != -1)
			close(fd);
		if (unlink(path) == -1)
			fatal("unlink %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) == -1)
		fatal("chown %s", path);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen %s", path);
	log_info("listening on %s", path);
	return fd;
}

/* -u: names into uids; the first one's group may connect to -s. */
static size_t
users(char *list, uid_t *uids, gid_t *gid)
{
	struct passwd *pw;
	char *name, *save = NULL;
	size_t n = 0;

	for (name = strtok_r(list, ",", &save); name;
	    name = strtok_r(NULL, ",", &save)) {
		if (n == TLSD_MAX_USERS)
			fatalx("-u: at most %d users", TLSD_MAX_USERS);
		if ((pw = getpwnam(name)) == NULL)
			fatalx("-u: no user %s", name);
		if (n == 0)
			*gid = pw->pw_gid;
		uids[n++] = pw->pw_uid;
	}
	return n;
}

static void
on_term(int sig)
{
	(void)sig;
	tlsd_stop = 1;
}

/*
 * SIGTERM and SIGINT end the loop: blocked but in epoll_pwait (loop.c),
 * so one cannot slip in between the check and the wait. SIGCHLD is the
 * supervisor's (sigwaitinfo).
 */
static void
catch_term(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* A worker: the loop, then out. */
static void __attribute__((noreturn))
work(int lfd, const uid_t *uids, size_t nuids, size_t max)
{
	loop_run(lfd, uids, nuids, max);
	ctxcache_free();
	exit(0);
}

/*
 * The parent of -w workers: it keeps them running (one restart a
 * second at most) and passes SIGTERM on.
 */
static void
supervise(pid_t *pids, int n, int lfd, const uid_t *uids, size_t nuids,
    size_t max)
{
	sigset_t set;
	pid_t pid;
	int i, st, sig;

	/* blocked since catch_term: taken here one at a time, no race */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	while (!tlsd_stop) {
		if ((sig = sigwaitinfo(&set, NULL)) == -1)
			continue;
		if (sig != SIGCHLD)
			break;
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < n && pids[i] != pid; i++)
				;
			if (i == n)
				continue;
			log_warnx("worker %d ended (status %d): started again",
			    (int)pid, st);
			sleep(1);
			if ((pids[i] = fork()) == -1)
				fatal("fork");
			if (pids[i] == 0)
				work(lfd, uids, nuids, max);
		}
	}
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	ctxcache_free();
	exit(0);
}

int
main(int argc, char *argv[])
{
	pid_t pids[TLSD_MAX_WORKERS];
	uid_t uids[TLSD_MAX_USERS];
	const char *path = NULL, *runas = NULL, *p;
	struct passwd *pw;
	struct rlimit rl;
	gid_t gid = (gid_t)-1;
	size_t nuids = 0, max;
	int ch, debug = 0, workers = 1, lfd, i;
	long lifetime = TLSD_TICKET_LIFETIME, drain;

	/* before anything of ours is open; 3 is systemd's if it is for us */
	close_inherited((p = getenv("LISTEN_PID")) != NULL &&
	    strtol(p, NULL, 10) == (long)getpid());
	log_init("pombo/tlsd", 1);
	while ((ch = getopt(argc, argv, "ds:T:t:U:u:w:")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 's':
			path = optarg;
			break;
		case 't':
			lifetime = number('t', optarg, 1, 86400);
			break;
		case 'T':
			drain = number('T', optarg, 1, 3600);
			tlsd_drain_ms = (int)drain * 1000;
			break;
		case 'U':
			runas = optarg;
			break;
		case 'u':
			nuids = users(optarg, uids, &gid);
			break;
		case 'w':
			workers = (int)number('w', optarg, 0,
			    TLSD_MAX_WORKERS);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* -w 0: one a CPU */
	if (workers == 0 && (workers = (int)sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		workers = 1;
	if (workers > TLSD_MAX_WORKERS)
		workers = TLSD_MAX_WORKERS;
	log_set_debug(debug);
	signal(SIGPIPE, SIG_IGN);
	/* the private key in a process that parses TLS: never as root */
	if (geteuid() == 0 && runas == NULL) {
		log_warnx("refusing to run as root: name the user to become "
		    "with -U (one that may read the key)");
		exit(78);	/* EX_CONFIG */
	}
	/* before the socket exists: a SIGTERM from then on waits for the loop */
	catch_term();
	if ((lfd = activated()) == -1) {
		if (path == NULL)
			fatalx("no socket from systemd, and no -s");
		if (runas && (pw = getpwnam(runas)) == NULL)
			fatalx("-U: no user %s", runas);
		lfd = bind_socket(path, runas ? pw->pw_uid : (uid_t)-1, gid);
	} else
		log_info("listening on the socket from systemd");
	/* two descriptors a session: the hard limit, while root may raise it */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (runas)
		drop_to(runas);
	max = TLSD_MAX_SESSIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 32 + 2 * (rlim_t)max)
		max = rl.rlim_cur > 64 ? (size_t)(rl.rlim_cur - 32) / 2 : 16;
	/*
	 * Before the fork: OpenSSL initialised once for all the workers,
	 * and the ticket keys in memory they share, so a ticket from one
	 * resumes on another.
	 */
	if (OPENSSL_init_ssl(0, NULL) != 1 || ticket_init((int)lifetime) == -1)
		fatalx("cannot initialise OpenSSL");
	if (workers == 1)
		work(lfd, uids, nuids, max);
	for (i = 0; i < workers; i++) {
		if ((pids[i] = fork()) == -1)
			fatal("fork");
		if (pids[i] == 0)
			work(lfd, uids, nuids, max);
	}
	supervise(pids, workers, lfd, uids, nuids, max);
	return 0;
}
