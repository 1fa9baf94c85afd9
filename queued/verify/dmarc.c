/*
 * dmarc: finds the policy record (RFC 7489 6.6.3: the From: domain's,
 * else its organizational domain's), hands it and the SPF and DKIM
 * outcomes to libopendmarc, and reads back the policy to apply. A
 * failure that a DNS error may have caused is temperror, never a
 * refusal: the sender would have no way to know.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <opendmarc/dmarc.h>

#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "str.h"

/*
 * The organizational domain by the public suffix list (RFC 7489 3.2):
 * exported by libopendmarc, which aligns with it, but missing from its
 * header (1.4.2); the prototype of its opendmarc_tld.c.
 */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

/*
 * The one DMARC record at _dmarc.<domain> into rec: DNS_OK, DNS_NODATA
 * when there is none (or more than one, RFC 7489 6.6.3), DNS_TEMP.
 */
static enum dns_result
fetch_record(const char *domain, char *rec, size_t reclen)
{
	char name[ADDR_DOMAIN_MAX + 16], *txt[DNS_MAX_TXT];
	enum dns_result r;
	size_t i, n = 0, found = 0;

	if (str_fmt(name, sizeof(name), "_dmarc.%s", domain) == -1)
		return DNS_NODATA;
	r = dns_txt(name, txt, &n);
	if (r == DNS_TEMP)
		return r;
	for (i = 0; i < n; i++) {
		/* RFC 7489 6.4: v=DMARC1 first; other TXT records ignored */
		const char *p = txt[i];
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "v=DMARC1", 8) == 0 && (p[8] == ';' ||
		    p[8] == ' ' || p[8] == '\t' || p[8] == '\0')) {
			if (found++ == 0 && str_copy(rec, txt[i], reclen) == -1)
				found = 2;	/* too long to be one of ours */
		}
		free(txt[i]);
	}
	return found == 1 ? DNS_OK : DNS_NODATA;
}

static int
dkim_outcome(enum result r)
{
	switch (r) {
	case RES_PASS:		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	case RES_TEMPERROR:	return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	case RES_NONE:		return DMARC_POLICY_DKIM_OUTCOME_NONE;
	default:		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	}
}

