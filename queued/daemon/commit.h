/*
 * commit: group commit of received messages. Connections hand over a
 * finished queue file (its header with a "sum" line to fill in, or
 * filled in already: summed); a thread fills in each file's checksum,
 * renames every file handed over meanwhile into queue/, copies them
 * into the journal and makes them durable with one fdatasync of it
 * (a file too big for the journal: its own fdatasync and an fsync of
 * queue/), then the loop hears which ones made it. Used by queued's
 * connections.
 */
#ifndef POMBO_COMMIT_H
#define POMBO_COMMIT_H

#include <stdint.h>
#include <systemd/sd-event.h>

#include "qid.h"
#include "spool.h"

struct commit_job {
	char			 qid[QID_LEN + 1];
	int			 fd;		/* closed by commit */
	uint64_t		 data_off, size;	/* the message in it */
	int			 ok;		/* set when done */
	uint32_t		 sum;		/* set when done: its CRC-32C */
	int			 summed;	/* sum: in the file already */
	int			 published;	/* commit's own: in queue/ */
	int			 journaled;	/* commit's own: in the journal */
	void			*ctx;
	struct commit_job	*next;
};

typedef void (*commit_done_fn)(struct commit_job *job);

int commit_init(sd_event *e, struct spool *sp, commit_done_fn done);
void commit_submit(struct commit_job *job);
void commit_shutdown(void);

#endif
