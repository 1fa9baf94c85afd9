/*
 * job: strict line parsers; a malformed job is the agent's reason to
 * exit with EX_SOFTWARE (a temporary failure for every recipient), and a
 * malformed result line is ignored by queued (the recipient then counts
 * as not reported, i.e. temporarily failed).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "job.h"

#define JOB_TEXT_MAX (64 * 1024 * 1024)

void
job_free(struct job *j)
{
	size_t i, k;

	for (i = 0; i < j->nmsg; i++) {
		struct job_msg *m = &j->msgs[i];
		for (k = 0; k < m->nrcpt; k++) {
			free(m->rcpts[k].addr);
			free(m->rcpts[k].extra);
		}
		free(m->rcpts);
		free(m->from);
		free(m->flags);
	}
	free(j->msgs);
	free(j->dkim);
	memset(j, 0, sizeof(*j));
}

int
job_has_flag(const struct job_msg *m, const char *flag)
{
	const char *p = m->flags;
	size_t n = strlen(flag);

	while (p && *p) {
		if (strncmp(p, flag, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return 0;
}

/* Next space-separated word of *p into a new string; NULL at the end. */
static char *
word(char **p)
{
	char *s = *p, *e;

	if (*s == '\0')
		return NULL;
	e = strchr(s, ' ');
	if (e) {
		*e = '\0';
		*p = e + 1;
	} else
		*p = s + strlen(s);
	return s;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s) || strlen(s) > 19)
		return -1;
	*out = strtoull(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

#define BAD(m) do { str_copy(err, (m), errlen); goto fail; } while (0)

int
job_parse(struct job *j, const char *text, size_t len, char *err,
    size_t errlen)
{
	char line[JOB_LINE_MAX], *p, *w;
	size_t pos = 0, n, total_rcpts = 0;
	int state = 0;	/* 0: magic, 1: body, 2: ended */
	struct job_msg *m = NULL;
	uint64_t v;

	memset(j, 0, sizeof(*j));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL)
			BAD("unterminated line");
		n = (size_t)(nl - (text + pos));
		if (n >= sizeof(line))
			BAD("line too long");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (!str_printable(line) && strncmp(line, "rcpt ", 5) != 0)
			BAD("control characters");
		if (state == 2)
			BAD("data after end");
		if (state == 0) {
			if (strcmp(line, JOB_MAGIC) != 0)
				BAD("not a job");
			state = 1;
			continue;
		}
		p = line;
		w = word(&p);
		if (w == NULL)
			BAD("empty line");
		if (strcmp(w, "end") == 0 && *p == '\0') {
			state = 2;
		} else if (strcmp(w, "host") == 0) {
			if (!addr_domain_valid(p, strlen(p), 0))
				BAD("bad host");
			str_copy(j->host, p, sizeof(j->host));
		} else if (strcmp(w, "dest") == 0) {
			if (!addr_domain_valid(p, strlen(p), 1) &&
			    !(p[0] == '[' && p[strlen(p) - 1] == ']'))
				BAD("bad destination");
			str_copy(j->dest, p, sizeof(j->dest));
		} else if (strcmp(w, "relay") == 0) {
			if (*p == '\0' || str_copy(j->relay, p,
			    sizeof(j->relay)) == -1 || strchr(p, ' '))
				BAD("bad relay");
		} else if (strcmp(w, "tls") == 0) {
			if (strcmp(p, "none") && strcmp(p, "may") &&
			    strcmp(p, "encrypt") && strcmp(p, "verify"))
				BAD("bad tls policy");
			str_copy(j->tls, p, sizeof(j->tls));
		} else if (strcmp(w, "tls-ca") == 0) {
			if (p[0] != '/' || str_copy(j->tls_ca, p,
			    sizeof(j->tls_ca)) == -1)
				BAD("bad tls-ca");
		} else if (strcmp(w, "dns") == 0) {
			if (str_copy(j->dns, p, sizeof(j->dns)) == -1 ||
			    strchr(p, ' '))
				BAD("bad dns servers");
		} else if (strcmp(w, "port") == 0 || strcmp(w, "timeout") == 0 ||
		    strcmp(w, "connect-timeout") == 0) {
			unsigned *f = w[0] == 'p' ? &j->port : w[0] == 't' ?
			    &j->timeout : &j->connect_timeout;
			if (parse_u64(p, &v) == -1 || v == 0 || v > 86400 ||
			    (f == &j->port && v > 65535))
				BAD("bad number");
			*f = (unsigned)v;
		} else if (strcmp(w, "dkim") == 0) {
			struct job_dkim *nd;
			char *dom = word(&p), *sel = word(&p);
			if (j->ndkim >= JOB_MAX_DKIM)
				BAD("too many dkim keys");
			if (dom == NULL || sel == NULL ||
			    !addr_domain_valid(dom, strlen(dom), 0) ||
			    !addr_domain_valid(sel, strlen(sel), 0) ||
			    p[0] != '/' || strchr(p, ' '))
				BAD("bad dkim key");
			nd = realloc(j->dkim, (j->ndkim + 1) * sizeof(*nd));
			if (nd == NULL)
				BAD("out of memory");
			j->dkim = nd;
			nd = &j->dkim[j->ndkim++];
			str_copy(nd->domain, dom, sizeof(nd->domain));
			str_copy(nd->selector, sel, sizeof(nd->selector));
			if (str_copy(nd->keyfile, p, sizeof(nd->keyfile)) == -1)
				BAD("bad dkim key");
		} else if (strcmp(w, "msg") == 0) {
			struct job_msg *nm;
			if (j->nmsg >= JOB_MAX_MSGS)
				BAD("too many messages");
			nm = realloc(j->msgs, (j->nmsg + 1) * sizeof(*nm));
			if (nm == NULL)
				BAD("out of memory");
			j->msgs = nm;
			m = &j->msgs[j->nmsg++];
			memset(m, 0, sizeof(*m));
			w = word(&p);
			if (w == NULL || !qid_valid(w))
				BAD("bad queue id");
			memcpy(m->qid, w, QID_LEN + 1);
			if (parse_u64(word(&p), &v) == -1)
				BAD("bad time");
			m->time = (int64_t)v;
			if (parse_u64(word(&p), &m->data_off) == -1 ||
			    parse_u64(word(&p), &m->size) == -1)
				BAD("bad offset or size");
			w = word(&p);
			if (w == NULL || w[0] != '<' || w[strlen(w) - 1] != '>')
				BAD("bad reverse-path");
			if ((m->from = strdup(w)) == NULL ||
			    (m->flags = strdup(p)) == NULL)
				BAD("out of memory");
		} else if (strcmp(w, "rcpt") == 0) {
			struct job_rcpt *nr;
			if (m == NULL || ++total_rcpts > JOB_MAX_RCPTS)
				BAD("rcpt without msg, or too many");
			nr = realloc(m->rcpts, (m->nrcpt + 1) * sizeof(*nr));
			if (nr == NULL)
				BAD("out of memory");
			m->rcpts = nr;
			nr = &m->rcpts[m->nrcpt++];
			memset(nr, 0, sizeof(*nr));
			if (parse_u64(word(&p), &v) == -1 || v > JOB_MAX_RCPTS)
				BAD("bad index");
			nr->index = (unsigned)v;
			w = word(&p);
			if (w == NULL || *w == '\0')
				BAD("bad address");
			/* addresses may be UTF-8 (SMTPUTF8), never controls */
			if (!str_printable(w) || !str_printable(p))
				BAD("control characters");
			if ((nr->addr = strdup(w)) == NULL ||
			    (nr->extra = strdup(p)) == NULL)
				BAD("out of memory");
		} else
			BAD("unknown line");
	}
	if (state != 2)
		BAD("no end line");
	return 0;
