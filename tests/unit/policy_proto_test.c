/* policy_proto: Postfix's policy delegation requests, replies, actions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "policy_proto.h"

Test(policy_proto, encode)
{
	const struct policy_attr a[] = {
		{ "request", "smtpd_access_policy" },
		{ "sender", "evil\n\naction=OK\r\n@x.test" },
		{ "queue_id", NULL },
	};
	struct buf b;

	buf_init(&b, 1 << 16);
	cr_assert_eq(policy_proto_encode(&b, a, 3), 0);
	cr_expect_str_eq(buf_cstr(&b), "request=smtpd_access_policy\n"
	    "sender=evil??action=OK??@x.test\nqueue_id=\n\n");
	buf_free(&b);
}

Test(policy_proto, encode_bounded)
{
	char big[5000];
	const struct policy_attr a[] = { { "helo_name", big } };
	struct buf b;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 1 << 16);
	cr_assert_eq(policy_proto_encode(&b, a, 1), 0);
	cr_expect_eq(b.len, strlen("helo_name=") + POLICY_VALUE_MAX + 2);
	buf_free(&b);
	/* a buffer too small says so */
	buf_init(&b, 100);
	cr_expect_eq(policy_proto_encode(&b, a, 1), -1);
	buf_free(&b);
}

Test(policy_proto, replies)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*action;
		size_t		 used;
	} t[] = {
		{ "action=DUNNO\n\n", 1, "DUNNO", 14 },
		{ "action=DUNNO\n\nnext", 1, "DUNNO", 14 },
		{ "action=REJECT go away\r\n\r\n", 1, "REJECT go away", 25 },
		{ "foo=bar\naction=OK\nbaz=1\n\n", 1, "OK", 25 },
		{ "ACTION=ok\n\n", 1, "ok", 11 },
		{ "action=DUNNO\n", 0, "", 0 },
		{ "action=DUN", 0, "", 0 },
		{ "", 0, "", 0 },
		{ "\n", -1, "", 0 },		/* no action */
		{ "foo=bar\n\n", -1, "", 0 },
		{ "action=OK\naction=REJECT\n\n", -1, "", 0 },
		{ "garbage\n\n", -1, "", 0 },
		{ "=x\n\n", -1, "", 0 },
		{ "HTTP/1.0 400 Bad request\n", -1, "", 0 },
	};
	struct policy_reply r;
	size_t i, used;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		used = 0;
		cr_expect_eq(policy_proto_parse_reply(t[i].in, strlen(t[i].in),
		    &r, &used), t[i].rc, "%s", t[i].in);
		if (t[i].rc == 1) {
			cr_expect_str_eq(r.action, t[i].action);
			cr_expect_eq(used, t[i].used, "%s", t[i].in);
		}
	}
}

Test(policy_proto, reply_bounds)
{
	static char big[POLICY_REPLY_MAX * 2];
	struct policy_reply r;
	size_t used, i, n = 0;

	/* a line that never ends */
	memset(big, 'x', sizeof(big));
	cr_expect_eq(policy_proto_parse_reply(big, POLICY_LINE_MAX + 1, &r,
	    &used), 0);
	cr_expect_eq(policy_proto_parse_reply(big, POLICY_LINE_MAX + 2, &r,
	    &used), -1);
	/* lines without end */
	for (i = 0; i < POLICY_ATTRS_MAX + 1; i++)
		n += (size_t)sprintf(big + n, "a%zu=b\n", i);
	cr_expect_eq(policy_proto_parse_reply(big, n, &r, &used), -1);
	/* a NUL */
	cr_expect_eq(policy_proto_parse_reply("action=O\0K\n\n", 12, &r,
	    &used), -1);
	cr_expect_eq(policy_proto_parse_reply("action=O\0", 9, &r, &used), -1);
}

