/*
 * qproto_fuzz: queued's decoder of the handler -> queue protocol
 * (shared/qproto.c): command lines, the HELO argument, chunk headers and
 * reply lines. The input is one line; each parser gets it.
 * Invariants: an accepted command has no control octets, a known verb
 * and an argument inside the line without a leading blank; an accepted
 * HELO has a known protocol, a valid name and bounded fields; a chunk
 * length is decimal and bounded; a reply code is 200..599. A MAIL or
 * RCPT path queued takes (quoted local parts with blanks and '>' too)
 * goes into an agent job line that parses back to the same address.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "envelope.h"
#include "fuzz.h"
#include "job.h"
#include "qproto.h"

/* What queued would store of a MAIL/RCPT, through a job and back. */
static void
path_to_job(const struct qcmd *c)
{
	struct envelope e;
	struct buf b;
	struct job j;
	char err[256], from[ADDR_MAX + 3];
	int ok;

	envelope_init(&e);
	ok = c->verb == QCMD_MAIL ? envelope_set_from(&e, c->arg) :
	    envelope_add_rcpt(&e, c->arg);
	if (ok == -1) {
		envelope_free(&e);
		return;
	}
	buf_init(&b, 1 << 20);
	buf_addstr(&b, JOB_MAGIC "\n");
	if (c->verb == QCMD_MAIL) {
		FUZZ_ASSERT(job_format_msg(&b, "01k177h582jc", 1, 2, 3, e.from,
		    e.from_params + strspn(e.from_params, " ")) == 0);
	} else {
		FUZZ_ASSERT(job_format_msg(&b, "01k177h582jc", 1, 2, 3, "",
		    "") == 0);
		FUZZ_ASSERT(job_format_rcpt(&b, 0, e.rcpts[0].addr,
		    e.rcpts[0].params + strspn(e.rcpts[0].params, " ")) == 0);
	}
	buf_addstr(&b, "end\n");
	FUZZ_ASSERT(job_parse(&j, b.data, b.len, err, sizeof(err)) == 0);
	FUZZ_ASSERT(j.nmsg == 1 && j.msgs[0].bad == NULL);
	if (c->verb == QCMD_MAIL) {
		FUZZ_ASSERT(str_fmt(from, sizeof(from), "<%s>", e.from) != -1);
		FUZZ_ASSERT(strcmp(j.msgs[0].from, from) == 0);
	} else
		FUZZ_ASSERT(strcmp(j.msgs[0].rcpts[0].addr,
		    e.rcpts[0].addr) == 0);
	job_free(&j);
	buf_free(&b);
	envelope_free(&e);
}

static void
fuzz_cmd(const char *line)
{
	struct qcmd c;
	size_t i, len = strlen(line);

	if (qproto_parse_cmd(line, &c) == -1)
		return;
	FUZZ_ASSERT(len > 0 && len <= QPROTO_LINE_MAX);
	for (i = 0; i < len; i++)
		FUZZ_ASSERT((unsigned char)line[i] >= 32 && line[i] != 127);
	FUZZ_ASSERT(c.verb >= QCMD_POMBO && c.verb <= QCMD_STATS);
	FUZZ_ASSERT(c.arg != NULL);
	if (c.arg[0] != '\0') {
		FUZZ_ASSERT(c.arg > line && c.arg <= line + len);
		FUZZ_ASSERT(c.arg[-1] == ' ' && c.arg[0] != ' ');
	}
	if (c.verb == QCMD_MAIL || c.verb == QCMD_RCPT)
		path_to_job(&c);
}

static void
fuzz_helo(const char *arg)
{
	struct qhelo h;
	unsigned char tmp[16];

	if (qproto_parse_helo(arg, &h) == -1)
		return;
	FUZZ_ASSERT(h.proto[0] != '\0' && strstr(QPROTO_PROTOS, h.proto));
	FUZZ_ASSERT(strcmp(h.client, "local") == 0 ||
	    inet_pton(AF_INET, h.client, tmp) == 1 ||
	    inet_pton(AF_INET6, h.client, tmp) == 1);
	FUZZ_ASSERT(addr_helo_valid(h.helo, strlen(h.helo)));
	FUZZ_ASSERT(strlen(h.auth) <= QPROTO_AUTH_MAX);
	FUZZ_ASSERT(strlen(h.tls) <= QPROTO_TLS_MAX);
	FUZZ_ASSERT(strchr(h.helo, ' ') == NULL && strchr(h.auth, ' ') == NULL
	    && strchr(h.tls, ' ') == NULL);
}

static void
fuzz_chunk(const char *line)
{
	long n = qproto_parse_chunk(line);

	FUZZ_ASSERT(n >= -2 && n <= QPROTO_CHUNK_MAX);
	if (n == -2)
		FUZZ_ASSERT(strcmp(line, "ABORT") == 0);
	if (n >= 0) {
		FUZZ_ASSERT(strspn(line, "0123456789") == strlen(line));
		FUZZ_ASSERT(strtol(line, NULL, 10) == n);
	}
}

static void
fuzz_reply(const char *line)
{
	const char *text = NULL;
	int code = qproto_parse_reply(line, &text);

	if (code == -1)
		return;
	FUZZ_ASSERT(code >= 200 && code <= 599);
	FUZZ_ASSERT(text >= line + 3 && text <= line + strlen(line));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstrn(data, size);

	fuzz_cmd(line);
	fuzz_helo(line);
	fuzz_chunk(line);
	fuzz_reply(line);
	(void)qproto_qid_valid(line);
	free(line);
	return 0;
}
