/*
 * cidr: IPv4/IPv6 networks ("192.0.2.0/24", "::1/128") and matching
 * addresses against them. Used by conf (relay_networks) and queued's policy;
 * the parser takes untrusted text and is pure.
 */
#ifndef POMBO_CIDR_H
#define POMBO_CIDR_H

#include <stdint.h>
#include <stddef.h>

struct cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];
	int	prefix;
};

/* Parse "addr[/prefix]"; a missing prefix means one host. 0 or -1. */
int cidr_parse(const char *s, struct cidr *out);
/* Does the textual address (IPv4, IPv6, IPv4-mapped IPv6) fall in c? */
int cidr_match(const struct cidr *c, const char *addr);
int cidr_match_any(const struct cidr *list, size_t n, const char *addr);

#endif