Test(policy_proto, actions)
{
	static const struct {
		const char	*in;
		enum policy_kind kind;
		int		 code;
		const char	*dsn, *text;
	} t[] = {
		{ "OK", PA_OK, 0, "", "" },
		{ "ok", PA_OK, 0, "", "" },
		{ "DUNNO", PA_DUNNO, 0, "", "" },
		{ "REJECT", PA_REFUSE, 554, "5.7.1", "" },
		{ "REJECT  Go away ", PA_REFUSE, 554, "5.7.1", "Go away" },
		{ "reject spf\x01x\xc3\xa9", PA_REFUSE, 554, "5.7.1",
		  "spf?x??" },
		{ "DEFER later", PA_REFUSE, 450, "4.7.1", "later" },
		{ "DEFER_IF_PERMIT Greylisted", PA_DEFER_IF_PERMIT, 450,
		  "4.7.1", "Greylisted" },
		{ "DEFER_IF_REJECT x", PA_DEFER_IF_REJECT, 450, "4.7.1", "x" },
		{ "DEFER_IF_PERMIT 4.2.0 Greylisted, see x", PA_DEFER_IF_PERMIT,
		  450, "4.2.0", "Greylisted, see x" },
		{ "REJECT 5.7.23 SPF", PA_REFUSE, 554, "5.7.23", "SPF" },
		{ "DEFER 5.2.0 class", PA_REFUSE, 450, "4.2.0", "class" },
		{ "550 5.7.23 SPF fail", PA_REFUSE, 550, "5.7.23", "SPF fail" },
		{ "550 no dsn", PA_REFUSE, 550, "5.7.1", "no dsn" },
		{ "451 5.7.1 class", PA_REFUSE, 451, "4.7.1", "class" },
		{ "450", PA_REFUSE, 450, "4.7.1", "" },
		{ "550 5.1.1.1 odd", PA_REFUSE, 550, "5.7.1", "5.1.1.1 odd" },
		{ "250 fine", PA_BAD, 0, "", "" },
		{ "600 no", PA_BAD, 0, "", "" },
		{ "5500 no", PA_BAD, 0, "", "" },
		{ "55", PA_BAD, 0, "", "" },
		{ "HOLD spam?", PA_HOLD, 0, "", "spam?" },
		{ "DISCARD", PA_DISCARD, 0, "", "" },
		{ "PREPEND X-Policy: checked", PA_PREPEND, 0, "",
		  "X-Policy: checked" },
		{ "PREPEND no colon", PA_BAD, 0, "", "" },
		{ "PREPEND : empty name", PA_BAD, 0, "", "" },
		{ "PREPEND X-A: a\x01", PA_BAD, 0, "", "" },
		{ "FILTER smtp:[127.0.0.1]:10025", PA_IGNORED, 0, "", "" },
		{ "REDIRECT a@b.test", PA_IGNORED, 0, "", "" },
		{ "WARN x", PA_IGNORED, 0, "", "" },
		{ "OKAY", PA_BAD, 0, "", "" },
		{ "", PA_BAD, 0, "", "" },
		{ "DEFERX", PA_BAD, 0, "", "" },
	};
	struct policy_action a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		policy_proto_action(t[i].in, &a);
		cr_expect_eq(a.kind, t[i].kind, "%s: %d", t[i].in, a.kind);
		if (a.kind != t[i].kind)
			continue;
		cr_expect_eq(a.code, t[i].code, "%s", t[i].in);
		cr_expect_str_eq(a.dsn, t[i].dsn, "%s", t[i].in);
		cr_expect_str_eq(a.text, t[i].text, "%s", t[i].in);
	}
	policy_proto_action("FILTER x", &a);
	cr_expect_str_eq(a.name, "FILTER");
}

/* The answers of servers asked in order, as Postfix adds them up. */
static struct policy_chain
chain(const char *const *actions)
{
	struct policy_chain ch;
	struct policy_action a;

	policy_chain_init(&ch);
	for (; *actions; actions++) {
		policy_proto_action(*actions, &a);
		if (policy_chain_step(&ch, &a, "<b@x.test>",
		    "Recipient address"))
			return ch;
	}
	policy_chain_finish(&ch, "<b@x.test>", "Recipient address");
	return ch;
}

Test(policy_proto, chains)
{
	static const struct {
		const char	*actions[4];
		int		 accept, hold, discard;
		const char	*reply;
	} t[] = {
		{ { NULL }, 1, 0, 0, "" },
		{ { "DUNNO", "DUNNO", NULL }, 1, 0, 0, "" },
		{ { "OK", "REJECT", NULL }, 1, 0, 0, "" },
		{ { "DUNNO", "REJECT", NULL }, 0, 0, 0, "554 5.7.1 <b@x.test>: "
		  "Recipient address rejected: Access denied" },
		{ { "REJECT no", "OK", NULL }, 0, 0, 0, "554 5.7.1 <b@x.test>: "
		  "Recipient address rejected: no" },
		{ { "DEFER try later", NULL }, 0, 0, 0, "450 4.7.1 <b@x.test>: "
		  "Recipient address rejected: try later" },
		{ { "550 5.7.23 SPF says no", NULL }, 0, 0, 0,
		  "550 5.7.23 SPF says no" },
		{ { "DEFER_IF_PERMIT grey", NULL }, 0, 0, 0, "450 4.7.1 "
		  "<b@x.test>: Recipient address rejected: grey" },
		{ { "DEFER_IF_PERMIT grey", "OK", NULL }, 0, 0, 0, "450 4.7.1 "
		  "<b@x.test>: Recipient address rejected: grey" },
		{ { "DEFER_IF_PERMIT grey", "REJECT black", NULL }, 0, 0, 0,
		  "554 5.7.1 <b@x.test>: Recipient address rejected: black" },
		{ { "DEFER_IF_REJECT maybe", "REJECT black", NULL }, 0, 0, 0,
		  "450 4.7.1 <b@x.test>: Recipient address rejected: maybe" },
		{ { "DEFER_IF_REJECT maybe", "DEFER later", NULL }, 0, 0, 0,
		  "450 4.7.1 <b@x.test>: Recipient address rejected: later" },
		{ { "DEFER_IF_REJECT maybe", NULL }, 1, 0, 0, "" },
		{ { "HOLD", "DUNNO", NULL }, 1, 1, 0, "" },
		{ { "HOLD", "REJECT", NULL }, 0, 1, 0, "554 5.7.1 <b@x.test>: "
		  "Recipient address rejected: Access denied" },
		{ { "DISCARD", "REJECT", NULL }, 1, 0, 1, "" },
		{ { "PREPEND X: y", "FILTER z", NULL }, 1, 0, 0, "" },
		{ { "bogus", "OK", NULL }, 0, 0, 0,
		  "451 4.3.5 Server configuration error" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct policy_chain ch = chain(t[i].actions);
		cr_expect(ch.done, "%zu", i);
		cr_expect_eq(ch.accept, t[i].accept, "%zu", i);
		cr_expect_eq(ch.hold, t[i].hold, "%zu", i);
		cr_expect_eq(ch.discard, t[i].discard, "%zu", i);
		if (!t[i].accept)
			cr_expect_str_eq(ch.reply, t[i].reply, "%zu", i);
	}
}
