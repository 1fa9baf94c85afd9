/*
 * resolve: every lookup of the remote agent (MX, A/AAAA, TLSA, and the
 * TXT records of MTA-STS and TLS-RPT) through one libunbound context,
 * DNSSEC-validated when a trust anchor is given, so that DANE (RFC 7672,
 * dane.c) knows which answers are "secure". Used by remote.c, dane.c and
 * mtasts.c; the other programs' lookups stay in dns.c (c-ares). Trusts
 * the anchor file queued names; answers only as far as their syntax
 * (dnswire.c), and their validation status.
 */
#ifndef POMBO_RESOLVE_H
#define POMBO_RESOLVE_H

#include <stddef.h>

#include "dns.h"
#include "dnswire.h"

/* An answer's DNSSEC status (RFC 4033 5, RFC 7672 2.1.1). */
enum resolve_sec {
	RESOLVE_INSECURE,	/* unsigned, or no trust anchor in force */
	RESOLVE_SECURE,		/* validated: data or a proven denial */
	RESOLVE_BOGUS,		/* validation failed: the result is DNS_TEMP */
};

/*
 * servers: "ip[:port],..." (dns_servers: forwarders) or NULL for the
 * system's, from /etc/resolv.conf. anchor: a trust anchor file (DS or
 * DNSKEY records, or BIND's trust-anchors) or NULL: no validation, every
 * answer insecure. query_ms bounds each lookup. 0, or -1 with err.
 */
int resolve_init(const char *servers, const char *anchor, int query_ms,
    char *err, size_t errlen);
void resolve_done(void);
int resolve_validating(void);
/* MX records sorted by preference, equal ones shuffled. */
enum dns_result resolve_mx(const char *domain, struct dns_mx *out,
    size_t *n, enum resolve_sec *sec);
/*
 * AAAA then A records of host, port set. sec: secure only when every
 * answer (data or denial) was; canon (canonlen octets): the name after
 * CNAMEs, host itself if there were none.
 */
enum dns_result resolve_addrs(const char *host, unsigned port,
    struct dns_addr *out, size_t *n, enum resolve_sec *sec, char *canon,
    size_t canonlen);
/*
 * TLSA records at name: those keep takes (it sees the three fields and
 * the data's length, not the data), up to max, into out. *nbad: records
 * that did not parse or keep refused; *nleft: ones keep took that did
 * not fit (past max, or data longer than DNSWIRE_TLSA_DATA_MAX). So a
 * big RRset crowds out no record that counts unseen.
 */
enum dns_result resolve_tlsa(const char *name,
    int (*keep)(const struct dnswire_tlsa *), struct dnswire_tlsa *out,
    size_t max, size_t *n, size_t *nbad, size_t *nleft,
    enum resolve_sec *sec);
/*
 * TXT records of name as dns_txt gives them: each record's strings
 * joined, empty ones and those dnswire_txt refuses left out,
 * DNS_NODATA when none is left. The caller frees out[0..n-1].
 */
enum dns_result resolve_txt(const char *name, char **out, size_t *n);
/* Why the last bogus answer was bogus (unbound's words), or "". */
const char *resolve_why(void);

#endif
