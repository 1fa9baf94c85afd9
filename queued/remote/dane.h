/*
 * dane: DANE for SMTP (RFC 7672) for one MX host: which TLSA records
 * apply (found at the TLSA base domain by the rules of 2.2.2 and 2.2.3,
 * through resolve.c's validated lookups), which of them count (3.1:
 * DANE-TA(2) and DANE-EE(3); PKIX-TA(0) and PKIX-EE(1) are unusable for
 * SMTP), and what the connection to that host must then be. Used by
 * remote.c; trusts only secure (validated) answers.
 */
#ifndef POMBO_DANE_H
#define POMBO_DANE_H

#include <stddef.h>

#include "addr.h"
#include "dnswire.h"
#include "resolve.h"
#include "tls.h"

#define DANE_MAX_TLSA	16	/* usable ones per host; more are left out */

enum dane_state {
	DANE_NONE,	/* no secure TLSA records: tls_policy as without DANE */
	DANE_TLS,	/* TLSA records, none usable: TLS, unauthenticated,
			 * never in the clear (RFC 7672 2.2) */
	DANE_AUTH,	/* usable records: the server's certificate must match
			 * one of them (RFC 7672 3) */
	DANE_FAIL,	/* the TLSA lookup failed or was bogus: this host is
			 * not to be used now (RFC 7672 2.2) */
};

struct dane_host {
	enum dane_state		 state;
	/* the TLSA base domain: SNI, and the first reference identifier */
	char			 base[ADDR_DOMAIN_MAX + 1];
	/* DANE-TA(2): the names the certificate may carry (3.2.2) */
	const char		*names[3];
	size_t			 nnames;
	char			 host[ADDR_DOMAIN_MAX + 1];
	char			 nexthop[ADDR_DOMAIN_MAX + 1];
	struct tls_tlsa		 tlsa[DANE_MAX_TLSA];	/* the usable ones */
	size_t			 ntlsa;
	size_t			 nunusable;
	char			 why[256];		/* DANE_FAIL */
	struct dnswire_tlsa	*rec;			/* tlsa[i].data's */
};

/* Can SMTP use this record (RFC 7672 3.1, RFC 6698 2.1, RFC 7218)? */
int dane_tlsa_usable(const struct dnswire_tlsa *t);
/*
 * Find the TLSA records of host (an MX name, or the domain itself
 * without MX) for port: canon is its name after CNAMEs (resolve_addrs),
 * addr_sec its addresses' status, mx_sec the MX RRset's, nexthop the
 * destination domain. Only secure addresses get a TLSA lookup (2.2.2).
 */
void dane_lookup(struct dane_host *d, const char *host, const char *canon,
    unsigned port, enum resolve_sec addr_sec, enum resolve_sec mx_sec,
    const char *nexthop);
void dane_free(struct dane_host *d);
const char *dane_state_name(enum dane_state s);

#endif
