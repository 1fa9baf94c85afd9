/* sendmail: reading a message, completing its header, -t recipients. */
#include <criterion/criterion.h>
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
	buf_free(&in);
	buf_free(&out);
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
	cr_expect_eq(sendmail_header_rcpts(&in, collect, NULL, err,
	    sizeof(err)), 4);
	cr_expect_str_eq(got, "a@x.test b@x.test c@x.test d@x.test");
	buf_free(&in);
}
