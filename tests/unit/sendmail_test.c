/* sendmail: reading a message, completing its header, -t recipients. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sendmail.h"

static void
from_text(const char *text, int ignore_dots, struct buf *msg, int *rc)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	buf_init(msg, 1 << 20);
	*rc = sendmail_read(p[0], ignore_dots, 1 << 20, msg);
	close(p[0]);
}

Test(sendmail, read_dots_and_crlf)
{
	struct buf m;
	int rc;

	from_text("a\r\nb\n.\nafter\n", 0, &m, &rc);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(buf_cstr(&m), "a\nb\n", "a lone dot ends it");
	buf_free(&m);
	from_text("a\n.\nafter\n", 1, &m, &rc);
	cr_expect_str_eq(buf_cstr(&m), "a\n.\nafter\n", "-i: read to EOF");
	buf_free(&m);
	from_text("a\rb\r", 0, &m, &rc);
	cr_expect_str_eq(buf_cstr(&m), "a\nb\n", "a bare CR ends a line");
	buf_free(&m);
	from_text("no newline", 0, &m, &rc);
	cr_expect_str_eq(buf_cstr(&m), "no newline");
	buf_free(&m);
}

Test(sendmail, fix_header)
{
	struct sendmail_opts o = { "mx.test", "u@mx.test", "\"U\" <u@mx.test>",
	    "abc", 1795751098 };
	struct buf in, out;
	const char *s;

	buf_init(&in, 4096);
	buf_init(&out, 4096);
	buf_addstr(&in, "To: a@x.test\nBcc: secret@x.test,\n other@x.test\n"
	    "Subject: s\n\nbody\nBcc: not a header\n");
	cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
	s = buf_cstr(&out);
	cr_expect_not_null(strstr(s, "Date: "));
	cr_expect_not_null(strstr(s, "Message-ID: <abc@mx.test>\n"));
	cr_expect_not_null(strstr(s, "From: \"U\" <u@mx.test>\n"));
	cr_expect_null(strstr(s, "secret"), "Bcc: removed");
	cr_expect_null(strstr(s, "other@x.test"), "with its continuation");
	cr_expect_not_null(strstr(s, "To: a@x.test\nSubject: s\n\nbody\n"
	    "Bcc: not a header\n"), "%s", s);
	buf_reset(&out);
	buf_reset(&in);
	buf_addstr(&in, "From: me@x.test\nDate: x\nMessage-Id: <y>\n\nb\n");
	cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
	cr_expect_str_eq(buf_cstr(&out), "From: me@x.test\nDate: x\n"
	    "Message-Id: <y>\n\nb\n", "nothing added when present");
	/* cron's "To: root": root of this host, in every address field */
	buf_reset(&out);
	buf_reset(&in);
	buf_addstr(&in, "From: root (Cron Daemon)\nTo: root, Bob <bob>\n"
	    "Cc:\n alice@x.test,\n carol\nReply-To: <admin>\n"
	    "X-To: bob\nSubject: To: bob\nDate: x\nMessage-Id: <y>\n\n"
	    "To: body\n");
	cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
	cr_expect_str_eq(buf_cstr(&out), "From: root@mx.test (Cron Daemon)\n"
	    "To: root@mx.test, Bob <bob@mx.test>\n"
	    "Cc:\n alice@x.test,\n carol@mx.test\n"
	    "Reply-To: <admin@mx.test>\nX-To: bob\nSubject: To: bob\n"
	    "Date: x\nMessage-Id: <y>\n\nTo: body\n", "%s", buf_cstr(&out));
	/* one that qualified would pass 998 octets on a line stays as it
	 * was; folded, each line is measured alone */
	{
		char line[1200];
		size_t n = (size_t)snprintf(line, sizeof(line), "To: ");
		while (n < 990)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "u, ");
		snprintf(line + n, sizeof(line) - n, "v\nDate: x\n"
		    "Message-Id: <y>\nFrom: a@x.test\n\nb\n");
		buf_reset(&out);
		buf_reset(&in);
		buf_addstr(&in, line);
		cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
		cr_expect_str_eq(buf_cstr(&out), line, "kept whole");
		buf_reset(&out);
		buf_reset(&in);
		buf_addstr(&in, "To: u, u, u,\n u\nDate: x\nMessage-Id: <y>\n"
		    "From: a@x.test\n\nb\n");
		cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
		cr_expect_str_eq(buf_cstr(&out), "To: u@mx.test, u@mx.test, "
		    "u@mx.test,\n u@mx.test\nDate: x\nMessage-Id: <y>\n"
		    "From: a@x.test\n\nb\n");
	}
	/* a field that does not parse goes on as it was */
	buf_reset(&out);
	buf_reset(&in);
	buf_addstr(&in, "To: bob, \"open\nDate: x\nMessage-Id: <y>\n"
	    "From: a@x.test\n\nb\n");
	cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
	cr_expect_str_eq(buf_cstr(&out), buf_cstr(&in));
	/*
	 * a NUL in an address field (sendmail_read lets one through): the
	 * field goes on whole, not cut at the NUL
	 */
	buf_reset(&out);
	buf_reset(&in);
	buf_add(&in, "To: root\0, eve\n carol\nDate: x\nMessage-Id: <y>\n"
	    "From: a@x.test\n\nb\n", 64);
	cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
	cr_expect_eq(out.len, in.len, "%zu octets, not %zu", out.len, in.len);
	cr_expect(out.len == in.len && memcmp(out.data, in.data, in.len) == 0,
	    "the field as it was");
	buf_free(&in);
	buf_free(&out);
}

