/*
 * remote: RFC 5321 5.1 route finding (MX sorted by preference with ties
 * shuffled, each host's addresses in turn, the domain itself when it has
 * no MX, RFC 7505 null MX and NXDOMAIN permanent), then SMTP transactions
 * with PIPELINING when offered: MAIL, all RCPTs and DATA in one write.
 * A message goes to the next host only when no server took a decision on
 * it; a decision (2xx/5xx, or 4xx from a server) stays with its recipient.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "crc32c.h"
#include "dane.h"
#include "dns.h"
#include "fileio.h"
#include "log.h"
#include "mime8.h"
#include "mtasts.h"
#include "remote.h"
#include "resolve.h"
#include "smtpc.h"
#include "tlsrpt_rec.h"

struct target {
	char		host[ADDR_DOMAIN_MAX + 1];	/* Remote-MTA */
	struct dns_addr	addr;
	struct dane_host *dane;		/* its MX host's; NULL: no DANE */
	int		mismatch;	/* not in the MTA-STS policy (testing) */
};

#define MAX_TARGETS (DNS_MAX_MX * 4)

struct rstate {
	const struct remote_conf *rc;
	const struct job	*j;
	int			 spoolfd;
	struct buf		*out;
	int			(*flush)(struct buf *);
	char			*done;		/* per message: all reported */
	char			**rdone;	/* per recipient */
	char			 last_err[SMTPC_TEXT_MAX + 1];
	struct buf		 sig;		/* DKIM-Signature fields */
	struct dane_host	*dane;		/* per MX host (DNS_MAX_MX) */
	struct mtasts		 sts;		/* the domain's policy */
	char			 rua[JOB_TLS_RUA_MAX + 1];	/* TLS reports
						   go there; "": none */
};

/*
 * queued's "dkim" word marks its own users' mail: sign it as it will go
 * to this server (converted or not), or leave st->sig empty. -1 (why
 * says it) when it should be signed and cannot be: it waits for
 * another try rather than leave unsigned.
 */
static int
sign_msg(struct rstate *st, const struct job_msg *m, int fd, int to7bit,
    char *why, size_t whylen)
{
	int rc;

	buf_reset(&st->sig);
	if (st->rc->signer == NULL || !job_has_flag(m, "dkim"))
		return 0;
	rc = dkimsign_message(st->rc->signer, fd, m->data_off,
	    m->size, to7bit, &st->sig, why, whylen);
	if (rc == -1)
		log_warnx("%s: DKIM signing failed: %s", m->qid, why);
	else if (rc == 0)
		log_debug("%s: not signed: %s", m->qid, why);
	return rc == -1 ? -1 : 0;
}

static void
report(struct rstate *st, size_t mi, size_t ri, enum status s,
    const char *mta, const char *reply)
{
	if (st->rdone[mi][ri])
		return;
	st->rdone[mi][ri] = 1;
	job_result_format(st->out, st->j->msgs[mi].qid,
	    st->j->msgs[mi].rcpts[ri].index, s, mta, reply);
}

/* Delivered; to a server without DSN, which cannot carry NOTIFY on. */
static void
report_ok(struct rstate *st, size_t mi, size_t ri, const struct smtpc *c,
    const char *mta, const char *reply)
{
	if (c->ext & EXT_DSN) {
		report(st, mi, ri, STATUS_OK, mta, reply);
		return;
	}
	if (st->rdone[mi][ri])
		return;
	st->rdone[mi][ri] = 1;
	job_result_format_relayed(st->out, st->j->msgs[mi].qid,
	    st->j->msgs[mi].rcpts[ri].index, mta, reply);
}

/* Everything not yet reported gets this outcome. */
static void
report_rest(struct rstate *st, enum status s, const char *mta,
    const char *reply)
{
	size_t mi, ri;

	for (mi = 0; mi < st->j->nmsg; mi++)
		for (ri = 0; ri < st->j->msgs[mi].nrcpt; ri++)
			report(st, mi, ri, s, mta, reply);
}

/*
 * queued checked the file, but it may have been replaced since: a FIFO
 * would block here until the agent's timeout, a link send something
 * else; queued sets such a file aside at its next attempt.
 */
static int
msg_open(const struct rstate *st, size_t mi)
{
	const char *qid = st->j->msgs[mi].qid;
	int fd;

	if ((fd = fileio_open_own(st->spoolfd, qid, O_RDONLY)) == -2)
		log_warnx("%s: the queue file is no regular file of queued's "
		    "user", qid);
	else if (fd == -1)
		log_warn("%s: cannot open the queue file", qid);
	return fd < 0 ? -1 : fd;
}

/*
 * One read of the message: does it hold an 8-bit octet (it decides the QP
 * conversion), how many lines has it (each gets a CR on the wire, and
 * RFC 1870 counts them), and its CRC-32C (for the job's sum) and the
 * octets read (got)?
 */
