/*
 * addr: RFC 5321 paths and mailboxes (4.1.2), domains and address literals.
 * Used by smtpd (syntax), queued (re-validation of what smtpd sends), the
 * config and users/aliases parsers. Pure functions on untrusted text.
 */
#ifndef POMBO_ADDR_H
#define POMBO_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3, with the brackets */
#define ADDR_MAX	(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

struct addr {
	char	local[ADDR_LOCAL_MAX + 1];	/* as written, quotes kept */
	char	domain[ADDR_DOMAIN_MAX + 1];	/* "" for <> and <postmaster> */
	int	null;				/* the null path <> */
	int	utf8;				/* has non-ASCII octets */
};

enum {
	ADDR_NULL_OK		= 1 << 0,	/* MAIL FROM:<> */
	ADDR_POSTMASTER_OK	= 1 << 1,	/* RCPT TO:<postmaster> */
	ADDR_UTF8_OK		= 1 << 2,	/* SMTPUTF8 given (RFC 6531) */
};

/*
 * Parse a Path ("<" [A-d-l ":"] Mailbox ">") at the start of s; a source
 * route is accepted and dropped (RFC 5321 4.1.1.3 / C). Returns the
 * position after ">" or NULL.
 */
const char *addr_parse_path(const char *s, unsigned flags, struct addr *out);
/* A bare Mailbox, all of s (users file, aliases, config). 0 or -1. */
int addr_parse_mailbox(const char *s, unsigned flags, struct addr *out);
/* "local@domain", "" for the null path, "postmaster" alone; ADDR_MAX + 1
 * octets hold any of them (cut to len - 1 in a smaller buf). */
void addr_format(const struct addr *a, char *buf, size_t len);
/* Domain (RFC 5321 4.1.2) with optional U-labels, not a literal. */
int addr_domain_valid(const char *d, size_t len, int utf8);
/* Domain or address literal, as in EHLO. */
int addr_helo_valid(const char *s, size_t len);
/*
 * The address of an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]",
 * RFC 5321 4.1.3) into out, as inet_pton reads it; -1 for any other.
 */
int addr_literal_ip(const char *s, size_t len, char *out, size_t outlen);
/* The local part without quotes and quoted-pairs, lowercased. */
int addr_local_canon(const char *local, char *buf, size_t len);
int addr_utf8_valid(const char *s, size_t len);
/* The reverse: a canonical local part as a Local-part, quoted if it is
 * not a Dot-string ("bob+x y" -> "\"bob+x y\""). 0 or -1. */
int addr_local_quote(const char *local, char *buf, size_t len);

/*
 * An address as one word of a line that other programs split on
 * blanks (agent jobs, pombo-queue's listing, log lines): "%XX" (two
 * upper-case hex digits) for every octet below 0x21, DEL, '%', '<' and
 * '>'; every other octet, UTF-8 included, stands for itself. A quoted
 * local part may hold any of those (RFC 5321 4.1.2 qtextSMTP); an
 * ordinary address has none, so it encodes to itself and files written
 * before the encoding read the same. The encoded form never holds a
 * blank, a control, '<' or '>'. Both return the length, or -1 if out
 * does not fit (encode) or in is not well-formed (decode: a '%' not
 * followed by two hex digits, an encoded NUL, or an octet that should
 * have been encoded). A failed encode leaves a terminated prefix in
 * out (len > 0), good enough for a log line.
 */
#define ADDR_ENC_MAX	(ADDR_MAX * 3)
int addr_encode(const char *in, char *out, size_t len);
int addr_decode(const char *in, char *out, size_t len);

#endif
