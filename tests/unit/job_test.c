/* job: the agent protocol both ways. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "job.h"

Test(job, parse)
{
	static const char text[] =
	    "POMBO-JOB 1\n"
	    "host mx.test\n"
	    "msg 01k177h582jc 1795751098 180 42 <a@b.test> recovered\n"
	    "rcpt 0 bob@example.test /srv/mail/example.test/bob\n"
	    "rcpt 2 ü@example.test -\n"
	    "msg 01k177h582jd 1795751099 100 0 <>\n"
	    "rcpt 0 x@remote.test  NOTIFY=NEVER\n"
	    "end\n";
	struct job j;
	char err[128];

	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(j.host, "mx.test");
	cr_assert_eq(j.nmsg, 2);
	cr_expect_eq(j.msgs[0].data_off, 180);
	cr_expect_eq(j.msgs[0].size, 42);
	cr_expect(job_has_flag(&j.msgs[0], "recovered"));
	cr_expect_not(job_has_flag(&j.msgs[1], "recovered"));
	cr_assert_eq(j.msgs[0].nrcpt, 2);
	cr_expect_eq(j.msgs[0].rcpts[1].index, 2);
	cr_expect_str_eq(j.msgs[0].rcpts[1].addr, "ü@example.test");
	cr_expect_str_eq(j.msgs[0].rcpts[0].extra, "/srv/mail/example.test/bob");
	cr_expect_str_eq(j.msgs[1].from, "<>");
	job_free(&j);
}

Test(job, bad_jobs)
{
	static const char *bad[] = {
		"",
		"POMBO-JOB 2\nend\n",
		"POMBO-JOB 1\n",
		"POMBO-JOB 1\nrcpt 0 a@b.test x\nend\n",
		"POMBO-JOB 1\nmsg ../../etc 1 1 1 <>\nend\n",
		"POMBO-JOB 1\nend\nmore\n",
		"POMBO-JOB 1\nbogus\nend\n",
		"POMBO-JOB 1\nhost a b\nend\n",
		"POMBO-JOB 1\nhost mx\x01.test\nend\n",
		"POMBO-JOB 1\nmsg 01k177h582jc 1 1 1 <>\nrcpt 0 a@b\nend",
		"POMBO-JOB 1\nend",
	};
	struct job j;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(job_parse(&j, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "case %zu", i);
}

/* MTA-STS: "mta-sts <timeout> <port>", or nothing (off) */
Test(job, mta_sts_line)
{
	static const char *bad[] = {
		"mta-sts\n", "mta-sts 20\n", "mta-sts 0 443\n",
		"mta-sts 20 0\n", "mta-sts 20 65536\n", "mta-sts 20 443 x\n",
		"mta-sts yes\n", "mta-sts 86401 443\n",
	};
	char text[256], err[128];
	struct job j;
	size_t i;

	str_fmt_trunc(text, sizeof(text), "POMBO-JOB 1\nhost mx.test\n"
	    "dest a.test\nmta-sts 20 8443\nend\n");
	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_eq(j.mta_sts_timeout, 20);
	cr_expect_eq(j.mta_sts_port, 8443);
	job_free(&j);
	str_fmt_trunc(text, sizeof(text), "POMBO-JOB 1\nhost mx.test\nend\n");
	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0);
	cr_expect_eq(j.mta_sts_timeout, 0, "no line: no MTA-STS");
	job_free(&j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_fmt_trunc(text, sizeof(text), "POMBO-JOB 1\nhost mx.test\n"
		    "%send\n", bad[i]);
		cr_expect_eq(job_parse(&j, text, strlen(text), err,
		    sizeof(err)), -1, "%s", bad[i]);
	}
}

/* A destination that does not fit is refused, not cut to another one
 * (issue 15: the str_copy of "dest" ignored its result). */
