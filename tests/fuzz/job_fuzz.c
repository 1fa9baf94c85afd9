/*
 * job_fuzz: the agent protocol (queued/job.c): the job an agent reads on
 * its stdin, and the result lines queued reads back from an agent, which
 * it trusts no more than a network peer. The input is a job; each of its
 * lines is also tried as a result line.
 * Invariants: an accepted job is bounded and its strings printable (its
 * DKIM key paths absolute); a message with a line it cannot read is
 * marked bad, and job_reject_bad answers each of its recipients with a
 * result line that parses, and drops it; every good message written
 * again with queued's writers (addresses encoded) parses to the same
 * message; an accepted result formats into a line that parses to the
 * same result; so does an accepted "tls" line (RFC 8460 reporting),
 * whose every field is printable and bounded.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "job.h"

/* A good message through queued's writers and back: the same. */
static void
rewrite(const struct job_msg *m)
{
	struct buf b;
	struct job j2;
	char err[256], from[ADDR_ENC_MAX + 3];
	size_t k;
	int ok = 1;

	buf_init(&b, 1 << 24);
	buf_addstr(&b, JOB_MAGIC "\n");
	/* the writer takes it without brackets */
	FUZZ_ASSERT(str_copy(from, m->from + 1, sizeof(from)) == 0);
	from[strlen(from) - 1] = '\0';
	ok = job_format_msg(&b, m->qid, m->time, m->data_off, m->size,
	    from, m->flags + strspn(m->flags, " ")) == 0;
	for (k = 0; ok && k < m->nrcpt; k++)
		ok = job_format_rcpt(&b, m->rcpts[k].index, m->rcpts[k].addr,
		    m->rcpts[k].extra + strspn(m->rcpts[k].extra, " ")) == 0;
	buf_addstr(&b, "end\n");
	/* a flags or extra string with a double blank is not rewritten
	 * alike; a line made longer by the encoding may not fit */
	if (ok) {
		FUZZ_ASSERT(job_parse(&j2, b.data, b.len, err, sizeof(err)) == 0);
		FUZZ_ASSERT(j2.nmsg == 1 && j2.msgs[0].bad == NULL);
		FUZZ_ASSERT(strcmp(j2.msgs[0].from, m->from) == 0);
		FUZZ_ASSERT(j2.msgs[0].nrcpt == m->nrcpt);
		for (k = 0; k < m->nrcpt; k++)
			FUZZ_ASSERT(strcmp(j2.msgs[0].rcpts[k].addr,
			    m->rcpts[k].addr) == 0);
		job_free(&j2);
	}
	buf_free(&b);
}

static void
fuzz_job(const char *text, size_t len)
{
	struct job j;
	struct job_result r;
	struct buf out;
	char err[256], line[JOB_LINE_MAX];
	const char *p, *nl;
	size_t i, k, total = 0, nbad = 0, nres = 0;

	if (job_parse(&j, text, len, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(j.msgs == NULL && j.nmsg == 0);
		return;
	}
	FUZZ_ASSERT(j.nmsg <= JOB_MAX_MSGS);
	FUZZ_ASSERT(j.port <= 65535 && j.timeout <= 86400 &&
	    j.connect_timeout <= 86400);
	for (i = 0; i < j.nmsg; i++)
		if (j.msgs[i].bad) {
			nbad++;
			nres += j.msgs[i].nrcpt;
		}
	buf_init(&out, 1 << 24);
	FUZZ_ASSERT(job_reject_bad(&j, &out) == (int)nbad);
	for (p = buf_cstr(&out); (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		FUZZ_ASSERT((size_t)(nl - p) < sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		FUZZ_ASSERT(job_result_parse(line, &r) == 0);
		FUZZ_ASSERT(r.status == STATUS_PERM);
		nres--;
	}
	FUZZ_ASSERT(nres == 0);
	buf_free(&out);
	for (i = 0; i < j.nmsg; i++) {
		const struct job_msg *m = &j.msgs[i];
		FUZZ_ASSERT(m->bad == NULL);
		FUZZ_ASSERT(qid_valid(m->qid));
		FUZZ_ASSERT(m->from[0] == '<' &&
		    m->from[strlen(m->from) - 1] == '>' && str_printable(m->from));
		FUZZ_ASSERT(str_printable(m->flags));
		for (k = 0; k < m->nrcpt; k++) {
			FUZZ_ASSERT(m->rcpts[k].index <= JOB_MAX_RCPTS);
			FUZZ_ASSERT(m->rcpts[k].addr[0] != '\0');
			FUZZ_ASSERT(str_printable(m->rcpts[k].addr) &&
			    str_printable(m->rcpts[k].extra));
		}
		total += m->nrcpt;
		(void)job_has_flag(m, "8bit");
		rewrite(m);
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

static void
fuzz_tls(const char *line)
{
	struct job_tls t, t2;
	struct buf b;

	if (job_tls_parse(line, &t) == -1)
		return;
	FUZZ_ASSERT(t.domain[0] && t.rua[0] && t.result[0]);
	FUZZ_ASSERT(strchr(t.rua, ' ') == NULL && strchr(t.mx, ' ') == NULL);
	buf_init(&b, 1 << 16);
	FUZZ_ASSERT(job_tls_format(&b, &t) == 0);
	FUZZ_ASSERT(b.len > 0 && b.data[b.len - 1] == '\n');
	b.data[b.len - 1] = '\0';
	FUZZ_ASSERT(job_tls_parse(b.data, &t2) == 0);
	FUZZ_ASSERT(strcmp(t.domain, t2.domain) == 0 && t.policy == t2.policy);
	FUZZ_ASSERT(strcmp(t.result, t2.result) == 0 &&
	    strcmp(t.mx, t2.mx) == 0 && strcmp(t.ip, t2.ip) == 0 &&
	    strcmp(t.rua, t2.rua) == 0);
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
		fuzz_tls(line);
		free(line);
		pos = nl ? (size_t)(nl - data) + 1 : size;
	}
	return 0;
}
