/*
 * dkimv: libopendkim reads the message (canonicalisation, hashes,
 * signature checks); this file only chooses the signatures it looks
 * at, fetches their keys, and names the outcome as RFC 8601 2.7.1 does.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "dkimv.h"
#include "dns.h"
#include "log.h"
#include "str.h"

struct prescreen_ctx {
	const char	*from_domain;
	size_t		 ignored;
};

/* d is domain or one of its parents or children: it may align (RFC 7489 3.1.1) */
static int
related(const char *d, const char *domain)
{
	size_t ld = strlen(d), lo = strlen(domain);

	if (ld == 0 || lo == 0)
		return 0;
	if (ld == lo)
		return strcasecmp(d, domain) == 0;
	if (ld < lo)
		return domain[lo - ld - 1] == '.' &&
		    strcasecmp(domain + lo - ld, d) == 0;
	return d[ld - lo - 1] == '.' && strcasecmp(d + ld - lo, domain) == 0;
}

/*
 * Called at the end of the header with every signature: keeps
 * DKIMV_EVAL_MAX, those of the From: domain's family first, and tells
 * libopendkim to ignore the rest (no key lookup, no hashing for them).
 */
static DKIM_CBSTAT
prescreen(DKIM *d, DKIM_SIGINFO **sigs, int nsigs)
{
	struct prescreen_ctx *c = dkim_get_user_context(d);
	int i, nrel = 0, rel_kept = 0, other_kept = 0, other_max;

	for (i = 0; i < nsigs; i++) {
		const char *dom = (const char *)dkim_sig_getdomain(sigs[i]);
		nrel += dom && related(dom, c->from_domain);
	}
	other_max = DKIMV_EVAL_MAX - (nrel < DKIMV_EVAL_MAX ? nrel :
	    DKIMV_EVAL_MAX);
	for (i = 0; i < nsigs; i++) {
		const char *dom = (const char *)dkim_sig_getdomain(sigs[i]);
		if (dom && related(dom, c->from_domain) ?
		    rel_kept++ < DKIMV_EVAL_MAX : other_kept++ < other_max)
			continue;
		dkim_sig_ignore(sigs[i]);
		c->ignored++;
	}
	return DKIM_CBSTAT_CONTINUE;
}

/* The key record at selector._domainkey.domain (RFC 6376 3.6.2.1). */
static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	char name[2 * ADDR_DOMAIN_MAX + 16], *txt[DNS_MAX_TXT];
	enum dns_result r;
	size_t i, n = 0;
	int rc;

	/* a name of letters, digits, '-', '_', '.': no other can be there */
	if (dom == NULL || sel == NULL || str_fmt(name, sizeof(name),
	    "%s._domainkey.%s", sel, dom) == -1)
		return DKIM_CBSTAT_NOTFOUND;
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return DKIM_CBSTAT_NOTFOUND;
	r = dns_txt(name, txt, &n);
	if (r == DNS_TEMP)
		return DKIM_CBSTAT_TRYAGAIN;
	if (r != DNS_OK || n == 0)
		return DKIM_CBSTAT_NOTFOUND;
	/* RFC 6376 3.6.2.2: more than one record, the first is taken */
	rc = str_copy((char *)buf, txt[0], buflen) == 0 ?
	    DKIM_CBSTAT_CONTINUE : DKIM_CBSTAT_ERROR;
	for (i = 0; i < n; i++)
		free(txt[i]);
	return rc;
}

/*
 * The length of the body of msg (after its first empty line; LF or
 * CRLF line ends) canonicalized as RFC 6376 3.4.3 (simple) or 3.4.4
 * (relaxed) say: what l= counts (3.5). libopendkim says only how much
 * it hashed (at most l=) and how long the body was as given, which
 * are not in the same units: CRLF for LF, blanks and empty lines at
 * the end taken off.
 */
