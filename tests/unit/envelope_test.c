/* envelope: the queue file header and the state file, both ways. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

static const char header[] =
    "POMBO-QUEUE 1\n"
    "id 01k177h582jc\n"
    "time 1795751098\n"
    "client ESMTP 192.0.2.1 client.test\n"
    "from <a@b.test> SIZE=100 BODY=8BITMIME\n"
    "rcpt <bob@example.test> NOTIFY=FAILURE\n"
    "rcpt <\"x y\"@example.test>\n"
    "length 000000000000000012\n"
    "data\n"
    "Subject: hi\n";

Test(envelope, parse_and_format_round_trip)
{
	struct envelope e;
	struct buf b;
	char err[128];

	cr_assert_eq(envelope_parse(&e, header, sizeof(header) - 1, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(e.qid, "01k177h582jc");
	cr_expect_eq(e.time, 1795751098);
	cr_expect_str_eq(e.from, "a@b.test");
	cr_expect_str_eq(e.from_params, " SIZE=100 BODY=8BITMIME");
	cr_assert_eq(e.nrcpt, 2);
	cr_expect_str_eq(e.rcpts[0].addr, "bob@example.test");
	cr_expect_str_eq(e.rcpts[0].params, " NOTIFY=FAILURE");
	cr_expect_str_eq(e.rcpts[1].addr, "\"x y\"@example.test");
	cr_expect_eq(e.data_off, sizeof(header) - 1 - strlen("Subject: hi\n"));
	cr_expect_eq(e.size, 12);
	cr_expect(e.flags & ENV_LENGTH);
	cr_expect_eq(envelope_length_offset(e.data_off),
	    (uint64_t)(strstr(header, "length ") + 7 - header));
	buf_init(&b, 1 << 20);
	cr_assert_eq(envelope_format(&e, &b), 0);
	cr_expect_eq(b.len, e.data_off);
	cr_expect(memcmp(b.data, header, b.len) == 0);
	buf_free(&b);
	envelope_free(&e);
}

Test(envelope, incomplete_asks_for_more)
{
	struct envelope e;
	char err[128];

	cr_expect_eq(envelope_parse(&e, header, 20, err, sizeof(err)), 1);
	cr_expect_eq(envelope_parse(&e, header, 5, err, sizeof(err)), 1);
}

Test(envelope, corrupt_headers)
{
	static const char *bad[] = {
		"POMBO-QUEUE 2\nid 01k177h582jc\ndata\n",
		"POMBO-QUEUE 1\nid ../etc/pass\ntime 1\nclient SMTP local x\n"
		    "from <>\nrcpt <a@b.test>\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient SMTP local x\n"
		    "from <>\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient SMTP local x\n"
		    "from <bad address>\nrcpt <a@b.test>\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient SMTP local x\n"
		    "from <>\nrcpt <a@b.test>\nextra thing\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime x\nclient SMTP local x\n"
		    "from <>\nrcpt <a@b.test>\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\nid 01k177h582jc\ntime 1\n"
		    "client SMTP local x\nfrom <>\nrcpt <a@b.test>\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient SMTP local x\n"
		    "from <>\nrcpt <a@b.test>\nflags bounce-twice\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient SMTP local x\n"
		    "from <>\nrcpt <a@b.test>\nflags double-bounce\n"
		    "flags double-bounce\ndata\n",
	};
	struct envelope e;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(envelope_parse(&e, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "case %zu", i);
}

Test(envelope, state_round_trip)
{
	struct envelope e, e2;
	struct buf b;
	char err[128];

	cr_assert_eq(envelope_parse(&e, header, sizeof(header) - 1, err,
	    sizeof(err)), 0);
	cr_assert_eq(envelope_parse(&e2, header, sizeof(header) - 1, err,
	    sizeof(err)), 0);
	e.rcpts[0].state = RS_DELIVERED;
	e.rcpts[0].attempts = 1;
	e.rcpts[1].attempts = 3;
	e.rcpts[1].next = 1795752534;
	e.rcpts[1].error = strdup("451 4.2.0 mailbox busy");
	e.rcpts[0].notify = 'r';
	e.rcpts[1].notify = 'w';
	e.flags = ENV_HOLD;
	buf_init(&b, 1 << 20);
	cr_assert_eq(envelope_format_state(&e, &b), 0);
	cr_assert_eq(envelope_parse_state(&e2, b.data, b.len, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(e2.rcpts[0].state, RS_DELIVERED);
	cr_expect_eq(e2.rcpts[1].state, RS_QUEUED);
	cr_expect_eq(e2.rcpts[1].attempts, 3);
	cr_expect_eq(e2.rcpts[1].next, 1795752534);
	cr_expect_str_eq(e2.rcpts[1].error, "451 4.2.0 mailbox busy");
	cr_expect_eq(e2.flags & ~ENV_LENGTH, ENV_HOLD);
	cr_expect_eq(e2.rcpts[0].notify, 'r', "an owed notice survives");
	cr_expect_eq(e2.rcpts[1].notify, 'w');
	cr_expect_eq(envelope_pending(&e2), 1);
	cr_expect_eq(envelope_parse_state(&e2, "POMBO-STATE 1\nrcpt 7 d 1 0\n",
	    27, err, sizeof(err)), -1, "index out of range");
	buf_free(&b);
	envelope_free(&e);
	envelope_free(&e2);
}

Test(envelope, state_owed_notices)
{
	static const char *bad[] = {
		"POMBO-STATE 1\nnotify 2 f\n",	/* no such recipient */
		"POMBO-STATE 1\nnotify 0 x\n",
		"POMBO-STATE 1\nnotify 0 \n",
		"POMBO-STATE 1\nnotify 0 ff\n",
		"POMBO-STATE 1\nnotify x f\n",
	};
	struct envelope e;
	const char *p;
	char err[128];
	size_t i;

	cr_assert_eq(envelope_parse(&e, header, sizeof(header) - 1, err,
	    sizeof(err)), 0);
	/* a state file from before owed notices were recorded */
	p = "POMBO-STATE 1\nrcpt 1 f 1 0 - 550 5.1.1 unknown\nflags\n";
	cr_expect_eq(envelope_parse_state(&e, p, strlen(p), err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(e.rcpts[1].state, RS_FAILED);
	cr_expect_eq(e.rcpts[1].notify, 0);
	p = "POMBO-STATE 1\nrcpt 1 f 1 0 - 550 5.1.1 unknown\nnotify 1 f\n";
	cr_expect_eq(envelope_parse_state(&e, p, strlen(p), err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(e.rcpts[1].notify, RS_FAILED);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(envelope_parse_state(&e, bad[i], strlen(bad[i]),
		    err, sizeof(err)), -1, "case %zu", i);
	envelope_free(&e);
}

/* A double bounce is marked in its queue file, and a state file's
 * flags do not unmark it. */
Test(envelope, double_bounce_mark)
{
	static const char text[] =
	    "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local mx.test\n"
	    "from <>\nrcpt <pm@far.test> ORCPT=rfc822;postmaster@mx.test\n"
	    "flags double-bounce\nlength 000000000000000003\ndata\nhi\n";
	struct envelope e;
	struct buf b;
	char err[128];

	cr_assert_eq(envelope_parse(&e, text, sizeof(text) - 1, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect(e.flags & ENV_DOUBLE);
	buf_init(&b, 1 << 20);
	cr_assert_eq(envelope_format(&e, &b), 0);
	cr_expect_eq(b.len, e.data_off);
	cr_expect(memcmp(b.data, text, b.len) == 0);
	cr_assert_eq(envelope_parse_state(&e, "POMBO-STATE 1\nflags hold\n",
	    25, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(e.flags, ENV_DOUBLE | ENV_HOLD | ENV_LENGTH);
	buf_free(&b);
	envelope_free(&e);
	cr_assert_eq(envelope_parse(&e, header, sizeof(header) - 1, err,
	    sizeof(err)), 0);
	cr_expect_eq(e.flags & ENV_DOUBLE, 0, "no mark, no flags line");
	envelope_free(&e);
}

/*
 * A queue file from before the length line loads as before: its size is
 * then what the file holds (the spool sets it), not a recorded length.
 */
Test(envelope, older_header_without_length)
{
	static const char text[] =
	    "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local mx.test\n"
	    "from <>\nrcpt <a@example.test>\ndata\nhi\n";
	static const char *bad[] = {
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local x\n"
		    "from <>\nrcpt <a@b.test>\nlength \ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local x\n"
		    "from <>\nrcpt <a@b.test>\nlength -1\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local x\n"
		    "from <>\nrcpt <a@b.test>\nlength 1\nlength 1\ndata\n",
		"POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient LOCAL local x\n"
		    "from <>\nrcpt <a@b.test>\nlength 1234567890123456789\n"
		    "data\n",
	};
	struct envelope e;
	char err[128];
	size_t i;

	cr_assert_eq(envelope_parse(&e, text, sizeof(text) - 1, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(e.flags & ENV_LENGTH, 0);
	cr_expect_eq(e.size, 0);
	envelope_free(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(envelope_parse(&e, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "%s", bad[i]);
}

/* pombo-verify's verdict: a digit queued fills in once it is known */
Test(envelope, junk_line)
{
	static const char text[] =
	    "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient ESMTP 192.0.2.1 "
	    "c.test\nfrom <a@b.test>\nrcpt <bob@example.test>\njunk 0\n"
	    "length 000000000000000003\ndata\nhi\n";
	static const char *bad[] = { "junk 2\nlength 1\n", "junk \nlength 1\n",
	    "junk 1\njunk 1\nlength 1\n", "length 1\njunk 1\n" };
	struct envelope e;
	struct buf b;
	char err[128], t[512];
	size_t i;
	uint64_t off;

	cr_assert_eq(envelope_parse(&e, text, sizeof(text) - 1, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(e.flags & (ENV_VERIFIED | ENV_JUNK), ENV_VERIFIED);
	buf_init(&b, 1 << 20);
	e.flags |= ENV_JUNK;
	cr_assert_eq(envelope_format(&e, &b), 0);
	cr_assert_eq(b.len, e.data_off);
	off = envelope_junk_offset(e.data_off, e.flags);
	cr_expect_eq(b.data[off], '1');
	cr_expect(memcmp(b.data, text, off) == 0);
	cr_expect(memcmp(b.data + off + 1, text + off + 1, b.len - off - 1) == 0);
	buf_free(&b);
	envelope_free(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(t, sizeof(t), "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\n"
		    "client LOCAL local x\nfrom <>\nrcpt <a@b.test>\n%sdata\n",
		    bad[i]);
		cr_expect_eq(envelope_parse(&e, t, strlen(t), err,
		    sizeof(err)), -1, "%s", bad[i]);
	}
}

/*
 * The message's checksum: a fixed-width line just before "length" that
 * the commit fills in (envelope_sum_offset); a file without it is an
 * older queued's, and reads as before.
 */
Test(envelope, sum_line)
{
	static const char text[] =
	    "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\nclient ESMTP 192.0.2.1 "
	    "c.test\nfrom <a@b.test>\nrcpt <bob@example.test>\njunk 1\n"
	    "sum crc32c:0a1b2c3d\nlength 000000000000000003\ndata\nhi\n";
	static const char *bad[] = { "sum crc32c:0a1b2c3\nlength 1\n",
	    "sum crc32c:0A1B2C3D\nlength 1\n", "sum md5:0a1b2c3d\nlength 1\n",
	    "sum crc32c:0a1b2c3d0\nlength 1\n",
	    "sum crc32c:0a1b2c3d\nsum crc32c:0a1b2c3d\nlength 1\n",
	    "length 1\nsum crc32c:0a1b2c3d\n",
	    "sum crc32c:0a1b2c3d\njunk 1\nlength 1\n", "sum \nlength 1\n" };
	struct envelope e;
	struct buf b;
	char err[128], t[512];
	size_t i;

	cr_assert_eq(envelope_parse(&e, text, sizeof(text) - 1, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect(e.flags & ENV_SUM);
	cr_expect(e.flags & ENV_JUNK);
	cr_expect_eq(e.sum, 0x0a1b2c3d);
	cr_expect_eq(envelope_sum_offset(e.data_off),
	    (uint64_t)(strstr(text, "crc32c:") + 7 - text));
	cr_expect_eq(text[envelope_junk_offset(e.data_off, e.flags)], '1');
	/* written as read; the writer's zeros until the commit */
	buf_init(&b, 1 << 20);
	cr_assert_eq(envelope_format(&e, &b), 0);
	cr_expect_eq(b.len, e.data_off);
	cr_expect(memcmp(b.data, text, b.len) == 0);
	buf_reset(&b);
	e.sum = 0;
	cr_assert_eq(envelope_format(&e, &b), 0);
	cr_expect(memcmp(b.data + envelope_sum_offset(e.data_off), "00000000",
	    8) == 0);
	buf_free(&b);
	envelope_free(&e);
	/* no line, no flag: an older file, not checked */
	cr_assert_eq(envelope_parse(&e, header, sizeof(header) - 1, err,
	    sizeof(err)), 0);
	cr_expect_eq(e.flags & ENV_SUM, 0);
	envelope_free(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(t, sizeof(t), "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\n"
		    "client LOCAL local x\nfrom <>\nrcpt <a@b.test>\n%sdata\n",
		    bad[i]);
		cr_expect_eq(envelope_parse(&e, t, strlen(t), err,
		    sizeof(err)), -1, "%s", bad[i]);
	}
}
