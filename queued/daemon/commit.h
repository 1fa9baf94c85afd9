/*
 * commit: group commit of received messages. Connections hand over a
 * finished queue file; a thread makes every file handed over meanwhile
 * durable with its own fdatasync and one fsync of queue/ for them all,
 * then the loop hears which ones made it. Used by queued's connections.
 */
#ifndef POMBO_COMMIT_H
#define POMBO_COMMIT_H

#include <systemd/sd-event.h>

#include "qid.h"
#include "spool.h"

struct commit_job {
	char			 qid[QID_LEN + 1];
	int			 fd;		/* closed by commit */
	int			 ok;		/* set when done */
	void			*ctx;
	struct commit_job	*next;
};

typedef void (*commit_done_fn)(struct commit_job *job);

int commit_init(sd_event *e, struct spool *sp, commit_done_fn done);
void commit_submit(struct commit_job *job);
void commit_shutdown(void);

#endif
