/*
 * listener: accepts the handlers' connections on queued's socket, and
 * stops accepting while it must: at the connection ceiling the
 * descriptor limit allows, or when accept() finds no descriptor or
 * memory. Used by queued's main and by conn (a connection closed).
 * Trusts nothing: what a peer may do is conn's business.
 */
#ifndef POMBO_LISTENER_H
#define POMBO_LISTENER_H

#include <systemd/sd-event.h>

#include "conf.h"

/* Watch the listening socket fd (non-blocking) from the loop. */
int listener_start(sd_event *e, int fd, const struct conf *c);
/* A connection closed: accept again if that is what stopped it. */
void listener_resume(void);

#endif
