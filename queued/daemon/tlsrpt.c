/*
 * tlsrpt: RFC 8460 aggregate reports.
 *
 * Counting is an append of one line per session to tlsrpt/<day>
 * (O_APPEND, no fsync: a crash of the machine may lose the last counts,
 * never the file's structure: a cut last line is skipped as bad). A day
 * is sent once it is over (UTC), checked every hour, and its file removed
 * after every report is in the queue: a crash between the two sends the
 * day again (at least once, as for mail). pombo-queue tls-reports sends
 * the days so far now, today's up to this moment.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base64.h"
#include "date.h"
#include "fileio.h"
#include "inject.h"
#include "log.h"
#include "mtasts_policy.h"
#include "sched.h"
#include "tlsrpt.h"

#define DAY_FILE_MAX	(64 * 1024 * 1024)
/* a domain's record names where its reports go: not a mailing list */
#define RUA_MAX		4

/* ---- counting (pure) ---- */

static struct tlsrpt_dom *
find_dom(struct tlsrpt_day *d, const char *domain)
{
	struct tlsrpt_dom *nd;
	size_t i;

	for (i = 0; i < d->ndom; i++)
		if (strcmp(d->doms[i].domain, domain) == 0)
			return &d->doms[i];
	if (d->ndom >= TLSRPT_DOMAINS_MAX ||
	    (nd = realloc(d->doms, (d->ndom + 1) * sizeof(*nd))) == NULL)
		return NULL;
	d->doms = nd;
	nd = &d->doms[d->ndom++];
	memset(nd, 0, sizeof(*nd));
	str_copy_trunc(nd->domain, domain, sizeof(nd->domain));	/* same size */
	return nd;
}

static int
count(struct tlsrpt_dom *dom, const struct job_tls *t)
{
	struct tlsrpt_pol *p = &dom->pol[t->policy];
	struct tlsrpt_fail *f;
	size_t i;

	str_copy_trunc(dom->rua, t->rua, sizeof(dom->rua));
	p->used = 1;
	if (strcmp(t->result, "success") == 0) {
		p->ok++;
		return 0;
	}
	p->failed++;
	for (i = 0; i < p->nfail; i++) {
		f = &p->fails[i];
		if (strcmp(f->result, t->result) == 0 &&
		    strcmp(f->mx, t->mx) == 0 && strcmp(f->ip, t->ip) == 0) {
			f->n++;
			return 0;
		}
	}
	if (p->nfail >= TLSRPT_DETAILS_MAX)
		return 0;	/* counted in the summary alone */
	if ((f = realloc(p->fails, (p->nfail + 1) * sizeof(*f))) == NULL)
		return -1;
	p->fails = f;
	f = &p->fails[p->nfail++];
	memset(f, 0, sizeof(*f));
	str_copy_trunc(f->result, t->result, sizeof(f->result));
	str_copy_trunc(f->mx, t->mx, sizeof(f->mx));
	str_copy_trunc(f->ip, t->ip, sizeof(f->ip));
	f->n = 1;
	return 0;
}

int
tlsrpt_day_parse(const char *text, size_t len, struct tlsrpt_day *d)
{
	const char *p = text, *end = text + len, *nl;
	char line[JOB_LINE_MAX];
	struct tlsrpt_dom *dom;
	struct job_tls t;
	size_t n;

	memset(d, 0, sizeof(*d));
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;		/* a line cut by a crash */
		n = (size_t)(nl - p);
		if (n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if (job_tls_parse(line, &t) == -1)
			continue;
		if ((dom = find_dom(d, t.domain)) == NULL)
			continue;	/* over TLSRPT_DOMAINS_MAX */
		if (count(dom, &t) == -1)
			return -1;
	}
	return 0;
}

void
tlsrpt_day_free(struct tlsrpt_day *d)
{
	size_t i, k;

	for (i = 0; i < d->ndom; i++) {
		for (k = 0; k < JOB_TLS_NPOLICY; k++)
			free(d->doms[i].pol[k].fails);
	}
	free(d->doms);
	memset(d, 0, sizeof(*d));
}

/* ---- the report (pure) ---- */

