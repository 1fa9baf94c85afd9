/* qproto: the strict decoder of the handler -> queue protocol. */
#include <criterion/criterion.h>
#include <string.h>

#include "qid.h"
#include "qproto.h"
#include "str.h"

Test(qproto, commands)
{
	static const struct {
		const char *line;
		int ok;
		enum qcmd_verb verb;
		const char *arg;
	} t[] = {
		{ "POMBO 1", 1, QCMD_POMBO, "1" },
		{ "MAIL <a@b.test> SIZE=1", 1, QCMD_MAIL, "<a@b.test> SIZE=1" },
		{ "DATA", 1, QCMD_DATA, "" },
		{ "DATA x", 0, 0, NULL },
		{ "MAIL", 0, 0, NULL },
		{ "MAIL ", 0, 0, NULL },
		{ "MAIL  <a@b.test>", 0, 0, NULL },
		{ "mail <a@b.test>", 0, 0, NULL },
		{ "FLUSH", 1, QCMD_FLUSH, "" },
		{ "FLUSH 0123456789ab", 1, QCMD_FLUSH, "0123456789ab" },
		{ "STATS", 1, QCMD_STATS, "" },
		{ "STATS x", 0, 0, NULL },
		{ "RCPT <a@b.test>\r", 0, 0, NULL },
		{ "RCPT <a@b.test>\x7f", 0, 0, NULL },
		{ "", 0, 0, NULL },
		{ "BOGUS", 0, 0, NULL },
	};
	struct qcmd c;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = qproto_parse_cmd(t[i].line, &c);
		cr_expect_eq(rc == 0, t[i].ok, "%s", t[i].line);
		if (rc == 0 && t[i].ok) {
			cr_expect_eq(c.verb, t[i].verb);
			cr_expect_str_eq(c.arg, t[i].arg);
		}
	}
}

Test(qproto, helo)
{
	struct qhelo h;

	cr_assert_eq(qproto_parse_helo("ESMTP 192.0.2.1 mx.test", &h), 0);
	cr_expect_str_eq(h.proto, "ESMTP");
	cr_expect_str_eq(h.client, "192.0.2.1");
	cr_expect_str_eq(h.helo, "mx.test");
	cr_assert_eq(qproto_parse_helo("ESMTPSA ::1 [IPv6:::1] auth=bob@x.test "
	    "tls=TLSv1.3/TLS_AES_256_GCM_SHA384", &h), 0);
	cr_expect_str_eq(h.auth, "bob@x.test");
	cr_expect_str_eq(h.tls, "TLSv1.3/TLS_AES_256_GCM_SHA384");
	cr_expect_eq(qproto_parse_helo("LOCAL local localhost", &h), 0);
	cr_expect_eq(qproto_parse_helo("ESMTP 999.1.1.1 mx.test", &h), -1);
	cr_expect_eq(qproto_parse_helo("XSMTP 192.0.2.1 mx.test", &h), -1);
	cr_expect_eq(qproto_parse_helo("SMTP ESMTP 192.0.2.1", &h), -1);
	cr_expect_eq(qproto_parse_helo("ESMTP 192.0.2.1 bad..name", &h), -1);
	cr_expect_eq(qproto_parse_helo("ESMTP 192.0.2.1 mx.test x=y", &h), -1);
	cr_expect_eq(qproto_parse_helo("ESMTP 192.0.2.1", &h), -1);
	cr_expect_eq(qproto_parse_helo("ESMTP 192.0.2.1 mx.test auth=a b", &h), -1);
}

/* An AUTH name longer than queued keeps is refused, not cut to a name
 * that may be another user's (issue 15). */
Test(qproto, long_auth_refused)
{
	char line[512], user[QPROTO_AUTH_MAX + 3];
	struct qhelo h;

	memset(user, 'a', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';		/* QPROTO_AUTH_MAX + 2 octets */
	cr_assert_neq(str_fmt(line, sizeof(line), "ESMTPA 192.0.2.1 mx.test "
	    "auth=%s", user), -1);
	cr_expect_eq(qproto_parse_helo(line, &h), -1,
	    "an over-long AUTH name was taken as %zu octets", strlen(h.auth));
	user[QPROTO_AUTH_MAX] = '\0';		/* the longest that fits */
	cr_assert_neq(str_fmt(line, sizeof(line), "ESMTPA 192.0.2.1 mx.test "
	    "auth=%s", user), -1);
	cr_expect_eq(qproto_parse_helo(line, &h), 0);
	cr_expect_str_eq(h.auth, user);
}

Test(qproto, chunks_and_replies)
{
	const char *text;

	cr_expect_eq(qproto_parse_chunk("0"), 0);
	cr_expect_eq(qproto_parse_chunk("16384"), 16384);
	cr_expect_eq(qproto_parse_chunk("ABORT"), -2);
	cr_expect_eq(qproto_parse_chunk("01"), -1);
	cr_expect_eq(qproto_parse_chunk("-1"), -1);
	cr_expect_eq(qproto_parse_chunk("99999999"), -1);
	cr_expect_eq(qproto_parse_chunk(""), -1);
	cr_expect_eq(qproto_parse_reply("250 2.0.0 Ok", &text), 250);
	cr_expect_str_eq(text, "2.0.0 Ok");
	cr_expect_eq(qproto_parse_reply("354", &text), 354);
	cr_expect_eq(qproto_parse_reply("99 x", &text), -1);
	cr_expect_eq(qproto_parse_reply("abc", &text), -1);
	cr_expect_eq(qproto_parse_reply("600 x", &text), -1);
}

Test(qid, unique_sorted_valid)
{
	char a[QID_LEN + 1], b[QID_LEN + 1];
	int i;

	qid_new(a);
	cr_expect(qid_valid(a));
	for (i = 0; i < 1000; i++) {
		qid_new(b);
		cr_assert(strcmp(a, b) < 0, "%s < %s", a, b);
		memcpy(a, b, sizeof(a));
	}
	cr_expect_not(qid_valid("0123456789a"));
	cr_expect_not(qid_valid("0123456789abc"));
	cr_expect_not(qid_valid("0123456789aI"));	/* not in the alphabet */
	cr_expect_not(qid_valid("../../etc/pw"));
	qid_seed("zzzzzzzzzzzz");
	qid_new(b);
	cr_expect(strcmp(b, "zzzzzzzzzzzz") != 0);
}
