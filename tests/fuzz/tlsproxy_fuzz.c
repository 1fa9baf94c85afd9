/*
 * tlsproxy_fuzz: pombo-tlsd's parser of a handler's request line and
 * the handler's parser of tlsd's replies (shared/tlsproxy.c). The
 * input is one line (up to its first LF); each parser gets it.
 * Invariants: an accepted request has mx 0 or 1, a timeout within
 * bounds, a client of printable octets without spaces, and absolute
 * printable paths without spaces; it formats back to the same line. A
 * reply's text has no control octet and fits its buffer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tlsproxy.h"

static int
printable(const char *s, int spaces)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f ||
		    (!spaces && *s == ' '))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlsproxy_req r;
	static char out[TLSPROXY_LINE_MAX];
	enum tlsproxy_reply kind;
	char *line = fuzz_cstrn(data, size), err[256], text[64];
	size_t len = strlen(line);
	int n;

	if (tlsproxy_req_parse(line, len, &r, err, sizeof(err)) == 0) {
		FUZZ_ASSERT(r.mx == 0 || r.mx == 1);
		FUZZ_ASSERT(r.timeout_ms >= 1 &&
		    r.timeout_ms <= TLSPROXY_TIMEOUT_MAX);
		FUZZ_ASSERT(r.client[0] && printable(r.client, 0));
		FUZZ_ASSERT(r.cert[0] == '/' && printable(r.cert, 0));
		FUZZ_ASSERT(r.key[0] == '/' && printable(r.key, 0));
		n = tlsproxy_req_format(&r, out, sizeof(out));
		FUZZ_ASSERT(n > 0 && (size_t)n == len + 1);
		FUZZ_ASSERT(memcmp(out, line, len) == 0 && out[len] == '\n');
	} else
		FUZZ_ASSERT(err[0] != '\0');
	if (tlsproxy_reply_parse(line, len, &kind, text, sizeof(text)) == 0) {
		FUZZ_ASSERT(kind == TLSPROXY_OK || kind == TLSPROXY_NOCERT ||
		    kind == TLSPROXY_ERR);
		FUZZ_ASSERT(strlen(text) < sizeof(text));
		for (n = 0; text[n]; n++)
			FUZZ_ASSERT((unsigned char)text[n] >= ' ' &&
			    (unsigned char)text[n] != 0x7f);
	}
	free(line);
	return 0;
}
