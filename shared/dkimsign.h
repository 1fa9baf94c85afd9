/*
 * dkimsign: DKIM signatures (RFC 6376, RFC 8463) on a queued message as
 * the remote agent sends it: relaxed/relaxed, the header fields of RFC
 * 6376 5.4.1, From signed once more than it appears, one signature per
 * key of the From: domain (Ed25519 and RSA side by side), each key
 * parsed once. Used by pombo-remote and pombo-dkim. Trusts its keys
 * (checked by dkimkey) and nothing in the message: the From: field is
 * parsed by rfc5322 and an unparsable one is simply not signed; the
 * header block and the fields signed are bounded.
 */
#ifndef POMBO_DKIMSIGN_H
#define POMBO_DKIMSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "dkimkey.h"
#include "str.h"

#define DKIMSIGN_KEYS_MAX	1024	/* as many as conf lists take */
#define DKIMSIGN_HEADER_MAX	(1024 * 1024)	/* more: not signed */
#define DKIMSIGN_PER_DOMAIN	4

struct dkimsign;

/* A signer without keys; NULL if out of memory. */
struct dkimsign *dkimsign_new(void);
/*
 * Load and check a key (dkimkey_load); 0, or -1 with err. A key that
 * cannot be loaded is remembered: its domain's mail is not signed with
 * the others alone, dkimsign_message fails for it.
 */
int dkimsign_add_key(struct dkimsign *s, const char *domain,
    const char *selector, const char *path, char *err, size_t errlen);
size_t dkimsign_nkeys(const struct dkimsign *s);
void dkimsign_free(struct dkimsign *s);

/*
 * Sign the message at [off, off + size) of fd as mime8_stream gives it
 * (convert: the 8-bit to quoted-printable conversion of a peer without
 * 8BITMIME). On 1 sig holds the DKIM-Signature fields to put on top,
 * CRLF line ends; 0: not signed (no key for the From: domain, no single
 * From: field; why says so); -1 on an error (why).
 */
int dkimsign_message(struct dkimsign *s, int fd, uint64_t off,
    uint64_t size, int convert, struct buf *sig, char *why,
    size_t whylen);

/* The From: domain of a header block (CRLF or LF ends); 0 or -1. */
int dkimsign_from_domain(const char *hdr, size_t len, char *domain,
    size_t dlen);

#endif
