/* aliases: the /etc/aliases format and what it refuses. */
#include <criterion/criterion.h>
#include <string.h>

#include "aliases.h"

Test(aliases, parse)
{
	static const char text[] =
	    "# comment\n"
	    "postmaster: root\n"
	    "root: bob@example.test\n"
	    "Staff: alice, bob,\n"
	    "\tcarol@remote.test\n"
	    "   dave\n"
	    "sales@example.test: erin\n";
	struct aliases a;
	const struct alias *al;
	char err[256];

	cr_assert_eq(aliases_parse(&a, text, strlen(text), "aliases", err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(a.n, 4);
	al = aliases_find(&a, "staff", "example.test");
	cr_assert_not_null(al);
	cr_assert_eq(al->ntargets, 4);
	cr_expect_str_eq(al->targets[2], "carol@remote.test");
	cr_expect_str_eq(al->targets[3], "dave");
	cr_expect_not_null(aliases_find(&a, "SALES", "Example.Test"));
	cr_expect_null(aliases_find(&a, "sales", "other.test"),
	    "a full-address alias applies to its domain only");
	cr_expect_not_null(aliases_find(&a, "root", "any.test"));
	aliases_free(&a);
}

Test(aliases, refused)
{
	static const struct { const char *text, *err; } t[] = {
		{ "x: |/bin/prog\n", "aliases:1: x: pipe, file and :include: "
		  "targets are not supported" },
		{ "x: \"|/bin/prog\"\n", "aliases:1: x: pipe, file and :include: "
		  "targets are not supported" },
		{ "a: b\nx: /var/mail/x\n", "aliases:2: x: pipe, file and "
		  ":include: targets are not supported" },
		{ "x: :include:/etc/list\n", "aliases:1: x: pipe, file and "
		  ":include: targets are not supported" },
		{ "x y: z\n", "aliases:1: 'x y' is not an alias name" },
		{ "x: a..b\n", "aliases:1: x: 'a..b' is not an address" },
		{ "x:\n", "aliases:1: x has no target" },
		{ "nocolon\n", "aliases:1: expected 'name: target, ...'" },
		{ " leading: x\n", "aliases:1: continuation line with nothing to "
		  "continue" },
		{ "x: a\nX: b\n", "aliases:2: x is defined twice" },
	};
	struct aliases a;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(aliases_parse(&a, t[i].text, strlen(t[i].text),
		    "aliases", err, sizeof(err)), -1, "%s", t[i].text);
		cr_expect_str_eq(err, t[i].err);
	}
}
