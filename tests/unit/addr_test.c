/* addr: RFC 5321 paths, as a table of inputs and what they must give. */
#include <criterion/criterion.h>
#include <string.h>

#include "addr.h"

static const struct {
	const char	*in;
	unsigned	 flags;
	int		 ok;
	const char	*local, *domain;
} paths[] = {
	{ "<a@b.test>",			0, 1, "a", "b.test" },
	{ "<>",				ADDR_NULL_OK, 1, "", "" },
	{ "<>",				0, 0, NULL, NULL },
	{ "<Postmaster>",		ADDR_POSTMASTER_OK, 1, "Postmaster", "" },
	{ "<postmaster>",		0, 0, NULL, NULL },
	{ "<\"john doe\"@x.test>",	0, 1, "\"john doe\"", "x.test" },
	{ "<\"a\\\"b\"@x.test>",	0, 1, "\"a\\\"b\"", "x.test" },
	{ "<@r1.test,@r2.test:u@x.test>", 0, 1, "u", "x.test" },
	{ "<@r1.test:u@x.test>",	0, 1, "u", "x.test" },
	{ "<@r1.test,u@x.test>",	0, 0, NULL, NULL },
	{ "<u@[192.0.2.1]>",		0, 1, "u", "[192.0.2.1]" },
	{ "<u@[IPv6:2001:db8::1]>",	0, 1, "u", "[IPv6:2001:db8::1]" },
	{ "<u@[300.1.1.1]>",		0, 0, NULL, NULL },
	{ "<u@[IPv6:zz]>",		0, 0, NULL, NULL },
	{ "<u@[tag:x]>",		0, 0, NULL, NULL },
	{ "<a.b.c@x.test>",		0, 1, "a.b.c", "x.test" },
	{ "<a..b@x.test>",		0, 0, NULL, NULL },
	{ "<.a@x.test>",		0, 0, NULL, NULL },
	{ "<a.@x.test>",		0, 0, NULL, NULL },
	{ "<a@x..test>",		0, 0, NULL, NULL },
	{ "<a@-x.test>",		0, 0, NULL, NULL },
	{ "<a@x-.test>",		0, 0, NULL, NULL },
	{ "<a@x.test->",		0, 0, NULL, NULL },
	{ "<a@x_y.test>",		0, 0, NULL, NULL },
	{ "<a@x.test",			0, 0, NULL, NULL },
	{ "a@x.test",			0, 0, NULL, NULL },
	{ "<a b@x.test>",		0, 0, NULL, NULL },
	{ "<a@>",			0, 0, NULL, NULL },
	{ "<@x.test>",			0, 0, NULL, NULL },
	{ "<\"unterminated@x.test>",	0, 0, NULL, NULL },
	{ "<\"ctl\x01\"@x.test>",	0, 0, NULL, NULL },
	{ "<ü@x.test>",			0, 0, NULL, NULL },
	{ "<ü@x.test>",			ADDR_UTF8_OK, 1, "ü", "x.test" },
	{ "<u@bücher.test>",		ADDR_UTF8_OK, 1, "u", "bücher.test" },
	{ "<\xc3@x.test>",		ADDR_UTF8_OK, 0, NULL, NULL },
	{ "<\xed\xa0\x80@x.test>",	ADDR_UTF8_OK, 0, NULL, NULL },
	{ "<\xc0\xaf@x.test>",		ADDR_UTF8_OK, 0, NULL, NULL },
};

Test(addr, path_table)
{
	struct addr a;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *end = addr_parse_path(paths[i].in, paths[i].flags, &a);
		cr_expect_eq(end != NULL, paths[i].ok, "%s: ok=%d", paths[i].in,
		    end != NULL);
		if (end == NULL || !paths[i].ok)
			continue;
		cr_expect_eq(*end, '\0', "%s: stops at the end", paths[i].in);
		cr_expect_str_eq(a.local, paths[i].local, "%s local", paths[i].in);
		cr_expect_str_eq(a.domain, paths[i].domain, "%s domain",
		    paths[i].in);
	}
}

Test(addr, length_limits)
{
	char buf[600], local[70];
	struct addr a;

	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(buf, sizeof(buf), "<%s@x.test>", local);
	cr_expect_not_null(addr_parse_path(buf, 0, &a), "64-octet local part");
	memset(local, 'l', 65);
	local[65] = '\0';
	snprintf(buf, sizeof(buf), "<%s@x.test>", local);
	cr_expect_null(addr_parse_path(buf, 0, &a), "65-octet local part");

	/* a 64-octet label passes no check: 63 is the limit */
	snprintf(buf, sizeof(buf), "<a@%.63s.test>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	cr_expect_not_null(addr_parse_path(buf, 0, &a), "63-octet label");
	snprintf(buf, sizeof(buf), "<a@%.64s.test>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	cr_expect_null(addr_parse_path(buf, 0, &a), "64-octet label");
}

Test(addr, domain_and_helo)
{
	cr_expect(addr_domain_valid("example.test", 12, 0));
	cr_expect(addr_domain_valid("a", 1, 0));
	cr_expect(addr_domain_valid("1.2.3", 5, 0));
	cr_expect_not(addr_domain_valid("", 0, 0));
	cr_expect_not(addr_domain_valid("a.", 2, 0));
	cr_expect(addr_helo_valid("mx.example.test.", 16));
	cr_expect(addr_helo_valid("[192.0.2.1]", 11));
	cr_expect(addr_helo_valid("[IPv6:::1]", 10));
	cr_expect_not(addr_helo_valid("[192.0.2.1", 10));
	cr_expect_not(addr_helo_valid("bad..name", 9));
	cr_expect_not(addr_helo_valid("under_score", 11));
}

Test(addr, mailbox_and_format)
{
	struct addr a;
	char buf[ADDR_MAX + 1];

	cr_assert_eq(addr_parse_mailbox("Bob@Example.Test", 0, &a), 0);
	addr_format(&a, buf, sizeof(buf));
	cr_expect_str_eq(buf, "Bob@Example.Test");
	cr_expect_eq(addr_parse_mailbox("bob@x.test trailing", 0, &a), -1);
	cr_expect_eq(addr_parse_mailbox("postmaster", 0, &a), -1);
	cr_assert_not_null(addr_parse_path("<>", ADDR_NULL_OK, &a));
	addr_format(&a, buf, sizeof(buf));
	cr_expect_str_eq(buf, "");
}

Test(addr, local_canon)
{
	char buf[ADDR_LOCAL_MAX + 1];

	cr_assert_eq(addr_local_canon("\"John\\\"Doe\"", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "john\"doe");
	cr_assert_eq(addr_local_canon("Alice", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "alice");
	cr_expect_eq(addr_local_canon("toolong", buf, 4), -1);
}
