/* authres: finding the Authentication-Results: fields of an authserv-id. */
#include <criterion/criterion.h>
#include <string.h>

#include "authres.h"

/* The message without the fields of id, as pombo-verify writes it. */
static const char *
strip(const char *msg, const char *id)
{
	static char out[4096];
	size_t len = strlen(msg), pos = 0, last = 0, start, flen, o = 0;

	while (authres_next(msg, len, &pos, id, &start, &flen) == 1) {
		memcpy(out + o, msg + last, start - last);
		o += start - last;
		last = pos;
	}
	memcpy(out + o, msg + last, len - last);
	out[o + len - last] = '\0';
	return out;
}

Test(authres, strip_table)
{
	static const struct { const char *in, *out; } t[] = {
		/* ours, any case, folded; another host's kept */
		{ "Authentication-Results: mx.test; spf=pass\nFrom: a@b\n\nx\n",
		  "From: a@b\n\nx\n" },
		{ "authentication-results: MX.Test;\n\tdkim=pass\n (c)\nTo: b\n\n",
		  "To: b\n\n" },
		{ "Authentication-Results: other.test; spf=pass\n\n",
		  "Authentication-Results: other.test; spf=pass\n\n" },
		{ "Authentication-Results: mx.test.evil; spf=pass\n\n",
		  "Authentication-Results: mx.test.evil; spf=pass\n\n" },
		/* CFWS before the id, a quoted id, blanks before the colon */
		{ "Authentication-Results: (a (b) \\) c) mx.test; none\n\n", "\n" },
		{ "Authentication-Results: \"mx.test\"; none\nX: y\n\n",
		  "X: y\n\n" },
		{ "Authentication-Results \t: mx.test; none\n\n", "\n" },
		/* only in the header section */
		{ "S: x\n\nAuthentication-Results: mx.test; none\n",
		  "S: x\n\nAuthentication-Results: mx.test; none\n" },
		/* no body, no last line end */
		{ "Authentication-Results: mx.test", "" },
		/* a field named alike is not one */
		{ "Authentication-Results-X: mx.test\n\n",
		  "Authentication-Results-X: mx.test\n\n" },
		{ "Authentication-Results: (unended mx.test; spf=pass\n\n",
		  "Authentication-Results: (unended mx.test; spf=pass\n\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_str_eq(strip(t[i].in, "mx.test"), t[i].out,
		    "case %zu", i);
}

Test(authres, value)
{
	char v[64], back[64];

	cr_assert_eq(authres_value("mx.example.test", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "mx.example.test");
	cr_assert_eq(authres_value("a b\"c\\", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "\"a b\\\"c\\\\\"");
	cr_assert_eq(authres_id(v, strlen(v), back, sizeof(back)), 0);
	cr_expect_str_eq(back, "a b\"c\\");
	cr_expect_eq(authres_value("abcdef", v, 6), -1);
	cr_expect_eq(authres_value("a b", v, 5), -1);
}
