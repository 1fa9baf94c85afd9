/*
 * data_fuzz: the DATA byte machine (smtpd/data.c), fed in random pieces.
 * Octet 0 picks a socket (CRLF only) or a pipe (LF ends lines too),
 * octet 1 a small or a huge size limit; the rest is the client's stream.
 * A plain reference scanner says where the end must be found and what
 * the message must be; the machine must agree on every split:
 *  - out <= in per call, consumed < in only at the end;
 *  - on a socket the end is the first CRLF "." CRLF (or "." CRLF first),
 *    nothing else: no LF "." CRLF, no CR "." CR (SMTP smuggling);
 *  - bare CR / bare LF are reported exactly when the stream has them;
 *  - an accepted message is the unstuffed LF form, its size and hops
 *    counted right, and the size limit holds on the size as sent
 *    (RFC 1870 3: each line end a CRLF, stuffing dots not counted).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data.h"
#include "fuzz.h"

/* Where the data ends (the octet after the final LF), or 0 if not yet. */
static size_t
ref_end(const uint8_t *p, size_t n, int lf)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != '.' || (i > 0 && p[i - 1] != '\n'))
			continue;
		if (!lf && i > 0 && (i < 2 || p[i - 2] != '\r'))
			continue;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
		if (lf && i + 1 < n && p[i + 1] == '\n')
			return i + 2;
	}
	return 0;
}

/* Bare CR and (on a socket) bare LF in the first n octets. */
static unsigned
ref_bare(const uint8_t *p, size_t n, size_t total, int lf)
{
	unsigned e = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		/* a CR at the very end of the input is still undecided */
		if (p[i] == '\r' && i + 1 < total && p[i + 1] != '\n')
			e |= DATA_ERR_BARE_CR;
		if (p[i] == '\n' && !lf && (i == 0 || p[i - 1] != '\r'))
			e |= DATA_ERR_BARE_LF;
	}
	return e;
}

/* The message of an error-free stream: lines unstuffed, LF ends; hops
 * are the header's Received: lines, counted when a line ends. */
static size_t
ref_message(const uint8_t *p, size_t n, char *out, unsigned *hops)
{
	size_t i = 0, o = 0, line;
	int header = 1;

	*hops = 0;
	while (i < n) {
		line = o;
		if (p[i] == '.')
			i++;	/* a stuffed dot */
		while (i < n && p[i] != '\n' && p[i] != '\r')
			out[o++] = (char)p[i++];
		if (i < n && p[i] == '\r')
			i++;
		if (i >= n || p[i] != '\n')
			break;	/* the last line, unfinished */
		i++;
		if (header && o == line)
			header = 0;	/* the empty line ends the header */
		else if (header && o - line >= 9 &&
		    strncasecmp(out + line, "received:", 9) == 0)
			(*hops)++;
		out[o++] = '\n';
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct data_machine dm;
	struct fuzz_rng rng;
	const uint8_t *in;
	char *out, *piece, *want;
	size_t len, pos = 0, olen = 0, n, o, chunk, end, wantlen, i;
	uint64_t max, wire;
	unsigned bare, hops;
	int lf;

	if (size < 2)
		return 0;
	lf = data[0] & 1;
	max = data[1] & 0x80 ? data[1] & 0x7f : UINT64_C(1) << 40;
	in = data + 2;
	len = size - 2;
	fuzz_rng_init(&rng, data, size);
	out = malloc(len + 1);
	data_init(&dm, lf, max);
	while (pos < len && dm.state != DS_END) {
		chunk = fuzz_rng_len(&rng, len - pos);
		/* an exact-size copy: ASan sees any read past the piece */
		piece = malloc(chunk + chunk);
		memcpy(piece, in + pos, chunk);
		n = data_feed(&dm, piece, chunk, piece + chunk, &o);
		FUZZ_ASSERT(n <= chunk && o <= n);
		FUZZ_ASSERT(n == chunk || dm.state == DS_END);
		memcpy(out + olen, piece + chunk, o);
		free(piece);
		olen += o;
		pos += n;
	}
	end = ref_end(in, len, lf);
	FUZZ_ASSERT((dm.state == DS_END) == (end != 0));
	if (end)
		FUZZ_ASSERT(pos == end);
	bare = ref_bare(in, pos, len, lf);
	FUZZ_ASSERT((dm.errors & (DATA_ERR_BARE_CR | DATA_ERR_BARE_LF)) == bare);
	if (bare == 0) {
		/* the message part: up to the dot line, or all of it */
		want = malloc(len + 1);
		wantlen = ref_message(in, end ? end - (lf && in[end - 2] ==
		    '.' ? 2 : 3) : pos, want, &hops);
		FUZZ_ASSERT(dm.hops == hops);
		FUZZ_ASSERT(((dm.errors & DATA_ERR_HOPS) != 0) ==
		    (hops >= DATA_MAX_HOPS));
		for (wire = wantlen, i = 0; i < wantlen; i++)
			wire += want[i] == '\n';	/* its CR */
		if (!(dm.errors & DATA_ERR_HOPS))
			FUZZ_ASSERT(((dm.errors & DATA_ERR_TOO_BIG) != 0) ==
			    (wire > max));
		if (dm.errors == 0) {
			FUZZ_ASSERT(olen == wantlen && dm.size == wantlen);
			FUZZ_ASSERT(dm.wire_size == wire);
			FUZZ_ASSERT(memcmp(out, want, olen) == 0);
		} else if (dm.first_error == DATA_ERR_TOO_BIG) {
			/* what came before the limit was passed on */
			FUZZ_ASSERT(olen <= max && olen <= wantlen);
			FUZZ_ASSERT(memcmp(out, want, olen) == 0);
		}
		free(want);
	}
	free(out);
	return 0;
}