static size_t
canon_body_len(const char *msg, size_t len, int relaxed)
{
	const char *p = msg, *end = msg + len, *nl, *e;
	size_t total = 0, blanks = 0, n;
	int wsp;

	/* the body: after the first empty line */
	for (;;) {
		if (p < end && *p == '\r' && p + 1 < end && p[1] == '\n')
			p++;
		if (p < end && *p == '\n') {
			p++;
			break;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			p = end;
			break;
		}
		p = nl + 1;
	}
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;	/* a last line without its end: CRLF added */
		e = nl;
		if (e > p && e < end && e[-1] == '\r')
			e--;
		if (!relaxed)
			n = (size_t)(e - p);
		else {
			/* blanks at the end go, a run of them before more is one SP */
			for (n = 0, wsp = 0; p < e; p++) {
				if (*p == ' ' || *p == '\t')
					wsp = 1;
				else {
					n += 1 + (size_t)wsp;
					wsp = 0;
				}
			}
		}
		/* empty lines at the end of the body go */
		if (n == 0)
			blanks += 2;
		else {
			total += blanks + n + 2;
			blanks = 0;
		}
		p = nl < end ? nl + 1 : end;
	}
	/* simple: an empty body is one CRLF; relaxed: nothing */
	return total == 0 && !relaxed ? 2 : total;
}

/*
 * A signature that verified is pass, unless its l= left out part of
 * the body: what was appended on the way (a MIME part shown in place
 * of the signed text) would pass as the domain's. RFC 6376 8.2; RFC
 * 8601 2.7.1's policy: valid, and not taken. DMARC counts no pass.
 */
static enum result
sig_result(DKIM *d, DKIM_SIGINFO *sig, const size_t bodylen[2], char *why,
    size_t whylen)
{
	int err = dkim_sig_geterror(sig);
	ssize_t signlen;
	dkim_canon_t hc, bc;
	const char *text;

	if (DKIM_SIG_CHECK(sig)) {
		if (dkim_sig_getcanonlen(d, sig, NULL, NULL, &signlen) ==
		    DKIM_STAT_OK && signlen >= 0 &&
		    dkim_sig_getcanons(sig, &hc, &bc) == DKIM_STAT_OK &&
		    (size_t)signlen < bodylen[bc == DKIM_CANON_RELAXED]) {
			str_copy_trunc(why, "l= leaves part of the body "
			    "unsigned", whylen);
			return RES_POLICY;
		}
		return RES_PASS;
	}
	if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) ==
	    DKIM_SIGBH_MISMATCH) {
		str_copy_trunc(why, "body hash mismatch", whylen);
		return RES_FAIL;
	}
	text = dkim_sig_geterrorstr(err);
	str_copy_trunc(why, text ? text : "not verified", whylen);
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL:		/* DNS did not answer */
		return RES_TEMPERROR;
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_KEYREVOKED:
	case DKIM_SIGERROR_KEYTOOSMALL:
	case DKIM_SIGERROR_OK:
		return RES_FAIL;
	default:				/* syntax, no key */
		return RES_PERMERROR;
	}
}

/* The end of the header field that starts at i: past its folded lines. */
static size_t
field_end(const char *msg, size_t len, size_t i)
{
	const char *nl;

	for (;;) {
		if ((nl = memchr(msg + i, '\n', len - i)) == NULL)
			return len;
		i = (size_t)(nl - msg) + 1;
		if (i == len || (msg[i] != ' ' && msg[i] != '\t'))
			return i;
	}
}

static int
is_signature(const char *f, size_t n)
{
	return n > 15 && strncasecmp(f, "DKIM-Signature", 14) == 0 &&
	    (f[14] == ':' || f[14] == ' ' || f[14] == '\t');
}

/*
 * Whether the d= tag of a DKIM-Signature field (RFC 6376 3.2 tag list)
 * may align with domain: only to choose which signatures to evaluate;
 * libopendkim reads them.
 */
static int
sig_related(const char *f, size_t n, const char *domain)
{
	char d[ADDR_DOMAIN_MAX + 1];
	const char *p = memchr(f, ':', n), *end = f + n;
	size_t o;

	if (p == NULL)
		return 0;
	for (p++; p < end; p++) {
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		if (p < end && *p == 'd') {
			const char *q = p + 1;
			while (q < end && strchr(" \t\r\n", *q))
				q++;
			if (q < end && *q == '=') {
				for (q++, o = 0; q < end && *q != ';'; q++)
					if (!strchr(" \t\r\n", *q) &&
					    o + 1 < sizeof(d))
						d[o++] = *q;
				d[o] = '\0';
				return related(d, domain);
			}
		}
		if ((p = memchr(p, ';', (size_t)(end - p))) == NULL)
			return 0;
	}
	return 0;
}

