/* cidr: networks and matching, IPv4-mapped IPv6 included. */
#include <criterion/criterion.h>

#include "cidr.h"

Test(cidr, match_table)
{
	static const struct {
		const char *net, *addr;
		int match;
	} t[] = {
		{ "127.0.0.0/8", "127.1.2.3", 1 },
		{ "127.0.0.0/8", "128.0.0.1", 0 },
		{ "192.0.2.0/25", "192.0.2.127", 1 },
		{ "192.0.2.0/25", "192.0.2.128", 0 },
		{ "192.0.2.7", "192.0.2.7", 1 },
		{ "192.0.2.7", "192.0.2.8", 0 },
		{ "0.0.0.0/0", "203.0.113.1", 1 },
		{ "::1", "::1", 1 },
		{ "::1/128", "::2", 0 },
		{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },
		{ "127.0.0.0/8", "::1", 0 },
		{ "127.0.0.0/8", "local", 0 },
	};
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(cidr_parse(t[i].net, &c), 0, "%s", t[i].net);
		cr_expect_eq(cidr_match(&c, t[i].addr), t[i].match, "%s in %s",
		    t[i].addr, t[i].net);
	}
}

Test(cidr, bad)
{
	struct cidr c;

	cr_expect_eq(cidr_parse("", &c), -1);
	cr_expect_eq(cidr_parse("1.2.3.4/", &c), -1);
	cr_expect_eq(cidr_parse("1.2.3.4/33", &c), -1);
	cr_expect_eq(cidr_parse("1.2.3.4/-1", &c), -1);
	cr_expect_eq(cidr_parse("::1/129", &c), -1);
	cr_expect_eq(cidr_parse("host.test", &c), -1);
}
