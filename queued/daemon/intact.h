/*
 * intact: is a queued message's file still what was committed? Its length
 * against the envelope's, checked before each delivery, and the notice
 * the postmaster gets when it is not (SPOOL.md, "quarantine/"). Used by
 * queued's scheduler; the notice's text is a pure function.
 */
#ifndef POMBO_INTACT_H
#define POMBO_INTACT_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "str.h"

/* Recipients a notice lists by name; the rest are counted. */
#define INTACT_NOTICE_RCPTS	50

/*
 * 0 if queue/<qid> (queuefd is the queue/ folder) no longer holds the
 * message e was committed with (or is no regular file of queued's user
 * any more), why saying how; 1 if it does, or if that cannot be told
 * (the file cannot be looked at: the agent says).
 */
int intact_check(int queuefd, const struct envelope *e, char *why,
    size_t len);
/*
 * The notice to postmaster@hostname that e was set aside in spool_dir's
 * quarantine/ folder and why: the queue id, sender and recipients, never
 * a line of the message.
 */
int intact_notice(const struct envelope *e, const char *hostname,
    const char *spool_dir, const char *why, int64_t now, struct buf *out);

#endif
