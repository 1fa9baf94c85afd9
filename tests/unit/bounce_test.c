/* bounce: an RFC 3464 report with every field the issue names. */
#include <criterion/criterion.h>
#include <string.h>

#include "bounce.h"

Test(bounce, failed_report)
{
	static const char orig[] = "From: a@b.test\nSubject: hi\n";
	struct bounce_rcpt r[2] = {
		{ "x@remote.test", "rfc822; X@remote.test", "mx.remote.test",
		  "550 5.1.1 <x@remote.test>: no such user", 0 },
		{ "y@remote.test", NULL, NULL, "451 4.4.1 timed out\r\nfoo", 0 },
	};
	struct bounce_info bi = {
		.kind = BOUNCE_FAILED, .hostname = "mx.test",
		.qid = "01k177h582jc", .arrival = 1795751098,
		.envid = "id+2B1", .sender = "a@b.test", .rcpts = r, .nrcpt = 2,
		.original = orig, .original_len = sizeof(orig) - 1,
	};
	struct buf b;
	const char *s;

	buf_init(&b, 1 << 20);
	cr_assert_eq(bounce_format(&bi, 1795752000, &b), 0);
	s = buf_cstr(&b);
	cr_expect_not_null(strstr(s, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.test>\n"));
	cr_expect_not_null(strstr(s, "To: <a@b.test>\n"));
	cr_expect_not_null(strstr(s, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n"));
	cr_expect_not_null(strstr(s, "Content-Type: message/delivery-status\n"));
	cr_expect_not_null(strstr(s, "Reporting-MTA: dns; mx.test\n"));
	cr_expect_not_null(strstr(s, "Original-Envelope-Id: id+1\n"));
	cr_expect_not_null(strstr(s, "Final-Recipient: rfc822; x@remote.test\n"
	    "Original-Recipient: rfc822; X@remote.test\nAction: failed\n"
	    "Status: 5.1.1\nRemote-MTA: dns; mx.remote.test\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <x@remote.test>: no such user\n"));
	cr_expect_not_null(strstr(s, "Final-Recipient: rfc822; y@remote.test\n"
	    "Action: failed\nStatus: 4.4.1\n"));
	cr_expect_not_null(strstr(s, "timed out  foo"), "one clean line");
	cr_expect_not_null(strstr(s, "Content-Type: text/rfc822-headers\n\n"
	    "From: a@b.test\nSubject: hi\n"));
	cr_expect_not_null(strstr(s, "Auto-Submitted: auto-replied\n"));
	buf_free(&b);
}

Test(bounce, status_codes)
{
	char st[16];

	bounce_status("550 5.1.1 no", 1, st, sizeof(st));
	cr_expect_str_eq(st, "5.1.1");
	bounce_status("550 no enhanced code", 1, st, sizeof(st));
	cr_expect_str_eq(st, "5.0.0");
	bounce_status("421 4.4.2 timeout", 0, st, sizeof(st));
	cr_expect_str_eq(st, "4.4.2");
	bounce_status(NULL, 0, st, sizeof(st));
	cr_expect_str_eq(st, "4.0.0");
}
