/*
 * remote: the remote delivery agent's work: find the destination's MX
 * hosts (or the relayhost), connect in preference order, and deliver a
 * batch of messages for one domain over one connection, reporting one
 * result per recipient. Used by pombo-remote; trusts its job from queued,
 * nothing from DNS or the servers it talks to.
 */
#ifndef POMBO_REMOTE_H
#define POMBO_REMOTE_H

#include "conf.h"
#include "dkimsign.h"
#include "job.h"
#include "str.h"

struct remote_conf {
	const char	*domain;	/* the destination */
	const char	*relay;		/* "[host]:port", "host:port" or NULL */
	unsigned	 port;		/* remote_port */
	unsigned	 connect_ms;
	unsigned	 timeout_ms;	/* per reply (RFC 5321 4.5.3.2 scale) */
	enum tls_policy	 tls;
	const char	*tls_ca;	/* NULL: the system's CAs */
	int		 dane;		/* RFC 7672 (validating resolver) */
	struct dkimsign	*signer;	/* NULL: sign nothing */
	int		 mta_sts;	/* follow the domain's MTA-STS policy */
	unsigned	 sts_port;
	unsigned	 sts_timeout_ms;
	int		 sts_cachefd;	/* the spool's mta-sts/, or -1 */
	int		 tls_reports;	/* report TLS sessions (RFC 8460) */
};

/* Deliver every message of j; results go to out as they are known. */
void remote_deliver(const struct remote_conf *rc, const struct job *j,
    int spoolfd, struct buf *out, int (*flush)(struct buf *));

#endif
