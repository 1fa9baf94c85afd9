/*
 * journal: the commit log in front of queue/ (SPOOL.md, the journal).
 * A committed message's file is copied into spool_dir/journal, blocks
 * written once and kept, and one fdatasync of it makes a whole batch
 * durable; the queue files behind it are renamed into queue/ with no
 * sync of their own. Start-up replays it: a message the journal holds
 * comes back into queue/ if a crash of the machine lost its file, and
 * one removed since (delivered, deleted, set aside) stays removed.
 */
#ifndef POMBO_JOURNAL_H
#define POMBO_JOURNAL_H

#include <stdint.h>

#include "spool.h"

/* The journal grows from JOURNAL_START to JOURNAL_MAX octets. */
#define JOURNAL_START	(256 * 1024)
#define JOURNAL_MAX	(8 * 1024 * 1024)
/*
 * Bigger queue files are made durable by themselves, as before: a copy
 * in the journal is a second write of every octet, and at 100 KB it
 * cost more than the syncs it shares (c=10: 10-15 % fewer messages a
 * second than the file's own fdatasync; 16 and 48 KB gained or tied).
 */
#define JOURNAL_FILE_MAX	(64 * 1024)

/* How a message left queue/: finished (removed) or set aside. */
enum journal_gone { JOURNAL_REMOVED, JOURNAL_QUARANTINED };

/*
 * Open (or create) the journal of sp, replay what it holds into queue/,
 * then start it afresh: called by spool_open before its sweeps. Returns
 * the number of queue files put back, or -1 if what it holds could not
 * be put back (queued must not start: it would lose them). A journal
 * that cannot start (a full disk) is only turned off, logged.
 */
int journal_open(struct spool *sp);
/* At a clean stop: everything to disk, the journal left empty. */
void journal_close(void);
/*
 * Append the queue file fd (len octets, header and message, its sum
 * in) for qid: 0, or -1 if it cannot take it (too big, broken, an I/O
 * error), and then the file must be made durable by itself. Durable
 * only after journal_sync. The commit thread's alone.
 */
int journal_add(const char *qid, int fd, uint64_t len);
/* Make every record added so far durable; -1 breaks the journal. */
int journal_sync(void);
/*
 * The checkpoint thread: when the journal is full (meanwhile commits
 * take the file's path), and after JOURNAL_IDLE seconds without a new
 * message, so that the journal's copies of delivered messages do not
 * outlive them long (SPOOL.md). Without it, a full journal
 * checkpoints on the commit thread.
 */
#define JOURNAL_IDLE	1
int journal_start(void);
void journal_stop(void);
/*
 * Note that qid left queue/, so that a replay does not bring it back
 * (if it may be a message of the journal's generation: room is kept
 * for it); also while the journal is off or a checkpoint runs. Not
 * synced: the next commit's sync carries it, or a checkpoint, or the
 * kernel's writeback (a crash before that delivers the message again:
 * at least once). Any thread.
 */
void journal_gone(const char *qid, enum journal_gone how);

#endif