/*
 * Hand the message to libopendkim with at most DKIMV_EVAL_MAX of its
 * DKIM-Signature fields, those that may align with the From: domain
 * first: libopendkim's work grows with the square of the signatures it
 * is given (10,000 took 6 s, 40,000 two minutes), so a message cannot
 * be allowed to choose their number. A kept signature that signed a
 * left-out one (h= naming DKIM-Signature) fails; such a message has
 * more signatures than any sender makes.
 */
static DKIM_STAT
feed(DKIM *d, const char *msg, size_t len, const char *from_domain,
    size_t *left_out)
{
	size_t i, end, from = 0, nrel = 0, rel_kept = 0, other_kept = 0;
	size_t other_max = 0;
	DKIM_STAT st;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			other_max = DKIMV_EVAL_MAX - (nrel < DKIMV_EVAL_MAX ?
			    nrel : DKIMV_EVAL_MAX);
		for (i = 0; i < len && msg[i] != '\n'; i = end) {
			int rel;
			end = field_end(msg, len, i);
			if (!is_signature(msg + i, end - i))
				continue;
			rel = sig_related(msg + i, end - i, from_domain);
			if (pass == 0) {
				nrel += rel;
				continue;
			}
			if (rel ? rel_kept++ < DKIMV_EVAL_MAX :
			    other_kept++ < other_max)
				continue;
			/* left out: what comes before it goes in */
			if (i > from && (st = dkim_chunk(d, (u_char *)msg + from,
			    i - from)) != DKIM_STAT_OK)
				return st;
			from = end;
			(*left_out)++;
		}
	}
	return dkim_chunk(d, (u_char *)msg + from, len - from);
}

/* Whether the header section of msg has a DKIM-Signature: field. */
static int
has_signature(const char *msg, size_t len)
{
	size_t i, end;

	for (i = 0; i < len && msg[i] != '\n'; i = end) {
		end = field_end(msg, len, i);
		if (is_signature(msg + i, end - i))
			return 1;
	}
	return 0;
}

void
dkimv_check(const char *msg, size_t len, const char *from_domain,
    struct dkimv *out)
{
	struct prescreen_ctx c;
	DKIM_LIB *lib;
	DKIM *d = NULL;
	DKIM_SIGINFO **sigs = NULL;
	DKIM_STAT st;
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
	int i, nsigs = 0;
	size_t bodylen[2];

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	bodylen[0] = canon_body_len(msg, len, 0);
	bodylen[1] = canon_body_len(msg, len, 1);
	c.from_domain = from_domain;
	if ((lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(lib, key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(lib, prescreen) != DKIM_STAT_OK ||
	    (d = dkim_verify(lib, (const unsigned char *)"verify", NULL,
	    &st)) == NULL) {
		log_warnx("libopendkim did not start");
		out->n = 1;
		out->sig[0].res = RES_TEMPERROR;
		str_copy_trunc(out->sig[0].why, "libopendkim did not start",
		    sizeof(out->sig[0].why));
		goto done;
	}
	dkim_set_user_context(d, &c);
	st = feed(d, msg, len, from_domain, &c.ignored);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (i = 0; i < nsigs && out->n < DKIMV_EVAL_MAX; i++) {
		struct dkimv_sig *s = &out->sig[out->n];
		const char *dom, *sel;
		size_t blen = sizeof(s->b);

		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE)
			continue;
		dom = (const char *)dkim_sig_getdomain(sigs[i]);
		sel = (const char *)dkim_sig_getselector(sigs[i]);
		if (str_copy(s->domain, dom ? dom : "",
		    sizeof(s->domain)) == -1 || str_copy(s->selector,
		    sel ? sel : "", sizeof(s->selector)) == -1)
			continue;	/* cut, it is another domain's: no key */
		if (dkim_get_sigsubstring(d, sigs[i], s->b, &blen) !=
		    DKIM_STAT_OK)
			s->b[0] = '\0';
		s->res = sig_result(d, sigs[i], bodylen, s->why,
		    sizeof(s->why));
		out->n++;
	}
	out->ignored = c.ignored;
	/* a DKIM-Signature field libopendkim could not read at all */
	if (out->n == 0 && st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG &&
	    has_signature(msg, len)) {
		out->n = 1;
		out->sig[0].res = st == DKIM_STAT_CBTRYAGAIN ? RES_TEMPERROR :
		    RES_PERMERROR;
		str_copy_trunc(out->sig[0].why, dkim_getresultstr(st),
		    sizeof(out->sig[0].why));
	}
done:
	if (d)
		dkim_free(d);
	if (lib)
		dkim_close(lib);
}
