/* rfc5322: address lists as local programs write them. */
#include <criterion/criterion.h>
#include <string.h>

#include "rfc5322.h"

static char got[4096];

static int
collect(const char *addr, void *ctx)
{
	strcat(got, got[0] ? " " : "");
	strcat(got, addr);
	return 0;
}

static int
run(const char *v)
{
	char err[256];

	got[0] = '\0';
	return rfc5322_addresses(v, collect, NULL, err, sizeof(err));
}

Test(rfc5322, table)
{
	static const struct { const char *in; int n; const char *out; } t[] = {
		{ "bob@example.test", 1, "bob@example.test" },
		{ " Bob <bob@example.test> , carol@x.test", 2,
		  "bob@example.test carol@x.test" },
		{ "\"Doe, John\" <john@x.test>", 1, "john@x.test" },
		{ "john@x.test (John, the boss)", 1, "john@x.test" },
		{ "team: a@x.test, b@x.test;, c@x.test", 3,
		  "a@x.test b@x.test c@x.test" },
		{ "undisclosed-recipients:;", 0, "" },
		{ "<@route.test:a@x.test>", 1, "a@x.test" },
		{ "\"quoted local\"@x.test", 1, "\"quoted local\"@x.test" },
		{ "a@x.test,", 1, "a@x.test" },
		{ "", 0, "" },
		{ "Jörg <jörg@x.test>", 1, "jörg@x.test" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(run(t[i].in), t[i].n, "%s", t[i].in);
		cr_expect_str_eq(got, t[i].out, "%s", t[i].in);
	}
}

Test(rfc5322, bad)
{
	cr_expect_eq(run("not an address"), -1);
	cr_expect_eq(run("\"unterminated <a@x.test>"), -1);
	cr_expect_eq(run("a@x.test (open comment"), -1);
	cr_expect_eq(run("<a@x.test"), -1);
	cr_expect_eq(run("a@@x.test"), -1);
}
