/* addr: RFC 5321 paths, as a table of inputs and what they must give. */
#include <criterion/criterion.h>
#include <stdio.h>
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

/* the address inside a literal, for a client that connects to it */
Test(addr, literal_ip)
{
	char ip[64];

#define LIT(s) addr_literal_ip(s, strlen(s), ip, sizeof(ip))
	cr_expect_eq(LIT("[192.0.2.1]"), 0);
	cr_expect_str_eq(ip, "192.0.2.1");
	cr_expect_eq(LIT("[ipv6:2001:DB8::1]"), 0);
	cr_expect_str_eq(ip, "2001:DB8::1");
	cr_expect_eq(LIT("[IPv6:192.0.2.1]"), -1);
	cr_expect_eq(LIT("[2001:db8::1]"), -1);
	cr_expect_eq(LIT("[tag:x]"), -1);
	cr_expect_eq(LIT("[]"), -1);
	cr_expect_eq(LIT("192.0.2.1"), -1);
	cr_expect_eq(LIT("[192.0.2.1"), -1);
#undef LIT
	cr_expect_eq(addr_literal_ip("[192.0.2.1]", 11, ip, 9), -1);
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

Test(addr, local_quote)
{
	static const struct { const char *in, *out; } t[] = {
		{ "bob", "bob" },
		{ "bob+tag", "bob+tag" },
		{ "a.b", "a.b" },
		{ "ü", "ü" },
		{ "bob+x y", "\"bob+x y\"" },
		{ "a..b", "\"a..b\"" },
		{ ".a", "\".a\"" },
		{ "john\"doe", "\"john\\\"doe\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "", "\"\"" },
	};
	char buf[ADDR_LOCAL_MAX + 3];
	struct addr a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(addr_local_quote(t[i].in, buf, sizeof(buf)), 0,
		    "%s", t[i].in);
		cr_expect_str_eq(buf, t[i].out);
	}
	/* what it makes is a local part again */
	cr_assert_eq(addr_local_quote("x y>", buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "\"x y>\"");
	cr_expect_eq(addr_parse_mailbox("\"x y>\"@b.test", 0, &a), 0);
	cr_expect_eq(addr_local_quote("a b c", buf, 6), -1);
}

/* The one encoding of an address as a word (shared/addr.h). */
Test(addr, encode_table)
{
	static const struct { const char *in, *out; } t[] = {
		/* ordinary addresses are themselves: old files read alike */
		{ "bob@example.test", "bob@example.test" },
		{ "bob+tag@example.test", "bob+tag@example.test" },
		{ "", "" },
		{ "ü@bücher.test", "ü@bücher.test" },
		{ "\"a=b\"@x.test", "\"a=b\"@x.test" },
		{ "\"p q\"@ext.test", "\"p%20q\"@ext.test" },
		{ "\"ceo@bank.example> ENVID=INJ RET=HDRS\"@ext.test",
		  "\"ceo@bank.example%3E%20ENVID=INJ%20RET=HDRS\"@ext.test" },
		{ "\"x>, to=<root@x>\"@e.test",
		  "\"x%3E,%20to=%3Croot@x%3E\"@e.test" },
		{ "\"50%\"@x.test", "\"50%25\"@x.test" },
		{ "a\tb\r\n\x7f", "a%09b%0D%0A%7F" },
	};
	char enc[ADDR_ENC_MAX + 1], dec[ADDR_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(addr_encode(t[i].in, enc, sizeof(enc)),
		    (int)strlen(t[i].out), "%s", t[i].in);
		cr_expect_str_eq(enc, t[i].out);
		cr_assert_eq(addr_decode(enc, dec, sizeof(dec)),
		    (int)strlen(t[i].in));
		cr_expect_str_eq(dec, t[i].in);
	}
	/* lower-case hex is read too */
	cr_expect_eq(addr_decode("a%3eb", dec, sizeof(dec)), 3);
	cr_expect_str_eq(dec, "a>b");
}

Test(addr, encode_bounds_and_bad)
{
	static const char *bad[] = {
		"a b", "a%", "a%4", "a%zz", "%00", "a>b", "<a", "a\nb", "a%%41",
	};
	char buf[8];
	size_t i;

	cr_expect_eq(addr_encode("abcdefg", buf, sizeof(buf)), 7);
	cr_expect_eq(addr_encode("abcdefgh", buf, sizeof(buf)), -1);
	cr_expect_eq(addr_encode("abcde f", buf, sizeof(buf)), -1);
	cr_expect_eq(addr_encode("abc f", buf, sizeof(buf)), 7);
	cr_expect_eq(addr_decode("abcdefgh", buf, sizeof(buf)), -1);
	cr_expect_eq(addr_decode("a%20bcdef", buf, sizeof(buf)), 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(addr_decode(bad[i], buf, sizeof(buf)), -1, "%s",
		    bad[i]);
}
