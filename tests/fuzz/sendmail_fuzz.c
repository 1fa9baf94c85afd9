/*
 * sendmail_fuzz: what pombo-sendmail does to a message a local program
 * wrote (queued/sendmail.c): reading it (CRLF to LF, the "." line), the
 * recipients of To/Cc/Bcc for -t, and the header it completes. Octet 0:
 * bit 0 is -i (dots are data), bit 1 drops Bcc:; the rest is the input.
 * Invariants: the reading is what a plain reference gives (a CR before
 * each LF dropped, the input ended by a "." line unless -i);
 * every recipient is a valid mailbox and counted; the completed header
 * has Date:, Message-ID: and From:, no Bcc: when dropped, the body is
 * untouched, and completing it again changes nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "fuzz.h"
#include "sendmail.h"

static int
take(const char *addr, void *ctx)
{
	struct addr a;

	FUZZ_ASSERT(addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == 0);
	(*(int *)ctx)++;
	return 0;
}

/*
 * Where the body starts: after the first empty line, or at the first line
 * that is neither a field ("name:" or "name WSP :") nor a continuation.
 */
static size_t
body_start(const char *p, size_t n)
{
	size_t i = 0, end, k;

	while (i < n) {
		for (end = i; end < n && p[end] != '\n'; end++)
			;
		if (end == i)
			return i + 1;
		for (k = i; k < end && p[k] > ' ' && p[k] < 127 &&
		    p[k] != ':'; k++)
			;
		if (k > i)
			while (k < end && (p[k] == ' ' || p[k] == '\t'))
				k++;
		if (!(k > i && k < end && p[k] == ':') &&
		    (i == 0 || (p[i] != ' ' && p[i] != '\t')))
			return i;
		i = end < n ? end + 1 : n;
	}
	return n;
}

static int
has_line(const char *p, size_t n, const char *prefix)
{
	size_t i, k = strlen(prefix);

	for (i = 0; i < n; i++)
		if ((i == 0 || p[i - 1] == '\n') && n - i >= k &&
		    strncasecmp(p + i, prefix, k) == 0)
			return 1;
	return 0;
}

/* The reading as it must be: lines end in LF, one CR before it goes,
 * a bare CR ends a line too, a "." line ends the input (unless -i); an
 * unfinished line stays. */
static size_t
ref_read(const uint8_t *p, size_t n, int ignore_dots, char *out)
{
	size_t i, o = 0, line = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n' && o > line && out[o - 1] == '\r') {
			out[o - 1] = '\n';
			line = o;
		}
		if (p[i] != '\n') {
			out[o++] = (char)p[i];
			continue;
		}
		if (o > line && out[o - 1] == '\r')
			o--;
		if (!ignore_dots && o - line == 1 && out[line] == '.')
			return line;
		out[o++] = '\n';
		line = o;
	}
	if (o > line && out[o - 1] == '\r')
		out[o - 1] = '\n';
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sendmail_opts o = { "mx.test", "a@b.test", "a@b.test",
	    "01k177h582jc", 1795751098 };
	struct buf msg, out, again;
	char err[256], ref[60000];
	int fds[2], rc, count = 0, ignore_dots, drop_bcc;
	size_t hl, b1, b2;

	/* a pipe holds 64 KiB: keep the write from blocking */
	if (size < 1 || size > 60000)
		return 0;
	ignore_dots = data[0] & 1;
	drop_bcc = (data[0] & 2) != 0;
	if (pipe(fds) == -1)
		abort();
	FUZZ_ASSERT(write(fds[1], data + 1, size - 1) == (ssize_t)(size - 1));
	close(fds[1]);
	buf_init(&msg, 1 << 20);
	rc = sendmail_read(fds[0], ignore_dots, 1 << 16, &msg);
	close(fds[0]);
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(msg.len == ref_read(data + 1, size - 1, ignore_dots, ref));
	FUZZ_ASSERT(msg.len == 0 || memcmp(msg.data, ref, msg.len) == 0);
	/* -t: the recipients */
	rc = sendmail_header_rcpts(&msg, "mx.test", take, &count, err,
	    sizeof(err));
	FUZZ_ASSERT(rc == -1 || rc == count);
	/* the completed header, and the body as it was */
	buf_init(&out, 1 << 22);
	FUZZ_ASSERT(sendmail_fix_header(&msg, &o, drop_bcc, &out) == 0);
	b1 = body_start(msg.data ? msg.data : "", msg.len);
	b2 = body_start(out.data, out.len);
	if (b1 < msg.len) {
		FUZZ_ASSERT(out.len - b2 == msg.len - b1);
		FUZZ_ASSERT(memcmp(out.data + b2, msg.data + b1,
		    msg.len - b1) == 0);
	}
	hl = b2;	/* the header, with its empty line if any */
	FUZZ_ASSERT(has_line(out.data, hl, "Date:"));
	FUZZ_ASSERT(has_line(out.data, hl, "Message-ID:"));
	FUZZ_ASSERT(has_line(out.data, hl, "From:"));
	if (drop_bcc)
		FUZZ_ASSERT(!has_line(out.data, hl, "Bcc:"));
	buf_init(&again, 1 << 22);
	FUZZ_ASSERT(sendmail_fix_header(&out, &o, drop_bcc, &again) == 0);
	FUZZ_ASSERT(again.len == out.len &&
	    memcmp(again.data, out.data, out.len) == 0);
	buf_free(&again);
	buf_free(&out);
	buf_free(&msg);
	return 0;
}
