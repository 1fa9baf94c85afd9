/*
 * sched: when and by which agent each queued recipient is tried: local
 * recipients go to pombo-local as soon as they are queued, deferred ones
 * wait in a heap ordered by their next attempt; results update the
 * recipients, the state file and the DSNs owed. Used by queued's main
 * and connections. Trusts agents' results only through agent.c.
 */
#ifndef POMBO_SCHED_H
#define POMBO_SCHED_H

#include "conn.h"
#include "queue.h"

void sched_init(struct queued_ctx *ctx);
/* A new or recovered message: schedule what is due. */
void sched_add(struct qmsg *m);
/* Deferred recipients of m (all messages if NULL) are due now. */
void sched_flush(struct qmsg *m);
/* Forget m (it is being deleted). */
void sched_forget(struct qmsg *m);
void sched_stop(void);
/* Is this recipient delivered here (a local domain)? */
int sched_is_local(const char *addr);

#endif
