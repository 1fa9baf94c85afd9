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

/*
 * RFC 2046 5.1.1: the boundary must not occur in the parts. The sender
 * writes the original and learns the queue id from the 250, and the
 * time of the bounce is a few seconds' guess: a boundary of those alone
 * let the original end the report and add parts of its own.
 */
Test(bounce, boundary_not_guessable)
{
	static const char orig[] = "Subject: hi\n\n"
	    "--01k177h582jc.1795752000/mx.test--\n"
	    "--01k177h582jc.1795752000/mx.test\n"
	    "Content-Type: text/plain\n\nforged\n";
	struct bounce_info bi = {
		.kind = BOUNCE_FAILED, .hostname = "mx.test",
		.qid = "01k177h582jc", .arrival = 1795751098,
		.sender = "a@b.test", .original = orig,
		.original_len = sizeof(orig) - 1, .full = 1,
		.nonce = 0x0123456789abcdefULL,
	};
	char delim[256];
	struct buf b;
	const char *s, *p;
	size_t n;

	buf_init(&b, 1 << 20);
	cr_assert_eq(bounce_format(&bi, 1795752000, &b), 0);
	s = buf_cstr(&b);
	cr_assert_not_null(p = strstr(s, "boundary=\""));
	p += strlen("boundary=\"");
	n = strcspn(p, "\"");
	cr_assert_lt(n + 3, sizeof(delim));
	delim[0] = delim[1] = '-';
	memcpy(delim + 2, p, n);
	delim[n + 2] = '\0';
	cr_expect_null(strstr(orig, delim), "the boundary %s is in the original",
	    delim);
	/* the one delimiter line that opens the original's part, and the end */
	cr_expect_not_null(strstr(s, "Content-Type: message/rfc822\n\n"
	    "Subject: hi\n"));
	buf_free(&b);
}
