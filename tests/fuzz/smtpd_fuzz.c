/*
 * smtpd_fuzz: a whole smtpd session (smtpd/session.c, commands.c,
 * auth.c, submit.c, data.c and the line reader) driven by the input as
 * the client's byte stream over an in-memory transport, with a fake
 * queued in a thread on a Unix socket. smtpd's parsing replies as it
 * goes, so the session is the unit. The fake queue checks every line
 * smtpd sends with queued's own decoders (qproto_parse_cmd, _helo,
 * _chunk, esmtp_parse_mail/rcpt with esmtp on): smtpd faces the
 * Internet, and must never pass on what queued would refuse. It
 * accepts everything but recipients whose local part starts with "no".
 * Octet 0: bit 0 a pipe (else a socket), bit 1 a loopback client, bit 2
 * submission mode, bit 3 a 200-octet message size limit. The crypt(3)
 * check is a plain comparison here (user bob, password "secret").
 * Invariants: every reply line is "ddd" and a blank or "-", ends in
 * CRLF, the first is 220; a message is "queued as" exactly when the
 * queue committed it, and a committed message starts with smtpd's
 * Received: line and holds no CR (CRLF and dot-stuffing are undone,
 * bare CRs refused).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "esmtp.h"
#include "fuzz.h"
#include "password.h"
#include "qproto.h"
#include "smtpd.h"
#include "str.h"

#define MSG_MAX		(1 << 20)

/* ---- the fake queued ---- */

static int committed;		/* messages the fake queue took */

struct qconn {
	int	fd;
	char	buf[8192];
	size_t	pos, len;
};

static int
q_getc(struct qconn *c)
{
	ssize_t n;

	if (c->pos == c->len) {
		do
			n = read(c->fd, c->buf, sizeof(c->buf));
		while (n == -1 && errno == EINTR);
		if (n <= 0)
			return -1;
		c->pos = 0;
		c->len = (size_t)n;
	}
	return (unsigned char)c->buf[c->pos++];
}

/* One line without its LF; -1 at EOF. Lines are bounded by smtpd. */
static int
q_line(struct qconn *c, char *line, size_t max)
{
	size_t n = 0;
	int ch;

	while ((ch = q_getc(c)) != -1 && ch != '\n') {
		FUZZ_ASSERT(n + 1 < max);
		line[n++] = (char)ch;
	}
	line[n] = '\0';
	return ch == -1 ? -1 : 0;
}

static void
q_reply(struct qconn *c, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	/* smtpd may be gone already: no SIGPIPE */
	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
	(void)send(c->fd, "\n", 1, MSG_NOSIGNAL);
}

/* DATA: chunks until "0" (commit) or "ABORT". */
static void
q_data(struct qconn *c, char *msg)
{
	char line[64];
	size_t len = 0;
	long n;
	int ch;

	for (;;) {
		if (q_line(c, line, sizeof(line)) == -1)
			return;		/* smtpd gone: the half message drops */
		/*
		 * smtpd ends its queue conversation by closing it (no QUIT
		 * since issue 19); a QUIT where a chunk header belongs, as
		 * an older smtpd sent when its client went away inside
		 * DATA, is taken as the end; any other line is a bug.
		 */
		if (strcmp(line, "QUIT") == 0)
			return;
		n = qproto_parse_chunk(line);
		FUZZ_ASSERT(n != -1);
		if (n == -2) {
			q_reply(c, "250 2.0.0 Message dropped");
			return;
		}
		if (n == 0)
			break;
		while (n-- > 0) {
			FUZZ_ASSERT((ch = q_getc(c)) != -1);
			FUZZ_ASSERT(len < MSG_MAX);
			msg[len++] = (char)ch;
		}
	}
	FUZZ_ASSERT(len >= 10 && strncmp(msg, "Received: ", 10) == 0);
	FUZZ_ASSERT(memchr(msg, '\r', len) == NULL);
	__atomic_add_fetch(&committed, 1, __ATOMIC_SEQ_CST);
	q_reply(c, "250 2.0.0 Ok: queued as 01k177h582jc");
}

static void
q_serve(int fd, char *msg)
{
	struct qconn c = { fd, "", 0, 0 };
	char line[QPROTO_LINE_MAX + 16], arg[QPROTO_LINE_MAX + 16];
	struct qcmd cmd;
	struct qhelo h;
	struct mail_args m;
	struct rcpt_args r;
	struct esmtp_err err;

	while (q_line(&c, line, sizeof(line)) == 0) {
		if (strcmp(line, "POMBO 1") == 0) {
			q_reply(&c, "250 2.0.0 Pombo queue protocol 1");
			continue;
		}
		/* what smtpd sends, queued must be able to read */
		FUZZ_ASSERT(qproto_parse_cmd(line, &cmd) == 0);
		switch (cmd.verb) {
		case QCMD_HELO:
			FUZZ_ASSERT(qproto_parse_helo(cmd.arg, &h) == 0);
			q_reply(&c, "250 2.0.0 Hello");
			break;
		case QCMD_MAIL:
			FUZZ_ASSERT(str_fmt(arg, sizeof(arg), "FROM:%s",
			    cmd.arg) != -1);
			FUZZ_ASSERT(esmtp_parse_mail(arg, 1, &m, &err) == 0);
			q_reply(&c, "250 2.1.0 Ok");
			break;
		case QCMD_RCPT:
			FUZZ_ASSERT(str_fmt(arg, sizeof(arg), "TO:%s",
			    cmd.arg) != -1);
			FUZZ_ASSERT(esmtp_parse_rcpt(arg, 1, 1, &r, &err) == 0);
			q_reply(&c, strncasecmp(r.to.local, "no", 2) == 0 ?
			    "550 5.1.1 Recipient address rejected" :
			    "250 2.1.5 Ok");
			break;
		case QCMD_DATA:
			q_reply(&c, "354 01k177h582jc Send the message in chunks");
			q_data(&c, msg);
			break;
		case QCMD_RSET:
			q_reply(&c, "250 2.0.0 Ok");
			break;
		case QCMD_QUIT:
			q_reply(&c, "221 2.0.0 Bye");
			return;
		case QCMD_VRFY:
		case QCMD_EXPN:
			q_reply(&c, "252 2.5.2 Maybe");
			break;
		default:
			fuzz_fail(__FILE__, __LINE__, "smtpd sent an admin verb");
		}
	}
}