/* s as a JSON string: quotes, backslashes and controls escaped */
static void
json_str(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

static void
iso_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
report_id(const struct tlsrpt_dom *d, const char *submitter, int64_t start,
    int64_t now, char *buf, size_t len)
{
	char day[16];
	time_t tt = (time_t)start;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	str_fmt_trunc(buf, len, "%s.%s.%lld@%s", day, d->domain,
	    (long long)now, submitter);
}

/* The "policy" object of the sts entry: the policy's lines and mx. */
static void
sts_policy(struct buf *b, const struct tlsrpt_dom *d, const char *policy,
    size_t plen)
{
	struct mtasts_policy pol;
	const char *p, *end, *nl;
	char why[64];
	size_t i, n;
	int first = 1;

	buf_addstr(b, "{\"policy-type\":\"sts\",\"policy-string\":[");
	if (policy != NULL && mtasts_policy_parse(policy, plen, &pol, why,
	    sizeof(why)) == 0) {
		for (p = policy, end = policy + plen; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			n = (size_t)(nl - p);
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n == 0)
				continue;
			if (!first)
				buf_addc(b, ',');
			first = 0;
			json_str(b, p, n);
		}
		buf_addstr(b, "],\"policy-domain\":");
		json_str(b, d->domain, strlen(d->domain));
		buf_addstr(b, ",\"mx-host\":[");
		for (i = 0; i < pol.nmx; i++) {
			if (i)
				buf_addc(b, ',');
			json_str(b, pol.mx[i], strlen(pol.mx[i]));
		}
		buf_addstr(b, "]}");
		return;
	}
	buf_addstr(b, "],\"policy-domain\":");
	json_str(b, d->domain, strlen(d->domain));
	buf_addstr(b, "}");
}

int
tlsrpt_json(const struct tlsrpt_dom *d, const char *submitter, int64_t start,
    int64_t end, const char *policy, size_t policylen, int64_t now,
    struct buf *out)
{
	char from[32], to[32], id[ADDR_DOMAIN_MAX * 2 + 64];
	const struct tlsrpt_pol *p;
	const struct tlsrpt_fail *f;
	size_t i, k;
	int first = 1;

	iso_time(start, from, sizeof(from));
	iso_time(end, to, sizeof(to));
	report_id(d, submitter, start, now, id, sizeof(id));
	buf_addstr(out, "{\"organization-name\":");
	json_str(out, submitter, strlen(submitter));
	buf_printf(out, ",\"date-range\":{\"start-datetime\":\"%s\","
	    "\"end-datetime\":\"%s\"},\"contact-info\":\"postmaster@", from, to);
	buf_printf(out, "%s\",\"report-id\":", submitter);
	json_str(out, id, strlen(id));
	buf_addstr(out, ",\"policies\":[");
	for (k = 0; k < JOB_TLS_NPOLICY; k++) {
		p = &d->pol[k];
		if (!p->used)
			continue;
		if (!first)
			buf_addc(out, ',');
		first = 0;
		buf_addstr(out, "{\"policy\":");
		if (k == JOB_TLS_STS)
			sts_policy(out, d, policy, policylen);
		else {
			/* DANE's (RFC 8460 4.4: tlsa) or none */
			buf_printf(out, "{\"policy-type\":\"%s\","
			    "\"policy-domain\":", job_tls_policy_name(k));
			json_str(out, d->domain, strlen(d->domain));
			buf_addc(out, '}');
		}
		buf_printf(out, ",\"summary\":{\"total-successful-session-count\""
		    ":%lu,\"total-failure-session-count\":%lu}", p->ok,
		    p->failed);
		if (p->nfail > 0) {
			buf_addstr(out, ",\"failure-details\":[");
			for (i = 0; i < p->nfail; i++) {
				f = &p->fails[i];
				buf_printf(out, "%s{\"result-type\":\"%s\"",
				    i ? "," : "", f->result);
				if (f->mx[0]) {
					buf_addstr(out,
					    ",\"receiving-mx-hostname\":");
					json_str(out, f->mx, strlen(f->mx));
				}
				if (f->ip[0]) {
					buf_addstr(out, ",\"receiving-ip\":");
					json_str(out, f->ip, strlen(f->ip));
				}
				buf_printf(out, ",\"failed-session-count\":%lu}",
				    f->n);
			}
			buf_addc(out, ']');
		}
		buf_addc(out, '}');
	}
	return buf_addstr(out, "]}\n");
}

/*
 * The report gzip'd (RFC 8460 5.2: SHOULD, receivers commonly refuse
 * big reports; RFC 1952 through zlib's gzip wrapper). A malloc'd
 * buffer of *len octets, or NULL.
 */