static int
msg_scan(int fd, uint64_t off, uint64_t size, uint64_t *lines,
    uint32_t *crc, uint64_t *got)
{
	char buf[65536];
	const char *p, *end;
	uint64_t done = 0;
	ssize_t n;
	int eightbit = 0;

	*lines = 0;
	*crc = 0;
	while (done < size) {
		n = pread(fd, buf, size - done < sizeof(buf) ?
		    (size_t)(size - done) : sizeof(buf), (off_t)(off + done));
		if (n <= 0)
			break;
		*crc = crc32c(*crc, buf, (size_t)n);
		if (!eightbit)
			eightbit = mime8_has_8bit(buf, (size_t)n);
		for (p = buf, end = buf + n;
		    (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
			(*lines)++;
		done += (uint64_t)n;
	}
	*got = done;
	return eightbit;
}

/*
 * DANE for MX host i (RFC 7672 2.2): its TLSA records into st->dane[i].
 * -1 when they cannot be known now: the host is skipped, st->last_err
 * says why.
 */
static int
dane_host(struct rstate *st, size_t i, const char *host, const char *canon,
    unsigned port, enum resolve_sec a_sec, enum resolve_sec mx_sec)
{
	struct dane_host *d = &st->dane[i];

	dane_lookup(d, host, canon, port, a_sec, mx_sec, st->rc->domain);
	if (d->state != DANE_FAIL)
		return 0;
	str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s: %s", host,
	    d->why);
	log_info("%s: dane=failed: %s; not used", host, d->why);
	return -1;
}

/* Host names and addresses to try, best first. */
static int
find_targets(struct rstate *st, struct target *t, size_t *nt)
{
	const struct remote_conf *rc = st->rc;
	struct dns_mx mx[DNS_MAX_MX];
	struct dns_addr addrs[DNS_MAX_ADDRS];
	char host[ADDR_DOMAIN_MAX + 3], reply[SMTPC_TEXT_MAX];
	size_t nmx = 0, nuse, na, i, k;
	unsigned port = rc->port;
	enum dns_result r;
	enum resolve_sec mx_sec = RESOLVE_INSECURE, a_sec;
	char canon[ADDR_DOMAIN_MAX + 1];
	int any_temp = 0, any_dane_fail = 0;

	*nt = 0;
	if (rc->relay) {
		/* [host]:port skips MX lookup; host:port looks up MX */
		const char *p = rc->relay, *colon;
		int literal = *p == '[';
		if (literal)
			p++;
		colon = literal ? strchr(p, ']') : strrchr(p, ':');
		if (str_copy(host, p, sizeof(host)) == -1)
			goto bad_relay;	/* cut, it is another host */
		if (colon) {
			host[colon - p] = '\0';
			if ((colon = strrchr(rc->relay, ':')) != NULL &&
			    colon > strrchr(rc->relay, ']'))
				port = (unsigned)strtoul(colon + 1, NULL, 10);
		}
		/* a [literal] relay is the admin's word: a secure name */
		if (literal)
			mx_sec = RESOLVE_SECURE;
		if (literal || resolve_mx(host, mx, &nmx, &mx_sec) != DNS_OK ||
		    nmx == 0) {
			if (str_copy(mx[0].host, host,
			    sizeof(mx[0].host)) == -1)
				goto bad_relay;
			mx[0].pref = 0;
			nmx = 1;
		}
	} else if (rc->domain[0] == '[') {
		/* an address literal: that address, no MX (RFC 5321 5.1) */
		if (addr_literal_ip(rc->domain, strlen(rc->domain), mx[0].host,
		    sizeof(mx[0].host)) == -1) {
			str_fmt_trunc(reply, sizeof(reply), "550 5.1.2 %s is not "
			    "an address this host can reach", rc->domain);
			report_rest(st, STATUS_PERM, NULL, reply);
			return -1;
		}
		mx[0].pref = 0;
		nmx = 1;
	} else {
		r = resolve_mx(rc->domain, mx, &nmx, &mx_sec);
		if (r == DNS_NXDOMAIN) {
			str_fmt_trunc(reply, sizeof(reply), "550 5.1.2 Domain %s does "
			    "not exist (DNS: NXDOMAIN)", rc->domain);
			report_rest(st, STATUS_PERM, NULL, reply);
			return -1;
		}
		if (r == DNS_TEMP && mx_sec == RESOLVE_BOGUS) {
			/* RFC 7672 2.2.1: a bogus MX RRset is a failure */
			str_fmt_trunc(reply, sizeof(reply), "451 4.4.3 MX lookup of "
			    "%s failed temporarily: DNSSEC validation failed "
			    "(%s)", rc->domain, resolve_why());
			report_rest(st, STATUS_TEMP, NULL, reply);
			return -1;
		}
		if (r == DNS_TEMP) {
			str_fmt_trunc(reply, sizeof(reply), "451 4.4.3 MX lookup of "
			    "%s failed temporarily", rc->domain);
			report_rest(st, STATUS_TEMP, NULL, reply);
			return -1;
		}
		if (dns_is_null_mx(mx, nmx)) {
			str_fmt_trunc(reply, sizeof(reply), "556 5.1.10 Domain %s "
			    "accepts no mail (null MX, RFC 7505)", rc->domain);
			report_rest(st, STATUS_PERM, NULL, reply);
			return -1;
		}
		if (r == DNS_NODATA || nmx == 0) {
			/* no MX: the domain is its own host (RFC 5321 5.1) */
			/* a valid domain (job_parse): it fits */
			str_copy_trunc(mx[0].host, rc->domain, sizeof(mx[0].host));
			mx[0].pref = 0;
			nmx = 1;
		}
	}
	/*
	 * RFC 5321 5.1: when this host is one of the MX, it discards itself
	 * and every MX of equal or greater preference. Cutting the list only
	 * where our name falls after the shuffle of equal preferences would
	 * hand the mail to a peer of our own rank, which may hand it back.
	 */
	for (i = 0; i < nmx; i++)
		if (strcasecmp(mx[i].host, st->j->host) == 0)
			break;
	nuse = nmx;
	if (i < nmx)
		for (nuse = 0; nuse < nmx && mx[nuse].pref < mx[i].pref; nuse++)
			;
	for (i = 0; i < nuse; i++) {
		if (mx[i].host[0] == '\0')
			continue;
		r = resolve_addrs(mx[i].host, port, addrs, &na, &a_sec, canon,
		    sizeof(canon));
		if (r == DNS_TEMP)
			any_temp = 1;
		if (na > 0 && rc->dane && dane_host(st, i, mx[i].host, canon,
		    port, a_sec, mx_sec) == -1) {
			any_dane_fail = 1;
			continue;
		}
		for (k = 0; k < na && *nt < MAX_TARGETS; k++) {
			str_copy_trunc(t[*nt].host, mx[i].host,
			    sizeof(t[0].host));		/* the same size */
			t[*nt].addr = addrs[k];
			t[*nt].dane = rc->dane ? &st->dane[i] : NULL;
			(*nt)++;
		}
	}
	if (*nt > 0)
		return 0;
	if (any_dane_fail) {
		/* RFC 7672 2.2: never around DANE, to a host without it */
		str_fmt_trunc(reply, sizeof(reply), "451 4.7.5 DANE: %s",
		    st->last_err);
		report_rest(st, STATUS_TEMP, NULL, reply);
		return -1;
	}
	if (nuse < nmx) {
		str_fmt_trunc(reply, sizeof(reply), "554 5.4.6 Mail for %s loops "
		    "back to myself", rc->domain);
		report_rest(st, STATUS_PERM, NULL, reply);
	} else if (any_temp) {
		str_fmt_trunc(reply, sizeof(reply), "451 4.4.3 Address lookup for "
		    "%s failed temporarily", rc->domain);
		report_rest(st, STATUS_TEMP, NULL, reply);
	} else {
		str_fmt_trunc(reply, sizeof(reply), "550 5.1.2 No address for the "
		    "mail servers of %s", rc->domain);
		report_rest(st, STATUS_PERM, NULL, reply);
	}
	return -1;
bad_relay:
	report_rest(st, STATUS_TEMP, NULL, "451 4.3.5 The relay host's name "
	    "is too long");
	return -1;
}

/*
 * RFC 8460 3: where the domain wants its TLS reports, if it does (one
 * TLSRPT record exactly, with a mailto: address); once per batch.
 */
static void
tlsrpt_lookup(struct rstate *st)
{
	char name[ADDR_DOMAIN_MAX + 16], rua[JOB_TLS_RUA_MAX + 1];
	char *recs[DNS_MAX_TXT];
	size_t n = 0, i;
	int nrec = 0, bad = 0, k;

	st->rua[0] = '\0';
	if (!st->rc->tls_reports || st->rc->relay != NULL ||
	    st->rc->domain[0] == '[' || str_fmt(name, sizeof(name),
	    "_smtp._tls.%s", st->rc->domain) == -1 ||
	    resolve_txt(name, recs, &n) != DNS_OK)
		return;
	for (i = 0; i < n; i++) {
		if ((k = tlsrpt_rec_parse(recs[i], rua, sizeof(rua))) != 0) {
			nrec++;
			bad |= k == -1;
			if (k == 1)
				memcpy(st->rua, rua, sizeof(rua));
		}
		free(recs[i]);
	}
	if (nrec != 1 || bad)
		st->rua[0] = '\0';
}

/*
 * One TLS session with t, or (t NULL) the policy's own failure, for the
 * domain's daily report (RFC 8460 4): a "tls" line to queued.
 */
static void
tls_session(struct rstate *st, const struct target *t,
    enum job_tls_policy policy, const char *result)
{
	struct job_tls r;

	if (st->rua[0] == '\0')
		return;
	memset(&r, 0, sizeof(r));
	str_copy_trunc(r.domain, st->rc->domain, sizeof(r.domain));
	str_lower(r.domain);
	r.policy = policy;
	str_copy_trunc(r.result, result, sizeof(r.result));
	if (t != NULL) {
		str_copy_trunc(r.mx, t->host, sizeof(r.mx));
		str_copy_trunc(r.ip, t->addr.text, sizeof(r.ip));
	}
	str_copy_trunc(r.rua, st->rua, sizeof(r.rua));
	/* a name the line cannot carry is left out of the report */
	(void)job_tls_format(st->out, &r);
}

/* RFC 8460 4.3.1: what a certificate that did not verify counts as */
static const char *
cert_result(long vr)
{
	switch (vr) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "certificate-host-mismatch";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate-expired";
	default:
		return "certificate-not-trusted";
	}
}