Test(job, long_dest_refused)
{
	char text[1024], lit[400];
	struct job j;
	char err[128];

	memset(lit, '1', sizeof(lit) - 1);
	lit[sizeof(lit) - 1] = '\0';
	lit[0] = '[';
	lit[sizeof(lit) - 2] = ']';
	cr_assert_neq(str_fmt(text, sizeof(text), "POMBO-JOB 1\nhost h.test\n"
	    "dest %s\nend\n", lit), -1);
	err[0] = '\0';
	cr_expect_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), -1,
	    "an over-long dest was taken as <%s>", j.dest);
	cr_expect(strstr(err, "bad destination") != NULL, "err: %s", err);
	/* the longest that fits still goes through */
	lit[sizeof(j.dest) - 2] = ']';
	lit[sizeof(j.dest) - 1] = '\0';
	cr_assert_neq(str_fmt(text, sizeof(text), "POMBO-JOB 1\nhost h.test\n"
	    "dest %s\nend\n", lit), -1);
	cr_expect_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(j.dest, lit);
	job_free(&j);
}

Test(job, results)
{
	struct job_result r;
	struct buf b;

	buf_init(&b, 4096);
	cr_assert_eq(job_result_format(&b, "01k177h582jc", 3, STATUS_PERM,
	    "mx1.remote.test", "550 5.1.1 no\r\nsuch user"), 0);
	cr_expect_str_eq(buf_cstr(&b), "01k177h582jc 3 perm mx1.remote.test "
	    "550 5.1.1 no  such user\n");
	b.data[b.len - 1] = '\0';
	cr_assert_eq(job_result_parse(b.data, &r), 0);
	cr_expect_eq(r.index, 3);
	cr_expect_eq(r.status, STATUS_PERM);
	cr_expect_str_eq(r.mta, "mx1.remote.test");
	cr_expect_str_eq(r.reply, "550 5.1.1 no  such user");
	cr_expect_eq(job_result_parse("01k177h582jc 0 ok - 250 ok", &r), 0);
	cr_expect_str_eq(r.mta, "");
	cr_expect_eq(job_result_parse("01k177h582jc 0 maybe - 250 ok", &r), -1);
	cr_expect_eq(job_result_parse("01k177h582jc 0 ok - ok", &r), -1);
	cr_expect_eq(job_result_parse("01k177h582jc x ok - 250 ok", &r), -1);
	cr_expect_eq(job_result_parse("nope 0 ok - 250 ok", &r), -1);
	buf_free(&b);
}

/*
 * A message whose lines cannot be read fails alone: its recipients get
 * a permanent result, the rest of the batch stays (it was the agent's
 * exit 70 for the whole batch, at every retry).
 */
Test(job, poison_message_fails_alone)
{
	static const char text[] =
	    "POMBO-JOB 1\n"
	    "host mx.test\n"
	    "msg 01k177h582ja 1 1 1 <a@b.test>\n"
	    "rcpt 0 ok@example.test -\n"
	    /* the old writer's split sender */
	    "msg 01k177h582jb 1 1 1 <\"p q\"@ext.test>\n"
	    "rcpt 0 bob@example.test -\n"
	    "rcpt 1 carol@example.test -\n"
	    "msg 01k177h582jc x 1 1 <>\n"
	    "rcpt 3 x@example.test -\n"
	    "msg 01k177h582jd 1 1 1 <>\n"
	    "rcpt 0 a\x01 x\n"
	    "rcpt 1 a%zz@b.test x\n"
	    "rcpt nope a@b.test x\n"
	    "msg 01k177h582je 1 1 1 <>\n"
	    "rcpt 2 dave@example.test -\n"
	    "end\n";
	struct job j;
	struct buf out;
	char err[128];

	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(j.nmsg, 5);
	cr_expect_null(j.msgs[0].bad);
	cr_expect_not_null(j.msgs[1].bad);
	cr_expect_not_null(j.msgs[2].bad);
	cr_expect_not_null(j.msgs[3].bad);
	cr_expect_null(j.msgs[4].bad);
	buf_init(&out, 1 << 16);
	cr_expect_eq(job_reject_bad(&j, &out), 3);
	cr_expect_str_eq(buf_cstr(&out),
	    "01k177h582jb 0 perm - 554 5.3.0 The delivery agent cannot read "
	    "this message's job (bad reverse-path)\n"
	    "01k177h582jb 1 perm - 554 5.3.0 The delivery agent cannot read "
	    "this message's job (bad reverse-path)\n"
	    "01k177h582jc 3 perm - 554 5.3.0 The delivery agent cannot read "
	    "this message's job (bad time)\n"
	    "01k177h582jd 0 perm - 554 5.3.0 The delivery agent cannot read "
	    "this message's job (bad address)\n"
	    "01k177h582jd 1 perm - 554 5.3.0 The delivery agent cannot read "
	    "this message's job (bad address)\n");
	cr_assert_eq(j.nmsg, 2);
	cr_expect_str_eq(j.msgs[0].qid, "01k177h582ja");
	cr_expect_str_eq(j.msgs[1].qid, "01k177h582je");
	cr_expect_str_eq(j.msgs[1].rcpts[0].addr, "dave@example.test");
	job_free(&j);
	buf_free(&out);
}

