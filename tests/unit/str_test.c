/* str: truncation is reported; buf never exceeds its maximum. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "str.h"

Test(str, copy_and_fmt)
{
	char b[6];

	cr_expect_eq(str_copy(b, "hello", sizeof(b)), 0);
	cr_expect_str_eq(b, "hello");
	cr_expect_eq(str_copy(b, "hello!", sizeof(b)), -1);
	cr_expect_str_eq(b, "hello");
	cr_expect_eq(str_fmt(b, sizeof(b), "%d", 12345), 5);
	cr_expect_eq(str_fmt(b, sizeof(b), "%d", 123456), -1);
	cr_expect_str_eq(str_prefix("MAIL FROM:<x>", "mail from:"), "<x>");
	cr_expect_null(str_prefix("RCPT", "mail"));
}

Test(str, buf_max)
{
	struct buf b;
	int i;

	buf_init(&b, 10);
	cr_expect_eq(buf_addstr(&b, "0123456789"), 0);
	cr_expect_eq(buf_addc(&b, 'x'), -1);
	cr_expect_eq(b.len, 10);
	buf_reset(&b);
	for (i = 0; i < 3; i++)
		cr_expect_eq(buf_printf(&b, "%d", i), 0);
	cr_expect_str_eq(buf_cstr(&b), "012");
	buf_free(&b);
}

Test(str, printable_and_unctrl)
{
	char b[] = "a\tb\rc\x7f" "d\x01";

	cr_expect(str_printable("plain text, even 8-bit \xc3\xa9"));
	cr_expect(str_printable(""));
	cr_expect_not(str_printable("tab\there"));
	cr_expect_not(str_printable("line\n"));
	cr_expect_not(str_printable("del\x7f"));
	str_unctrl(b);
	cr_expect_str_eq(b, "a b c d ");
}

/*
 * fileio_read_fd reads straight into the buf (no chunk on the stack):
 * every octet arrives, in order, up to max exactly; one more is -2.
 */
static int
read_pipe(const char *data, size_t n, size_t max, struct buf *b)
{
	int fds[2], rc;

	cr_assert_eq(pipe(fds), 0);
	if (fork() == 0) {
		close(fds[0]);
		(void)fileio_write_all(fds[1], data, n);
		_exit(0);
	}
	close(fds[1]);
	buf_init(b, max);
	rc = fileio_read_fd(fds[0], b);
	close(fds[0]);
	wait(NULL);
	return rc;
}

Test(str, fileio_read_fd)
{
	static char big[200000];
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	cr_expect_eq(read_pipe(big, sizeof(big), 1 << 20, &b), 0);
	cr_expect_eq(b.len, sizeof(big));
	cr_expect_eq(memcmp(b.data, big, sizeof(big)), 0);
	buf_free(&b);
	cr_expect_eq(read_pipe(big, 5000, 5000, &b), 0);
	cr_expect_eq(b.len, 5000);
	buf_free(&b);
	cr_expect_eq(read_pipe(big, 5001, 5000, &b), -2);
	buf_free(&b);
	cr_expect_eq(read_pipe("", 0, 10, &b), 0);
	cr_expect_eq(b.len, 0);
	buf_free(&b);
	cr_assert_eq(buf_reserve(&b, 10), 0);
	cr_expect_geq(b.cap, 11);
	cr_expect_eq(buf_reserve(&b, 11), -1);
	buf_free(&b);
}
