/* mtasts_policy: RFC 8461's TXT record, policy file and MX matching. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts_policy.h"

Test(mtasts_policy, txt_table)
{
	static const struct {
		const char *txt;
		int rc;
		const char *id;
	} t[] = {
		{ "v=STSv1; id=20160831085700Z;", 1, "20160831085700Z" },
		{ "v=STSv1;id=abc", 1, "abc" },
		{ "v=STSv1; id=abc ; ext=x-y ", 1, "abc" },
		{ "v=STSv1; ext.v_1=1; id=A1", 1, "A1" },
		{ "v=STSv1; id=01234567890123456789012345678901", 1,
		  "01234567890123456789012345678901" },
		/* 33 octets: too long */
		{ "v=STSv1; id=012345678901234567890123456789012", -1, NULL },
		{ "v=STSv1; id=a-b", -1, NULL },
		{ "v=STSv1; id=", -1, NULL },
		{ "v=STSv1;", -1, NULL },
		{ "v=STSv1", -1, NULL },
		{ "v=STSv1; id=a; id=b", -1, NULL },
		{ "v=STSv1; id=a; =x", -1, NULL },
		{ "v=STSv1; id=a; x", -1, NULL },
		{ "v=STSv1 id=a", -1, NULL },
		/* other records: discarded, not invalid */
		{ "v=spf1 -all", 0, NULL },
		{ "v=stsv1; id=a", 0, NULL },
		{ " v=STSv1; id=a", 0, NULL },
		{ "v=STSv10; id=a", 0, NULL },
		{ "", 0, NULL },
	};
	char id[MTASTS_ID_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(mtasts_txt_parse(t[i].txt, id), t[i].rc, "%s",
		    t[i].txt);
		if (t[i].rc == 1)
			cr_expect_str_eq(id, t[i].id, "%s", t[i].txt);
	}
}

Test(mtasts_policy, rfc_example)
{
	/* RFC 8461 3.2's example, CRLF line ends */
	const char *text = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mail.example.com\r\nmx: *.example.net\r\n"
	    "mx: backupmx.example.com\r\nmax_age: 604800\r\n";
	struct mtasts_policy p;
	char why[128];

	cr_assert_eq(mtasts_policy_parse(text, strlen(text), &p, why,
	    sizeof(why)), 0, "%s", why);
	cr_expect_eq(p.mode, MTASTS_ENFORCE);
	cr_expect_eq(p.max_age, 604800);
	cr_assert_eq(p.nmx, 3);
	cr_expect_str_eq(p.mx[0], "mail.example.com");
	cr_expect_str_eq(p.mx[1], "*.example.net");
	cr_expect(mtasts_mx_match(&p, "mail.example.com"));
	cr_expect(mtasts_mx_match(&p, "MAIL.Example.COM."));
	cr_expect(mtasts_mx_match(&p, "mx1.example.net"));
	cr_expect(!mtasts_mx_match(&p, "example.net"));
	cr_expect(!mtasts_mx_match(&p, "a.b.example.net"));
	cr_expect(!mtasts_mx_match(&p, "mail.example.com.evil.test"));
	cr_expect(!mtasts_mx_match(&p, "xmail.example.com"));
	cr_expect(!mtasts_mx_match(&p, ".example.net"));
	cr_expect(!mtasts_mx_match(&p, "mx1.example.netx"));
}

