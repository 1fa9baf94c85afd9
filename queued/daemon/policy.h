/*
 * policy: queued's decisions at MAIL and RCPT time: spool space, size,
 * local domains, relaying. Used by queued's connections; it trusts the
 * client address smtpd reports and nothing else of the session.
 */
#ifndef POMBO_POLICY_H
#define POMBO_POLICY_H

#include <stddef.h>

#include "conf.h"
#include "esmtp.h"
#include "qproto.h"
#include "recipients.h"
#include "spool.h"

/* Returns the reply code; reply holds the whole reply line. */
int policy_mail(const struct conf *c, struct spool *sp,
    const struct qhelo *h, const struct mail_args *m, char *reply,
    size_t len);
/*
 * On 250, out holds the final recipients (aliases expanded, local ones
 * checked); the caller frees it with resolve_free.
 */
int policy_rcpt(const struct conf *c, const struct qhelo *h,
    const struct rcpt_args *r, struct resolve_out *out, char *reply,
    size_t len);
/* May this session send to other domains? */
int policy_may_relay(const struct conf *c, const struct qhelo *h);
/*
 * Is a queued message our own users' mail, to be DKIM-signed when it
 * leaves? client is its envelope's client line (the queue protocol's
 * HELO): authenticated, local or from relay_networks, as for relaying.
 * Mail from the Internet (forwarded by an alias) is not.
 */
int policy_dkim_sign(const struct conf *c, const char *client);
/* The same question for an envelope's client line (0 if it is bad). */
int policy_may_relay_client(const struct conf *c, const char *client);

#endif
