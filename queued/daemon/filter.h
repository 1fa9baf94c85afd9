/*
 * filter: the milters of pombo.conf in step with a queue connection's
 * session (one milter session per connection): connect and HELO when
 * the handler says who the client is, MAIL, each RCPT and DATA as they
 * come, then the content of the received message (after its checks),
 * filter after filter, before its commit. Used by queued's connections;
 * the loop only waits for the filters' answers.
 */
#ifndef POMBO_FILTER_H
#define POMBO_FILTER_H

#include "conn.h"
#include "envelope.h"
#include "qproto.h"

enum filter_verdict {
	FILTER_GO,		/* go on */
	FILTER_REFUSE,		/* refuse with the reply (4xx or 5xx) */
	FILTER_DISCARD,		/* take the message, then drop it */
};

/*
 * A session step's answer. A refusal at HELO (or at connect) holds for
 * the session: the caller refuses every MAIL with it. One at MAIL or
 * DATA refuses the message, one at RCPT that recipient.
 */
typedef void (*filter_step_fn)(void *arg, enum filter_verdict v,
    const char *reply);
/*
 * The end of the content: fd is the file to commit (incoming/<qid>; e's
 * size, data_off, flags, sender and recipients updated to the filters'
 * changes), or -1 and either reply is what the client gets, or it is
 * NULL and the message is discarded (the client is told 250).
 */
typedef void (*filter_done_fn)(void *arg, int fd, const char *reply);

struct filter;

void filter_init(struct queued_ctx *ctx);
int filter_wanted(void);

/* A session; NULL if it cannot be had (logged). */
struct filter *filter_open(filter_step_fn step, void *arg);
/* The session is over; a content run is ended with -1 (done called). */
void filter_close(struct filter *f);

/*
 * The steps: each answers through step, never before it returns; -1
 * if it cannot start (another step waits: a bug).
 */
int filter_helo(struct filter *f, const struct qhelo *h);
int filter_mail(struct filter *f, const char *from, const char *params);
int filter_rcpt(struct filter *f, const char *rcpt);
int filter_data(struct filter *f, const char *qid);
/*
 * The content of incoming/<e->qid>, whose descriptor fd the filter owns
 * from here on; it answers through done (not step). -1 if it could not
 * start (fd closed).
 */
int filter_message(struct filter *f, struct envelope *e, int fd,
    filter_done_fn done, void *arg);
/* The transaction is over without its content: the filters forget it;
 * a step waiting is cancelled (no answer comes). Not during content. */
void filter_abort(struct filter *f);

#endif
