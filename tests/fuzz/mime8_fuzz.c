/*
 * mime8_fuzz: the 8-bit to quoted-printable converter the remote agent
 * uses for servers without 8BITMIME (queued/mime8.c). Octet 0: bit 0
 * converts, bit 1 puts a fixed plain header on top (so all of the rest
 * is one body to encode); the rest is the stored message, given line by
 * line in random pieces as smtpc_send_message gives it.
 * Invariants: without conversion the output is the input; converted,
 * every line written while a part is being encoded is 7-bit, without
 * NUL, CR or LF, and at most 76 octets (RFC 2045 6.7); a plain body
 * decodes back to exactly what went in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mime8.h"

#define PLAIN_HEADER	"Subject: x\n\n"

struct sink {
	struct mime8	*m;
	struct buf	 out;
	size_t		 col;		/* octets on this output line */
	int		 encoded;	/* some of them were QP output */
};

static int
collect(void *arg, const char *p, size_t n, int eol)
{
	struct sink *s = arg;
	size_t i;

	if (s->m->encode && !s->m->in_header && !s->m->broken) {
		for (i = 0; i < n; i++)
			FUZZ_ASSERT(((unsigned char)p[i] >= 32 &&
			    (unsigned char)p[i] < 127) || p[i] == '\t');
		s->encoded = 1;
	}
	s->col += n;
	if (eol) {
		if (s->encoded)
			FUZZ_ASSERT(s->col <= 76);
		s->col = 0;
		s->encoded = 0;
	}
	FUZZ_ASSERT(buf_add(&s->out, p, n) == 0);
	if (eol)
		FUZZ_ASSERT(buf_addc(&s->out, '\n') == 0);
	return 0;
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a QP body (RFC 2045 6.7) into out; -1 if it is malformed. */
static int
qp_decode(const char *p, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		if (p[i] == '=' && i + 1 < n && p[i + 1] == '\n') {
			i += 2;		/* a soft line break */
			continue;
		}
		if (p[i] == '=') {
			if (i + 2 >= n || hex(p[i + 1]) < 0 || hex(p[i + 2]) < 0)
				return -1;
			FUZZ_ASSERT(buf_addc(out, (char)(hex(p[i + 1]) * 16 +
			    hex(p[i + 2]))) == 0);
			i += 3;
			continue;
		}
		/* a blank before a line end must have been encoded */
		if ((p[i] == ' ' || p[i] == '\t') && i + 1 < n &&
		    p[i + 1] == '\n')
			return -1;
		FUZZ_ASSERT(buf_addc(out, p[i]) == 0);
		i++;
	}
	return 0;
}

static void
feed(struct mime8 *m, struct fuzz_rng *rng, const char *p, size_t n)
{
	size_t pos = 0, end, len;

	while (pos < n) {
		const char *nl = memchr(p + pos, '\n', n - pos);
		end = nl ? (size_t)(nl - p) : n;
		/* a long line goes out in pieces, then its end */
		while (end - pos > 0) {
			len = fuzz_rng_len(rng, end - pos);
			if (len == end - pos)
				break;
			FUZZ_ASSERT(mime8_line(m, p + pos, len, 0) == 0);
			pos += len;
		}
		FUZZ_ASSERT(mime8_line(m, p + pos, end - pos, 1) == 0);
		pos = end + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime8 m;
	struct sink s;
	struct fuzz_rng rng;
	struct buf in, dec;
	int convert, plain;
	const char *body;

	if (size < 1)
		return 0;
	convert = data[0] & 1;
	plain = (data[0] & 2) != 0;
	fuzz_rng_init(&rng, data, size);
	buf_init(&in, 1 << 24);
	if (plain)
		FUZZ_ASSERT(buf_addstr(&in, PLAIN_HEADER) == 0);
	FUZZ_ASSERT(buf_add(&in, data + 1, size - 1) == 0);
	memset(&s, 0, sizeof(s));
	s.m = &m;
	buf_init(&s.out, 1 << 26);
	mime8_init(&m, convert, collect, &s);
	feed(&m, &rng, in.data, in.len);
	FUZZ_ASSERT(mime8_finish(&m) == 0);
	/* the input as lines: a last line without LF gets one */
	if (in.len > 0 && in.data[in.len - 1] != '\n')
		FUZZ_ASSERT(buf_addc(&in, '\n') == 0);
	if (!convert) {
		FUZZ_ASSERT(s.out.len == in.len);
		FUZZ_ASSERT(in.len == 0 ||
		    memcmp(s.out.data, in.data, in.len) == 0);
	} else if (plain) {
		static const char head[] = "Subject: x\nMIME-Version: 1.0\n"
		    "Content-Transfer-Encoding: quoted-printable\n\n";
		FUZZ_ASSERT(s.out.len >= sizeof(head) - 1);
		FUZZ_ASSERT(memcmp(s.out.data, head, sizeof(head) - 1) == 0);
		body = in.data + strlen(PLAIN_HEADER);
		buf_init(&dec, 1 << 24);
		FUZZ_ASSERT(qp_decode(s.out.data + sizeof(head) - 1,
		    s.out.len - (sizeof(head) - 1), &dec) == 0);
		FUZZ_ASSERT(dec.len == in.len - strlen(PLAIN_HEADER));
		FUZZ_ASSERT(dec.len == 0 || memcmp(dec.data, body, dec.len) == 0);
		buf_free(&dec);
	}
	buf_free(&s.out);
	buf_free(&in);
	return 0;
}