static unsigned char *
gzip_report(const struct buf *json, size_t *len)
{
	unsigned char *out;
	z_stream z;
	uLong max;

	memset(&z, 0, sizeof(z));
	/* 15 window bits, +16: a gzip header and trailer, not zlib's */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	max = deflateBound(&z, (uLong)json->len);
	if ((out = malloc(max)) == NULL) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)json->data;
	z.avail_in = (uInt)json->len;
	z.next_out = out;
	z.avail_out = (uInt)max;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*len = z.total_out;
	deflateEnd(&z);
	return out;
}

int
tlsrpt_message(const struct tlsrpt_dom *d, const char *submitter,
    int64_t start, int64_t end, int64_t now, const char *to,
    const struct buf *json, struct buf *out)
{
	char date[64], id[ADDR_DOMAIN_MAX * 2 + 64], boundary[128], *b64;
	unsigned char *gz;
	size_t gzlen, b64len, i;
	int rc;

	date_rfc5322((time_t)now, date, sizeof(date));
	report_id(d, submitter, start, now, id, sizeof(id));
	str_fmt_trunc(boundary, sizeof(boundary), "tlsrpt.%lld/%s",
	    (long long)now, submitter);
	if ((gz = gzip_report(json, &gzlen)) == NULL)
		return -1;
	b64len = (gzlen + 2) / 3 * 4 + 1;
	if ((b64 = malloc(b64len)) == NULL ||
	    base64_encode(gz, gzlen, b64, b64len) == -1) {
		free(gz);
		free(b64);
		return -1;
	}
	free(gz);
	/* RFC 8460 5.3: the subject and two header fields say what this
	 * is; 5.1: the file name, sender!domain!begin!end.json.gz */
	buf_printf(out,
	    "From: TLS reporting <postmaster@%s>\n"
	    "To: <%s>\n"
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n"
	    "Date: %s\n"
	    "Message-ID: <%s>\n"
	    "TLS-Report-Domain: %s\n"
	    "TLS-Report-Submitter: %s\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
	    "\tboundary=\"%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n"
	    "--%s\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\n"
	    "for %s.\n"
	    "\n"
	    "--%s\n"
	    "Content-Type: application/tlsrpt+gzip\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n"
	    "\tfilename=\"%s!%s!%lld!%lld.json.gz\"\n"
	    "\n",
	    submitter, to, d->domain, submitter, id, date, id, d->domain,
	    submitter, boundary, boundary, submitter, d->domain, boundary,
	    submitter, d->domain, (long long)start, (long long)end);
	/* lines of 76 (RFC 2045 6.8); the last may be shorter */
	b64len = strlen(b64);
	for (i = 0; i < b64len; i += 76) {
		buf_add(out, b64 + i, b64len - i < 76 ? b64len - i : 76);
		buf_addc(out, '\n');
	}
	rc = buf_printf(out, "\n--%s--\n", boundary);
	free(b64);
	return rc;
}

/* ---- on disk, and the sending ---- */