/*
 * "echo hi | sendmail bob": no header at all, or a header that a text
 * line ends without the empty line; the text stays the body.
 */
Test(sendmail, fix_header_no_empty_line)
{
	static const struct {
		const char	*in, *want;
	} t[] = {
		{ "hello there\nBcc: x@x.test\n", "\nhello there\nBcc: x@x.test\n" },
		{ "Subject: s\nhello\n", "Subject: s\n\nhello\n" },
		{ "Subject: s\n cont\nno colon here\n",
		  "Subject: s\n cont\n\nno colon here\n" },
		{ " indented first\n", "\n indented first\n" },
		{ "From foo@x.test Mon Jan  1\nx\n",
		  "\nFrom foo@x.test Mon Jan  1\nx\n" },
		{ "Subject : obsolete\n\nb\n", "Subject : obsolete\n\nb\n" },
		{ "Subject: s\n", "Subject: s\n" },
		{ "", "" },
	};
	struct sendmail_opts o = { "mx.test", "u@mx.test", "<u@mx.test>",
	    "abc", 1795751098 };
	struct buf in, out;
	const char *s, *rest;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&in, 4096);
		buf_init(&out, 4096);
		buf_addstr(&in, t[i].in);
		cr_assert_eq(sendmail_fix_header(&in, &o, 1, &out), 0);
		s = buf_cstr(&out);
		/* what follows the three fields added first */
		rest = strstr(s, "From: <u@mx.test>\n");
		cr_assert_not_null(rest, "%s", s);
		rest += strlen("From: <u@mx.test>\n");
		cr_expect_str_eq(rest, t[i].want, "case %zu: %s", i, s);
		buf_free(&in);
		buf_free(&out);
	}
}

static char got[1024];
static int
collect(const char *a, void *ctx)
{
	strcat(got, got[0] ? " " : "");
	strcat(got, a);
	return 0;
}

Test(sendmail, header_rcpts)
{
	struct buf in;
	char err[128];

	buf_init(&in, 4096);
	buf_addstr(&in, "To: A <a@x.test>,\n\tb@x.test\nCc: c@x.test\n"
	    "Bcc: d@x.test\nX-To: e@x.test\n\nTo: f@x.test\n");
	got[0] = '\0';
	cr_expect_eq(sendmail_header_rcpts(&in, NULL, collect, NULL, err,
	    sizeof(err)), 4);
	cr_expect_str_eq(got, "a@x.test b@x.test c@x.test d@x.test");
	buf_reset(&in);
	/* a text line ends the header: a To: after it is body */
	buf_addstr(&in, "To: a@x.test\nhello\nTo: f@x.test\n");
	got[0] = '\0';
	cr_expect_eq(sendmail_header_rcpts(&in, NULL, collect, NULL, err,
	    sizeof(err)), 1);
	cr_expect_str_eq(got, "a@x.test");
	buf_free(&in);
}

/* cron writes "To: root" and passes "root": a user of this host. */
Test(sendmail, user_names_alone)
{
	struct buf in;
	char err[128], out[64];

	buf_init(&in, 4096);
	buf_addstr(&in, "To: root, Bob <bob>\nCc: c@x.test\n\n");
	got[0] = '\0';
	cr_expect_eq(sendmail_header_rcpts(&in, "mx.test", collect, NULL, err,
	    sizeof(err)), 3, "%s", err);
	cr_expect_str_eq(got, "root@mx.test bob@mx.test c@x.test");
	got[0] = '\0';
	cr_expect_eq(sendmail_header_rcpts(&in, NULL, collect, NULL, err,
	    sizeof(err)), -1, "no domain: not an address");
	buf_free(&in);
	cr_expect_eq(sendmail_qualify("root", "mx.test", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "root@mx.test");
	cr_expect_eq(sendmail_qualify("a@x.test", "mx.test", out, sizeof(out)),
	    0);
	cr_expect_str_eq(out, "a@x.test");
	cr_expect_eq(sendmail_qualify("root", "mx.test", out, 8), -1);
}
