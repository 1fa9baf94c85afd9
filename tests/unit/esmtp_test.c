/* esmtp: MAIL and RCPT arguments with their parameters. */
#include <criterion/criterion.h>
#include <string.h>

#include "esmtp.h"

static const struct {
	const char	*arg;
	int		 esmtp;
	int		 code;	/* 0: accepted */
} mails[] = {
	{ "FROM:<a@b.test>",				1, 0 },
	{ "from:<a@b.test>",				1, 0 },
	{ "FROM: <a@b.test>",				1, 0 },
	{ "FROM:<>",					1, 0 },
	{ "FROM:<a@b.test> SIZE=1000",			1, 0 },
	{ "FROM:<a@b.test> SIZE=1000",			0, 555 },
	{ "FROM:<a@b.test> SIZE=",			1, 501 },
	{ "FROM:<a@b.test> SIZE=-1",			1, 501 },
	/* RFC 1870: 1*20DIGIT; past 2^64 - 1 a size, too big (552 later) */
	{ "FROM:<a@b.test> SIZE=99999999999999999999",	1, 0 },
	{ "FROM:<a@b.test> SIZE=999999999999999999999",	1, 501 },
	{ "FROM:<a@b.test> SIZE=00000000000000000001",	1, 0 },
	{ "FROM:<a@b.test> BODY=8BITMIME",		1, 0 },
	{ "FROM:<a@b.test> BODY=7bit",			1, 0 },
	{ "FROM:<a@b.test> BODY=BINARYMIME",		1, 501 },
	{ "FROM:<a@b.test> BODY=8BITMIME BODY=7BIT",	1, 501 },
	{ "FROM:<a@b.test> RET=FULL ENVID=abc+2B",	1, 0 },
	{ "FROM:<a@b.test> ENVID=abc+2b",		1, 501 },
	{ "FROM:<a@b.test> AUTH=<>",			1, 0 },
	{ "FROM:<a@b.test> X-FOO",			1, 555 },
	{ "FROM:<a@b.test> =x",				1, 501 },
	{ "FROM:<a@b.test>x",				1, 501 },
	{ "FROM:a@b.test",				1, 501 },
	{ "TO:<a@b.test>",				1, 501 },
	{ "FROM:<ü@b.test>",				1, 553 },
	{ "FROM:<ü@b.test> SMTPUTF8",			1, 0 },
	{ "FROM:<a@b.test> SMTPUTF8=yes",		1, 501 },
};

Test(esmtp, mail_table)
{
	struct mail_args m;
	struct esmtp_err err;
	size_t i;

	for (i = 0; i < sizeof(mails) / sizeof(mails[0]); i++) {
		int rc = esmtp_parse_mail(mails[i].arg, mails[i].esmtp, &m, &err);
		cr_expect_eq(rc == 0 ? 0 : err.code, mails[i].code, "%s: %d",
		    mails[i].arg, rc == 0 ? 0 : err.code);
	}
}

Test(esmtp, mail_values)
{
	struct mail_args m;
	struct esmtp_err err;
	char out[512];

	cr_assert_eq(esmtp_parse_mail("FROM:<a@b.test> SIZE=42 BODY=8BITMIME "
	    "RET=HDRS ENVID=x+2By", 1, &m, &err), 0);
	cr_expect_eq(m.size, 42);
	cr_expect_eq(m.body, BODY_8BITMIME);
	cr_expect_eq(m.ret, RET_HDRS);
	cr_expect_str_eq(m.envid, "x+2By");
	cr_assert_eq(esmtp_format_mail(&m, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "<a@b.test> SIZE=42 BODY=8BITMIME RET=HDRS "
	    "ENVID=x+2By");
	/* 20 digits: leading zeros, or past what 64 bits hold */
	cr_assert_eq(esmtp_parse_mail("FROM:<a@b.test> SIZE=00000000000000000042",
	    1, &m, &err), 0);
	cr_expect_eq(m.size, 42);
	cr_assert_eq(esmtp_parse_mail("FROM:<a@b.test> SIZE=18446744073709551616",
	    1, &m, &err), 0);
	cr_expect_eq(m.size, UINT64_MAX);
}

Test(esmtp, rcpt_params)
{
	struct rcpt_args r;
	struct esmtp_err err;
	char out[1024];

	cr_assert_eq(esmtp_parse_rcpt("TO:<b@c.test> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;b@c.test", 1, 0, &r, &err), 0);
	cr_expect_eq(r.notify, NOTIFY_FAILURE | NOTIFY_DELAY);
	cr_expect_str_eq(r.orcpt, "rfc822;b@c.test");
	cr_assert_eq(esmtp_format_rcpt(&r, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "<b@c.test> NOTIFY=FAILURE,DELAY "
	    "ORCPT=rfc822;b@c.test");

	cr_expect_eq(esmtp_parse_rcpt("TO:<b@c.test> NOTIFY=NEVER,DELAY", 1, 0,
	    &r, &err), -1);
	cr_expect_eq(esmtp_parse_rcpt("TO:<b@c.test> NOTIFY=FAILURE,FAILURE", 1,
	    0, &r, &err), -1);
	cr_expect_eq(esmtp_parse_rcpt("TO:<b@c.test> ORCPT=;x", 1, 0, &r, &err),
	    -1);
	cr_expect_eq(esmtp_parse_rcpt("TO:<Postmaster>", 1, 0, &r, &err), 0);
	cr_expect_eq(esmtp_parse_rcpt("TO:<>", 1, 0, &r, &err), -1);
	cr_expect_eq(err.code, 501);
	cr_expect_eq(esmtp_parse_rcpt("TO:<ö@c.test>", 1, 0, &r, &err), -1);
	cr_expect_eq(err.code, 553);
	cr_expect_eq(esmtp_parse_rcpt("TO:<ö@c.test>", 1, 1, &r, &err), 0);
}

Test(esmtp, xtext)
{
	cr_expect(esmtp_xtext_valid("abc"));
	cr_expect(esmtp_xtext_valid("a+2Bb"));
	cr_expect_not(esmtp_xtext_valid("a+2b"));
	cr_expect_not(esmtp_xtext_valid("a+2"));
	cr_expect_not(esmtp_xtext_valid("a=b"));
	cr_expect_not(esmtp_xtext_valid("a b"));
}
