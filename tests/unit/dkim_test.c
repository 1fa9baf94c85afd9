/* dkimrec: key records as DNS gives them; dkimsign: the From: domain. */
#include <criterion/criterion.h>
#include <string.h>

#include "dkimrec.h"
#include "dkimsign.h"

static int
rec(const char *txt, struct dkimrec *r, char *err)
{
	return dkimrec_parse(txt, strlen(txt), r, err, 128);
}

Test(dkimrec, records)
{
	struct dkimrec r;
	char err[128];

	cr_assert_eq(rec("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPa"
	    "piMlrwIaaPcHURo=", &r, err), 0, "%s", err);
	cr_expect_str_eq(r.k, "ed25519");
	cr_expect_str_eq(r.p, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	/* 3.6.1: k= defaults to rsa; FWS anywhere; p= loses its blanks */
	cr_assert_eq(rec(" t = y:s ;\r\n\tp= MIGf MA0G\r\n CSqG ;", &r, err), 0,
	    "%s", err);
	cr_expect_str_eq(r.k, "rsa");
	cr_expect_str_eq(r.t, "y:s");
	cr_expect_str_eq(r.p, "MIGfMA0GCSqG");
	cr_expect_str_eq(r.v, "");
	/* revoked: an empty p= */
	cr_assert_eq(rec("v=DKIM1; p=", &r, err), 0, "%s", err);
	cr_expect_str_eq(r.p, "");
	/* unknown tags are ignored */
	cr_expect_eq(rec("v=DKIM1; n=notes here; x_y=1; p=a", &r, err), 0);
}

static const struct {
	const char *txt, *err;
} bad[] = {
	{ "v=DKIM1; k=rsa", "no p= (public key) tag" },
	{ "k=rsa; v=DKIM1; p=a", "v= is not the first tag" },
	{ "v=DKIM2; p=a", "v= is not DKIM1" },
	{ "v=DKIM1; p=a; p=b", "tag p= given twice" },
	{ "v=DKIM1; =x; p=a", "tag 2: a name must start with a letter" },
	{ "v=DKIM1; k; p=a", "tag 2: no '='" },
	{ "v=DKIM1; p=a\x01", "tag 2: a control or 8-bit octet" },
	{ "v=DKIM1; n=\xc3\xa9; p=a", "tag 2: a control or 8-bit octet" },
};

Test(dkimrec, bad_records)
{
	struct dkimrec r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(rec(bad[i].txt, &r, err), -1, "%s", bad[i].txt);
		cr_expect_str_eq(err, bad[i].err, "%s", bad[i].txt);
	}
}

Test(dkimrec, oversized_p)
{
	static char txt[DKIMREC_P_MAX + 64];
	struct dkimrec r;
	char err[128];

	memcpy(txt, "p=", 2);
	memset(txt + 2, 'A', DKIMREC_P_MAX + 1);
	cr_expect_eq(rec(txt, &r, err), -1);
	cr_expect_str_eq(err, "p= too long");
}

static const struct {
	const char *hdr, *domain;	/* NULL: not signed */
} froms[] = {
	{ "From: Alice <alice@Example.TEST>\r\nTo: b@x.test\r\n\r\n",
	  "example.test" },
	{ "Subject: x\nfrom: \"A, B\" <a@a.test>,\n b@A.test\n\nbody",
	  "a.test" },
	{ "From: (c) a@a.test (d)\r\n", "a.test" },
	/* RFC 5322 3.6: one From: field; mailboxes of two domains */
	{ "From: a@a.test\r\nFrom: b@a.test\r\n\r\n", NULL },
	{ "From: a@a.test, b@b.test\r\n\r\n", NULL },
	{ "To: a@a.test\r\n\r\nFrom: a@a.test\r\n", NULL },
	{ "From: undisclosed:;\r\n\r\n", NULL },
	{ "From: <<<\r\n\r\n", NULL },
	{ "X-From: a@a.test\r\n\r\n", NULL },
};

Test(dkimsign, from_domain)
{
	char d[256];
	size_t i;

	for (i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		int rc = dkimsign_from_domain(froms[i].hdr,
		    strlen(froms[i].hdr), d, sizeof(d));
		if (froms[i].domain == NULL) {
			cr_expect_eq(rc, -1, "%s", froms[i].hdr);
			continue;
		}
		cr_expect_eq(rc, 0, "%s", froms[i].hdr);
		cr_expect_str_eq(d, froms[i].domain, "%s", froms[i].hdr);
	}
}
