/* lineio: bounded lines, bare LF flag, too-long skip, timeout, EOF. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lineio.h"

static int sv[2];
static struct lineio io;

static void
setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	lineio_init(&io, sv[0], sv[0]);
}

static void
send_str(const char *s)
{
	cr_assert_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

Test(lineio, lines_and_results, .init = setup)
{
	char line[11];
	size_t len;
	int crlf;
	char big[100];

	memset(big, 'x', sizeof(big));
	send_str("one\r\ntwo\nexactly10c\r\n");
	cr_assert_eq(write(sv[1], big, sizeof(big)), (ssize_t)sizeof(big));
	send_str("\r\nafter\r\nno end");
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_OK);
	cr_expect_str_eq(line, "one");
	cr_expect_eq(crlf, 1);
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_OK);
	cr_expect_str_eq(line, "two");
	cr_expect_eq(crlf, 0);
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_OK);
	cr_expect_str_eq(line, "exactly10c");
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_TOOLONG);
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_OK, "the long line was skipped whole");
	cr_expect_str_eq(line, "after");
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 100),
	    LINEIO_TIMEOUT);
	close(sv[1]);
	cr_expect_eq(lineio_read(&io, line, 10, &len, &crlf, lineio_now() + 1000),
	    LINEIO_EOF, "an unterminated last line is not a line");
}

Test(lineio, writes_and_discard, .init = setup)
{
	char buf[64];
	ssize_t n;

	cr_assert_eq(lineio_line(&io, 512, "250 %s", "ok"), 0);
	cr_assert_eq(lineio_flush(&io), 0);
	n = read(sv[1], buf, sizeof(buf));
	cr_expect_eq(n, 8);
	cr_expect(memcmp(buf, "250 ok\r\n", 8) == 0);
	/* a line too long is cut, its CRLF kept */
	cr_assert_eq(lineio_line(&io, 8, "%s", "abcdefghij"), 0);
	cr_assert_eq(lineio_flush(&io), 0);
	n = read(sv[1], buf, sizeof(buf));
	cr_expect_eq(n, 7);
	cr_expect(memcmp(buf, "abcde\r\n", 7) == 0);
	send_str("pipelined junk\r\n");
	cr_assert_eq(lineio_fill(&io, lineio_now() + 1000), LINEIO_OK);
	cr_expect(lineio_has_input(&io));
	cr_expect_eq(lineio_discard_input(&io), 16);
	cr_expect_eq(lineio_avail(&io), 0);
}

/*
 * A transport that must go the other way first, as TLS does when a read
 * has to answer a KeyUpdate (WANT_WRITE) or a write has to read
 * (WANT_READ): lineio must poll the direction it names, not its own.
 */
static int other_fd, calls;
static short other_want;

static ssize_t
other_read(void *ctx, void *buf, size_t len)
{
	char c;

	(void)ctx;
	if (calls++ == 0) {
		/* the record that asks for the other way is consumed */
		cr_assert_eq(read(other_fd, &c, 1), 1);
		other_want = POLLOUT;
		errno = EAGAIN;
		return -1;
	}
	memcpy(buf, "hello\r\n", 7);
	return 7;
}

static ssize_t
other_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	if (calls++ == 0) {
		other_want = POLLIN;
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)len;
}

static size_t
other_pending(void *ctx)
{
	(void)ctx;
	return 0;
}

static short
other_events(void *ctx)
{
	(void)ctx;
	return other_want;
}

static const struct lineio_ops other_ops = { other_read, other_write,
    other_pending, other_events };

Test(lineio, eagain_polls_the_direction_the_transport_names)
{
	struct lineio o;
	int in[2], out[2], fl;
	char line[16];
	size_t len;
	int crlf;

	/* a read that needs to write: rfd runs dry, wfd has room */
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
	cr_assert_eq(write(in[1], "x", 1), 1);
	other_fd = in[0];
	calls = 0;
	lineio_init(&o, in[0], out[0]);
	lineio_set_ops(&o, &other_ops, NULL);
	cr_expect_eq(lineio_read(&o, line, 10, &len, &crlf,
	    lineio_now() + 300), LINEIO_OK, "WANT_WRITE in a read waited "
	    "for input");
	cr_expect_str_eq(line, "hello");

	/* a write that needs to read: wfd is full, rfd has input */
	cr_assert_eq(pipe(out), 0);
	fl = fcntl(out[1], F_GETFL);
	cr_assert_eq(fcntl(out[1], F_SETFL, fl | O_NONBLOCK), 0);
	while (write(out[1], line, sizeof(line)) > 0)
		;
	cr_assert_eq(write(in[1], "y", 1), 1);
	calls = 0;
	lineio_init(&o, in[0], out[1]);
	o.write_timeout_ms = 300;
	lineio_set_ops(&o, &other_ops, NULL);
	cr_assert_eq(lineio_puts(&o, "250 ok\r\n"), 0);
	cr_expect_eq(lineio_flush(&o), 0, "WANT_READ in a write waited for "
	    "room");
}
