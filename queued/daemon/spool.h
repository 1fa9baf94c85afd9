/*
 * spool: the files of queued's spool (SPOOL.md): create, publish, state,
 * remove, quarantine, scan at start. Used by queued only; the directory
 * descriptors are opened once, so no path from a message is ever built
 * except from a validated queue id.
 */
#ifndef POMBO_SPOOL_H
#define POMBO_SPOOL_H

#include <limits.h>
#include <stdint.h>

#include "envelope.h"

struct spool {
	char	path[PATH_MAX];
	int	dirfd;
	int	incoming;
	int	queue;
	int	state;
	int	quarantine;
	int	free;		/* files of removed messages, for reuse */
	int	mtasts;		/* MTA-STS policies, pombo-remote's cache */
	int	tlsrpt;		/* TLS sessions counted for reports */
};

/* How many removed files free/ keeps, and how big one may stay. */
#define SPOOL_FREE_MAX		1024
#define SPOOL_FREE_SIZE_MAX	(256 * 1024)

/* Create the folders if needed, remove leftovers (SPOOL.md recovery). */
int spool_open(struct spool *sp, const char *path);
void spool_close(struct spool *sp);

/*
 * incoming/<qid>, exclusive; returns the fd. The file may be a reused one
 * with old bytes in it (then *reused is 1): the writer sets its length
 * (spool_set_length) before it is synced.
 */
int spool_create(struct spool *sp, const char *qid, int *reused);
int spool_set_length(int fd, uint64_t length);
/*
 * incoming/<qid>.v: the message as the checks leave it (verify.c), new
 * and exclusive; adopted in incoming/<qid>'s place, or discarded.
 */
int spool_create_aside(struct spool *sp, const char *qid);
int spool_adopt_aside(struct spool *sp, const char *qid);
void spool_discard_aside(struct spool *sp, const char *qid, int fd);
void spool_discard(struct spool *sp, const char *qid, int fd);
/* Move incoming/<qid> to queue/<qid>; durable only after spool_sync_queue. */
int spool_publish(struct spool *sp, const char *qid);
int spool_unpublish(struct spool *sp, const char *qid);
int spool_sync_queue(struct spool *sp);

int spool_open_message(struct spool *sp, const char *qid);
/* Write e's state file (and note in e that it has one). */
int spool_write_state(struct spool *sp, struct envelope *e);
/*
 * The same with no fsync: a remote agent's progress (SPOOL.md). It
 * outlives a crash of queued (the kernel has it); a crash of the machine
 * may lose it, and then those messages go again (at least once).
 */
int spool_write_progress(struct spool *sp, struct envelope *e);
int spool_remove(struct spool *sp, const char *qid);
/*
 * The dead destinations' file (dests), written whole and atomically;
 * read: 0, 1 if there is none, -1 (errno; a file too big for b too).
 */
int spool_write_dests(struct spool *sp, const struct buf *b);
int spool_read_dests(struct spool *sp, struct buf *b);
/*
 * The same, done by a background thread: on a disk whose unlinks are
 * slow (synchronous discard) the loop must not wait for them. A crash
 * before it happens only delivers the message again (at least once).
 */
void spool_remove_later(struct spool *sp, const struct envelope *e);
/*
 * Start and stop that thread (stop finishes what is queued), and the
 * journal's checkpoint thread with it.
 */
int spool_janitor_start(struct spool *sp);
void spool_janitor_stop(void);
int spool_quarantine(struct spool *sp, const char *qid, const char *why);
/* Free bytes for unprivileged use on the spool's file system. */
int spool_free_space(struct spool *sp, uint64_t *bytes);

/* Load every queued message: cb owns the envelope it is given. */
int spool_scan(struct spool *sp, void (*cb)(void *ctx, struct envelope *e),
    void *ctx);
/*
 * The same in steps, so queued can serve while it loads a big queue:
 * spool_scan_step loads up to n messages and returns 1 while more wait.
 */
struct spool_scan;
struct spool_scan *spool_scan_start(struct spool *sp);
int spool_scan_step(struct spool_scan *sc, size_t n,
    void (*cb)(void *ctx, struct envelope *e), void *ctx);
void spool_scan_end(struct spool_scan *sc);

#endif
