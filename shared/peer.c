/*
 * peer: getpeername() works under inetd, systemd and tcpserver; ENOTSOCK
 * means a pipe: a script or sendmail -bs, a local session.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "peer.h"
#include "str.h"

void
peer_identify(int fd, struct peer *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	static const char *const vars[] = { "TCPREMOTEIP", "REMOTE_ADDR" };
	const char *env;
	unsigned char tmp[16];
	size_t i;

	memset(p, 0, sizeof(*p));
	str_copy_trunc(p->addr, "local", sizeof(p->addr));
	p->is_socket = 1;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1) {
		if (errno == ENOTSOCK) {
			p->is_socket = 0;
			p->local = 1;
		}
		ss.ss_family = AF_UNSPEC;
	}
	if (ss.ss_family == AF_UNIX)
		p->local = 1;
	else if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    p->addr, sizeof(p->addr));
	else if (ss.ss_family == AF_INET6) {
		struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], p->addr,
			    sizeof(p->addr));
		else
			inet_ntop(AF_INET6, a, p->addr, sizeof(p->addr));
	}
	/* tcpserver and some inetds say it in the environment: the first
	 * of these that is an address */
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if ((env = getenv(vars[i])) != NULL &&
		    (inet_pton(AF_INET, env, tmp) == 1 ||
		    inet_pton(AF_INET6, env, tmp) == 1)) {
			/* an IP: fits */
			str_copy_trunc(p->addr, env, sizeof(p->addr));
			p->local = 0;
			break;
		}
}
