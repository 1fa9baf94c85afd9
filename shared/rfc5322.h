/*
 * rfc5322: the address lists of message header fields (To, Cc, Bcc:
 * RFC 5322 3.4 mailboxes, display names, groups, comments). Used by
 * pombo-sendmail -t; pure, and fuzzed, since it reads what local
 * programs wrote.
 */
#ifndef POMBO_RFC5322_H
#define POMBO_RFC5322_H

#include <stddef.h>

#include "addr.h"

struct buf;

#define RFC5322_MAX_ADDRS 10000

/*
 * Call cb for each mailbox address in value (an unfolded field body).
 * Returns the number of addresses, or -1 on a syntax error (err names
 * the bad part) or when cb returns -1.
 */
int rfc5322_addresses(const char *value, int (*cb)(const char *addr,
    void *ctx), void *ctx, char *err, size_t errlen);
/*
 * The same, but an address without a domain ("root") is taken as
 * local-part@domain, as sendmail does for local programs' headers.
 */
int rfc5322_addresses_in(const char *value, const char *domain,
    int (*cb)(const char *addr, void *ctx), void *ctx, char *err,
    size_t errlen);

/*
 * value (a field body, folded or not) into out with "@domain" given to
 * every address written without one ("root", "<root>", "Cron <root>"),
 * as Postfix's cleanup does to local programs' mail: a reply to it
 * must reach this host, not whatever domain the reader's client
 * guesses. Everything else is left as it was, and so is an address
 * with blanks or comments inside it. -1 if value does not parse or out
 * is full; out then holds nothing of it.
 */
int rfc5322_qualify(const char *value, const char *domain, struct buf *out);

#define RFC5322_FIELD_MAX	(64 * 1024)	/* one unfolded field body */

/*
 * The distinct domains (lowercased) of the addresses of every From:
 * field of a header block (LF or CRLF line ends; it ends at an empty
 * line), at most max of them, each at most ADDR_DOMAIN_MAX octets. A
 * field that does not parse adds nothing, and sets *unread (else 0),
 * as does an address in one without a domain (a group with no
 * member, "<>"). Returns how many, 0 if none.
 * RFC 7489 6.6.1: a message with several author domains has a DMARC
 * check for each; it must not escape by having two From: fields, nor
 * by writing its author so that the check cannot read it while a
 * reader's program shows it (a trailing dot, "ceo.@bank.example").
 */
size_t rfc5322_from_domains(const char *hdr, size_t len,
    char (*domains)[ADDR_DOMAIN_MAX + 1], size_t max, int *unread);
/*
 * The From: fields of a header block, the same way: each one's body,
 * unfolded and NUL-terminated, to cb (NULL: longer than
 * RFC5322_FIELD_MAX). Returns how many From: fields there were.
 */
size_t rfc5322_from_fields(const char *hdr, size_t len,
    void (*cb)(const char *body, void *arg), void *arg);

#endif