/* Hostile addresses through queued's writers and the agent's parser. */
Test(job, hostile_addresses_round_trip)
{
	static const char *addrs[] = {
		"\"p q\"@ext.test",
		"\"ceo@bank.example> ENVID=INJ RET=HDRS\"@ext.test",
		"\"x>, to=<root@x>, relay=local, status=sent (250 ok) y\"@e.test",
		"\"50%25\"@x.test",
		"\"\\\" \\\\\"@x.test",
		"ü@bücher.test",
		"bob+tag@example.test",
	};
	struct buf b;
	struct job j;
	char err[128];
	size_t i;

	buf_init(&b, 1 << 20);
	buf_addstr(&b, JOB_MAGIC "\nhost mx.test\n");
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		cr_assert_eq(job_format_msg(&b, "01k177h582jc", 1, 2, 3,
		    addrs[i], "SIZE=3 RET=FULL"), 0);
		cr_assert_eq(job_format_rcpt(&b, (unsigned)i, addrs[i],
		    "/srv/mail box/x"), 0);
	}
	cr_assert_eq(job_format_msg(&b, "01k177h582jd", 1, 2, 3, "", ""), 0);
	cr_assert_eq(job_format_rcpt(&b, 9, "a@b.test", ""), 0);
	buf_addstr(&b, "end\n");
	cr_assert_eq(job_parse(&j, b.data, b.len, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(j.nmsg, sizeof(addrs) / sizeof(addrs[0]) + 1);
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		char from[512];
		snprintf(from, sizeof(from), "<%s>", addrs[i]);
		cr_expect_null(j.msgs[i].bad);
		cr_expect_str_eq(j.msgs[i].from, from);
		cr_expect_str_eq(j.msgs[i].flags, "SIZE=3 RET=FULL");
		cr_expect(job_has_flag(&j.msgs[i], "RET=FULL"));
		cr_expect_not(job_has_flag(&j.msgs[i], "RET=HDRS"));
		cr_assert_eq(j.msgs[i].nrcpt, 1);
		cr_expect_eq(j.msgs[i].rcpts[0].index, i);
		cr_expect_str_eq(j.msgs[i].rcpts[0].addr, addrs[i]);
		cr_expect_str_eq(j.msgs[i].rcpts[0].extra, "/srv/mail box/x");
	}
	cr_expect_str_eq(j.msgs[i].from, "<>");
	cr_expect_str_eq(j.msgs[i].flags, "");
	cr_expect_str_eq(j.msgs[i].rcpts[0].extra, "");
	job_free(&j);
	buf_free(&b);
}

