/*
 * smtpc: the client side of one SMTP connection (RFC 5321): connect with
 * a deadline, read multi-line replies, EHLO and its extensions, send
 * commands and message data. Used by the remote agent. Trusts nothing the
 * server says: replies are bounded and checked, line by line.
 */
#ifndef POMBO_SMTPC_H
#define POMBO_SMTPC_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "lineio.h"
#include "tls.h"

#define SMTPC_LINE_MAX		2048	/* a reply line, generous */
#define SMTPC_REPLY_LINES	100
#define SMTPC_TEXT_MAX		1000	/* what we keep of a reply */

enum {
	EXT_PIPELINING	= 1 << 0,
	EXT_SIZE	= 1 << 1,
	EXT_8BITMIME	= 1 << 2,
	EXT_SMTPUTF8	= 1 << 3,
	EXT_DSN		= 1 << 4,
	EXT_STARTTLS	= 1 << 5,
	EXT_ENHANCED	= 1 << 6,
};

struct smtpc_reply {
	int	code;			/* -1: connection lost or garbage */
	char	text[SMTPC_TEXT_MAX + 1]; /* "250 2.0.0 text" (first line) */
};

struct smtpc {
	int		fd;
	struct tls	*tls;
	char		tls_desc[TLS_DESC_MAX];
	unsigned	ext;
	uint64_t	size_limit;	/* SIZE n, 0 if none */
	char		peer_name[ADDR_DOMAIN_MAX + 1];	/* from the greeting */
	unsigned	timeout_ms;
	struct lineio	io;
};

/* One reply line: its code, and whether more lines follow. -1: garbage. */
int smtpc_reply_line(const char *line, int *code, int *more);
/* The extensions in EHLO reply lines (without "250-"); pure. */
unsigned smtpc_parse_ehlo(const char *keyword_line, uint64_t *size_limit);

int smtpc_connect(struct smtpc *c, const struct dns_addr *a,
    unsigned connect_ms, unsigned timeout_ms, char *err, size_t errlen);
void smtpc_close(struct smtpc *c);
/* Read one whole reply; with ehlo, collects the extensions too. */
int smtpc_read(struct smtpc *c, struct smtpc_reply *r, unsigned timeout_ms,
    int ehlo);
int smtpc_send(struct smtpc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send a queued message (LF form) as SMTP data: CRLF, dot-stuffing,
 * the final CRLF "." CRLF. Converts 8-bit text to quoted-printable when
 * to7bit is set. prefix (CRLF line ends, prefixlen octets; may be 0)
 * goes first: header fields made for this copy, such as DKIM-Signature.
 * 0; -1 if the connection failed; -2 if the message could not be read
 * whole, -3 if the server spoke before the end of the data: the
 * connection is then closed, without the dot. */
int smtpc_send_message(struct smtpc *c, int fd, uint64_t off, uint64_t size,
    int to7bit, const char *prefix, size_t prefixlen);

#endif