Test(mtasts_policy, table)
{
	static const struct {
		const char *text;
		int rc;
		enum mtasts_mode mode;
		unsigned max_age;
		size_t nmx;
	} t[] = {
		{ "version: STSv1\nmode: testing\nmx: a.test\nmax_age: 86400\n",
		  0, MTASTS_TESTING, 86400, 1 },
		/* no final line end, fields in any order, blanks around */
		{ "mx:a.test\nmax_age:\t5 \nmode: enforce\nversion: STSv1", 0,
		  MTASTS_ENFORCE, 5, 1 },
		/* none needs no mx */
		{ "version: STSv1\nmode: none\nmax_age: 1\n", 0, MTASTS_NONE,
		  1, 0 },
		/* an extension is ignored */
		{ "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 9\n"
		  "x-ext: anything at all\n", 0, MTASTS_ENFORCE, 9, 1 },
		/* above a year: a year */
		{ "version: STSv1\nmode: enforce\nmx: a.test\n"
		  "max_age: 9999999999\n", 0, MTASTS_ENFORCE, 31557600, 1 },
		/* keys and values case-insensitive (RFC 5234 strings) */
		{ "Version: stsv1\nMODE: Enforce\nmx: A.Test.\nmax_age: 9\n",
		  0, MTASTS_ENFORCE, 9, 1 },
		/* broken ones */
		{ "version: STSv1\nmode: enforce\nmax_age: 9\n", -1, 0, 0, 0 },
		{ "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "mode: enforce\nmx: a.test\nmax_age: 9\n", -1, 0, 0, 0 },
		{ "version: STSv1\nmx: a.test\nmax_age: 9\n", -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a.test\n", -1, 0, 0, 0 },
		{ "version: STSv1\nmode: strict\nmx: a.test\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmode: none\nmx: a.test\n"
		  "max_age: 9\n", -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a.test\n"
		  "max_age: 12345678901\n", -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: *.\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx a.test\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "version: STSv1\nmode: enforce\nmx: a.test\x01\nmax_age: 9\n",
		  -1, 0, 0, 0 },
		{ "<html>Moved</html>\n", -1, 0, 0, 0 },
		{ "", -1, 0, 0, 0 },
	};
	struct mtasts_policy p;
	const char *text;
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		cr_expect_eq(mtasts_policy_parse(t[i].text, strlen(t[i].text),
		    &p, why, sizeof(why)), t[i].rc, "%zu: %s", i, why);
		if (t[i].rc == -1) {
			cr_expect(why[0] != '\0', "%zu says why", i);
			continue;
		}
		cr_expect_eq(p.mode, t[i].mode, "%zu", i);
		cr_expect_eq(p.max_age, t[i].max_age, "%zu", i);
		cr_expect_eq(p.nmx, t[i].nmx, "%zu", i);
	}
	text = "version: STSv1\nmode: enforce\nmx: A.Test.\nmax_age: 9\n";
	cr_expect(mtasts_policy_parse(text, strlen(text), &p, why,
	    sizeof(why)) == 0);
	cr_expect_str_eq(p.mx[0], "a.test");
}

Test(mtasts_policy, bounds)
{
	struct mtasts_policy p;
	char why[128], *big;
	size_t i, len = 0;

	/* MTASTS_MX_MAX patterns fit, one more does not */
	cr_assert((big = malloc(MTASTS_POLICY_MAX + 2)) != NULL);
	len = (size_t)snprintf(big, 64, "version: STSv1\nmode: enforce\n"
	    "max_age: 9\n");
	for (i = 0; i < MTASTS_MX_MAX; i++)
		len += (size_t)snprintf(big + len, 32, "mx: m%zu.test\n", i);
	cr_expect_eq(mtasts_policy_parse(big, len, &p, why, sizeof(why)), 0);
	cr_expect_eq(p.nmx, MTASTS_MX_MAX);
	cr_expect(mtasts_mx_match(&p, "m63.test"));
	len += (size_t)snprintf(big + len, 32, "mx: one-more.test\n");
	cr_expect_eq(mtasts_policy_parse(big, len, &p, why, sizeof(why)), -1);
	cr_expect(strstr(why, "too many mx") != NULL, "%s", why);
	/* longer than 64 KiB: refused, whatever it holds */
	memset(big + len, '\n', MTASTS_POLICY_MAX + 2 - len);
	cr_expect_eq(mtasts_policy_parse(big, MTASTS_POLICY_MAX + 1, &p, why,
	    sizeof(why)), -1);
	free(big);
}
