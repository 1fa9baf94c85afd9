/*
 * cidr: network parsing and matching with inet_pton(3); an IPv4-mapped
 * IPv6 client (::ffff:192.0.2.1, as a dual-stack socket reports) matches
 * the IPv4 networks.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static int
addr_parse(const char *s, int *family, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		if (memcmp(out, mapped, sizeof(mapped)) == 0) {
			memmove(out, out + 12, 4);
			memset(out + 4, 0, 12);
			*family = AF_INET;
		} else
			*family = AF_INET6;
		return 0;
	}
	return -1;
}

int
cidr_parse(const char *s, struct cidr *out)
{
	char host[64];
	const char *slash;
	size_t hlen;
	long prefix;
	char *end;
	int max;

	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (addr_parse(host, &out->family, out->addr) == -1)
		return -1;
	max = out->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->prefix = max;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 0 || prefix > max)
		return -1;
	out->prefix = (int)prefix;
	return 0;
}

int
cidr_match(const struct cidr *c, const char *addr)
{
	uint8_t a[16];
	int family, bits, i;

	if (addr_parse(addr, &family, a) == -1 || family != c->family)
		return 0;
	bits = c->prefix;
	for (i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & mask) != (c->addr[i] & mask))
			return 0;
	}
	return 1;
}

int
cidr_match_any(const struct cidr *list, size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], addr))
			return 1;
	return 0;
}
