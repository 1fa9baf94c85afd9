/* smtpc and dns: reply lines, EHLO keywords, MX ordering, a message
 * that cannot be read whole. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dns.h"
#include "dnswire.h"
#include "smtpc.h"

Test(smtpc, reply_lines)
{
	static const struct { const char *line; int ok, code, more; } t[] = {
		{ "250 ok", 1, 250, 0 },
		{ "250-PIPELINING", 1, 250, 1 },
		{ "354", 1, 354, 0 },
		{ "550 5.1.1 no", 1, 550, 0 },
		{ "199 x", 0, 0, 0 },
		{ "600 x", 0, 0, 0 },
		{ "25 x", 0, 0, 0 },
		{ "250x", 0, 0, 0 },
		{ "abc", 0, 0, 0 },
		{ "", 0, 0, 0 },
	};
	size_t i;
	int code, more;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = smtpc_reply_line(t[i].line, &code, &more);
		cr_expect_eq(rc == 0, t[i].ok, "%s", t[i].line);
		if (rc == 0) {
			cr_expect_eq(code, t[i].code);
			cr_expect_eq(more, t[i].more);
		}
	}
}

Test(smtpc, ehlo_keywords)
{
	uint64_t size = 0;

	cr_expect_eq(smtpc_parse_ehlo("PIPELINING", &size), EXT_PIPELINING);
	cr_expect_eq(smtpc_parse_ehlo("8bitmime", &size), EXT_8BITMIME);
	cr_expect_eq(smtpc_parse_ehlo("SIZE 10240000", &size), EXT_SIZE);
	cr_expect_eq(size, 10240000);
	cr_expect_eq(smtpc_parse_ehlo("SIZE", &size), EXT_SIZE);
	cr_expect_eq(size, 0, "SIZE without a number: no limit");
	cr_expect_eq(smtpc_parse_ehlo("STARTTLS", &size), EXT_STARTTLS);
	cr_expect_eq(smtpc_parse_ehlo("X-UNKNOWN", &size), 0);
	cr_expect_eq(smtpc_parse_ehlo("", &size), 0);
}

static unsigned seq;
static unsigned
fake_rand(void)
{
	return seq++;
}

/* Everything the server side of a socketpair got, up to EOF or 2 s. */
static size_t
drain(int fd, char *buf, size_t len)
{
	struct timeval tv = { 2, 0 };
	size_t n = 0;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

/*
 * A queue file shorter than its envelope says (it shrank after it was
 * queued): no final dot may go out, or the server would take a truncated
 * message, and the connection must be closed, or the next command would
 * be read as the message's text.
 */
Test(smtpc, short_read_closes_without_dot)
{
	static char got[1 << 20];
	char path[] = "/tmp/smtpc_test.XXXXXX";
	char path2[] = "/tmp/smtpc_test.XXXXXX";
	struct smtpc c;
	int sv[2], fd;
	size_t i;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert((fd = mkstemp(path)) != -1);
	unlink(path);
	for (i = 0; i < 2000; i++)
		cr_assert_eq(write(fd, "a line of the message\n", 22), 22);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	lineio_init(&c.io, sv[0], sv[0]);
	c.io.write_timeout_ms = 5000;
	/* the envelope says 100 octets more than the file has */
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 2000 * 22 + 100, 0, NULL,
	    0), -2);
	cr_expect_eq(c.fd, -1, "the connection is closed");
	drain(sv[1], got, sizeof(got));
	cr_expect(strstr(got, "\r\n.\r\n") == NULL, "no final dot was sent");
	close(sv[1]);
	close(fd);

	/* the whole file: the dot goes out */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert((fd = mkstemp(path2)) != -1);
	unlink(path2);
	cr_assert_eq(write(fd, "one\n.two\n", 9), 9);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	lineio_init(&c.io, sv[0], sv[0]);
	c.io.write_timeout_ms = 5000;
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), 0);
	smtpc_close(&c);
	drain(sv[1], got, sizeof(got));
	cr_expect_str_eq(got, "one\r\n..two\r\n.\r\n");
	close(sv[1]);
	close(fd);
}

/* A message of 9 octets in a file, and a client on sv[0]. */
static int
early_setup(struct smtpc *c, int sv[2])
{
	char path[] = "/tmp/smtpc_test.XXXXXX";
	int fd;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert((fd = mkstemp(path)) != -1);
	unlink(path);
	cr_assert_eq(write(fd, "one\n.two\n", 9), 9);
	memset(c, 0, sizeof(*c));
	c->fd = sv[0];
	lineio_init(&c->io, sv[0], sv[0]);
	c->io.write_timeout_ms = 5000;
	return fd;
}

/*
 * A transport like TLS's: the socket is readable, but what arrives is a
 * record with no application data in it (a TLS 1.3 KeyUpdate or
 * NewSessionTicket): it is consumed, and the read says EAGAIN.
 */
