/*
 * filter: the milters of pombo.conf over a received message, between
 * the end of its data (and its checks) and its commit. Used by queued's
 * connections; the loop only waits for the filters' answers.
 */
#ifndef POMBO_FILTER_H
#define POMBO_FILTER_H

#include "conn.h"
#include "envelope.h"
#include "qproto.h"

/*
 * The end of it: fd is the file to commit (incoming/<qid>; e's size,
 * data_off, flags, sender and recipients updated to the filters'
 * changes), or -1 and either reply is what the client gets, or it is
 * NULL and the message is discarded (the client is told 250).
 */
typedef void (*filter_done_fn)(void *arg, int fd, const char *reply);

void filter_init(struct queued_ctx *ctx);
int filter_wanted(void);
/*
 * Run the milters over incoming/<e->qid>, whose descriptor fd the
 * filter owns from here on; h is the session's HELO (copied). done is
 * never called before this returns; -1 if it could not start (fd
 * closed).
 */
int filter_start(struct envelope *e, const struct qhelo *h, int fd,
    filter_done_fn done, void *arg);

#endif
