/*
 * envelope_fuzz: the queue file header and the state file that queued
 * reads back at start-up (queued/envelope.c), where a corrupt or foreign
 * file must be refused, never half-trusted. The input is a queue file;
 * whatever follows its "data" line is read as a state file too.
 * Invariants: an accepted header formats into one that parses to the
 * same envelope (and length, whose digits are where the writer puts
 * them); an accepted state formats into one that parses to the same
 * per-recipient state; every path and allocation is freed. Every
 * address a queue file may hold (quoted local parts with blanks and
 * '>' too) goes into an agent job that parses back to that address.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "fuzz.h"
#include "job.h"

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
same_header(const struct envelope *a, const struct envelope *b)
{
	size_t i;

	FUZZ_ASSERT(strcmp(a->qid, b->qid) == 0 && a->time == b->time);
	FUZZ_ASSERT(str_eq(a->client, b->client));
	FUZZ_ASSERT(str_eq(a->from, b->from));
	FUZZ_ASSERT(str_eq(a->from_params, b->from_params));
	FUZZ_ASSERT(a->nrcpt == b->nrcpt);
	for (i = 0; i < a->nrcpt; i++) {
		FUZZ_ASSERT(str_eq(a->rcpts[i].addr, b->rcpts[i].addr));
		FUZZ_ASSERT(str_eq(a->rcpts[i].params, b->rcpts[i].params));
	}
}

/* The sender and every recipient, through a job and back. */
static void
job_round_trip(const struct envelope *e)
{
	struct buf b;
	struct job j;
	char err[256], from[ADDR_MAX + 3];
	size_t i;

	buf_init(&b, 1 << 24);
	buf_addstr(&b, JOB_MAGIC "\n");
	FUZZ_ASSERT(job_format_msg(&b, e->qid, e->time, 0, 0, e->from,
	    e->from_params + strspn(e->from_params, " ")) == 0);
	for (i = 0; i < e->nrcpt; i++)
		FUZZ_ASSERT(job_format_rcpt(&b, (unsigned)i, e->rcpts[i].addr,
		    e->rcpts[i].params + strspn(e->rcpts[i].params, " ")) == 0);
	buf_addstr(&b, "end\n");
	FUZZ_ASSERT(job_parse(&j, b.data, b.len, err, sizeof(err)) == 0);
	FUZZ_ASSERT(j.nmsg == 1 && j.msgs[0].bad == NULL);
	FUZZ_ASSERT(str_fmt(from, sizeof(from), "<%s>", e->from) != -1);
	FUZZ_ASSERT(strcmp(j.msgs[0].from, from) == 0);
	FUZZ_ASSERT(j.msgs[0].nrcpt == e->nrcpt);
	for (i = 0; i < e->nrcpt; i++)
		FUZZ_ASSERT(strcmp(j.msgs[0].rcpts[i].addr,
		    e->rcpts[i].addr) == 0);
	job_free(&j);
	buf_free(&b);
}

static void
fuzz_state(struct envelope *e, const char *text, size_t len,
    const char *header, size_t hlen)
{
	struct envelope e2;
	struct buf b;
	char err[256];
	size_t i;

	if (envelope_parse_state(e, text, len, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	buf_init(&b, 1 << 24);
	FUZZ_ASSERT(envelope_format_state(e, &b) == 0);
	FUZZ_ASSERT(envelope_parse(&e2, header, hlen, err, sizeof(err)) == 0);
	if (envelope_parse_state(&e2, b.data, b.len, err, sizeof(err)) == -1)
		fuzz_fail(__FILE__, __LINE__, "formatted state does not parse");
	/* the formatted header always has a length line; the input may not */
	FUZZ_ASSERT((e2.flags & ~ENV_LENGTH) == (e->flags & ~ENV_LENGTH));
	for (i = 0; i < e->nrcpt; i++) {
		const struct rcpt *r = &e->rcpts[i], *r2 = &e2.rcpts[i];
		if (r->state == RS_QUEUED && r->attempts == 0)
			continue;	/* not written: queued and due */
		FUZZ_ASSERT(r->state == r2->state);
		FUZZ_ASSERT(r->attempts == r2->attempts && r->next == r2->next);
		FUZZ_ASSERT(str_eq(r->error, r2->error));
	}
	FUZZ_ASSERT(envelope_pending(e) <= e->nrcpt);
	buf_free(&b);
	envelope_free(&e2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, e2;
	struct buf b;
	char *text, err[256], orcpt[1024];
	size_t i;
	int rc;

	/* an exact-size copy without a NUL: the parser is given a length */
	text = malloc(size ? size : 1);
	memcpy(text, data, size);
	err[0] = '\0';
	rc = envelope_parse(&e, text, size, err, sizeof(err));
	FUZZ_ASSERT(rc == -1 || rc == 0 || rc == 1);
	if (rc != 0) {
		FUZZ_ASSERT(e.nrcpt == 0 && e.rcpts == NULL && e.from == NULL);
		free(text);
		return 0;
	}
	FUZZ_ASSERT(e.data_off >= 5 && e.data_off <= size);
	FUZZ_ASSERT(memcmp(text + e.data_off - 5, "data\n", 5) == 0);
	FUZZ_ASSERT(e.nrcpt > 0 && e.from != NULL && e.client != NULL);
	FUZZ_ASSERT(qid_valid(e.qid));
	for (i = 0; i < e.nrcpt; i++) {
		(void)rcpt_notify(&e.rcpts[i]);
		if (rcpt_orcpt(&e.rcpts[i], orcpt, sizeof(orcpt)) == 0)
			FUZZ_ASSERT(strlen(orcpt) < sizeof(orcpt));
	}
	/* the header round trip */
	buf_init(&b, 1 << 24);
	FUZZ_ASSERT(envelope_format(&e, &b) == 0);
	if (envelope_parse(&e2, b.data, b.len, err, sizeof(err)) != 0)
		fuzz_fail(__FILE__, __LINE__, "formatted header does not parse");
	FUZZ_ASSERT(e2.data_off == b.len);
	same_header(&e, &e2);
	/* the length survives, and its digits are where the writer fills
	 * them in */
	FUZZ_ASSERT((e2.flags & ENV_LENGTH) && e2.size == e.size);
	FUZZ_ASSERT(memcmp(b.data + envelope_length_offset(e2.data_off) - 7,
	    "length ", 7) == 0);
	/* so do the sum and its place, and the junk digit's */
	FUZZ_ASSERT((e2.flags & ENV_SUM) == (e.flags & ENV_SUM));
	if (e.flags & ENV_SUM) {
		FUZZ_ASSERT(e2.sum == e.sum);
		FUZZ_ASSERT(memcmp(b.data + envelope_sum_offset(e2.data_off) -
		    strlen(ENVELOPE_SUM_PREFIX), ENVELOPE_SUM_PREFIX,
		    strlen(ENVELOPE_SUM_PREFIX)) == 0);
	}
	if (e.flags & ENV_VERIFIED)
		FUZZ_ASSERT(memcmp(b.data + envelope_junk_offset(e2.data_off,
		    e2.flags) - 5, "junk ", 5) == 0);
	envelope_free(&e2);
	job_round_trip(&e);
	/* what follows, as a state file */
	fuzz_state(&e, text + e.data_off, size - e.data_off, b.data, b.len);
	buf_free(&b);
	envelope_free(&e);
	free(text);
	return 0;
}
