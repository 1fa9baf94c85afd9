/* rfc5322: address lists as local programs write them. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <string.h>

#include "rfc5322.h"
#include "str.h"

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

Test(rfc5322, from_domains)
{
	static const struct { const char *hdr; size_t n; const char *d0, *d1;
	    int unread; } t[] = {
		{ "From: a@X.test\nTo: b@y.test\n\n", 1, "x.test", NULL, 0 },
		{ "From: a@x.test\nFrom: c@z.test\n\n", 2, "x.test", "z.test",
		    0 },
		{ "From : a@x.test\n\n", 1, "x.test", NULL, 0 },
		{ "From: A <a@x.test>,\n b@z.test\n\n", 2, "x.test", "z.test",
		    0 },
		{ "From: a@x.test, b@X.TEST\n\n", 1, "x.test", NULL, 0 },
		{ "From: <broken\nFrom: a@x.test\n\n", 1, "x.test", NULL, 1 },
		{ "To: a@x.test\n\nFrom: a@x.test\n", 0, NULL, NULL, 0 },
		{ "From-X: a@x.test\n\n", 0, NULL, NULL, 0 },
		{ "From: a@x.test\r\nFrom: a@y.test", 2, "x.test", "y.test", 0 },
		{ "From: G: a@x.test;\n\n", 1, "x.test", NULL, 0 },
		/* what a reader may show, and no check here can read */
		{ "From: ceo@bank.test.\n\n", 0, NULL, NULL, 1 },
		{ "From: CEO <ceo.@bank.test>\n\n", 0, NULL, NULL, 1 },
		{ "From: ceo@bank.test (x\n\n", 0, NULL, NULL, 1 },
		{ "From: a@x.test\nFrom: ceo@bank.test.\n\n", 1, "x.test", NULL,
		    1 },
		{ "From: \"x\" <a@@b>, ceo@bank.test\n\n", 1, "bank.test",
		    NULL, 1 },
		{ "From: =?us-ascii?q?ceo=40bank.test?=\n\n", 0, NULL, NULL, 1 },
		/* a comma in a display name left unquoted: a phrase's piece,
		 * nothing unread (as some programs write it) */
		{ "From: Doe, John <j@X.test>\n\n", 1, "x.test", NULL, 0 },
		{ "From: =?UTF-8?Q?Doe,_John?= <j@x.test>\n\n", 1, "x.test",
		    NULL, 0 },
		{ "From: ceo@bank.test <>\n\n", 0, NULL, NULL, 1 },
		/* no '@' in the address, but one a reader may show next to
		 * a real author: not a display name's piece */
		{ "From: =?utf-8?q?ceo=40bank.test?=, x@evil.test\n\n", 1,
		    "evil.test", NULL, 1 },
		{ "From: =?utf-8?b?Y2VvQGJhbmsudGVzdA?=, <x@evil.test>\n\n",
		    1, "evil.test", NULL, 1 },
		{ "From: ceo(@)bank.test, x@evil.test\n\n", 1, "evil.test",
		    NULL, 1 },
		{ "From: ceo@bank.test <>, x@evil.test\n\n", 1, "evil.test",
		    NULL, 1 },
		{ "From: ceo@bank.test <ceo>, x@evil.test\n\n", 1,
		    "evil.test", NULL, 1 },
		{ "From: <@bank.test:ceo>, x@evil.test\n\n", 1, "evil.test",
		    NULL, 1 },
		/* encoded pieces of a name with no '@' in them stay pieces */
		{ "From: =?utf-8?q?D=C3=B6e?=, =?utf-8?b?Sm9obg==?= "
		    "<j@x.test>\n\n", 1, "x.test", NULL, 0 },
		{ "From: Bank: ;\n\n", 0, NULL, NULL, 1 },
		{ "From: ceo\n\n", 0, NULL, NULL, 1 },
		/* CFWS inside the brackets: RFC 5322 3.4.1, 4.4 */
		{ "From: John < john@X.test >\n\n", 1, "x.test", NULL, 0 },
		{ "From: J <john(Work)@x.test (HQ)>\n\n", 1, "x.test", NULL,
		    0 },
		{ "From: J <john . doe @ x.test>\n\n", 1, "x.test", NULL, 0 },
		{ "From: J <\"j d\"@x.test\n >\n\n", 1, "x.test", NULL, 0 },
		{ "From: J <ceo@bank.test (x>\n\n", 0, NULL, NULL, 1 },
	};
	char d[4][ADDR_DOMAIN_MAX + 1];
	size_t i, n;
	int unread;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = rfc5322_from_domains(t[i].hdr, strlen(t[i].hdr), d, 4,
		    &unread);
		cr_expect_eq(n, t[i].n, "case %zu: %zu domains", i, n);
		cr_expect_eq(unread, t[i].unread, "case %zu: unread %d", i,
		    unread);
		if (n > 0 && t[i].d0)
			cr_expect_str_eq(d[0], t[i].d0, "case %zu", i);
		if (n > 1 && t[i].d1)
			cr_expect_str_eq(d[1], t[i].d1, "case %zu", i);
	}
	/* no more than max */
	n = rfc5322_from_domains("From: a@a.test, b@b.test, c@c.test\n\n",
	    36, d, 2, &unread);
	cr_expect_eq(n, 2);
	cr_expect_eq(unread, 0);
}

