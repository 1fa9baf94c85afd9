/*
 * sockspec: the address of a mail filter or a policy server as
 * pombo.conf names it (Postfix's forms): unix:/path (or local:/path),
 * inet:host:port, inet6:host:port, inet:[v6]:port. The host is a
 * numeric address, localhost, or a DNS name, looked up (blocking)
 * only when asked: queued does it once, at start, so that its loop
 * never waits for DNS. Used by conf.c (the syntax), queued's milter
 * client and its policy delegation.
 */
#ifndef POMBO_SOCKSPEC_H
#define POMBO_SOCKSPEC_H

#include <sys/socket.h>

/*
 * 0: *ss and *len set. 1: well-formed, the host a name, and resolve
 * not set (nothing looked up). -1: malformed, or (resolve set) the
 * name has no address (errno: ENOENT).
 */
int sockspec_parse(const char *spec, int resolve,
    struct sockaddr_storage *ss, socklen_t *len);

#endif