/*
 * What the MTA-STS policy asks of target t (RFC 8461 4): MTASTS_ENFORCE
 * (an MX name of the policy and a certificate valid for it, or no mail),
 * MTASTS_TESTING (the same, failures only logged) or MTASTS_NONE. DANE
 * comes first where both exist (RFC 8461 2): a host with usable TLSA
 * records answers to DANE alone.
 */
static enum mtasts_mode
sts_mode(const struct rstate *st, const struct target *t)
{
	/* RFC 8461 2: where DANE applies, it takes precedence */
	if (t->dane && t->dane->state != DANE_NONE)
		return MTASTS_NONE;
	return st->sts.have ? st->sts.pol.mode : MTASTS_NONE;
}

/*
 * The domain's MTA-STS policy, and the targets it leaves (RFC 8461 4.1):
 * under enforce only the MX hosts its mx patterns name (none left: the
 * mail waits); under testing all, those it would drop logged. 0, or -1
 * when every recipient has been reported.
 */
static int
sts_filter(struct rstate *st, struct target *t, size_t *nt)
{
	const struct remote_conf *rc = st->rc;
	struct mtasts_conf mc;
	char reply[SMTPC_TEXT_MAX];
	size_t i, k;
	int first;

	/* a relay host, or an address literal: no domain's policy */
	if (!rc->mta_sts || rc->relay != NULL || rc->domain[0] == '[')
		return 0;
	mc.domain = rc->domain;
	mc.tls_ca = rc->tls_ca;
	mc.port = rc->sts_port;
	mc.timeout_ms = rc->sts_timeout_ms;
	mc.cachefd = rc->sts_cachefd;
	mtasts_get(&mc, &st->sts);
	if (st->sts.fetch_error || st->sts.invalid)
		tls_session(st, NULL, JOB_TLS_STS, st->sts.invalid ?
		    "sts-policy-invalid" : "sts-policy-fetch-error");
	for (i = k = 0; i < *nt; i++) {
		first = i == 0 || strcmp(t[i].host, t[i - 1].host) != 0;
		if (sts_mode(st, &t[i]) == MTASTS_NONE ||
		    mtasts_mx_match(&st->sts.pol, t[i].host)) {
			t[k++] = t[i];
			continue;
		}
		/* RFC 8460 4.3.2: no result type of its own */
		if (first)
			tls_session(st, &t[i], JOB_TLS_STS, "validation-failure");
		if (sts_mode(st, &t[i]) == MTASTS_TESTING) {
			if (first)
				log_info("MTA-STS testing: %s is no MX host "
				    "of the policy of %s; enforce would not "
				    "use it", t[i].host, rc->domain);
			t[i].mismatch = 1;	/* reported */
			t[k++] = t[i];
			continue;
		}
		if (first)
			log_info("MTA-STS: %s is no MX host of the policy of "
			    "%s (enforce): not used", t[i].host, rc->domain);
	}
	if (*nt > 0 && k == 0) {
		str_fmt_trunc(reply, sizeof(reply), "451 4.7.5 No MX host of %s "
		    "matches its MTA-STS policy (enforce, RFC 8461 4.1)",
		    rc->domain);
		report_rest(st, STATUS_TEMP, NULL, reply);
		*nt = 0;
		return -1;
	}
	*nt = k;
	return 0;
}

