/*
 * bounce: delivery status notifications (RFC 3464): failures, delays and
 * successes, as multipart/report; report-type=delivery-status with a
 * human-readable part, the machine-readable per-recipient part, and the
 * original headers (or the whole message for RET=FULL). Used by queued's
 * scheduler; formatting is pure.
 */
#ifndef POMBO_BOUNCE_H
#define POMBO_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

enum bounce_kind {
	BOUNCE_FAILED,
	BOUNCE_DELAYED,
	BOUNCE_DELIVERED,
};

struct bounce_rcpt {
	const char	*addr;
	const char	*orcpt;		/* "rfc822;..." or NULL */
	const char	*remote_mta;	/* or NULL */
	const char	*diagnostic;	/* "550 5.1.1 ..." or NULL */
	int		 relayed;	/* delivered: to a server without DSN */
};

struct bounce_info {
	enum bounce_kind	 kind;
	const char		*hostname;
	const char		*qid;
	int64_t			 arrival;
	int64_t			 retry_until;	/* delays */
	const char		*envid;		/* or NULL */
	const char		*sender;	/* the bounce's recipient */
	const struct bounce_rcpt *rcpts;
	size_t			 nrcpt;
	const char		*original;	/* headers, or all of it */
	size_t			 original_len;
	int			 full;		/* original is the message */
	uint64_t		 nonce;		/* random: in the MIME boundary */
};

/* The whole message, LF line ends, as it goes into the queue. */
int bounce_format(const struct bounce_info *b, int64_t now, struct buf *out);
/* "5.1.1" from "550 5.1.1 text", or the class default ("5.0.0"). */
void bounce_status(const char *reply, int perm, char *out, size_t len);
/* RFC 3461 xtext back to text, for Original-Envelope-Id. */
void bounce_xtext_decode(const char *in, char *out, size_t len);

#endif
