/* str: truncation is reported; buf never exceeds its maximum. */
#include <criterion/criterion.h>
#include <string.h>

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
