/*
 * conn: queued's end of one handler -> queue protocol connection: the
 * strict decoder, the transaction, streaming data into the spool and
 * handing the file to the group commit. Used by queued's listener.
 * Trusts the peer's uid (SO_PEERCRED) for admin commands, nothing else.
 */
#ifndef POMBO_CONN_H
#define POMBO_CONN_H

#include <sys/types.h>

#include <systemd/sd-event.h>

#include "conf.h"
#include "queue.h"
#include "spool.h"

struct queued_ctx {
	struct conf	*conf;
	struct spool	*spool;
	sd_event	*event;
	/* handler_user's uid, resolved at start; (uid_t)-1 if none */
	uid_t		 handler_uid;
	/* called when a message was committed (scheduling) */
	void		(*on_commit)(struct queued_ctx *, struct qmsg *m);
	/* admin commands (FLUSH, DELETE, ...) answer through this */
	int		(*on_admin)(struct queued_ctx *, int verb,
			    const char *arg, char *reply, size_t len);
};

void conn_setup(struct queued_ctx *ctx);
void conn_accept(int fd);
/* How many connections are open (for the status line). */
unsigned conn_count(void);

#endif
