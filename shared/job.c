/*
 * job: strict line parsers; a malformed job is the agent's reason to
 * exit with EX_SOFTWARE (a temporary failure for every recipient), a
 * malformed message or recipient line fails that message alone, and a
 * malformed result line is ignored by queued (the recipient then counts
 * as not reported, i.e. temporarily failed).
 */
#include "config.h"

#include <arpa/inet.h>
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

/* Next space-separated word of *p, cut in place; NULL at the end. */
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

/* The "crc32c=" word of a msg line's flags, if there is one. */
static const char *
sum_flag(struct job_msg *m)
{
	const char *p = m->flags;
	size_t i;

	while (p && *p) {
		if (strncmp(p, "crc32c=", 7) == 0) {
			if (m->has_sum++)
				return "two sums";
			for (i = 7; i < 15; i++)
				if (!isdigit((unsigned char)p[i]) &&
				    (p[i] < 'a' || p[i] > 'f'))
					return "bad sum";
			if (p[15] != ' ' && p[15] != '\0')
				return "bad sum";
			m->sum = (uint32_t)strtoul(p + 7, NULL, 16);
		}
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	}
	return NULL;
}

/*
 * The words of a "msg" line after "msg <qid> ": the reverse-path is
 * "<" addr_encode(path) ">", so no address splits the line.
 */
static const char *
msg_line(struct job_msg *m, char *p)
{
	char from[ADDR_ENC_MAX + 3], *w;
	uint64_t v;
	size_t n;
	int k;

	if (parse_u64(word(&p), &v) == -1)
		return "bad time";
	m->time = (int64_t)v;
	if (parse_u64(word(&p), &m->data_off) == -1 ||
	    parse_u64(word(&p), &m->size) == -1)
		return "bad offset or size";
	w = word(&p);
	if (w == NULL || (n = strlen(w)) < 2 || w[0] != '<' || w[n - 1] != '>')
		return "bad reverse-path";
	w[n - 1] = '\0';
	from[0] = '<';
	if ((k = addr_decode(w + 1, from + 1, sizeof(from) - 2)) == -1 ||
	    !str_printable(from + 1))
		return "bad reverse-path";
	from[k + 1] = '>';	/* two octets were kept for it */
	from[k + 2] = '\0';
	if (!str_printable(p))
		return "control characters";
	if ((m->from = strdup(from)) == NULL || (m->flags = strdup(p)) == NULL)
		return "out of memory";
	return sum_flag(m);
}

/* The words of a "rcpt" line after "rcpt <index> ". */
static const char *
rcpt_line(struct job_rcpt *r, char *p)
{
	char addr[ADDR_ENC_MAX + 1], *w;

	w = word(&p);
	/* addresses may be UTF-8 (SMTPUTF8), never controls */
	if (w == NULL || *w == '\0' || addr_decode(w, addr, sizeof(addr)) <= 0 ||
	    !str_printable(addr))
		return "bad address";
	if (!str_printable(p))
		return "control characters";
	if ((r->addr = strdup(addr)) == NULL || (r->extra = strdup(p)) == NULL)
		return "out of memory";
	return NULL;
}

/* A dkim line (p after "dkim "): a signing key of the remote agent. */
static const char *
add_dkim(struct job *j, char *p)
{
	struct job_dkim *nd;
	char *dom = word(&p), *sel = word(&p);

	if (j->ndkim >= JOB_MAX_DKIM)
		return "too many dkim keys";
	if (dom == NULL || sel == NULL ||
	    !addr_domain_valid(dom, strlen(dom), 0) ||
	    !addr_domain_valid(sel, strlen(sel), 0) ||
	    p[0] != '/' || strchr(p, ' '))
		return "bad dkim key";
	if ((nd = realloc(j->dkim, (j->ndkim + 1) * sizeof(*nd))) == NULL)
		return "out of memory";
	j->dkim = nd;
	nd = &j->dkim[j->ndkim++];
	/* addr_domain_valid took them: ADDR_DOMAIN_MAX octets at most */
	str_copy_trunc(nd->domain, dom, sizeof(nd->domain));
	str_copy_trunc(nd->selector, sel, sizeof(nd->selector));
	if (str_copy(nd->keyfile, p, sizeof(nd->keyfile)) == -1)
		return "bad dkim key";
	return NULL;
}

