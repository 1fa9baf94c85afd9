/*
 * pombo-verify: the inbound checks of a message from the Internet. At
 * the end of DATA queued runs it with a job of one msg line on stdin
 * (shared/job.h), incoming/ on fd 3 and an empty file on fd 4. It
 * checks SPF (RFC 7208) for MAIL FROM and HELO, the DKIM signatures
 * (RFC 6376) and DMARC (RFC 7489), writes the message as it is to be
 * queued on fd 4 (its Authentication-Results: field on top, RFC 8601;
 * the fields that claim our authserv-id removed, RFC 8601 5), and
 * answers one verdict line on stdout.
 *
 * Runs as: queued's user. May touch: incoming/<qid> (read), fd 4
 * (write), nothing else on disk but the public suffix list.
 * Trusts: its job; nothing of the message or of DNS. The libraries
 * resolve through c-ares with the job's servers and timeout, never
 * through the system's blocking resolver.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "authres.h"
#include "dkimv.h"
#include "dmarc.h"
#include "dns.h"
#include "fileio.h"
#include "job.h"
#include "log.h"
#include "rfc5322.h"
#include "spf.h"
#include "str.h"

#define SPOOL_FD	3
#define OUT_FD		4
#define TIMEOUT_DEFAULT	30	/* s, when the job names none */
#define AR_MAX		(32 * 1024)
#define AUTHORS_MAX	8	/* From: domains checked; more is junk */

