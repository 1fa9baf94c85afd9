/*
 * smtpc_fuzz: the remote agent's reading of an SMTP server's replies
 * (queued/smtpc.c): reply lines, EHLO keywords, and whole multi-line
 * replies read with smtpc_read over an in-memory transport. A remote
 * server is anyone on the Internet. Octet 0 says which replies are read
 * as EHLO replies; the rest is the server's byte stream.
 * Invariants: a reply is garbage (-1, and the connection closed) or has
 * a code 200..599 that every one of its lines repeats; its text is the
 * first line made printable, "ddd " and the rest, nothing else.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "smtpc.h"

/* The reference reader: the next line as lineio gives it, or NULL at
 * the end of the stream or for a line over SMTPC_LINE_MAX. */
static char *
next_line(const uint8_t *in, size_t len, size_t *pos)
{
	const uint8_t *nl;
	size_t n;
	char *s;

	if (*pos >= len || (nl = memchr(in + *pos, '\n', len - *pos)) == NULL)
		return NULL;
	n = (size_t)(nl - (in + *pos));
	s = fuzz_cstr(in + *pos, n);
	*pos += n + 1;
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
	if (n > SMTPC_LINE_MAX) {
		free(s);
		*pos = len;
		return NULL;
	}
	return s;
}

static void
check_text(const char *text, const char *line)
{
	size_t i;

	FUZZ_ASSERT(strncmp(text, line, 3) == 0 && text[3] == ' ');
	/* the text after the code: the line's, controls made blanks */
	for (i = 0; line[3] != '\0' && line[4 + i] != '\0' &&
	    4 + i < SMTPC_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)line[4 + i];
		FUZZ_ASSERT(text[4 + i] == (c < 32 || c == 127 ? ' ' : (char)c));
	}
	FUZZ_ASSERT(text[4 + i] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	struct fuzz_transport t;
	struct smtpc c;
	struct smtpc_reply r;
	size_t ref = 0, k, i;
	char *line;
	int code, more, rc;

	if (size < 1)
		return 0;
	if (devnull == -1 && (devnull = open("/dev/null", O_RDWR)) == -1)
		abort();
	/* the pure parsers, line by line */
	for (i = 1; i < size;) {
		uint64_t limit = 0;
		size_t save = i;
		if ((line = next_line(data, size, &i)) == NULL)
			break;
		if (smtpc_reply_line(line, &code, &more) == 0)
			FUZZ_ASSERT(code >= 200 && code <= 599);
		(void)smtpc_parse_ehlo(line, &limit);
		FUZZ_ASSERT(i > save);
		free(line);
	}
	/* whole replies, as the agent reads them */
	fuzz_transport_init(&t, data, size, NULL, 0);
	memset(&c, 0, sizeof(c));
	c.fd = dup(devnull);
	lineio_init(&c.io, c.fd, c.fd);
	lineio_set_ops(&c.io, &fuzz_transport_ops, &t);
	for (k = 0;; k++) {
		char *first;
		rc = smtpc_read(&c, &r, 1000, (data[0] >> (k % 8)) & 1);
		FUZZ_ASSERT(rc == r.code);
		FUZZ_ASSERT(strlen(r.text) <= SMTPC_TEXT_MAX);
		if (rc == -1) {
			FUZZ_ASSERT(c.fd == -1);
			break;
		}
		FUZZ_ASSERT(rc >= 200 && rc <= 599);
		/* the reference reads the same reply */
		first = next_line(t.in, t.len, &ref);
		FUZZ_ASSERT(first != NULL);
		check_text(r.text, first);
		more = first[3] == '-';
		free(first);
		while (more) {
			line = next_line(t.in, t.len, &ref);
			FUZZ_ASSERT(line != NULL && strncmp(line, r.text, 3) == 0);
			more = line[3] == '-';
			free(line);
		}
	}
	smtpc_close(&c);
	return 0;
}