static void
day_name(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

void
tlsrpt_record(struct spool *sp, const struct job_tls *t, int64_t now)
{
	char name[16];
	struct buf line;
	int fd;

	day_name(now, name, sizeof(name));
	buf_init(&line, JOB_LINE_MAX);
	if (job_tls_format(&line, t) == -1) {
		buf_free(&line);
		return;
	}
	if ((fd = openat(sp->tlsrpt, name, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    fileio_write_all(fd, line.data, line.len) == -1)
		log_warn("tlsrpt/%s: cannot count a TLS session", name);
	if (fd != -1)
		close(fd);
	buf_free(&line);
}

/* The domain's MTA-STS policy as pombo-remote cached it, into b. */
static void
cached_policy(struct spool *sp, const char *domain, struct buf *b,
    const char **text, size_t *len)
{
	const char *p;
	int fd, i;

	*text = NULL;
	*len = 0;
	if ((fd = fileio_open_own(sp->mtasts, domain, O_RDONLY)) < 0)
		return;
	if (fileio_read_fd(fd, b) == 0) {
		/* after its three header lines (SPOOL.md) */
		p = buf_cstr(b);
		for (i = 0; i < 3 && p != NULL; i++)
			if ((p = strchr(p, '\n')) != NULL)
				p++;
		if (p != NULL) {
			*text = p;
			*len = b->len - (size_t)(p - b->data);
		}
	}
	close(fd);
}

/* Each domain's report to each of its addresses. */
static int
send_day(struct queued_ctx *ctx, const struct tlsrpt_day *day, int64_t start,
    int64_t end, int64_t now)
{
	struct buf json, msg, pol;
	struct qmsg *m;
	const char *ptext, *a, *e;
	char to[ADDR_MAX + 1];
	size_t i, plen;
	int sent = 0, naddr;

	for (i = 0; i < day->ndom; i++) {
		const struct tlsrpt_dom *d = &day->doms[i];
		buf_init(&json, 16 * 1024 * 1024);
		buf_init(&pol, MTASTS_POLICY_MAX + 256);
		cached_policy(ctx->spool, d->domain, &pol, &ptext, &plen);
		tlsrpt_json(d, ctx->conf->hostname, start, end, ptext, plen,
		    now, &json);
		naddr = 0;
		for (a = d->rua; *a && naddr++ < RUA_MAX;
		    a = *e ? e + 1 : e) {
			e = a + strcspn(a, ",");
			if ((size_t)(e - a) >= sizeof(to))
				continue;
			memcpy(to, a, (size_t)(e - a));
			to[e - a] = '\0';
			buf_init(&msg, 32 * 1024 * 1024);
			if (tlsrpt_message(d, ctx->conf->hostname, start, end,
			    now, to, &json, &msg) == 0 &&
			    (m = inject_message(ctx->spool, ctx->conf, to, 0,
			    msg.data, msg.len)) != NULL) {
				log_info("%s: TLS report for %s to %s",
				    m->env.qid, d->domain, to);
				sched_add(m);
				sent++;
			} else
				log_warnx("the TLS report for %s to %s could "
				    "not be queued", d->domain, to);
			buf_free(&msg);
		}
		buf_free(&pol);
		buf_free(&json);
	}
	return sent;
}

/* "YYYY-MM-DD" as the unix time of its midnight (UTC); -1 if it is not */
static int64_t
day_start(const char *name)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(name) != 10 || (end = strptime(name, "%Y-%m-%d", &tm)) ==
	    NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

int
tlsrpt_send(struct queued_ctx *ctx, int64_t now, int all)
{
	struct spool *sp = ctx->spool;
	struct tlsrpt_day day;
	struct dirent *de;
	struct buf text;
	char today[16];
	int64_t start;
	DIR *dir;
	int fd, sent = 0;

	day_name(now, today, sizeof(today));
	if ((fd = dup(sp->tlsrpt)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL) {
		if ((start = day_start(de->d_name)) == -1)
			continue;
		if (!all && strcmp(de->d_name, today) >= 0)
			continue;	/* not over yet */
		if ((fd = fileio_open_own(sp->tlsrpt, de->d_name,
		    O_RDONLY)) < 0)
			continue;
		buf_init(&text, DAY_FILE_MAX);
		if (fileio_read_fd(fd, &text) == -1 ||
		    tlsrpt_day_parse(text.data ? text.data : "", text.len,
		    &day) == -1) {
			log_warnx("tlsrpt/%s: cannot be read", de->d_name);
			close(fd);
			buf_free(&text);
			continue;
		}
		close(fd);
		sent += send_day(ctx, &day, start, strcmp(de->d_name,
		    today) >= 0 ? now : start + 86400, now);
		tlsrpt_day_free(&day);
		buf_free(&text);
		/* at least once: a crash before this sends the day again */
		if (unlinkat(sp->tlsrpt, de->d_name, 0) == -1)
			log_warn("tlsrpt/%s", de->d_name);
	}
	closedir(dir);
	return sent;
}

static sd_event_source *timer;

static int
on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct queued_ctx *ctx = ud;

	if (ctx->conf->tls_reports)
		tlsrpt_send(ctx, time(NULL), 0);
	sd_event_source_set_time(s, usec + 3600ULL * 1000000);
	sd_event_source_set_enabled(s, SD_EVENT_ON);
	return 0;
}

void
tlsrpt_init(struct queued_ctx *ctx)
{
	uint64_t now;

	sd_event_now(ctx->event, CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(ctx->event, &timer, CLOCK_MONOTONIC,
	    now + 60ULL * 1000000, 0, on_timer, ctx) < 0)
		fatalx("TLS report timer");
}
