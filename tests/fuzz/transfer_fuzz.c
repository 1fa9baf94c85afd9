/*
 * transfer_fuzz: pop3d's RETR/TOP byte machine (pop3d/transfer.c), which
 * turns a stored message (any octets: a Maildir file is untrusted) into
 * a POP3 multi-line response body. Octet 0 picks RETR or TOP with 0..126
 * lines; the rest is the file, fed in random pieces.
 * Invariants: out <= 2 * in per call; the result is CRLF lines only
 * where the input had LF, every line starting with "." doubled, and
 * nothing after TOP's lines; the size counted is the octets sent less
 * the stuffed dots (RFC 1939's size), the same as a reference computes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transfer.h"

/* The reference: what RETR / TOP n must send for p (without ".CRLF"). */
static size_t
ref_transfer(const uint8_t *p, size_t n, uint64_t lines, char *out,
    size_t *stuffed)
{
	size_t i = 0, o = 0, start;
	int body = 0;

	*stuffed = 0;
	while (i < n) {
		int blank = 1;
		if (body && lines != TRANSFER_ALL && lines-- == 0)
			break;
		start = i;
		if (p[i] == '.') {
			out[o++] = '.';
			(*stuffed)++;
		}
		while (i < n && p[i] != '\n') {
			if (p[i] != '\r')
				blank = 0;
			out[o++] = (char)p[i++];
		}
		/* the line ends in CRLF: one CR of its own is kept */
		if (i == start || p[i - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
		if (i < n)
			i++;
		if (!body && blank) {
			body = 1;
			if (lines == 0)
				break;
		}
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transfer t;
	struct fuzz_rng rng;
	uint64_t lines;
	const uint8_t *in;
	char *out, *want, *piece;
	size_t len, pos = 0, o = 0, n, chunk, wantlen, stuffed;

	if (size < 1)
		return 0;
	lines = data[0] == 0xff ? TRANSFER_ALL : (uint64_t)(data[0] & 0x7f);
	in = data + 1;
	len = size - 1;
	fuzz_rng_init(&rng, data, size);
	out = malloc(2 * len + 2);
	transfer_init(&t, lines);
	while (pos < len) {
		chunk = fuzz_rng_len(&rng, len - pos);
		piece = malloc(chunk);
		memcpy(piece, in + pos, chunk);
		n = transfer_feed(&t, piece, chunk, out + o);
		FUZZ_ASSERT(n <= 2 * chunk);
		free(piece);
		o += n;
		pos += chunk;
	}
	n = transfer_end(&t, out + o);
	FUZZ_ASSERT(n <= 2);
	o += n;
	want = malloc(2 * len + 2);
	wantlen = ref_transfer(in, len, lines, want, &stuffed);
	FUZZ_ASSERT(o == wantlen);
	FUZZ_ASSERT(wantlen == 0 || memcmp(out, want, o) == 0);
	FUZZ_ASSERT(t.size == o - stuffed);
	free(want);
	free(out);
	return 0;
}
