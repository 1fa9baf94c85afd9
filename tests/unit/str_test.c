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
