/* lineio: bounded lines, bare LF flag, too-long skip, timeout, EOF. */
#include <criterion/criterion.h>
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