/* A line of the job's head (host, dest, ...): NULL, or what is wrong. */
static const char *
head_line(struct job *j, const char *w, char *p)
{
	uint64_t v;

	if (strcmp(w, "dkim") == 0)
		return add_dkim(j, p);
	if (strcmp(w, "host") == 0) {
		if (!addr_domain_valid(p, strlen(p), 0))
			return "bad host";
		str_copy_trunc(j->host, p, sizeof(j->host));	/* valid: fits */
	} else if (strcmp(w, "dest") == 0) {
		if (!addr_domain_valid(p, strlen(p), 1) &&
		    !(p[0] == '[' && p[strlen(p) - 1] == ']'))
			return "bad destination";
		if (str_copy(j->dest, p, sizeof(j->dest)) == -1)
			return "bad destination";	/* a long [literal] */
	} else if (strcmp(w, "relay") == 0) {
		if (*p == '\0' || str_copy(j->relay, p,
		    sizeof(j->relay)) == -1 || strchr(p, ' '))
			return "bad relay";
	} else if (strcmp(w, "tls") == 0) {
		if (strcmp(p, "none") && strcmp(p, "may") &&
		    strcmp(p, "encrypt") && strcmp(p, "verify"))
			return "bad tls policy";
		str_copy_trunc(j->tls, p, sizeof(j->tls));
	} else if (strcmp(w, "tls-ca") == 0) {
		if (p[0] != '/' || str_copy(j->tls_ca, p,
		    sizeof(j->tls_ca)) == -1)
			return "bad tls-ca";
	} else if (strcmp(w, "dane") == 0) {
		if (p[0] != '/' || str_copy(j->dane, p,
		    sizeof(j->dane)) == -1)
			return "bad dane";
	} else if (strcmp(w, "mta-sts") == 0) {
		uint64_t port;
		char *t = word(&p);
		if (parse_u64(t, &v) == -1 || v == 0 || v > 86400 ||
		    parse_u64(p, &port) == -1 || port == 0 || port > 65535)
			return "bad mta-sts";
		j->mta_sts_timeout = (unsigned)v;
		j->mta_sts_port = (unsigned)port;
	} else if (strcmp(w, "tls-reports") == 0) {
		if (strcmp(p, "yes") != 0)
			return "bad tls-reports";
		j->tls_reports = 1;
	} else if (strcmp(w, "client") == 0) {
		char *ip = word(&p);
		int bad = ip == NULL || str_copy(j->client_ip, ip,
		    sizeof(j->client_ip)) == -1 || *p == '\0' ||
		    strchr(p, ' ') || str_copy(j->helo, p, sizeof(j->helo)) == -1;
		if (bad)
			return "bad client";
	} else if (strcmp(w, "dmarc-reject") == 0) {
		if (strcmp(p, "yes") && strcmp(p, "no"))
			return "bad dmarc-reject";
		j->dmarc_reject = strcmp(p, "yes") == 0;
	} else if (strcmp(w, "dns") == 0) {
		if (str_copy(j->dns, p, sizeof(j->dns)) == -1 ||
		    strchr(p, ' '))
			return "bad dns servers";
	} else if (strcmp(w, "port") == 0 || strcmp(w, "timeout") == 0 ||
	    strcmp(w, "connect-timeout") == 0) {
		unsigned *f = w[0] == 'p' ? &j->port : w[0] == 't' ?
		    &j->timeout : &j->connect_timeout;
		if (parse_u64(p, &v) == -1 || v == 0 || v > 86400 ||
		    (f == &j->port && v > 65535))
			return "bad number";
		*f = (unsigned)v;
	} else
		return "unknown line";
	return NULL;
}

/*
 * A msg line (p after "msg "): a new message in j. A line that does not
 * parse marks the message bad; NULL, or what breaks the whole job.
 */
static const char *
add_msg(struct job *j, char *p, int toolong)
{
	struct job_msg *nm, *m;
	const char *why;
	char *w;

	if (j->nmsg >= JOB_MAX_MSGS)
		return "too many messages";
	if ((nm = realloc(j->msgs, (j->nmsg + 1) * sizeof(*nm))) == NULL)
		return "out of memory";
	j->msgs = nm;
	m = &j->msgs[j->nmsg++];
	memset(m, 0, sizeof(*m));
	/* without its id, nobody can be told: a broken job */
	if ((w = word(&p)) == NULL || !qid_valid(w))
		return "bad queue id";
	memcpy(m->qid, w, QID_LEN + 1);
	why = toolong ? "line too long" : msg_line(m, p);
	if (why != NULL && strcmp(why, "out of memory") == 0)
		return why;
	if (why != NULL && m->bad == NULL)
		m->bad = why;
	return NULL;
}

