/*
 * dnswire: record data as libunbound hands it over (RFC 1035 3.3 wire
 * format; unbound stores names inside rdata uncompressed) read into the
 * remote agent's structs: MX, TLSA and TXT, and what both resolvers'
 * answers mean (the null MX, MX order). Used by resolve.c and dns.c; pure, and
 * fuzzed (tests/fuzz/dnswire_fuzz.c). Trusts nothing: what does not
 * parse is -1, and the caller leaves that record out.
 */
#ifndef POMBO_DNSWIRE_H
#define POMBO_DNSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

/* a TLSA record's data: a digest (32, 64) or a whole certificate or key */
#define DNSWIRE_TLSA_DATA_MAX	4096

struct dnswire_tlsa {
	uint8_t		usage, selector, mtype;	/* RFC 6698 2.1 */
	size_t		len;
	unsigned char	data[DNSWIRE_TLSA_DATA_MAX];
};

/*
 * The name at p (len octets there): its text, "a.b.c" without the
 * final dot ("" for the root) in out, and the octets it took in *used.
 * -1 for a compression pointer, a label of other octets than letters,
 * digits, '-' and '_', a name longer than outlen - 1 or one running
 * past len.
 */
int dnswire_name(const unsigned char *p, size_t len, size_t *used,
    char *out, size_t outlen);
/* An MX record's data (RFC 1035 3.3.9): preference and host, nothing
 * after it. The null MX's "." is host "". */
int dnswire_mx(const unsigned char *rd, size_t len, struct dns_mx *mx);
/* A TLSA record's data (RFC 6698 2.1): three octets and at least one
 * of association data, at most DNSWIRE_TLSA_DATA_MAX. */
int dnswire_tlsa(const unsigned char *rd, size_t len,
    struct dnswire_tlsa *t);
/*
 * A TXT record's data (RFC 1035 3.3.14): its strings joined into one
 * text in out (RFC 7208 3.3, RFC 8461 3.1), NUL-terminated. -1 for no
 * string, a string running past len, a NUL octet, or a text longer than
 * outlen - 1.
 */
int dnswire_txt(const unsigned char *rd, size_t len, char *out,
    size_t outlen);

/*
 * What both resolvers' answers mean, without either library (dns.c's
 * c-ares, resolve.c's libunbound):
 */
/* The null MX of RFC 7505: one record, preference 0, target ".". */
int dns_is_null_mx(const struct dns_mx *mx, size_t n);
/* Sort by preference, shuffle ties: pure but for the random source. */
void dns_sort_mx(struct dns_mx *mx, size_t n, unsigned (*rnd)(void));
const char *dns_result_text(enum dns_result r);

#endif