/* EHLO, or HELO when EHLO is refused. 0, or -1. */
static int
ehlo(struct rstate *st, struct smtpc *c, const struct target *t)
{
	struct smtpc_reply r;

	c->ext = 0;
	smtpc_send(c, "EHLO %s", st->j->host);
	if (smtpc_read(c, &r, st->rc->timeout_ms, 1) == 250)
		return 0;
	if (r.code >= 500 && r.code <= 599 &&
	    st->rc->tls < TLS_POLICY_ENCRYPT &&
	    (t->dane == NULL || t->dane->state == DANE_NONE)) {
		c->ext = 0;
		smtpc_send(c, "HELO %s", st->j->host);
		if (smtpc_read(c, &r, st->rc->timeout_ms, 0) == 250)
			return 0;
	}
	str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s said to EHLO: %s",
	    t->host, r.text);
	return -1;
}

/*
 * STARTTLS to a host with TLSA records (RFC 7672 2.2): TLS is a must,
 * whatever tls_policy says for all domains; the certificate must match
 * a usable record, or with none usable TLS goes on unauthenticated.
 * Any failure: -1, this host will not do (never the clear text).
 */
static int
starttls_dane(struct rstate *st, struct smtpc *c, const struct target *t)
{
	const struct dane_host *d = t->dane;
	struct smtpc_reply r;
	char err[256], match[128];

	if (!(c->ext & EXT_STARTTLS)) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s offers no "
		    "STARTTLS but has TLSA records (DANE, RFC 7672 2.2)",
		    t->host);
		log_info("%s: dane=failed: no STARTTLS offered", t->host);
		tls_session(st, t, JOB_TLS_TLSA, "starttls-not-supported");
		return -1;
	}
	smtpc_send(c, "STARTTLS");
	if (smtpc_read(c, &r, st->rc->timeout_ms, 0) != 220) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s said to "
		    "STARTTLS: %s (DANE: TLS required)", t->host, r.text);
		log_info("%s: dane=failed: STARTTLS refused", t->host);
		tls_session(st, t, JOB_TLS_TLSA, "starttls-not-supported");
		return -1;
	}
	lineio_discard_input(&c->io);
	c->tls = tls_client_dane(c->fd, d->base, d->names, d->nnames,
	    d->tlsa, d->state == DANE_AUTH ? d->ntlsa : 0,
	    (int)st->rc->timeout_ms, match, sizeof(match), err, sizeof(err));
	if (c->tls == NULL) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s: %s "
		    "(DANE)", t->host, err);
		log_info("%s: dane=failed: %s", t->host, err);
		/* RFC 8460 4.3.2: the chain matched no record */
		tls_session(st, t, JOB_TLS_TLSA, "tlsa-invalid");
		return -1;
	}
	tls_session(st, t, JOB_TLS_TLSA, "success");
	if (d->state == DANE_AUTH)
		log_info("%s: dane=pass: %s (TLSA base %s, %zu usable, %zu "
		    "unusable records)", t->host, match, d->base, d->ntlsa,
		    d->nunusable);
	else
		log_info("%s: dane=unauthenticated: TLS without authentication, "
		    "%zu TLSA records at %s, none usable (RFC 7672 2.2)",
		    t->host, d->nunusable, d->base);
	lineio_set_ops(&c->io, &tls_lineio_ops, c->tls);
	tls_describe(c->tls, c->tls_desc, sizeof(c->tls_desc));
	return ehlo(st, c, t) == 0 ? 0 : -1;
}

/*
 * STARTTLS (RFC 3207) as tls_policy says: "may" uses it when offered,
 * "encrypt" and "verify" defer the mail of a server without it. Returns
 * 0 (go on, encrypted or not), -1 (this server will not do), -2 (TLS
 * broke: try once more without, under "may").
 */