/* A rcpt line of message m, as add_msg. */
static const char *
add_rcpt(struct job_msg *m, char *p, int toolong)
{
	struct job_rcpt *nr;
	const char *why;
	uint64_t v;

	if (parse_u64(word(&p), &v) == -1 || v > JOB_MAX_RCPTS) {
		/* cannot be reported; its message fails */
		if (m->bad == NULL)
			m->bad = "bad index";
		return NULL;
	}
	if ((nr = realloc(m->rcpts, (m->nrcpt + 1) * sizeof(*nr))) == NULL)
		return "out of memory";
	m->rcpts = nr;
	nr = &m->rcpts[m->nrcpt++];
	memset(nr, 0, sizeof(*nr));
	nr->index = (unsigned)v;
	why = toolong ? "line too long" : rcpt_line(nr, p);
	if (why != NULL && strcmp(why, "out of memory") == 0)
		return why;
	if (why != NULL && m->bad == NULL)
		m->bad = why;
	return NULL;
}

#define BAD(m) do { str_copy_trunc(err, (m), errlen); goto fail; } while (0)

/*
 * A message or recipient line that does not parse fails that message
 * alone (job_reject_bad reports its recipients): one poison message
 * must not hold back the rest of the batch. Anything else wrong is a
 * broken job, refused whole.
 */
int
job_parse(struct job *j, const char *text, size_t len, char *err,
    size_t errlen)
{
	char line[JOB_LINE_MAX], *p, *w;
	const char *why;
	size_t pos = 0, n, total_rcpts = 0;
	int state = 0;	/* 0: magic, 1: body, 2: ended */
	int toolong, per_msg;

	memset(j, 0, sizeof(*j));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL)
			BAD("unterminated line");
		n = (size_t)(nl - (text + pos));
		toolong = n >= sizeof(line);
		if (toolong)	/* enough to say which message it was */
			n = sizeof(line) - 1;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = (size_t)(nl - text) + 1;
		per_msg = strncmp(line, "msg ", 4) == 0 ||
		    strncmp(line, "rcpt ", 5) == 0;
		if (toolong && !per_msg)
			BAD("line too long");
		if (memchr(line, '\0', n) != NULL) {
			if (!per_msg)
				BAD("control characters");
			toolong = 1;	/* cut at the NUL: a bad line */
		}
		if (!per_msg && !str_printable(line))
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
		if ((w = word(&p)) == NULL)
			BAD("empty line");
		if (strcmp(w, "end") == 0 && *p == '\0') {
			state = 2;
			why = NULL;
		} else if (strcmp(w, "msg") == 0)
			why = add_msg(j, p, toolong);
		else if (strcmp(w, "rcpt") == 0)
			why = j->nmsg == 0 || ++total_rcpts > JOB_MAX_RCPTS ?
			    "rcpt without msg, or too many" :
			    add_rcpt(&j->msgs[j->nmsg - 1], p, toolong);
		else
			why = head_line(j, w, p);
		if (why != NULL)
			BAD(why);
	}
	if (state != 2)
		BAD("no end line");
	return 0;
fail:
	job_free(j);
	return -1;
}

int
job_reject_bad(struct job *j, struct buf *out)
{
	char reply[JOB_REPLY_MAX + 1];
	size_t i, k, kept = 0;
	int n = 0;

	for (i = 0; i < j->nmsg; i++) {
		struct job_msg *m = &j->msgs[i];
		if (m->bad == NULL) {
			j->msgs[kept++] = *m;
			continue;
		}
		/* the same job would be written again at every retry */
		str_fmt_trunc(reply, sizeof(reply), "554 5.3.0 The delivery agent "
		    "cannot read this message's job (%s)", m->bad);
		for (k = 0; k < m->nrcpt; k++)
			job_result_format(out, m->qid, m->rcpts[k].index,
			    STATUS_PERM, NULL, reply);
		for (k = 0; k < m->nrcpt; k++) {
			free(m->rcpts[k].addr);
			free(m->rcpts[k].extra);
		}
		free(m->rcpts);
		free(m->from);
		free(m->flags);
		n++;
	}
	j->nmsg = kept;
	return n;
}

/* Format a line into a scratch buffer and check it parses as a job
 * line; only then append it: queued never writes what its agent
 * would refuse. */
