/*
 * job_fuzz: the agent protocol (queued/job.c): the job an agent reads on
 * its stdin, and the result lines queued reads back from an agent, which
 * it trusts no more than a network peer. The input is a job; each of its
 * lines is also tried as a result line.
 * Invariants: an accepted job is bounded and its strings printable (its
 * DKIM key paths absolute); an accepted result formats into a line that
 * parses to the same result.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "job.h"

static void
fuzz_job(const char *text, size_t len)
{
	struct job j;
	char err[256];
	size_t i, k, total = 0;

	if (job_parse(&j, text, len, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(j.msgs == NULL && j.nmsg == 0);
		return;
	}
	FUZZ_ASSERT(j.nmsg <= JOB_MAX_MSGS);
	FUZZ_ASSERT(j.port <= 65535 && j.timeout <= 86400 &&
	    j.connect_timeout <= 86400);
	for (i = 0; i < j.nmsg; i++) {
		const struct job_msg *m = &j.msgs[i];
		FUZZ_ASSERT(qid_valid(m->qid));
		FUZZ_ASSERT(m->from[0] == '<' &&
		    m->from[strlen(m->from) - 1] == '>' && str_printable(m->from));
		FUZZ_ASSERT(str_printable(m->flags));
		for (k = 0; k < m->nrcpt; k++) {
			FUZZ_ASSERT(m->rcpts[k].index <= JOB_MAX_RCPTS);
			FUZZ_ASSERT(m->rcpts[k].addr[0] != '\0');
			FUZZ_ASSERT(str_printable(m->rcpts[k].addr) &&
			    str_printable(m->rcpts[k].extra));
			FUZZ_ASSERT(strchr(m->rcpts[k].addr, ' ') == NULL);
		}
		total += m->nrcpt;
		(void)job_has_flag(m, "8bit");
	}
	FUZZ_ASSERT(total <= JOB_MAX_RCPTS);
	/* DKIM keys: names checked, an absolute path without blanks */
	FUZZ_ASSERT(j.ndkim <= JOB_MAX_DKIM);
	for (i = 0; i < j.ndkim; i++)
		FUZZ_ASSERT(j.dkim[i].domain[0] && j.dkim[i].selector[0] &&
		    j.dkim[i].keyfile[0] == '/' &&
		    strchr(j.dkim[i].keyfile, ' ') == NULL);
	job_free(&j);
}

static void
fuzz_result(const char *line)
{
	struct job_result r, r2;
	struct buf b;

	if (job_result_parse(line, &r) == -1)
		return;
	FUZZ_ASSERT(qid_valid(r.qid));
	FUZZ_ASSERT(r.status == STATUS_OK || r.status == STATUS_TEMP ||
	    r.status == STATUS_PERM);
	FUZZ_ASSERT(!r.relayed || r.status == STATUS_OK);
	FUZZ_ASSERT(strlen(r.reply) >= 3 && strlen(r.reply) <= JOB_REPLY_MAX);
	FUZZ_ASSERT(str_printable(r.reply) && str_printable(r.mta));
	buf_init(&b, 1 << 16);
	if (r.relayed)
		FUZZ_ASSERT(job_result_format_relayed(&b, r.qid, r.index, r.mta,
		    r.reply) == 0);
	else
		FUZZ_ASSERT(job_result_format(&b, r.qid, r.index, r.status,
		    r.mta, r.reply) == 0);
	FUZZ_ASSERT(b.len > 0 && b.data[b.len - 1] == '\n');
	b.data[b.len - 1] = '\0';
	if (job_result_parse(b.data, &r2) == -1)
		fuzz_fail(__FILE__, __LINE__, "formatted result does not parse");
	FUZZ_ASSERT(strcmp(r.qid, r2.qid) == 0 && r.index == r2.index);
	FUZZ_ASSERT(r.status == r2.status && r.relayed == r2.relayed);
	FUZZ_ASSERT(strcmp(r.mta, r2.mta) == 0);
	FUZZ_ASSERT(strcmp(r.reply, r2.reply) == 0);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	size_t pos = 0;

	memcpy(text, data, size);
	fuzz_job(text, size);
	free(text);
	while (pos < size) {
		char *line = fuzz_cstrn(data + pos, size - pos);
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		fuzz_result(line);
		free(line);
		pos = nl ? (size_t)(nl - data) + 1 : size;
	}
	return 0;
}
