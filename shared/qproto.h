/*
 * qproto: the handler -> queue protocol (DESIGN.md), text lines ending in
 * LF, one SMTP reply line back for every line sent. Used by queued (the
 * strict decoder) and by smtpd, pombo-sendmail and pombo-queue (clients).
 * The decoder trusts nothing: smtpd faces the Internet.
 */
#ifndef POMBO_QPROTO_H
#define POMBO_QPROTO_H

#include <stddef.h>

#include "addr.h"

#define QPROTO_VERSION		1
#define QPROTO_LINE_MAX		2048	/* MAIL/RCPT with every parameter */
#define QPROTO_CHUNK_MAX	(1024 * 1024)
#define QPROTO_AUTH_MAX		ADDR_MAX
#define QPROTO_TLS_MAX		128

enum qcmd_verb {
	QCMD_POMBO,	/* POMBO <version> */
	QCMD_HELO,	/* HELO <proto> <client-addr> <helo-name> [auth=] [tls=] */
	QCMD_MAIL,	/* MAIL <path> [params] */
	QCMD_RCPT,	/* RCPT <path> [params] */
	QCMD_DATA,	/* DATA, then chunks */
	QCMD_RSET,
	QCMD_QUIT,
	QCMD_FLUSH,	/* FLUSH [queue-id]: retry deferred mail now */
	QCMD_LIST,	/* LIST: the queue, one line each, then "250" */
	QCMD_SHOW,	/* SHOW <queue-id> */
	QCMD_DELETE,	/* DELETE <queue-id> */
	QCMD_HOLD,	/* HOLD <queue-id> */
	QCMD_RELEASE,	/* RELEASE <queue-id> */
	QCMD_VRFY,	/* VRFY <address>: 250/550 (enable_vrfy) */
	QCMD_EXPN,	/* EXPN <address>: "250-" lines (enable_expn) */
	QCMD_TLSRPT,	/* TLSRPT: mail the TLS reports (RFC 8460) now */
	QCMD_STATS,	/* STATS: the queue's numbers, "250-" lines */
};

struct qcmd {
	enum qcmd_verb	 verb;
	const char	*arg;		/* points into the line; "" if none */
};

/* Session protocols, as in Received: ... with <proto> (RFC 3848). */
#define QPROTO_PROTOS "SMTP ESMTP ESMTPS ESMTPA ESMTPSA LOCAL"

struct qhelo {
	char	proto[8];
	char	client[64];		/* an IP address or "local" */
	char	helo[ADDR_DOMAIN_MAX + 3];
	char	auth[QPROTO_AUTH_MAX + 1];
	char	tls[QPROTO_TLS_MAX + 1];
};

/* 0 or -1; the line has no LF. */
int qproto_parse_cmd(const char *line, struct qcmd *out);
int qproto_parse_helo(const char *arg, struct qhelo *out);
/* "<n>" -> n (0 ends the message), "ABORT" -> -2, else -1. */
long qproto_parse_chunk(const char *line);
/* "250 2.0.0 text": code and the text after it; -1 if malformed. */
int qproto_parse_reply(const char *line, const char **text);
int qproto_qid_valid(const char *s);

#endif