static int
job_add_checked(struct buf *out, const char *line, int is_msg)
{
	struct job_msg m;
	struct job_rcpt r;
	char copy[JOB_LINE_MAX], *p = copy, *w;
	const char *why;
	uint64_t v;

	if (str_copy(copy, line, sizeof(copy)) == -1)
		return -1;
	memset(&m, 0, sizeof(m));
	memset(&r, 0, sizeof(r));
	w = word(&p);
	(void)w;
	if (is_msg) {
		w = word(&p);
		why = w && qid_valid(w) ? msg_line(&m, p) : "bad queue id";
		free(m.from);
		free(m.flags);
	} else {
		why = parse_u64(word(&p), &v) == -1 || v > JOB_MAX_RCPTS ?
		    "bad index" : rcpt_line(&r, p);
		free(r.addr);
		free(r.extra);
	}
	if (why != NULL)
		return -1;
	if (buf_addstr(out, line) == -1 || buf_addstr(out, "\n") == -1)
		return -1;
	return 0;
}

int
job_format_msg(struct buf *out, const char *qid, int64_t time,
    uint64_t data_off, uint64_t size, const char *from, const char *flags)
{
	char line[JOB_LINE_MAX], enc[ADDR_ENC_MAX + 1];

	if (addr_encode(from, enc, sizeof(enc)) == -1 ||
	    str_fmt(line, sizeof(line), "msg %s %lld %llu %llu <%s>%s%s", qid,
	    (long long)time, (unsigned long long)data_off,
	    (unsigned long long)size, enc, *flags ? " " : "", flags) == -1)
		return -1;
	return job_add_checked(out, line, 1);
}

int
job_format_dns(struct buf *out, char *const *servers, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf_printf(out, "%s%s", i ? "," : "dns ", servers[i]) == -1)
			return -1;
	return n > 0 ? buf_addstr(out, "\n") : 0;
}