static void __attribute__((noreturn))
tempfail(const char *what, const char *detail)
{
	/* queued reads this line; the message is queued unchecked or waits */
	fprintf(stderr, "pombo-verify: %s%s%s\n", what, detail ? ": " : "",
	    detail ? detail : "");
	log_warnx("%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	exit(EX_TEMPFAIL);
}

/* The message: size octets from off of incoming/<qid>. */
static char *
read_message(const struct job_msg *m)
{
	struct stat st;
	char *msg;
	size_t got = 0;
	ssize_t n;
	int fd;

	/* as queued and the delivery agents open spool files */
	fd = fileio_open_own_st(SPOOL_FD, m->qid, O_RDONLY, &st);
	if (fd == -1)
		tempfail("cannot open the message", strerror(errno));
	if (fd == -2)
		tempfail("the message file is not queued's", NULL);
	if ((uint64_t)st.st_size < m->data_off ||
	    (uint64_t)st.st_size - m->data_off < m->size ||
	    m->size > SIZE_MAX - 1)
		tempfail("the message file is not what the job says", NULL);
	if ((msg = malloc((size_t)m->size + 1)) == NULL)
		tempfail("out of memory", NULL);
	while (got < m->size) {
		n = pread(fd, msg + got, (size_t)m->size - got,
		    (off_t)(m->data_off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			tempfail("cannot read the message", n == 0 ?
			    "short file" : strerror(errno));
		got += (size_t)n;
	}
	msg[got] = '\0';
	close(fd);
	return msg;
}

/* The header section's length: up to and with the empty line. */
static size_t
header_len(const char *msg, size_t len)
{
	const char *p;

	if (len > 0 && msg[0] == '\n')
		return 0;
	p = msg;
	while ((p = memchr(p, '\n', len - (size_t)(p - msg))) != NULL) {
		p++;
		if ((size_t)(p - msg) == len || *p == '\n')
			return (size_t)(p - msg);
	}
	return len;
}

/* Text fit for a comment (RFC 5322 3.2.2): no parentheses or backslash. */
static void
comment_text(const char *in, char *out, size_t outlen)
{
	size_t i;

	str_copy_trunc(out, in, outlen);
	for (i = 0; out[i]; i++)
		if (out[i] == '(' || out[i] == ')' || out[i] == '\\' ||
		    (unsigned char)out[i] < ' ' || out[i] == 127)
			out[i] = ' ';
}

/* "; <method>=<result> (why) prop=value ...", on a folded line. */
static void
add_resinfo(struct buf *ar, const char *method, enum result r,
    const char *why, const char *props)
{
	char c[200];

	buf_printf(ar, ";\n\t%s=%s", method, result_name(r));
	if (why && *why) {
		comment_text(why, c, sizeof(c));
		buf_printf(ar, " (%s)", c);
	}
	if (props && *props)
		buf_printf(ar, " %s", props);
}

static void
prop(char *out, size_t outlen, const char *name, const char *value)
{
	char v[2 * ADDR_MAX + 8];
	size_t l = strlen(out);

	if (authres_value(value, v, sizeof(v)) == -1)
		return;
	if (str_fmt(out + l, outlen - l, "%s%s=%s", l ? " " : "", name,
	    v) == -1)
		out[l] = '\0';		/* cut, it would claim another value */
}

/*
 * An address as RFC 8601 2.2 pvalue: local-part "@" domain-name, the
 * local part a quoted string when it is no token (smtp.mailfrom).
 */
static void
prop_addr(char *out, size_t outlen, const char *name, const char *addr)
{
	char local[2 * ADDR_LOCAL_MAX + 8], v[2 * ADDR_MAX + 8];
	const char *at = strrchr(addr, '@');
	size_t l = strlen(out);

	if (at == NULL || (size_t)(at - addr) >= sizeof(local)) {
		prop(out, outlen, name, addr);
		return;
	}
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	if (authres_value(local, v, sizeof(v)) == -1 ||
	    !addr_domain_valid(at + 1, strlen(at + 1), 1)) {
		prop(out, outlen, name, addr);
		return;
	}
	if (str_fmt(out + l, outlen - l, "%s%s=%s@%s", l ? " " : "", name, v,
	    at + 1) == -1)
		out[l] = '\0';		/* as in prop */
}

/*
 * Whether a is the stricter outcome: a failure calling for more first,
 * then fail, temperror, permerror, none, pass.
 */
static int
dmarc_worse(const struct dmarc_result *a, const struct dmarc_result *b)
{
	static const int rank[] = { [RES_PASS] = 0, [RES_NONE] = 1,
	    [RES_PERMERROR] = 2, [RES_TEMPERROR] = 3, [RES_FAIL] = 4 };

	if (a->res == RES_FAIL && b->res == RES_FAIL)
		return a->action > b->action;
	return rank[a->res] > rank[b->res];
}

/* The DKIM result in the summary: pass if one signature passed. */
static enum result
dkim_summary(const struct dkimv *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->sig[i].res == RES_PASS)
			return RES_PASS;
	return d->n ? d->sig[0].res : RES_NONE;
}

int
main(int argc, char *argv[])
{
	struct job j;
	struct job_msg *m;
	struct spf_result spf_from, spf_helo;
	struct dkimv dkim;
	struct dmarc_result dmarc[AUTHORS_MAX];
	char authors[AUTHORS_MAX + 1][ADDR_DOMAIN_MAX + 1];
	size_t nauth, k;
	int unread;
	const struct dmarc_result *worst;
	struct buf ar, out;
	char err[128], from[ADDR_ENC_MAX + 1], sender[ADDR_MAX + 1];
	char props[1024], why[64], *msg;
	enum verdict verdict = VERDICT_OK;
	size_t hlen, pos, start, flen, len, i;
	unsigned timeout;
	long long budget, margin;

	signal(SIGPIPE, SIG_IGN);
	log_init("pombo/verify", 0);
	log_agent_args(argc, argv);
	if (job_read(0, &j, err, sizeof(err)) == -1)
		tempfail("bad job from queued", err);
	if (j.nmsg != 1 || j.msgs[0].bad || j.host[0] == '\0' ||
	    j.client_ip[0] == '\0')
		tempfail("bad job from queued", "not one message with its "
		    "host and client");
	m = &j.msgs[0];
	/*
	 * The budget: every DNS query ends by the deadline, a tenth of it
	 * (at least a second, at most a quarter) kept for the rest; a try
	 * gets a twelfth, so a server that does not answer costs each
	 * check a part, and no check all of it.
	 */
	timeout = j.timeout ? j.timeout : TIMEOUT_DEFAULT;
	budget = (long long)timeout * 1000;
	if (dns_init_timeout(j.dns[0] ? j.dns : NULL, budget / 12 < 200 ? 200 :
	    budget / 12 > 3000 ? 3000 : (int)(budget / 12), 2) == -1)
		tempfail("cannot set up DNS", NULL);
	margin = budget / 10 > 1000 ? budget / 10 : budget / 4 < 1000 ?
	    budget / 4 : 1000;
	dns_set_deadline(dns_now_ms() + budget - margin);

	msg = read_message(m);
	len = (size_t)m->size;
	hlen = header_len(msg, len);

	/* the reverse-path, without its brackets (job.h: addr_encode'd) */
	flen = strlen(m->from);
	if (flen < 2 || m->from[0] != '<' || m->from[flen - 1] != '>' ||
	    flen - 2 >= sizeof(from))
		tempfail("bad job from queued", "reverse-path");
	memcpy(from, m->from + 1, flen - 2);
	from[flen - 2] = '\0';
	sender[0] = '\0';
	if (from[0] != '\0' && addr_decode(from, sender, sizeof(sender)) == -1)
		tempfail("bad job from queued", "reverse-path");

	/*
	 * The author domains: normally one. RFC 7489 6.6.1: with several
	 * (From: fields or mailboxes) each has its check, the strictest
	 * policy wins, so a second From: is no way around p=reject. An
	 * author it cannot read (a From: no parser here takes, which a
	 * reader's program may still show as a p=reject domain's) makes
	 * the outcome permerror and the message junk, as too many do.
	 */
	nauth = rfc5322_from_domains(msg, hlen, authors, AUTHORS_MAX + 1,
	    &unread);
	if (nauth == 0)
		authors[0][0] = '\0';
	spf_check(j.client_ip, j.helo, sender, &spf_from, &spf_helo);
	dkimv_check(msg, len, authors[0], &dkim);
	for (k = 0; k < (nauth ? nauth : 1) && k < AUTHORS_MAX; k++)
		dmarc_check(authors[k], &spf_from, sender[0] == '\0', &dkim,
		    &dmarc[k]);
	worst = &dmarc[0];
	for (k = 1; k < nauth && k < AUTHORS_MAX; k++)
		if (dmarc_worse(&dmarc[k], worst))
			worst = &dmarc[k];

	/* RFC 8601 2.2: authserv-id, then one resinfo per result */
	buf_init(&ar, AR_MAX);
	buf_printf(&ar, "Authentication-Results: %s", j.host);
	props[0] = '\0';
	/* RFC 7208 2.4: the null sender's identity is postmaster@helo */
	if (sender[0] == '\0')
		str_fmt_trunc(sender, sizeof(sender), "postmaster@%s",
		    j.helo);		/* a valid helo: fits */
	prop_addr(props, sizeof(props), "smtp.mailfrom", sender);
	add_resinfo(&ar, "spf", spf_from.res, spf_from.why, props);
	props[0] = '\0';
	prop(props, sizeof(props), "smtp.helo", j.helo);
	add_resinfo(&ar, "spf", spf_helo.res, spf_helo.why, props);
	if (dkim.n == 0)
		add_resinfo(&ar, "dkim", RES_NONE, NULL, NULL);
	for (i = 0; i < dkim.n; i++) {
		const struct dkimv_sig *s = &dkim.sig[i];
		props[0] = '\0';
		if (s->domain[0])
			prop(props, sizeof(props), "header.d", s->domain);
		if (s->selector[0])
			prop(props, sizeof(props), "header.s", s->selector);
		if (s->b[0])
			prop(props, sizeof(props), "header.b", s->b);
		add_resinfo(&ar, "dkim", s->res, s->why, props);
	}
	if (dkim.ignored > 0) {
		str_fmt_trunc(why, sizeof(why), "%zu more signatures not evaluated",
		    dkim.ignored);
		add_resinfo(&ar, "dkim", RES_NONE, why, NULL);
	}
	for (k = 0; k < (nauth ? nauth : 1) && k < AUTHORS_MAX; k++) {
		const struct dmarc_result *d = &dmarc[k];
		props[0] = '\0';
		if (d->from[0])
			prop(props, sizeof(props), "header.from", d->from);
		str_fmt_trunc(why, sizeof(why), "p=%s", d->policy);
		add_resinfo(&ar, "dmarc", d->res, d->why[0] ? d->why :
		    d->policy[0] ? why : NULL, props);
	}
	if (nauth > AUTHORS_MAX)
		add_resinfo(&ar, "dmarc", RES_PERMERROR, "too many author "
		    "domains", NULL);
	else if (unread && nauth > 0)
		add_resinfo(&ar, "dmarc", RES_PERMERROR, "a From: address "
		    "without a domain that can be read", NULL);
	if (buf_addstr(&ar, "\n") == -1)
		tempfail("the header field is too long", NULL);

	/* the message as it is to be queued: ours on top, forged ones out */
	if (fileio_write_all(OUT_FD, ar.data, ar.len) == -1)
		tempfail("cannot write the message", strerror(errno));
	pos = 0;
	i = 0;
	while (authres_next(msg, hlen, &pos, j.host, &start, &flen) == 1) {
		if (fileio_write_all(OUT_FD, msg + i, start - i) == -1)
			tempfail("cannot write the message", strerror(errno));
		i = start + flen;
	}
	if (fileio_write_all(OUT_FD, msg + i, len - i) == -1)
		tempfail("cannot write the message", strerror(errno));

	buf_init(&out, 4096);
	str_fmt_trunc(props, sizeof(props), "spf=%s dkim=%s dmarc=%s",
	    result_name(spf_from.res), result_name(dkim_summary(&dkim)),
	    nauth > AUTHORS_MAX || unread ? "permerror" :
	    result_name(worst->res));
	if (worst->res == RES_FAIL && worst->action == DMARC_ACT_REJECT &&
	    j.dmarc_reject) {
		verdict = VERDICT_REJECT;
		/* RFC 7489 10.3: say why, the domain and the mechanism */
		str_fmt_trunc(props, sizeof(props), "550 5.7.1 The message fails "
		    "the DMARC policy of %s (p=reject): it is refused",
		    worst->from);
	} else if ((worst->res == RES_FAIL &&
	    worst->action != DMARC_ACT_NONE) || nauth > AUTHORS_MAX || unread)
		verdict = VERDICT_JUNK;
	if (job_verdict_format(&out, m->qid, verdict, props) == -1 ||
	    fileio_write_all(1, out.data, out.len) == -1)
		tempfail("cannot write the verdict", NULL);
	log_info("%s: %s client=%s helo=%s", m->qid, props, j.client_ip,
	    j.helo);
	buf_free(&out);
	buf_free(&ar);
	free(msg);
	dns_done();
	job_free(&j);
	return EX_OK;
}