static int
starttls(struct rstate *st, struct smtpc *c, const struct target *t)
{
	enum tls_policy p = st->rc->tls;
	enum mtasts_mode sm = sts_mode(st, t);
	enum tls_verify v;
	struct smtpc_reply r;
	char err[256], why[160];
	/* one report per session, none for a host already reported as
	 * outside the policy */
	const struct target *rt = t->mismatch ? NULL : t;
	long vr;

	if (t->dane && t->dane->state != DANE_NONE)
		return starttls_dane(st, c, t);
	/* RFC 8461 4.2: under enforce, TLS with a certificate valid for the
	 * MX name, whatever the tls_policy default says */
	if (sm == MTASTS_ENFORCE) {
		p = TLS_POLICY_VERIFY;
		str_fmt_trunc(why, sizeof(why), "the MTA-STS policy of %s is "
		    "enforce", st->rc->domain);
	} else
		str_fmt_trunc(why, sizeof(why), "tls_policy is %s",
		    conf_tls_policy_name(p));
	if (p == TLS_POLICY_NONE)
		return 0;
	if (!(c->ext & EXT_STARTTLS)) {
		if (rt != NULL)
			tls_session(st, rt, sm != MTASTS_NONE ? JOB_TLS_STS :
			    JOB_TLS_NO_POLICY,
			    "starttls-not-supported");
		if (sm == MTASTS_TESTING)
			log_info("MTA-STS testing: %s offers no STARTTLS; "
			    "enforce would not use it", t->host);
		if (p == TLS_POLICY_MAY)
			return 0;
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s offers no "
		    "STARTTLS and %s", t->host, why);
		return -1;
	}
	smtpc_send(c, "STARTTLS");
	if (smtpc_read(c, &r, st->rc->timeout_ms, 0) != 220) {
		if (rt != NULL)
			tls_session(st, rt, sm != MTASTS_NONE ? JOB_TLS_STS :
			    JOB_TLS_NO_POLICY,
			    "starttls-not-supported");
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s said to "
		    "STARTTLS: %s", t->host, r.text);
		return p == TLS_POLICY_MAY ? -2 : -1;
	}
	/* nothing may stay buffered from before the handshake */
	lineio_discard_input(&c->io);
	/* under a policy the certificate is checked by name, and the
	 * handshake goes on: the result decides below, or is logged */
	v = sm != MTASTS_NONE ? TLS_VERIFY_CHECK : p == TLS_POLICY_VERIFY ?
	    TLS_VERIFY_PEER : TLS_VERIFY_NONE;
	c->tls = tls_client(c->fd, t->host, v, st->rc->tls_ca,
	    (int)st->rc->timeout_ms, err, sizeof(err));
	if (c->tls == NULL) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s: %s", t->host,
		    err);
		log_info("%s", st->last_err);
		if (rt != NULL)
			tls_session(st, rt, sm != MTASTS_NONE ? JOB_TLS_STS :
			    JOB_TLS_NO_POLICY,
			    v == TLS_VERIFY_PEER && strstr(err, "certificate") ?
			    "certificate-not-trusted" : "validation-failure");
		if (sm == MTASTS_TESTING)
			log_info("MTA-STS testing: TLS with %s failed; enforce "
			    "would not use it", t->host);
		return p == TLS_POLICY_MAY ? -2 : -1;
	}
	vr = v == TLS_VERIFY_CHECK ? tls_verify_result(c->tls, err,
	    sizeof(err)) : 0;
	if (rt != NULL)
		tls_session(st, rt, sm != MTASTS_NONE ? JOB_TLS_STS :
		    JOB_TLS_NO_POLICY, vr == 0 ? "success" :
		    cert_result(vr));
	if (vr != 0) {
		if (p == TLS_POLICY_VERIFY) {
			/* nothing was sent: the caller closes */
			str_fmt_trunc(st->last_err, sizeof(st->last_err),
			    "certificate of %s: %s, and %s", t->host, err, why);
			log_info("%s", st->last_err);
			return -1;
		}
		log_info("MTA-STS testing: certificate of %s: %s; enforce "
		    "would not use it", t->host, err);
	}
	lineio_set_ops(&c->io, &tls_lineio_ops, c->tls);
	tls_describe(c->tls, c->tls_desc, sizeof(c->tls_desc));
	/* RFC 3207 4.2: ask again, the server may offer more now */
	return ehlo(st, c, t) == 0 ? 0 : -1;
}

/* Greeting and EHLO (HELO when EHLO is refused). 0, or -1 to go on. */
static int
hello(struct rstate *st, struct smtpc *c, const struct target *t,
    int use_tls)
{
	struct smtpc_reply r;
	char name[ADDR_DOMAIN_MAX + 1];
	size_t n;

	if (smtpc_read(c, &r, st->rc->timeout_ms, 0) != 220) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s greeted: %s",
		    t->host, r.text);
		return -1;
	}
	/* "220 name ...": the server says it is us: a loop */
	n = strcspn(r.text + 4, " ");
	if (n < sizeof(name)) {
		memcpy(name, r.text + 4, n);
		name[n] = '\0';
		if (strcasecmp(name, st->j->host) == 0) {
			char reply[SMTPC_TEXT_MAX];
			str_fmt_trunc(reply, sizeof(reply), "554 5.4.6 Mail for %s "
			    "loops back to myself (%s greets as %s)",
			    st->rc->domain, t->host, name);
			report_rest(st, STATUS_PERM, t->host, reply);
			return 1;
		}
	}
	if (ehlo(st, c, t) == -1)
		return -1;
	return use_tls ? starttls(st, c, t) : 0;
}

