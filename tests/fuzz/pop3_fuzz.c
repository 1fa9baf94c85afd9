/*
 * pop3_fuzz: a whole pop3d session (pop3d/session.c, commands.c, the
 * command table and the line reader) driven by the input as the client's
 * byte stream. pop3d's parsing is not a pure function: it replies as it
 * goes. So the session runs over an in-memory transport (lineio ops),
 * with a users file of one user ("bob", password "secret") and a
 * mail_root that does not exist (a login opens an empty maildrop and no
 * file is ever touched). Octet 0: bit 0 starts the session already in
 * the TRANSACTION state over up to 7 fake messages (bits 1-3), so the
 * message-number commands are reached without a login; bit 4 makes it a
 * pipe, bit 5 a loopback client (else passwords in clear text are
 * refused, as from anywhere without TLS). The crypt(3) check is replaced
 * below by a plain comparison: its cost would only slow the fuzzer.
 * Invariants: the session ends; every reply line ends in CRLF with no
 * other CR or LF; the first is the greeting; at most one status line
 * (+OK/-ERR) per command line, plus the greeting.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "password.h"
#include "pop3d.h"
#include "str.h"


/* The stand-in for shared/password.c (not linked into this harness). */
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

static struct conf conf;
static char users_path[] = "/tmp/pombo-pop3-fuzz-XXXXXX";

static void
cleanup(void)
{
	unlink(users_path);
	conf_free(&conf);
}

static void
setup(void)
{
	static const char users[] = "bob@example.test:$fuzz$\n";
	struct conf_error err;
	char text[512];
	int fd;

	if ((fd = mkstemp(users_path)) == -1 ||
	    write(fd, users, sizeof(users) - 1) != sizeof(users) - 1)
		abort();
	close(fd);
	snprintf(text, sizeof(text), "hostname = mx.test\n"
	    "local_domains = example.test\n"
	    "mail_root = /nonexistent/pombo-fuzz/mail\n"
	    "users_file = %s\nlogin_delay = 0\n", users_path);
	conf_defaults(&conf);
	if (conf_parse(&conf, text, strlen(text), "fuzz", &err) == -1)
		abort();
	atexit(cleanup);
}

/* A maildrop of n messages that exist only in memory (no descriptors). */
static void
fake_mailbox(struct mailbox *mb, size_t n)
{
	size_t i;

	mb->arena = malloc(n * 32 + 1);
	mb->msg = calloc(n + 1, sizeof(*mb->msg));
	mb->cap = n + 1;
	for (i = 0; i < n; i++) {
		int len = snprintf(mb->arena + mb->arena_len, 32,
		    "%zu.fuzz,S=%zu,W=%zu%s", 1000 + i, 10 * i, 11 * i,
		    i % 2 ? ":2,S" : "");
		mb->msg[i].name = (uint32_t)mb->arena_len;
		mb->msg[i].size = 11 * i;
		mb->msg[i].flags = i % 2 ? MSG_CUR : 0;
		mb->arena_len += (size_t)len + 1;
		mb->total_size += 11 * i;
	}
	mb->n = n;
}

static size_t
count_lines(const uint8_t *p, size_t n)
{
	size_t i, lines = 0;

	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct pop3_session s;
	struct fuzz_transport t;
	size_t i, status = 0;

	if (size < 1)
		return 0;
	if (!ready++)
		setup();
	fuzz_transport_session(&t, data, size);
	/* a pipe, a loopback client or a remote one: passwords in clear
	 * text are taken from the first two only */
	/* pop3d_session_init wants zeroed storage, as a program's static one */
	memset(&s, 0, sizeof(s));
	pop3d_session_init(&s, &conf, -1, -1, (data[0] & 0x10) != 0,
	    data[0] & 0x20 ? "127.0.0.1" : "192.0.2.1");
	lineio_set_ops(&s.io, &fuzz_transport_ops, &t);
	if (data[0] & 1) {
		fake_mailbox(&s.mb, (data[0] >> 1) & 7);
		s.state = ST_TRANSACTION;
		str_copy_trunc(s.addr, "bob@example.test", sizeof(s.addr));
	}
	pop3d_session_run(&s);
	pop3d_session_free(&s);
	/* every line ends in CRLF; no CR or LF elsewhere */
	FUZZ_ASSERT(t.olen >= 29);	/* the greeting, at least */
	for (i = 0; i < t.olen && t.olen < FUZZ_SESSION_OUT; i++) {
		if (t.out[i] == '\r')
			FUZZ_ASSERT(i + 1 < t.olen && t.out[i + 1] == '\n');
		if (t.out[i] == '\n')
			FUZZ_ASSERT(i > 0 && t.out[i - 1] == '\r');
		if (i == 0 || t.out[i - 1] == '\n')
			status += strncmp(t.out + i, "+OK", 3) == 0 ||
			    strncmp(t.out + i, "-ERR", 4) == 0;
	}
	FUZZ_ASSERT(strncmp(t.out, "+OK Pombo POP3 server ready\r\n", 29) == 0);
	if (t.olen < FUZZ_SESSION_OUT)
		FUZZ_ASSERT(status <= 1 + count_lines(t.in, t.len));
	return 0;
}
