/*
 * peer: who is on the other end of a handler's fd 0: the socket's peer
 * address, or TCPREMOTEIP/REMOTE_ADDR from a launcher that sets them,
 * and whether the session is local (a pipe, a file, a Unix socket).
 * Used by smtpd and pop3d.
 */
#ifndef POMBO_PEER_H
#define POMBO_PEER_H

#include <stddef.h>

struct peer {
	char	addr[64];	/* an IP address, or "local" */
	int	is_socket;	/* not a pipe or file: CRLF is the rule */
	int	local;		/* a pipe, a file or a Unix socket, unless
				 * the launcher names a remote address */
};

void peer_identify(int fd, struct peer *p);

#endif