static ssize_t
record_read(void *ctx, void *buf, size_t len)
{
	struct lineio *io = ctx;
	char junk[256];

	(void)buf;
	(void)len;
	while (recv(io->rfd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	errno = EAGAIN;
	return -1;
}

static ssize_t
record_write(void *ctx, const void *buf, size_t len)
{
	struct lineio *io = ctx;

	return write(io->wfd, buf, len);
}

static size_t
record_pending(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct lineio_ops record_ops = { record_read, record_write,
    record_pending, NULL };

/*
 * A reply before the end of the data (a 250 sent with the 354) is out of
 * step: no dot, the connection closed, -3. But only a reply is: a socket
 * made readable by a TLS record that carries none, or by a server that
 * closed, is no reply, and the dot goes out (a closed server is then
 * found by the read after it).
 */
Test(smtpc, early_reply)
{
	static char got[4096];
	struct smtpc c;
	int sv[2], fd;

	fd = early_setup(&c, sv);
	cr_assert_eq(write(sv[1], "250 2.0.0 early\r\n", 17), 17);
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), -3);
	cr_expect_eq(c.fd, -1, "the connection is closed");
	drain(sv[1], got, sizeof(got));
	cr_expect_str_eq(got, "one\r\n..two\r\n", "no final dot");
	close(sv[1]);
	close(fd);

	fd = early_setup(&c, sv);
	lineio_set_ops(&c.io, &record_ops, &c.io);
	cr_assert_eq(write(sv[1], "\x17\x03\x03\x00\x13nothing-for-smtp", 21),
	    21);
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), 0,
	    "a TLS record without application data is no reply");
	smtpc_close(&c);
	drain(sv[1], got, sizeof(got));
	cr_expect_str_eq(got, "one\r\n..two\r\n.\r\n");
	close(sv[1]);
	close(fd);

	fd = early_setup(&c, sv);
	cr_assert_eq(shutdown(sv[1], SHUT_WR), 0);
	cr_expect_neq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), -3,
	    "a server that closed said nothing");
	smtpc_close(&c);
	close(sv[1]);
	close(fd);
}

/*
 * A transport that is slow to take the message (a server reading it
 * slowly, a full socket buffer): the last of the data still waits in the
 * output buffer when the early reply is looked for. Sending it is no
 * reason to miss the reply already there.
 */
static ssize_t
slow_read(void *ctx, void *buf, size_t len)
{
	struct lineio *io = ctx;

	return read(io->rfd, buf, len);
}

static ssize_t
slow_write(void *ctx, const void *buf, size_t len)
{
	struct lineio *io = ctx;

	usleep(30000);
	return write(io->wfd, buf, len);
}

static const struct lineio_ops slow_ops = { slow_read, slow_write,
    record_pending, NULL };

Test(smtpc, early_reply_slow_writer)
{
	static char got[4096];
	struct smtpc c;
	int sv[2], fd;

	fd = early_setup(&c, sv);
	lineio_set_ops(&c.io, &slow_ops, &c.io);
	cr_assert_eq(write(sv[1], "250 2.0.0 early\r\n", 17), 17);
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), -3,
	    "a reply there before the dot, the data written slowly");
	drain(sv[1], got, sizeof(got));
	cr_expect_str_eq(got, "one\r\n..two\r\n", "no final dot");
	close(sv[1]);
	close(fd);
}

/*
 * No reply waiting (the usual case): the end of the data and the dot go
 * out in one write. Flushed apart, the dot is a small segment that
 * Nagle holds until the server ACKs the data: a delayed ACK a message.
 */
static int nwrites;

static ssize_t
counting_write(void *ctx, const void *buf, size_t len)
{
	struct lineio *io = ctx;

	nwrites++;
	return write(io->wfd, buf, len);
}

static const struct lineio_ops counting_ops = { slow_read, counting_write,
    record_pending, NULL };

Test(smtpc, data_and_dot_in_one_write)
{
	static char got[4096];
	struct smtpc c;
	int sv[2], fd;

	fd = early_setup(&c, sv);
	lineio_set_ops(&c.io, &counting_ops, &c.io);
	nwrites = 0;
	cr_expect_eq(smtpc_send_message(&c, fd, 0, 9, 0, NULL, 0), 0);
	cr_expect_eq(nwrites, 1, "the data and the dot in one write, not %d",
	    nwrites);
	smtpc_close(&c);
	drain(sv[1], got, sizeof(got));
	cr_expect_str_eq(got, "one\r\n..two\r\n.\r\n");
	close(sv[1]);
	close(fd);
}

Test(dns, mx_sorting)
{
	struct dns_mx mx[5] = {
		{ "c.test", 20 }, { "a.test", 10 }, { "d.test", 30 },
		{ "b.test", 10 }, { "e.test", 20 },
	};
	size_t i;
	int seen_a_first = 0, seen_b_first = 0;

	for (i = 0; i < 8; i++) {
		struct dns_mx m[5];
		memcpy(m, mx, sizeof(m));
		seq = (unsigned)i;
		dns_sort_mx(m, 5, fake_rand);
		cr_expect_eq(m[0].pref, 10);
		cr_expect_eq(m[1].pref, 10);
		cr_expect_eq(m[2].pref, 20);
		cr_expect_eq(m[3].pref, 20);
		cr_expect_str_eq(m[4].host, "d.test");
		seen_a_first |= strcmp(m[0].host, "a.test") == 0;
		seen_b_first |= strcmp(m[0].host, "b.test") == 0;
	}
	cr_expect(seen_a_first && seen_b_first, "equal preferences shuffled");
	{
		struct dns_mx null[1] = { { "", 0 } };
		struct dns_mx notnull[1] = { { "", 10 } };
		cr_expect(dns_is_null_mx(null, 1));
		cr_expect_not(dns_is_null_mx(notnull, 1));
		cr_expect_not(dns_is_null_mx(mx, 5));
	}
}
