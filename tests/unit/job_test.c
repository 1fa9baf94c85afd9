/* job: the agent protocol both ways. */
#include <criterion/criterion.h>
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
		"POMBO-JOB 1\nmsg 01k177h582jc 1 1 1 a@b\nend\n",
		"POMBO-JOB 1\nmsg 01k177h582jc x 1 1 <>\nend\n",
		"POMBO-JOB 1\nend\nmore\n",
		"POMBO-JOB 1\nbogus\nend\n",
		"POMBO-JOB 1\nmsg 01k177h582jc 1 1 1 <>\nrcpt 0 a\x01 x\nend\n",
		"POMBO-JOB 1\nend",
	};
	struct job j;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(job_parse(&j, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "case %zu", i);
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