static int
spf_outcome(enum result r)
{
	switch (r) {
	case RES_PASS:		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case RES_FAIL:
	case RES_SOFTFAIL:	return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case RES_TEMPERROR:	return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

/*
 * The organizational domain (RFC 7489 3.2) by libopendmarc's reading
 * of the public suffix list. A name under no listed suffix gets nothing
 * there; the list's own default rule ("*": the last label is a public
 * suffix) makes it the last two labels.
 */
static void
org_domain(const char *from, char *org, size_t len)
{
	const char *p;

	memset(org, 0, len);
	if (opendmarc_get_tld((u_char *)from, (u_char *)org, len) != 0)
		org[0] = '\0';
	org[len - 1] = '\0';
	if (org[0] != '\0')
		return;
	if ((p = strrchr(from, '.')) == NULL)
		return;
	while (p > from && p[-1] != '.')
		p--;
	str_copy_trunc(org, p, len);	/* a part of from: fits */
}

/*
 * libopendmarc, with the public suffix list read only when a check needs
 * it: reading it (14,000 lines into libopendmarc's table) costs more CPU
 * than the rest of the agent's run, and it is read again by every agent.
 * A check needs it for the organizational domain, and for an alignment
 * of two different names; libopendmarc aligns identical names (ignoring
 * case) before it asks the list (opendmarc_policy_check_alignment).
 */
static int lib_ready, psl_ready;

static void
lib_init(int psl)
{
	OPENDMARC_LIB_T lib;

	if (lib_ready && (psl_ready || !psl))
		return;
	memset(&lib, 0, sizeof(lib));
	lib_ready = 1;
	if (psl) {
		psl_ready = 1;
		lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
		str_copy_trunc((char *)lib.tld_source_file, DMARC_PSL_FILE,
		    sizeof(lib.tld_source_file));
	}
	if (opendmarc_policy_library_init(&lib) == DMARC_PARSE_OKAY)
		return;
	/* without the list, the From: domain is its own organization */
	log_warnx("cannot read the public suffix list %s", DMARC_PSL_FILE);
	memset(&lib, 0, sizeof(lib));
	opendmarc_policy_library_init(&lib);
}

/* Whether an identifier aligns with from only through the list. */
static int
needs_psl(const char *from, const struct spf_result *spf,
    const struct dkimv *dkim)
{
	size_t i;

	if (spf->domain[0] != '\0' && strcasecmp(spf->domain, from) != 0)
		return 1;
	for (i = 0; i < dkim->n; i++)
		if (dkim->sig[i].domain[0] != '\0' &&
		    strcasecmp(dkim->sig[i].domain, from) != 0)
			return 1;
	return 0;
}

/* RFC 7489 6.6.4: pct=N applies the policy to N% of the failures. */
static enum dmarc_action
sample(DMARC_POLICY_T *p, enum dmarc_action a)
{
	int pct = 100;
	unsigned r = 0;

	if (opendmarc_policy_fetch_pct(p, &pct) != DMARC_PARSE_OKAY ||
	    pct >= 100 || a == DMARC_ACT_NONE)
		return a;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)random();
	if ((int)(r % 100) < pct)
		return a;
	/* the next policy down */
	return a == DMARC_ACT_REJECT ? DMARC_ACT_QUARANTINE : DMARC_ACT_NONE;
}

void
dmarc_check(const char *from, const struct spf_result *spf, int helo_origin,
    const struct dkimv *dkim, struct dmarc_result *out)
{
	DMARC_POLICY_T *p = NULL;
	char rec[DNS_TXT_MAX + 1], org[ADDR_DOMAIN_MAX + 1];
	enum dns_result r;
	int pol, used_org = 0, temp = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (str_copy(out->from, from, sizeof(out->from)) == -1)
		from = "";	/* cut, it is another domain: none to check */
	if (*from == '\0') {
		/* RFC 7489 6.6.1: no single author domain to check */
		out->res = RES_PERMERROR;
		str_copy_trunc(out->why, "no single From: domain", sizeof(out->why));
		return;
	}
	r = fetch_record(from, rec, sizeof(rec));
	if (r == DNS_NODATA || r == DNS_NXDOMAIN) {
		/* RFC 7489 6.6.3: then the organizational domain's */
		lib_init(1);
		org_domain(from, org, sizeof(org));
		if (org[0] != '\0' && strcasecmp(org, from) != 0) {
			r = fetch_record(org, rec, sizeof(rec));
			used_org = 1;
		}
	}
	if (r == DNS_TEMP) {
		out->res = RES_TEMPERROR;
		str_copy_trunc(out->why, "DNS did not answer for the policy",
		    sizeof(out->why));
		return;
	}
	if (r != DNS_OK) {
		out->res = RES_NONE;
		return;
	}
	lib_init(needs_psl(from, spf, dkim));
	if ((p = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 4)) ==
	    NULL) {
		out->res = RES_TEMPERROR;
		return;
	}
	if (opendmarc_policy_store_from_domain(p, (u_char *)from) !=
	    DMARC_PARSE_OKAY || opendmarc_policy_store_dmarc(p, (u_char *)rec,
	    (u_char *)from, used_org ? (u_char *)org : NULL) !=
	    DMARC_PARSE_OKAY) {
		out->res = RES_PERMERROR;
		str_copy_trunc(out->why, "the policy record does not parse",
		    sizeof(out->why));
		goto done;
	}
	for (i = 0; i < dkim->n; i++) {
		const struct dkimv_sig *s = &dkim->sig[i];
		if (s->domain[0] == '\0')
			continue;
		opendmarc_policy_store_dkim(p, (u_char *)s->domain,
		    (u_char *)s->selector, dkim_outcome(s->res), NULL);
		if (s->res == RES_TEMPERROR)
			temp = 1;
	}
	if (spf->domain[0] != '\0')
		opendmarc_policy_store_spf(p, (u_char *)spf->domain,
		    spf_outcome(spf->res), helo_origin ?
		    DMARC_POLICY_SPF_ORIGIN_HELO : DMARC_POLICY_SPF_ORIGIN_MAILFROM,
		    NULL);
	if (spf->res == RES_TEMPERROR)
		temp = 1;
	pol = opendmarc_get_policy_to_enforce(p);
	switch (pol) {
	case DMARC_POLICY_PASS:
		out->res = RES_PASS;
		break;
	case DMARC_POLICY_REJECT:
	case DMARC_POLICY_QUARANTINE:
	case DMARC_POLICY_NONE:
		out->res = RES_FAIL;
		str_copy_trunc(out->policy, pol == DMARC_POLICY_REJECT ? "reject" :
		    pol == DMARC_POLICY_QUARANTINE ? "quarantine" : "none",
		    sizeof(out->policy));
		out->action = sample(p, pol == DMARC_POLICY_REJECT ?
		    DMARC_ACT_REJECT : pol == DMARC_POLICY_QUARANTINE ?
		    DMARC_ACT_QUARANTINE : DMARC_ACT_NONE);
		/*
		 * a check that DNS left undecided might have aligned: the
		 * sender gets no refusal for our resolver's trouble
		 */
		if (temp) {
			out->res = RES_TEMPERROR;
			out->action = DMARC_ACT_NONE;
			str_copy_trunc(out->why, "SPF or DKIM met a DNS error",
			    sizeof(out->why));
		}
		break;
	default:
		out->res = RES_NONE;
		break;
	}
done:
	opendmarc_policy_connect_shutdown(p);
}