int
job_format_rcpt(struct buf *out, unsigned index, const char *addr,
    const char *extra)
{
	char line[JOB_LINE_MAX], enc[ADDR_ENC_MAX + 1];

	if (addr_encode(addr, enc, sizeof(enc)) <= 0 ||
	    str_fmt(line, sizeof(line), "rcpt %u %s%s%s", index, enc,
	    *extra ? " " : "", extra) == -1)
		return -1;
	return job_add_checked(out, line, 0);
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
	str_copy_trunc(clean, reply, sizeof(clean));
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
		str_copy_trunc(err, rc == -2 ? "job too large" : "cannot read the job",
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

/* RFC 8460 4.3's result types, and ours for a session that worked */
static const char *const tls_results[] = {
	"success", "starttls-not-supported", "certificate-host-mismatch",
	"certificate-expired", "certificate-not-trusted", "validation-failure",
	"tlsa-invalid", "dnssec-invalid", "dane-required",
	"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
};

const char *
job_tls_policy_name(enum job_tls_policy p)
{
	return p == JOB_TLS_STS ? "sts" : p == JOB_TLS_TLSA ? "tlsa" :
	    "no-policy-found";
}

/* "a@b.test,c@d.test": addresses without blanks, '<', '>' or ',' */
static int
rua_valid(const char *s)
{
	const char *p, *at, *end;

	if (*s == '\0' || strlen(s) > JOB_TLS_RUA_MAX)
		return 0;
	for (p = s; ; p = end + 1) {
		end = p + strcspn(p, ",");
		if ((at = memchr(p, '@', (size_t)(end - p))) == NULL ||
		    at == p || end - at - 1 <= 0 || end - p > ADDR_MAX ||
		    !addr_domain_valid(at + 1, (size_t)(end - at - 1), 0))
			return 0;
		for (; p < end; p++)
			if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
			    (unsigned char)*p >= 0x7f)
				return 0;
		if (*end == '\0')
			return 1;
	}
}

int
job_tls_parse(const char *line, struct job_tls *t)
{
	char buf[JOB_LINE_MAX], *p, *w, *f[6];
	unsigned char ip[16];
	size_t i;

	memset(t, 0, sizeof(*t));
	if (str_copy(buf, line, sizeof(buf)) == -1 || !str_printable(buf))
		return -1;
	p = buf;
	if ((w = word(&p)) == NULL || strcmp(w, "tls") != 0)
		return -1;
	for (i = 0; i < 6; i++)
		if ((f[i] = word(&p)) == NULL)
			return -1;
	if (*p != '\0')
		return -1;
	if (!addr_domain_valid(f[0], strlen(f[0]), 0) ||
	    str_copy(t->domain, f[0], sizeof(t->domain)) == -1)
		return -1;
	if (strcmp(f[1], "sts") == 0)
		t->policy = JOB_TLS_STS;
	else if (strcmp(f[1], "tlsa") == 0)
		t->policy = JOB_TLS_TLSA;
	else if (strcmp(f[1], "no-policy-found") == 0)
		t->policy = JOB_TLS_NO_POLICY;
	else
		return -1;
	for (i = 0; i < sizeof(tls_results) / sizeof(tls_results[0]); i++)
		if (strcmp(f[2], tls_results[i]) == 0)
			break;
	if (i == sizeof(tls_results) / sizeof(tls_results[0]))
		return -1;
	str_copy_trunc(t->result, f[2], sizeof(t->result));	/* listed */
	if (strcmp(f[3], "-") != 0 && (!addr_domain_valid(f[3], strlen(f[3]),
	    0) || str_copy(t->mx, f[3], sizeof(t->mx)) == -1))
		return -1;
	if (strcmp(f[4], "-") != 0 && ((inet_pton(AF_INET, f[4], ip) != 1 &&
	    inet_pton(AF_INET6, f[4], ip) != 1) ||
	    str_copy(t->ip, f[4], sizeof(t->ip)) == -1))
		return -1;
	if (!rua_valid(f[5]) || str_copy(t->rua, f[5], sizeof(t->rua)) == -1)
		return -1;
	return 0;
}

int
job_tls_format(struct buf *out, const struct job_tls *t)
{
	char line[JOB_LINE_MAX];
	struct job_tls check;

	if (str_fmt(line, sizeof(line), "tls %s %s %s %s %s %s", t->domain,
	    job_tls_policy_name(t->policy), t->result, t->mx[0] ? t->mx : "-",
	    t->ip[0] ? t->ip : "-", t->rua) == -1 ||
	    job_tls_parse(line, &check) == -1)
		return -1;
	buf_printf(out, "%s\n", line);
	return 0;
}

static const char *const verdicts[] = { "ok", "junk", "reject" };

int
job_verdict_parse(const char *line, struct job_verdict *v)
{
	char buf[JOB_LINE_MAX], *p, *w;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (str_copy(buf, line, sizeof(buf)) == -1 || !str_printable(buf))
		return -1;
	p = buf;
	if ((w = word(&p)) == NULL || strcmp(w, "verdict") != 0)
		return -1;
	if ((w = word(&p)) == NULL || !qid_valid(w))
		return -1;
	memcpy(v->qid, w, QID_LEN + 1);
	if ((w = word(&p)) == NULL)
		return -1;
	for (i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		if (strcmp(w, verdicts[i]) == 0)
			break;
	if (i == sizeof(verdicts) / sizeof(verdicts[0]))
		return -1;
	v->verdict = (enum verdict)i;
	/* a refusal is an SMTP reply the client will read: "4xx/5xx x.y.z" */
	if (v->verdict == VERDICT_REJECT && (strlen(p) < 10 ||
	    (p[0] != '4' && p[0] != '5') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || p[3] != ' ' || p[4] != p[0] ||
	    p[5] != '.'))
		return -1;
	if (str_copy(v->text, p, sizeof(v->text)) == -1)
		return -1;
	return 0;
}

int
job_verdict_format(struct buf *out, const char *qid, enum verdict v,
    const char *text)
{
	char clean[JOB_REPLY_MAX + 1];

	str_copy_trunc(clean, text, sizeof(clean));
	str_unctrl(clean);
	return buf_printf(out, "verdict %s %s %s\n", qid, verdicts[v], clean);
}

int
job_damaged_parse(const char *line, char qid[QID_LEN + 1],
    char why[JOB_REPLY_MAX + 1])
{
	size_t n = strlen("damaged ");

	if (strncmp(line, "damaged ", n) != 0 || strlen(line) < n + QID_LEN ||
	    line[n + QID_LEN] != ' ')
		return -1;
	memcpy(qid, line + n, QID_LEN);
	qid[QID_LEN] = '\0';
	if (!qid_valid(qid) || !str_printable(line + n + QID_LEN + 1) ||
	    str_copy(why, line + n + QID_LEN + 1, JOB_REPLY_MAX + 1) == -1)
		return -1;
	return 0;
}

int
job_damaged_format(struct buf *out, const char *qid, const char *why)
{
	char w[JOB_REPLY_MAX + 1];
	size_t i;

	str_copy_trunc(w, why, sizeof(w));
	for (i = 0; w[i]; i++)
		if ((unsigned char)w[i] < 0x20 || w[i] == 0x7f)
			w[i] = '?';
	return buf_printf(out, "damaged %s %s\n", qid, w);
}

int
job_sum_matches(const struct job_msg *m, uint32_t crc, char *why,
    size_t len)
{
	if (!m->has_sum || m->sum == crc)
		return 1;
	str_fmt_trunc(why, len, "its data does not match its checksum "
	    "(crc32c %08x, %08x when it was queued)", (unsigned)crc,
	    (unsigned)m->sum);
	return 0;
}