/* What the agent would refuse is never written. */
Test(job, writers_refuse)
{
	struct buf b;
	char big[JOB_LINE_MAX];

	buf_init(&b, 1 << 20);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_eq(job_format_msg(&b, "nope", 1, 2, 3, "a@b", ""), -1);
	cr_expect_eq(job_format_msg(&b, "01k177h582jc", 1, 2, 3, "a@b",
	    "x\ny"), -1);
	cr_expect_eq(job_format_msg(&b, "01k177h582jc", 1, 2, 3, "a@b", big),
	    -1);
	cr_expect_eq(job_format_rcpt(&b, 0, "", "x"), -1);
	cr_expect_eq(job_format_rcpt(&b, 0, "a@b", "x\ry"), -1);
	cr_expect_eq(job_format_rcpt(&b, 0, "a@b", big), -1);
	cr_expect_eq(b.len, 0);
	buf_free(&b);
}

/* the keys the remote agent signs with, and queued's "dkim" word */
Test(job, dkim_lines)
{
	static const char text[] =
	    "POMBO-JOB 1\n"
	    "host mx.test\n"
	    "dest remote.test\n"
	    "dkim a.test sel-ed /etc/pombo/a.test.sel-ed.pem\n"
	    "dkim a.test sel-rsa /etc/pombo/a.test.sel-rsa.pem\n"
	    "msg 01k177h582jc 1795751098 180 42 <a@a.test> BODY=8BITMIME dkim\n"
	    "rcpt 0 bob@remote.test\n"
	    "end\n";
	static const char *bad[] = {
		"POMBO-JOB 1\ndkim a.test sel\nend\n",
		"POMBO-JOB 1\ndkim a.test sel rel/key.pem\nend\n",
		"POMBO-JOB 1\ndkim a..test sel /k.pem\nend\n",
		"POMBO-JOB 1\ndkim a.test s_1 /k.pem\nend\n",
		"POMBO-JOB 1\ndkim a.test sel /k.pem x\nend\n",
	};
	struct job j;
	char err[128];
	size_t i;

	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(j.ndkim, 2);
	cr_expect_str_eq(j.dkim[1].domain, "a.test");
	cr_expect_str_eq(j.dkim[1].selector, "sel-rsa");
	cr_expect_str_eq(j.dkim[1].keyfile, "/etc/pombo/a.test.sel-rsa.pem");
	cr_expect(job_has_flag(&j.msgs[0], "dkim"));
	job_free(&j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(job_parse(&j, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "case %zu", i);
}

Test(job, verify_job_and_verdicts)
{
	static const char text[] =
	    "POMBO-JOB 1\n"
	    "host mx.test\n"
	    "client 192.0.2.7 mail.example.org\n"
	    "dmarc-reject yes\n"
	    "msg 01k177h582jc 1795751098 180 42 <a@b.test>\n"
	    "end\n";
	static const char *bad_client[] = { "client 192.0.2.7\n",
	    "client 192.0.2.7 a b\n", "dmarc-reject maybe\n" };
	struct job j;
	struct job_verdict v;
	struct buf out;
	char err[128], t[256];
	size_t i;

	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(j.client_ip, "192.0.2.7");
	cr_expect_str_eq(j.helo, "mail.example.org");
	cr_expect_eq(j.dmarc_reject, 1);
	job_free(&j);
	for (i = 0; i < sizeof(bad_client) / sizeof(bad_client[0]); i++) {
		snprintf(t, sizeof(t), "POMBO-JOB 1\n%send\n", bad_client[i]);
		cr_expect_eq(job_parse(&j, t, strlen(t), err, sizeof(err)), -1,
		    "%s", bad_client[i]);
	}

	buf_init(&out, 4096);
	cr_assert_eq(job_verdict_format(&out, "01k177h582jc", VERDICT_REJECT,
	    "550 5.7.1 DMARC\r\npolicy"), 0);
	cr_expect_str_eq(buf_cstr(&out),
	    "verdict 01k177h582jc reject 550 5.7.1 DMARC  policy\n");
	buf_free(&out);
	cr_assert_eq(job_verdict_parse("verdict 01k177h582jc junk spf=pass "
	    "dkim=none dmarc=fail", &v), 0);
	cr_expect_eq(v.verdict, VERDICT_JUNK);
	cr_expect_str_eq(v.qid, "01k177h582jc");
	cr_expect_str_eq(v.text, "spf=pass dkim=none dmarc=fail");
	cr_expect_eq(job_verdict_parse("verdict 01k177h582jc reject 550 5.7.1 "
	    "no", &v), 0);
	cr_expect_eq(v.verdict, VERDICT_REJECT);
	/* what queued must not pass on as a refusal */
	cr_expect_eq(job_verdict_parse("verdict 01k177h582jc reject 250 2.0.0 "
	    "ok", &v), -1);
	cr_expect_eq(job_verdict_parse("verdict 01k177h582jc reject 550 4.7.1 "
	    "x", &v), -1);
	cr_expect_eq(job_verdict_parse("verdict 01k177h582jc maybe", &v), -1);
	cr_expect_eq(job_verdict_parse("verdict ../etc ok", &v), -1);
	cr_expect_eq(job_verdict_parse("01k177h582jc 0 ok - 250 x", &v), -1);
}

/* DANE's line: the trust anchor file, an absolute path (issue 20). */
Test(job, dane_line)
{
	static const char ok[] = "POMBO-JOB 1\nhost mx.test\ndest b.test\n"
	    "dane /usr/share/dns/root.key\nend\n";
	static const char *bad[] = {
		"POMBO-JOB 1\ndane root.key\nend\n",
		"POMBO-JOB 1\ndane \nend\n",
	};
	struct job j;
	char err[128];
	size_t i;

	cr_assert_eq(job_parse(&j, ok, strlen(ok), err, sizeof(err)), 0, "%s",
	    err);
	cr_expect_str_eq(j.dane, "/usr/share/dns/root.key");
	job_free(&j);
	cr_assert_eq(job_parse(&j, "POMBO-JOB 1\nend\n", 16, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_str_eq(j.dane, "");
	job_free(&j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(job_parse(&j, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "case %zu", i);
}

/* RFC 8460 reporting: the "tls" lines of pombo-remote, both ways */
Test(job, tls_lines)
{
	static const char *good[] = {
		"tls a.test sts success mx.a.test 192.0.2.1 r@a.test",
		"tls a.test no-policy-found starttls-not-supported mx.a.test "
		    "2001:db8::1 r@a.test,s@b.test",
		"tls a.test sts sts-policy-fetch-error - - r@a.test",
		"tls a.test tlsa tlsa-invalid mx.a.test 192.0.2.1 r@a.test",
	};
	static const char *bad[] = {
		"tls a.test sts success mx.a.test 192.0.2.1",
		"tls a.test sts success mx.a.test 192.0.2.1 r@a.test x",
		"tls a.test dane success mx.a.test 192.0.2.1 r@a.test",
		"tls a.test sts fine mx.a.test 192.0.2.1 r@a.test",
		"tls a..test sts success mx.a.test 192.0.2.1 r@a.test",
		"tls a.test sts success mx_a.test 192.0.2.1 r@a.test",
		"tls a.test sts success mx.a.test 192.0.2 r@a.test",
		"tls a.test sts success mx.a.test 192.0.2.1 nobody",
		"tls a.test sts success mx.a.test 192.0.2.1 r@a.test,",
		"tls a.test sts success mx.a.test 192.0.2.1 <r@a.test>",
		"01k177h582jc 0 ok - 250 ok",
		"tls",
	};
	struct job_tls t, t2;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(job_tls_parse(good[i], &t), 0, "%s", good[i]);
		buf_init(&b, 4096);
		cr_assert_eq(job_tls_format(&b, &t), 0);
		cr_expect_eq(b.len, strlen(good[i]) + 1);
		cr_expect(memcmp(b.data, good[i], b.len - 1) == 0,
		    "%s round trip", good[i]);
		buf_free(&b);
	}
	cr_assert_eq(job_tls_parse(good[1], &t), 0);
	cr_expect_eq(t.policy, JOB_TLS_NO_POLICY);
	cr_expect_str_eq(t.ip, "2001:db8::1");
	cr_expect_str_eq(t.rua, "r@a.test,s@b.test");
	cr_assert_eq(job_tls_parse(good[2], &t), 0);
	cr_expect_str_eq(t.mx, "");
	cr_expect_str_eq(t.ip, "");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(job_tls_parse(bad[i], &t2), -1, "%s", bad[i]);
	/* the writer refuses what the reader would */
	str_copy_trunc(t.result, "nonsense", sizeof(t.result));
	buf_init(&b, 4096);
	cr_expect_eq(job_tls_format(&b, &t), -1);
	cr_expect_eq(b.len, 0);
	buf_free(&b);
}

/* The message's sum rides in the msg flags; the agent's verdict on it. */
Test(job, sum_flag_and_damaged_line)
{
	static const char text[] =
	    "POMBO-JOB 1\n"
	    "host mx.test\n"
	    "msg 01k177h582ja 1 100 3 <a@b.test> BODY=8BITMIME crc32c=0a1b2c3d\n"
	    "rcpt 0 a@example.test -\n"
	    "msg 01k177h582jb 1 100 3 <>\n"
	    "rcpt 0 a@example.test -\n"
	    "msg 01k177h582jc 1 100 3 <> crc32c=0A1B2C3D\n"
	    "rcpt 0 a@example.test -\n"
	    "msg 01k177h582jd 1 100 3 <> crc32c=1 crc32c=2\n"
	    "rcpt 0 a@example.test -\n"
	    "end\n";
	struct job j;
	struct buf out;
	char err[128], why[JOB_REPLY_MAX + 1], qid[QID_LEN + 1];

	cr_assert_eq(job_parse(&j, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(j.nmsg, 4);
	cr_expect(j.msgs[0].has_sum);
	cr_expect_eq(j.msgs[0].sum, 0x0a1b2c3d);
	cr_expect(job_has_flag(&j.msgs[0], "BODY=8BITMIME"));
	cr_expect_not(j.msgs[1].has_sum);
	cr_expect_not_null(j.msgs[2].bad);
	cr_expect_not_null(j.msgs[3].bad);
	cr_expect(job_sum_matches(&j.msgs[0], 0x0a1b2c3d, why, sizeof(why)));
	cr_expect_not(job_sum_matches(&j.msgs[0], 0x0a1b2c3e, why,
	    sizeof(why)));
	cr_expect(strstr(why, "0a1b2c3e") && strstr(why, "0a1b2c3d"), "%s", why);
	cr_expect(job_sum_matches(&j.msgs[1], 12345, why, sizeof(why)),
	    "no sum (an older file): nothing to check");
	/* queued's writer refuses what its agent would */
	buf_init(&out, 1 << 16);
	cr_expect_eq(job_format_msg(&out, "01k177h582ja", 1, 1, 1, "",
	    "crc32c=xyz"), -1);
	cr_expect_eq(job_format_msg(&out, "01k177h582ja", 1, 1, 1, "",
	    "crc32c=00000000"), 0);
	buf_reset(&out);
	cr_assert_eq(job_damaged_format(&out, "01k177h582ja", "bad\nbytes"), 0);
	cr_expect_str_eq(buf_cstr(&out), "damaged 01k177h582ja bad?bytes\n");
	out.len--;	/* the line without its LF, as queued reads it */
	cr_assert_eq(job_damaged_parse(buf_cstr(&out), qid, why), 0);
	cr_expect_str_eq(qid, "01k177h582ja");
	cr_expect_str_eq(why, "bad?bytes");
	cr_expect_eq(job_damaged_parse("damaged 01k177h582j bad", qid, why), -1);
	cr_expect_eq(job_damaged_parse("damaged 01k177h582ja", qid, why), -1);
	cr_expect_eq(job_damaged_parse("damaged 01k177h582ja a\x01", qid, why),
	    -1);
	job_free(&j);
	buf_free(&out);
}
