/*
 * handler: what smtpd and pop3d do first, before they read a byte from
 * their client: load the config, become conf->user when started as
 * root, find out who the client is.
 */
#ifndef POMBO_HANDLER_H
#define POMBO_HANDLER_H

#include "conf.h"
#include "peer.h"

/*
 * ident names the program in syslog; refusal opens the one reply line
 * a client gets when the handler cannot serve it ("421 4.3.0" or
 * "-ERR [SYS/TEMP]"). Returns -1 after that reply, conf freed.
 */
int handler_start(const char *ident, const char *confpath,
    const char *refusal, struct conf *conf, struct peer *peer);

#endif