static void *
q_thread(void *arg)
{
	int lfd = *(int *)arg, fd;
	char *msg = malloc(MSG_MAX);

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		q_serve(fd, msg);
		close(fd);
	}
	return NULL;
}

/* ---- the client side ---- */

int
password_check(const char *hash, const char *password)
{
	return hash != NULL && strcmp(hash, "$fuzz$") == 0 &&
	    strcmp(password, "secret") == 0;
}

/* every hash one kind: one check a login, as the real one with one user */
size_t
password_cost_prefix(const char *hash)
{
	(void)hash;
	return 0;
}

static struct conf conf, small;
static char dir[] = "/tmp/pombo-smtpd-fuzz-XXXXXX";
static char users_path[64], sock_path[64];

static void
cleanup(void)
{
	unlink(users_path);
	unlink(sock_path);
	rmdir(dir);
}

static void
setup(void)
{
	static const char users[] = "bob@example.test:$fuzz$\n";
	static int lfd;
	struct sockaddr_un sun;
	struct conf_error err;
	pthread_t th;
	char text[1024];
	FILE *f;

	signal(SIGPIPE, SIG_IGN);	/* as smtpd's main() does */
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(users_path, sizeof(users_path), "%s/users", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/q.sock", dir);
	if ((f = fopen(users_path, "w")) == NULL)
		abort();
	fputs(users, f);
	fclose(f);
	atexit(cleanup);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sock_path, sizeof(sun.sun_path)) == -1 ||
	    (lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 16) == -1 ||
	    pthread_create(&th, NULL, q_thread, &lfd) != 0)
		abort();
	snprintf(text, sizeof(text), "hostname = mx.test\n"
	    "local_domains = example.test\nusers_file = %s\n"
	    "queue_socket = %s\nlogin_delay = 0\n", users_path, sock_path);
	conf_defaults(&conf);
	conf_defaults(&small);
	if (conf_parse(&conf, text, strlen(text), "fuzz", &err) == -1 ||
	    conf_parse(&small, text, strlen(text), "fuzz", &err) == -1)
		abort();
	small.max_message_size = 200;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct smtp_session s;
	struct fuzz_transport t;
	size_t i, queued_as = 0;
	int before;

	if (size < 1)
		return 0;
	if (!ready++)
		setup();
	fuzz_transport_session(&t, data, size);
	before = __atomic_load_n(&committed, __ATOMIC_SEQ_CST);
	/* smtpd_session_init wants zeroed storage, as a program's static one */
	memset(&s, 0, sizeof(s));
	smtpd_session_init(&s, data[0] & 8 ? &small : &conf, -1, -1, data[0] & 1,
	    data[0] & 2 ? "127.0.0.1" : "192.0.2.1");
	s.submission = (data[0] & 4) != 0;
	lineio_set_ops(&s.io, &fuzz_transport_ops, &t);
	smtpd_session_run(&s);
	FUZZ_ASSERT(t.olen >= 6 && strncmp(t.out, "220 ", 4) == 0);
	for (i = 0; i < t.olen && t.olen < FUZZ_SESSION_OUT; i++) {
		if (t.out[i] == '\r')
			FUZZ_ASSERT(i + 1 < t.olen && t.out[i + 1] == '\n');
		if (t.out[i] == '\n')
			FUZZ_ASSERT(i > 0 && t.out[i - 1] == '\r');
		if (i > 0 && t.out[i - 1] != '\n')
			continue;
		/* a reply line: "ddd" and a blank or a hyphen */
		FUZZ_ASSERT(t.olen - i >= 4 && t.out[i] >= '2' &&
		    t.out[i] <= '5' && t.out[i + 1] >= '0' &&
		    t.out[i + 1] <= '9' && t.out[i + 2] >= '0' &&
		    t.out[i + 2] <= '9' && (t.out[i + 3] == ' ' ||
		    t.out[i + 3] == '-' || t.out[i + 3] == '\r'));
		queued_as += t.olen - i > 26 &&
		    strncmp(t.out + i, "250 2.0.0 Ok: queued as ", 24) == 0;
	}
	if (t.olen < FUZZ_SESSION_OUT)
		FUZZ_ASSERT((int)queued_as == __atomic_load_n(&committed,
		    __ATOMIC_SEQ_CST) - before);
	return 0;
}
