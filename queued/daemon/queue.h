/*
 * queue: the messages queued holds, in memory, in arrival order, each
 * with its envelope and per-recipient state. Used by queued's connections
 * (add, list), the scheduler and the admin commands.
 */
#ifndef POMBO_QUEUE_H
#define POMBO_QUEUE_H

#include <sys/queue.h>

#include "envelope.h"
#include "str.h"

struct qmsg {
	struct envelope		 env;
	unsigned		 nagents;	/* agents holding some recipients */
	int			 recovered;	/* loaded at start-up */
	int			 state_dirty;	/* results not yet on disk */
	int			 deleted;	/* the admin deleted it while an
						   agent had it: goes when the
						   last one is done */
	char			*damaged;	/* an agent found its file is not
						   what was queued (its sum): why */
	int64_t			 due;		/* next attempt; INT64_MAX: none */
	int64_t			 notify_next;	/* next try of owed DSNs */
	size_t			 heap_idx;	/* in the scheduler's heap */
	TAILQ_ENTRY(qmsg)	 entry;
	struct qmsg		*hnext;		/* queue id hash chain */
};

TAILQ_HEAD(qmsg_list, qmsg);

void queue_init(void);
/* Takes ownership of e (its contents move into the queue). */
struct qmsg *queue_add(struct envelope *e);
void queue_remove(struct qmsg *m);
struct qmsg *queue_find(const char *qid);
size_t queue_count(void);
struct qmsg_list *queue_all(void);
/*
 * The LIST reply lines (without the final line) for one or all: a
 * "250-msg" line per message, a "250-rcpt" line per recipient, and after
 * a recipient owed a notification not yet queued, "250-notify <kind>".
 */
int queue_format(const struct qmsg *m, struct buf *out);

#endif