/*
 * The MAIL parameters this server can take; wire: the size as sent.
 * -1 if they do not fit buf: a parameter cut short says something else.
 */
static int
mail_params(const struct job_msg *m, const struct smtpc *c, uint64_t wire,
    char *buf, size_t len)
{
	char part[256];
	const char *p;
	int bad = 0;

	buf[0] = '\0';
	if (c->ext & EXT_SIZE) {
		str_fmt_trunc(part, sizeof(part), " SIZE=%llu",
		    (unsigned long long)wire);		/* 26 octets at most */
		bad |= str_copy(buf + strlen(buf), part,
		    len - strlen(buf)) == -1;
	}
	if ((c->ext & EXT_8BITMIME) && job_has_flag(m, "BODY=8BITMIME"))
		bad |= str_copy(buf + strlen(buf), " BODY=8BITMIME",
		    len - strlen(buf)) == -1;
	if (job_has_flag(m, "SMTPUTF8"))
		bad |= str_copy(buf + strlen(buf), " SMTPUTF8",
		    len - strlen(buf)) == -1;
	if (c->ext & EXT_DSN) {
		if (job_has_flag(m, "RET=FULL"))
			bad |= str_copy(buf + strlen(buf), " RET=FULL",
			    len - strlen(buf)) == -1;
		if (job_has_flag(m, "RET=HDRS"))
			bad |= str_copy(buf + strlen(buf), " RET=HDRS",
			    len - strlen(buf)) == -1;
		if ((p = strstr(m->flags, "ENVID=")) != NULL) {
			bad |= str_fmt(part, sizeof(part), " %.*s",
			    (int)strcspn(p, " "), p) == -1;
			bad |= str_copy(buf + strlen(buf), part,
			    len - strlen(buf)) == -1;
		}
	}
	return bad ? -1 : 0;
}

/*
 * The answer for recipient ri: MAIL's reply mr, then its RCPT's r. A
 * refusal is reported; 1 if the server took the recipient.
 */
static int
rcpt_decided(struct rstate *st, size_t mi, size_t ri, const char *host,
    const struct smtpc_reply *mr, const struct smtpc_reply *r)
{
	const struct smtpc_reply *no = mr->code >= 300 ? mr :
	    r->code < 200 || r->code >= 300 ? r : NULL;

	if (no != NULL)
		report(st, mi, ri, status_from_reply(no->code), host, no->text);
	return no == NULL;
}

/*
 * The reply to command k of a transaction (0 RSET, 1 MAIL, 2 + i the
 * RCPT of recipient i): MAIL's is kept in mr, each RCPT's decides its
 * recipient. 0, or -1 if the connection is lost.
 */
static int
take_reply(struct rstate *st, struct smtpc *c, const struct target *t,
    size_t mi, size_t k, struct smtpc_reply *mr, char *accepted, size_t *nok)
{
	struct smtpc_reply r;

	if (smtpc_read(c, k == 1 ? mr : &r, st->rc->timeout_ms, 0) < 0)
		return -1;
	if (k >= 2) {
		accepted[k - 2] = (char)rcpt_decided(st, mi, k - 2, t->host, mr,
		    &r);
		*nok += (size_t)accepted[k - 2];
	}
	return 0;
}

/*
 * One transaction. Returns 0 when the message was decided (every
 * recipient reported), -1 when the connection broke before any server
 * decision (the message may go to the next host).
 */
