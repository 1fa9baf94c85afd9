/*
 * dns: the lookups of pombo-verify and pombo-dkim (TXT, A or AAAA, MX, PTR)
 * through c-ares (which tells NXDOMAIN from NODATA and SERVFAIL, and
 * takes a server list such as dns_servers = 127.0.0.1:5353 for tests),
 * and the types both resolvers share; pombo-remote's lookups are
 * resolve.c's. Synchronous: the agent has nothing else to do meanwhile.
 * Trusts the resolver's answers only as far as their syntax; names are
 * checked before use.
 */
#ifndef POMBO_DNS_H
#define POMBO_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

#define DNS_MAX_MX	32
#define DNS_MAX_ADDRS	32

enum dns_result {
	DNS_OK,
	DNS_NXDOMAIN,	/* the name does not exist: permanent */
	DNS_NODATA,	/* the name exists, without records of that type */
	DNS_TEMP,	/* SERVFAIL, timeout, refused: try later */
};

struct dns_mx {
	char	host[ADDR_DOMAIN_MAX + 1];
	int	pref;
};

struct dns_addr {
	struct sockaddr_storage	sa;
	socklen_t		len;
	char			text[64];	/* for logs and results */
};

/* servers: "ip[:port],..." or NULL for /etc/resolv.conf. */
int dns_init(const char *servers);
/*
 * The same, with try_ms per try and tries tries per query (dns_init:
 * 3000 ms, 3), for a caller whose whole check has a budget.
 */
int dns_init_timeout(const char *servers, int try_ms, int tries);
/*
 * An absolute deadline (CLOCK_MONOTONIC, ms; 0: none) past which every
 * query ends at once as DNS_TEMP: a server that never answers costs
 * the budget once, not once per query.
 */
void dns_set_deadline(long long deadline_ms);
long long dns_now_ms(void);
void dns_done(void);
/* MX records sorted by preference, equal ones shuffled (RFC 5321 5.1). */
enum dns_result dns_mx(const char *domain, struct dns_mx *out, size_t *n);
#define DNS_MAX_TXT	64	/* a domain's TXT records: SPF and others */
#define DNS_TXT_MAX	4096	/* one record, its strings joined */

/*
 * TXT records of name, each record's strings joined into one text (RFC
 * 6376 3.6.2.2, RFC 7208 3.3); records with NUL octets or longer than
 * DNS_TXT_MAX are left out. The caller frees out[0..n-1].
 */
enum dns_result dns_txt(const char *name, char **out, size_t *n);
/*
 * A (family AF_INET) or AAAA (AF_INET6) records of name, queried alone
 * (no hosts file, no search list): what SPF's mechanisms ask.
 */
enum dns_result dns_ip(const char *name, int family, struct dns_addr *out,
    size_t *n);
#define DNS_MAX_PTR	16
/* PTR names at name (an in-addr.arpa or ip6.arpa name), checked. */
enum dns_result dns_ptr(const char *name, char out[][ADDR_DOMAIN_MAX + 1],
    size_t *n);

#endif