fail:
	job_free(j);
	return -1;
}

int
job_result_parse(const char *line, struct job_result *r)
{
	char buf[JOB_LINE_MAX], *p, *w;

	memset(r, 0, sizeof(*r));
	if (str_copy(buf, line, sizeof(buf)) == -1 || !str_printable(buf))
		return -1;
	p = buf;
	if ((w = word(&p)) == NULL || !qid_valid(w))
		return -1;
	memcpy(r->qid, w, QID_LEN + 1);
	if ((w = word(&p)) == NULL || !isdigit((unsigned char)*w) ||
	    strlen(w) > 6)
		return -1;
	r->index = (unsigned)strtoul(w, NULL, 10);
	if ((w = word(&p)) == NULL)
		return -1;
	if (strcmp(w, "relayed") == 0) {
		r->status = STATUS_OK;
		r->relayed = 1;
	} else if (status_parse(w, &r->status) == -1)
		return -1;
	if ((w = word(&p)) == NULL)
		return -1;
	if (strcmp(w, "-") != 0) {
		if (!addr_domain_valid(w, strlen(w), 0) && w[0] != '[')
			return -1;
		if (str_copy(r->mta, w, sizeof(r->mta)) == -1)
			return -1;
	}
	/* the reply: "ddd x.y.z text" */
	if (strlen(p) < 3 || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    (p[3] != ' ' && p[3] != '\0'))
		return -1;
	if (str_copy(r->reply, p, sizeof(r->reply)) == -1)
		r->reply[sizeof(r->reply) - 1] = '\0';
	return 0;
}

static int
result_format(struct buf *out, const char *qid, unsigned index,
    const char *st, const char *mta, const char *reply)
{
	char clean[JOB_REPLY_MAX + 1];

	/* a remote reply may hold anything: keep it one printable line */
	str_copy(clean, reply, sizeof(clean));
	str_unctrl(clean);
	return buf_printf(out, "%s %u %s %s %s\n", qid, index, st,
	    mta && *mta ? mta : "-", clean);
}

int
job_result_format(struct buf *out, const char *qid, unsigned index,
    enum status st, const char *mta, const char *reply)
{
	return result_format(out, qid, index, status_name(st), mta, reply);
}

int
job_result_format_relayed(struct buf *out, const char *qid, unsigned index,
    const char *mta, const char *reply)
{
	return result_format(out, qid, index, "relayed", mta, reply);
}

int
job_read(int fd, struct job *j, char *err, size_t errlen)
{
	struct buf in;
	int rc;

	memset(j, 0, sizeof(*j));
	buf_init(&in, JOB_TEXT_MAX);
	rc = fileio_read_fd(fd, &in);
	if (rc < 0)
		str_copy(err, rc == -2 ? "job too large" : "cannot read the job",
		    errlen);
	else
		rc = job_parse(j, in.data ? in.data : "", in.len, err, errlen);
	buf_free(&in);
	return rc < 0 ? -1 : 0;
}

int
job_flush_results(int fd, struct buf *out)
{
	int rc = fileio_write_all(fd, out->data, out->len);

	buf_reset(out);
	return rc;
}