static int
transaction(struct rstate *st, struct smtpc *c, const struct target *t,
    size_t mi, int first)
{
	const struct job_msg *m = &st->j->msgs[mi];
	struct smtpc_reply r, mr;
	char params[512], reply[SMTPC_TEXT_MAX + 1], why[256];
	char *accepted;
	size_t ri, k, nok = 0;
	int pipelining = (c->ext & EXT_PIPELINING) != 0, fd, to7bit = 0, sent;
	int eightbit;
	uint64_t lines, wire, got;
	uint32_t crc;

	if ((fd = msg_open(st, mi)) == -1) {
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_TEMP, NULL,
			    "451 4.3.0 Cannot read the queued message");
		return 0;
	}
	/*
	 * RFC 1870 counts the message as sent: CRLF line ends, the
	 * signatures put on top; a conversion to quoted-printable makes it
	 * longer still, which SIZE may leave to the server's final answer.
	 */
	eightbit = msg_scan(fd, m->data_off, m->size, &lines, &crc, &got);
	/* cut short, it is the length's case: the sending finds it */
	if (got == m->size && !job_sum_matches(m, crc, why, sizeof(why))) {
		/* other bytes under the right size (a crash before they
		 * were on disk): never sent; queued sets the file aside */
		log_warnx("%s: %s", m->qid, why);
		job_damaged_format(st->out, m->qid, why);
		/* the server answered: naming it keeps the host from
		 * being taken for dead */
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_TEMP, t->host,
			    "451 4.3.0 The queued message is damaged");
		close(fd);
		return 0;
	}
	wire = m->size + lines;
	if ((c->ext & EXT_SIZE) && c->size_limit && wire > c->size_limit) {
		str_fmt_trunc(reply, sizeof(reply), "552 5.3.4 Message too big for "
		    "%s (limit %llu)", t->host,
		    (unsigned long long)c->size_limit);
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_PERM, t->host, reply);
		close(fd);
		return 0;
	}
	if (job_has_flag(m, "SMTPUTF8") && !(c->ext & EXT_SMTPUTF8)) {
		str_fmt_trunc(reply, sizeof(reply), "553 5.6.7 %s does not support "
		    "SMTPUTF8, needed for this message", t->host);
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_PERM, t->host, reply);
		close(fd);
		return 0;
	}
	if (!(c->ext & EXT_8BITMIME) && eightbit)
		to7bit = 1;	/* RFC 6152 3: convert, do not send 8-bit */
	if (sign_msg(st, m, fd, to7bit, why, sizeof(why)) == -1) {
		str_fmt_trunc(reply, sizeof(reply), "451 4.3.5 Cannot DKIM-sign "
		    "the message: %s", why);
		/* the server answered: naming it keeps the host from
		 * being taken for dead (other mail to it may go) */
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_TEMP, t->host, reply);
		close(fd);
		return 0;
	}
	if (mail_params(m, c, wire + st->sig.len, params,
	    sizeof(params)) == -1) {
		for (ri = 0; ri < m->nrcpt; ri++)
			report(st, mi, ri, STATUS_PERM, NULL, "554 5.3.0 The "
			    "message's MAIL parameters are too long");
		close(fd);
		return 0;
	}
	if ((accepted = calloc(m->nrcpt ? m->nrcpt : 1, 1)) == NULL)
		fatal("transaction");
	/*
	 * One pass of commands: RSET (but on a new connection), MAIL, each
	 * RCPT. Without PIPELINING each reply is taken after its command;
	 * with it, after DATA, which ends the group (RFC 2920 3.1).
	 */
	for (k = first ? 1 : 0; k < 2 + m->nrcpt; k++) {
		if (k == 0)
			smtpc_send(c, "RSET");
		else if (k == 1)
			smtpc_send(c, "MAIL FROM:%s%s", m->from, params);
		else {
			const char *ps = m->rcpts[k - 2].extra;
			smtpc_send(c, "RCPT TO:<%s>%s%s", m->rcpts[k - 2].addr,
			    (c->ext & EXT_DSN) && *ps ? " " : "",
			    (c->ext & EXT_DSN) ? ps : "");
		}
		if (pipelining)
			continue;
		if (take_reply(st, c, t, mi, k, &mr, accepted, &nok) == -1)
			goto lost;
		if (k == 1 && mr.code >= 300) {
			/* no RCPT after a refused MAIL: its answer is theirs */
			for (ri = 0; ri < m->nrcpt; ri++)
				report(st, mi, ri, status_from_reply(mr.code),
				    t->host, mr.text);
			break;
		}
	}
	if (pipelining) {
		smtpc_send(c, "DATA");
		for (k = first ? 1 : 0; k < 2 + m->nrcpt; k++)
			if (take_reply(st, c, t, mi, k, &mr, accepted,
			    &nok) == -1)
				goto lost;
		if (smtpc_read(c, &r, st->rc->timeout_ms, 0) < 0)
			goto lost;
		if (nok == 0) {
			/*
			 * RFC 2920 3.1: a server may take the DATA even so;
			 * the message it opened ends with a lone dot, or
			 * the next commands would be read as its text.
			 */
			if (r.code == 354) {
				smtpc_send(c, ".");
				smtpc_read(c, &r, st->rc->timeout_ms, 0);
			}
			goto out;	/* nothing to send */
		}
	} else {
		if (nok == 0)
			goto out;	/* MAIL or every RCPT refused */
		smtpc_send(c, "DATA");
		if (smtpc_read(c, &r, st->rc->timeout_ms, 0) < 0)
			goto lost;
	}
	if (r.code != 354) {
		for (ri = 0; ri < m->nrcpt; ri++)
			if (accepted[ri])
				report(st, mi, ri, status_from_reply(r.code),
				    t->host, r.text);
		goto out;
	}
	if ((sent = smtpc_send_message(c, fd, m->data_off, m->size, to7bit,
	    st->sig.data, st->sig.len)) == -2) {
		/* the connection is closed, the server never saw a dot: the
		 * message stays queued, the batch goes on over a new one */
		for (ri = 0; ri < m->nrcpt; ri++)
			if (accepted[ri])
				report(st, mi, ri, STATUS_TEMP, NULL,
				    "451 4.3.0 Cannot read the queued message "
				    "(shorter than its envelope says, or a read "
				    "error); not sent");
		goto out;
	}
	if (sent == -3) {
		/* it never saw the dot: whatever it said was not about the
		 * message, which stays queued */
		str_fmt_trunc(reply, sizeof(reply), "451 4.5.0 %s replied "
		    "before the end of the message data", t->host);
		for (ri = 0; ri < m->nrcpt; ri++)
			if (accepted[ri])
				report(st, mi, ri, STATUS_TEMP, t->host, reply);
		goto out;
	}
	if (sent == -1 || smtpc_read(c, &r, st->rc->timeout_ms * 2, 0) < 0) {
		/* the server may have the message or not: try again later,
		 * here or elsewhere (RFC 5321 6.1 allows the duplicate) */
		for (ri = 0; ri < m->nrcpt; ri++)
			if (accepted[ri])
				report(st, mi, ri, STATUS_TEMP, t->host,
				    "451 4.4.2 Connection lost after DATA");
		smtpc_close(c);
		goto out;
	}
	for (ri = 0; ri < m->nrcpt; ri++) {
		if (!accepted[ri])
			continue;
		if (r.code >= 200 && r.code < 300)
			report_ok(st, mi, ri, c, t->host, r.text);
		else
			report(st, mi, ri, status_from_reply(r.code), t->host,
			    r.text);
	}
out:
	free(accepted);
	close(fd);
	return 0;
lost:
	free(accepted);
	close(fd);
	str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s: connection lost",
	    t->host);
	return -1;
}

static int
msg_done(const struct rstate *st, size_t mi)
{
	size_t ri;

	for (ri = 0; ri < st->j->msgs[mi].nrcpt; ri++)
		if (!st->rdone[mi][ri])
			return 0;
	return 1;
}

