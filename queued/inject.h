/*
 * inject: messages queued writes itself (delivery status notifications),
 * committed synchronously with the same durability as any other: fsync
 * of the file and of queue/ before it is scheduled. Used by the scheduler.
 */
#ifndef POMBO_INJECT_H
#define POMBO_INJECT_H

#include <stddef.h>

#include "queue.h"
#include "spool.h"

/* From <> to rcpt; returns the new message, or NULL (logged). */
struct qmsg *inject_message(struct spool *sp, const char *hostname,
    const char *rcpt, const char *content, size_t len);

#endif
