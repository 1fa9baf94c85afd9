/*
 * lineio_fuzz: the one bounded line reader (shared/lineio.c) that
 * smtpd, pop3d and the remote agent read every command and reply with.
 * Octet 0 picks the maximum line length (SMTP's, POP3's, or a small
 * one); the rest is the peer's byte stream, which the transport hands
 * over in random pieces.
 * Invariants: each line read is what a plain split at LF gives, one CR
 * before the LF stripped (crlf says so); a line over the maximum is
 * TOOLONG and consumed whole, never split into two; an unterminated
 * last line is no line (EOF); the line buffer is never written past
 * max + 1 octets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lineio.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 1022, 510, 253, 2048, 0, 1, 2, 16 };
	static struct lineio io;
	struct fuzz_transport t;
	enum lineio_result r;
	size_t max, ref = 0, len, n;
	char *line;
	int crlf;

	if (size < 1)
		return 0;
	max = maxes[data[0] & 7];
	fuzz_transport_init(&t, data, size, NULL, 0);
	lineio_init(&io, -1, -1);
	lineio_set_ops(&io, &fuzz_transport_ops, &t);
	/* exactly max + 1 octets, so ASan sees a write past them */
	line = malloc(max + 1);
	for (;;) {
		const uint8_t *nl;
		r = lineio_read(&io, line, max, &len, &crlf, lineio_now() + 1000);
		nl = ref < t.len ? memchr(t.in + ref, '\n', t.len - ref) : NULL;
		if (nl == NULL) {
			/* no more lines: the rest is an unfinished one */
			FUZZ_ASSERT(r == LINEIO_EOF);
			break;
		}
		n = (size_t)(nl - (t.in + ref));
		if (n > 0 && t.in[ref + n - 1] == '\r') {
			FUZZ_ASSERT(r == LINEIO_TOOLONG || crlf);
			n--;
		} else
			FUZZ_ASSERT(r == LINEIO_TOOLONG || !crlf);
		if (n > max)
			FUZZ_ASSERT(r == LINEIO_TOOLONG);
		else {
			FUZZ_ASSERT(r == LINEIO_OK && len == n);
			FUZZ_ASSERT(line[len] == '\0');
			FUZZ_ASSERT(memcmp(line, t.in + ref, n) == 0);
		}
		ref = (size_t)(nl - t.in) + 1;
	}
	/* after EOF, EOF again */
	FUZZ_ASSERT(lineio_read(&io, line, max, &len, &crlf, 0) == LINEIO_EOF);
	free(line);
	return 0;
}
