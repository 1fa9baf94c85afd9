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

static enum result
sig_result(DKIM_SIGINFO *sig, char *why, size_t whylen)
{
	int err = dkim_sig_geterror(sig);
	const char *text;

	if (DKIM_SIG_CHECK(sig))
		return RES_PASS;
	if (err == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) ==
	    DKIM_SIGBH_MISMATCH) {
		str_copy(why, "body hash mismatch", whylen);
		return RES_FAIL;
	}
	text = dkim_sig_geterrorstr(err);
	str_copy(why, text ? text : "not verified", whylen);
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

/* Whether the header section of msg has a DKIM-Signature: field. */
static int
has_signature(const char *msg, size_t len)
{
	size_t i = 0;

	while (i < len && msg[i] != '\n') {
		const char *nl = memchr(msg + i, '\n', len - i);
		if (len - i > 15 && strncasecmp(msg + i, "DKIM-Signature", 14)
		    == 0 && (msg[i + 14] == ':' || msg[i + 14] == ' ' ||
		    msg[i + 14] == '\t'))
			return 1;
		if (nl == NULL)
			break;
		i = (size_t)(nl - msg) + 1;
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

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
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
		str_copy(out->sig[0].why, "libopendkim did not start",
		    sizeof(out->sig[0].why));
		goto done;
	}
	dkim_set_user_context(d, &c);
	st = dkim_chunk(d, (u_char *)msg, len);
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
		str_copy(s->domain, dom ? dom : "", sizeof(s->domain));
		str_copy(s->selector, sel ? sel : "", sizeof(s->selector));
		if (dkim_get_sigsubstring(d, sigs[i], s->b, &blen) !=
		    DKIM_STAT_OK)
			s->b[0] = '\0';
		s->res = sig_result(sigs[i], s->why, sizeof(s->why));
		out->n++;
	}
	out->ignored = c.ignored;
	/* a DKIM-Signature field libopendkim could not read at all */
	if (out->n == 0 && st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG &&
	    has_signature(msg, len)) {
		out->n = 1;
		out->sig[0].res = st == DKIM_STAT_CBTRYAGAIN ? RES_TEMPERROR :
		    RES_PERMERROR;
		str_copy(out->sig[0].why, dkim_getresultstr(st),
		    sizeof(out->sig[0].why));
	}
done:
	if (d)
		dkim_free(d);
	if (lib)
		dkim_close(lib);
}
