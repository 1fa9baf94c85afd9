/*
 * mtasts: the MTA-STS policy (RFC 8461) in force for a destination, as
 * pombo-remote finds it: the _mta-sts TXT record, the policy fetched over
 * HTTPS (libcurl) from mta-sts.<domain>, and its copy on disk in the
 * spool's mta-sts/ folder (queued passes the folder on the agent's fd 4).
 * Trusts nothing it fetches: the policy text goes through the pure parser
 * of shared/mtasts_policy.c.
 */
#ifndef POMBO_MTASTS_H
#define POMBO_MTASTS_H

#include "mtasts_policy.h"

struct mtasts_conf {
	const char	*domain;
	const char	*tls_ca;	/* trust store for the fetch; NULL:
					   the system's */
	unsigned	 port;		/* 443 (RFC 8461 3.3); tests: theirs */
	unsigned	 timeout_ms;	/* a whole fetch, connection included */
	int		 cachefd;	/* mta-sts/, or -1: no cache */
};

struct mtasts {
	int			 have;	/* a policy is in force: pol */
	struct mtasts_policy	 pol;
	char			 id[MTASTS_ID_MAX + 1];
	/* a policy was announced and could not be fetched or read (for
	 * TLS reports, RFC 8460 4.3.2: sts-policy-fetch-error and
	 * sts-policy-invalid) */
	int			 fetch_error, invalid;
	char			 why[256];
};

/*
 * The policy in force for c->domain (RFC 8461 5.1): the cached one while
 * the TXT id is the same and it has not expired; else a new fetch,
 * cached; a fetch that fails leaves a cached one, even of another id,
 * in force until its max_age runs out. out->have is 0 when there is none.
 */
void mtasts_get(const struct mtasts_conf *c, struct mtasts *out);
/* At the end of the agent: libcurl's global state. */
void mtasts_done(void);

#endif
