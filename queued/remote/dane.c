/*
 * dane: RFC 7672's choice of TLSA records for an MX host.
 *
 * 2.2.2: a host whose address records are not all secure gets no TLSA
 * lookup (its TLSA records could not be told from forged ones). A
 * lookup that fails or is bogus makes the host unusable for now: going
 * on without TLS, or to a host without DANE, is what an attacker who
 * breaks the lookup would want. A secure denial (no TLSA) leaves the
 * host to tls_policy, as without DANE.
 *
 * 2.2.3: a host name that is a CNAME (with secure expansion) has its
 * TLSA records looked for first at the expanded name, then at the
 * name itself; the base domain is where they were found.
 *
 * 3.2.2: with DANE-TA(2), the certificate must name the base domain,
 * the MX host name, or (when the MX RRset is secure, so the name came
 * from the destination's own signed zone) the destination domain.
 * DANE-EE(3) binds the key alone: no name or date checks (3.1.1).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dane.h"
#include "log.h"
#include "str.h"

int
dane_tlsa_usable(const struct dnswire_tlsa *t)
{
	/* DANE-TA(2), DANE-EE(3); PKIX-TA(0), PKIX-EE(1) are not for SMTP */
	if (t->usage != 2 && t->usage != 3)
		return 0;
	/* Cert(0), SPKI(1) */
	if (t->selector > 1)
		return 0;
	/* Full(0), SHA2-256(1), SHA2-512(2): a digest of its own length */
	switch (t->mtype) {
	case 0:
		return t->len > 0;
	case 1:
		return t->len == 32;
	case 2:
		return t->len == 64;
	default:
		return 0;
	}
}

const char *
dane_state_name(enum dane_state s)
{
	switch (s) {
	case DANE_NONE:	return "none";
	case DANE_TLS:	return "unauthenticated";
	case DANE_AUTH:	return "required";
	default:	return "failed";
	}
}

static void
add_name(struct dane_host *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nnames; i++)
		if (strcasecmp(d->names[i], name) == 0)
			return;
	if (d->nnames < sizeof(d->names) / sizeof(d->names[0]))
		d->names[d->nnames++] = name;
}

/*
 * The TLSA records at _port._tcp.name: 1 when a secure RRset was found
 * (d is set), 0 when there is none to use, -1 when the lookup failed.
 */
static int
tlsa_at(struct dane_host *d, const char *name, unsigned port)
{
	char owner[ADDR_DOMAIN_MAX + 16];
	size_t n, nbad, nleft, i;
	enum resolve_sec sec;
	enum dns_result r;

	if (str_fmt(owner, sizeof(owner), "_%u._tcp.%s", port, name) == -1)
		return 0;	/* longer than a name can be: none there */
	r = resolve_tlsa(owner, dane_tlsa_usable, d->rec, DANE_MAX_TLSA, &n,
	    &nbad, &nleft, &sec);
	if (sec == RESOLVE_BOGUS) {
		str_fmt_trunc(d->why, sizeof(d->why), "the TLSA records at "
		    "%s are bogus (DNSSEC: %s)", owner, resolve_why());
		return -1;
	}
	if (r == DNS_TEMP) {
		str_fmt_trunc(d->why, sizeof(d->why), "the TLSA lookup of %s "
		    "failed", owner);
		return -1;
	}
	/* an unsigned RRset (an insecure delegation below a signed
	 * zone) says nothing an attacker could not have said */
	if (r != DNS_OK || sec != RESOLVE_SECURE)
		return 0;
	/*
	 * Usable records that could not be kept (too long to compare):
	 * with none kept, this host cannot be authenticated, and taking
	 * it for one without usable records would be TLS unauthenticated
	 * where its owner asked for authentication (RFC 7672 2.2).
	 */
	if (n == 0 && nleft > 0) {
		str_fmt_trunc(d->why, sizeof(d->why), "the usable TLSA "
		    "records at %s are too long to compare (over %d octets)",
		    owner, DNSWIRE_TLSA_DATA_MAX);
		return -1;
	}
	str_copy_trunc(d->base, name, sizeof(d->base));
	d->nunusable = nbad;
	d->ntlsa = 0;
	for (i = 0; i < n; i++) {
		d->tlsa[d->ntlsa].usage = d->rec[i].usage;
		d->tlsa[d->ntlsa].selector = d->rec[i].selector;
		d->tlsa[d->ntlsa].mtype = d->rec[i].mtype;
		d->tlsa[d->ntlsa].data = d->rec[i].data;
		d->tlsa[d->ntlsa].len = d->rec[i].len;
		d->ntlsa++;
	}
	return 1;
}

void
dane_lookup(struct dane_host *d, const char *host, const char *canon,
    unsigned port, enum resolve_sec addr_sec, enum resolve_sec mx_sec,
    const char *nexthop)
{
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->state = DANE_NONE;
	/* half the addresses forged: the other half's TLSA lookup is not
	 * to be skipped for it, nor the host used without DANE */
	if (addr_sec == RESOLVE_BOGUS) {
		d->state = DANE_FAIL;
		str_fmt_trunc(d->why, sizeof(d->why), "its address records "
		    "are bogus (DNSSEC: %s)", resolve_why());
		return;
	}
	if (addr_sec != RESOLVE_SECURE)
		return;
	if ((d->rec = calloc(DANE_MAX_TLSA, sizeof(*d->rec))) == NULL) {
		d->state = DANE_FAIL;
		str_copy_trunc(d->why, "out of memory", sizeof(d->why));
		return;
	}
	if (strcasecmp(canon, host) != 0)
		r = tlsa_at(d, canon, port);
	if (r == 0)
		r = tlsa_at(d, host, port);
	if (r == -1) {
		d->state = DANE_FAIL;
		return;
	}
	if (r == 0) {
		free(d->rec);
		d->rec = NULL;
		return;
	}
	d->state = d->ntlsa > 0 ? DANE_AUTH : DANE_TLS;
	str_copy_trunc(d->host, host, sizeof(d->host));
	str_copy_trunc(d->nexthop, nexthop, sizeof(d->nexthop));
	add_name(d, d->base);
	add_name(d, d->host);
	if (mx_sec == RESOLVE_SECURE)
		add_name(d, d->nexthop);
}

void
dane_free(struct dane_host *d)
{
	free(d->rec);
	d->rec = NULL;
	d->ntlsa = 0;
}
