/*
 * delegate: queued's client of Postfix policy servers (policy_services),
 * asked at each RCPT of a network client, and at the end of its message
 * if policy_end_of_data is set. Used by queued's connections; a server's
 * answer is read with policy_proto's bounded parser and trusted in
 * nothing else. Never blocks the loop: a server down, slow or talking
 * nonsense gives 451 4.3.5 within policy_timeout.
 */
#ifndef POMBO_DELEGATE_H
#define POMBO_DELEGATE_H

#include <stdint.h>

#include "conn.h"
#include "qproto.h"
#include "str.h"

struct delegate_query {
	const char		*state;		/* "RCPT", "END-OF-MESSAGE" */
	const struct qhelo	*helo;
	const char		*sender;	/* without <>; "" for <> */
	const char		*recipient;	/* "" at END-OF-MESSAGE */
	size_t			 rcpt_count;	/* 0 but at END-OF-MESSAGE */
	uint64_t		 size;		/* SIZE=, or the message's */
	const char		*qid;		/* "" before DATA */
	unsigned long		 instance;	/* one per transaction */
};

struct delegate_result {
	int		 accept;
	int		 hold, discard;
	char		 reply[512];		/* when !accept */
	struct buf	 prepend;		/* "Field: value\n" fields */
};

typedef void (*delegate_done_fn)(void *arg, struct delegate_result *r);
struct delegate_req;

void delegate_init(struct queued_ctx *ctx);
/* Whether a session's mail is delegated: policy_services, and a network
 * client (as Postfix's smtpd asks, its pickup does not). */
int delegate_wanted(const struct qhelo *h);
/*
 * Ask the servers in order; done is called once, from the loop, never
 * before this returns (r is the caller's to read until done returns).
 * NULL only when out of memory.
 */
struct delegate_req *delegate_ask(const struct delegate_query *q,
    delegate_done_fn done, void *arg);
/* The asker is gone: done will not be called. */
void delegate_cancel(struct delegate_req *r);

#endif