static void
count_body(const char *body, void *arg)
{
	size_t *v = arg;

	v[body == NULL ? 1 : 0]++;
}

/* The walk both users share: every From: field, unfolded; one too long
 * to hold comes as NULL (the signer refuses, the DMARC check skips it). */
Test(rfc5322, from_fields)
{
	size_t got[2] = { 0, 0 }, n;
	char *big;

	static const char hdr[] = "From: a@x.test\nFrom : b@y.test\n c@z.test\n"
	    "To: d@w.test\n\nFrom: e@v.test\n";

	n = rfc5322_from_fields(hdr, strlen(hdr), count_body, got);
	cr_expect_eq(n, 2);
	cr_expect_eq(got[0], 2);
	big = malloc(RFC5322_FIELD_MAX + 64);
	cr_assert_not_null(big);
	memset(big, 'a', RFC5322_FIELD_MAX + 63);
	memcpy(big, "From: ", 6);
	big[RFC5322_FIELD_MAX + 63] = '\0';
	got[0] = got[1] = 0;
	cr_expect_eq(rfc5322_from_fields(big, strlen(big), count_body, got), 1);
	cr_expect_eq(got[1], 1);
	free(big);
}

/* "@domain" for the addresses written without one, nothing else moved. */
Test(rfc5322, qualify)
{
	static const struct { const char *in, *out; } t[] = {
		{ " root", " root@mx.test" },
		{ " root (Cron Daemon)", " root@mx.test (Cron Daemon)" },
		{ " Cron Daemon <root>", " Cron Daemon <root@mx.test>" },
		{ " bob, carol@x.test,\n\t\"Dave D\" <dave>",
		  " bob@mx.test, carol@x.test,\n\t\"Dave D\" <dave@mx.test>" },
		{ " team: a, b@x.test;", " team: a@mx.test, b@x.test;" },
		{ " undisclosed-recipients:;", " undisclosed-recipients:;" },
		{ " \"x y\"", " \"x y\"@mx.test" },
		{ " <@r.test:bob>", " <@r.test:bob@mx.test>" },
		/* not one address: left as it was */
		{ " Joe Bloggs", " Joe Bloggs" },
		{ " ro(x)ot", " ro(x)ot" },
		{ " a@x.test", " a@x.test" },
		{ " <>", " <>" },
		{ "", "" },
	};
	struct buf out;
	size_t i;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&out);
		buf_addstr(&out, "To:");
		cr_expect_eq(rfc5322_qualify(t[i].in, "mx.test", &out), 0, "%s",
		    t[i].in);
		cr_expect_str_eq(buf_cstr(&out) + 3, t[i].out, "%s", t[i].in);
	}
	/* one that does not parse: -1, out as it was before */
	buf_reset(&out);
	buf_addstr(&out, "To:");
	cr_expect_eq(rfc5322_qualify(" bob, \"open", "mx.test", &out), -1);
	cr_expect_str_eq(buf_cstr(&out), "To:");
	buf_free(&out);
}