/*
 * Connect to t and greet it (in the clear if TLS broke under
 * "may"). 0 when it is ready for mail, 1 when every recipient has been
 * reported (a loop), -1 to go on to the next target.
 */
static int
open_target(struct rstate *st, struct smtpc *c, const struct target *t)
{
	const struct remote_conf *rc = st->rc;
	char err[256];
	int rc_h;

	if (smtpc_connect(c, &t->addr, rc->connect_ms, rc->timeout_ms, err,
	    sizeof(err)) == -1) {
		str_fmt_trunc(st->last_err, sizeof(st->last_err), "%s (%s)", t->host,
		    err);
		log_info("%s", st->last_err);
		return -1;
	}
	rc_h = hello(st, c, t, 1);
	if (rc_h == -2) {
		/* TLS failed under "may": this server, in the clear */
		smtpc_close(c);
		if (smtpc_connect(c, &t->addr, rc->connect_ms, rc->timeout_ms,
		    err, sizeof(err)) == -1)
			return -1;
		rc_h = hello(st, c, t, 0);
	}
	if (rc_h != 0) {
		smtpc_close(c);
		return rc_h > 0 ? 1 : -1;
	}
	if (c->tls)
		log_info("%s: TLS %s", t->host, c->tls_desc);
	if (t->dane && t->dane->state == DANE_NONE)
		log_info("%s: dane=none: no DNSSEC-signed TLSA records, "
		    "tls_policy applies", t->host);
	return 0;
}

/*
 * A connection that drops after it has decided some messages is opened
 * again for the rest, a few times per batch; one that decided nothing
 * sends the rest to the next host. What no connection tried at all, once
 * a server has answered, is not reported: queued takes it back without
 * counting an attempt. When no server answered at all, every message is
 * deferred with the last error (queued then leaves the destination alone
 * for a while).
 */
#define RECONNECTS_MAX	5

void
remote_deliver(const struct remote_conf *rc, const struct job *j,
    int spoolfd, struct buf *out, int (*flush)(struct buf *))
{
	struct target *t;
	struct rstate st;
	struct smtpc c;
	char reply[SMTPC_TEXT_MAX + 64], *tried;
	size_t nt = 0, ti, mi, ri, pending;
	int first, progress, answered = 0, reconnects = 0, rc_o;

	memset(&st, 0, sizeof(st));
	st.rc = rc;
	st.j = j;
	st.spoolfd = spoolfd;
	st.out = out;
	st.flush = flush;
	buf_init(&st.sig, 64 * 1024);
	if ((st.rdone = calloc(j->nmsg ? j->nmsg : 1, sizeof(*st.rdone))) == NULL ||
	    (tried = calloc(j->nmsg ? j->nmsg : 1, 1)) == NULL ||
	    (t = calloc(MAX_TARGETS, sizeof(*t))) == NULL ||
	    (st.dane = calloc(DNS_MAX_MX, sizeof(*st.dane))) == NULL)
		fatal("remote");
	for (mi = 0; mi < j->nmsg; mi++)
		if ((st.rdone[mi] = calloc(j->msgs[mi].nrcpt + 1, 1)) == NULL)
			fatal("remote");
	str_copy_trunc(st.last_err, "no server answered", sizeof(st.last_err));
	if (find_targets(&st, t, &nt) == -1)
		goto done;
	tlsrpt_lookup(&st);
	if (sts_filter(&st, t, &nt) == -1)
		goto done;
	for (ti = 0; ti < nt; ) {
		for (pending = mi = 0; mi < j->nmsg; mi++)
			pending += !msg_done(&st, mi);
		if (pending == 0)
			break;
		if ((rc_o = open_target(&st, &c, &t[ti])) == 1)
			break;	/* a loop: every recipient reported */
		if (rc_o == -1) {
			ti++;
			continue;
		}
		answered = 1;
		first = 1;
		progress = 0;
		for (mi = 0; mi < j->nmsg && c.fd != -1; mi++) {
			if (msg_done(&st, mi))
				continue;
			tried[mi] = 1;
			if (transaction(&st, &c, &t[ti], mi, first) == -1)
				break;
			first = 0;
			progress = 1;
			flush(out);
		}
		if (c.fd != -1) {
			smtpc_send(&c, "QUIT");
			lineio_flush(&c.io);
		}
		smtpc_close(&c);
		for (pending = mi = 0; mi < j->nmsg; mi++)
			pending += !msg_done(&st, mi);
		if (pending == 0)
			break;	/* the batch is done: nothing was lost */
		/* the connection dropped: this host again if it got
		 * somewhere, else the next one */
		if (!progress || reconnects >= RECONNECTS_MAX)
			ti++;
		else {
			reconnects++;
			log_info("%s: connection lost, connecting again for "
			    "the rest of the batch", t[ti].host);
		}
	}
done:
	str_fmt_trunc(reply, sizeof(reply), "451 4.4.1 No server took the message: "
	    "%s", st.last_err);
	for (mi = 0; mi < j->nmsg; mi++)
		if (tried[mi] || !answered)
			for (ri = 0; ri < j->msgs[mi].nrcpt; ri++)
				report(&st, mi, ri, STATUS_TEMP, NULL, reply);
	flush(out);
	for (mi = 0; mi < j->nmsg; mi++)
		free(st.rdone[mi]);
	free(st.rdone);
	free(tried);
	buf_free(&st.sig);
	for (mi = 0; mi < DNS_MAX_MX; mi++)
		dane_free(&st.dane[mi]);
	free(st.dane);
	free(t);
}
