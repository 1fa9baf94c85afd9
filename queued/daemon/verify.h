/*
 * verify: the checks of mail from the Internet (SPF, DKIM, DMARC, by the
 * agent pombo-verify) between the end of its data and its commit. Used
 * by queued's connections; the loop only waits for the agent.
 */
#ifndef POMBO_VERIFY_H
#define POMBO_VERIFY_H

#include "conn.h"
#include "envelope.h"

/*
 * The end of a check: fd is the file to commit (incoming/<qid>, e's size,
 * data_off and flags updated to it), or -1 and reply is what the client
 * gets (refused by DMARC, or 451 when the check itself failed).
 */
typedef void (*verify_done_fn)(void *arg, int fd, const char *reply);

void verify_init(struct queued_ctx *ctx);
/* Whether mail of this client (an envelope's client line) is checked. */
int verify_wanted(const char *client);
/*
 * Check the message in incoming/<e->qid> (msgfd, which verify closes);
 * e must stay until done is called, which is never before this returns.
 * -1 if the check could not start (msgfd closed too).
 */
int verify_start(struct envelope *e, int msgfd, verify_done_fn done,
    void *arg);

#endif
