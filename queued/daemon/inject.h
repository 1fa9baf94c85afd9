/*
 * inject: messages queued writes itself (delivery status notifications),
 * committed synchronously with the same durability as any other: fsync
 * of the file and of queue/ before it is scheduled. Used by the scheduler.
 */
#ifndef POMBO_INJECT_H
#define POMBO_INJECT_H

#include <stddef.h>

#include "conf.h"
#include "queue.h"
#include "spool.h"

/*
 * From <> to rcpt, expanded as mail to it at RCPT would be; flags may be
 * ENV_DOUBLE. Returns the new message, or NULL (logged).
 */
struct qmsg *inject_message(struct spool *sp, const struct conf *c,
    const char *rcpt, unsigned flags, const char *content, size_t len);

#endif
