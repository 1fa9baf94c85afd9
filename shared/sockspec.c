#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "sockspec.h"
#include "str.h"

static int
unix_path(const char *p, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)ss;

	if (p[0] != '/' || strlen(p) >= sizeof(sun->sun_path))
		return -1;
	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, p, strlen(p));
	*len = sizeof(*sun);
	return 0;
}

/* A numeric host: 0; not one: -1. */
static int
numeric(const char *host, int family, unsigned port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family != AF_INET6 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* The first address of a name (in the family asked for, if any). */
static int
lookup(const char *host, int family, unsigned port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;
	char serv[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	str_fmt_trunc(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) != 0) {
		errno = ENOENT;
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
sockspec_parse(const char *spec, int resolve, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char host[256];
	const char *p, *colon, *h;
	size_t hlen;
	char *end;
	long port;
	int family;

	if ((p = str_prefix(spec, "unix:")) != NULL ||
	    (p = str_prefix(spec, "local:")) != NULL)
		return unix_path(p, ss, len);
	if ((p = str_prefix(spec, "inet6:")) != NULL)
		family = AF_INET6;
	else if ((p = str_prefix(spec, "inet:")) != NULL)
		family = AF_UNSPEC;
	else
		return -1;
	if ((colon = strrchr(p, ':')) == NULL || colon == p)
		return -1;
	h = p;
	hlen = (size_t)(colon - p);
	if (p[0] == '[') {
		if (colon[-1] != ']' || hlen < 3)
			return -1;
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (strcmp(host, "localhost") == 0)
		str_copy_trunc(host, family == AF_INET6 ? "::1" : "127.0.0.1",
		    sizeof(host));
	if (numeric(host, family, (unsigned)port, ss, len) == 0)
		return 0;
	/* not a number: a name, or nothing (a bracket is for numbers, and
	 * a name does not end in a number: 127.0.0.1 for inet6 is wrong) */
	if (h != p || !addr_domain_valid(host, strlen(host), 0) ||
	    (host[hlen - 1] >= '0' && host[hlen - 1] <= '9'))
		return -1;
	if (!resolve)
		return 1;
	return lookup(host, family, (unsigned)port, ss, len);
}
