/*
 * pop3d: one POP3 session on stdin/stdout (RFC 1939, RFC 2449). The
 * session state shared by the read loop (session.c), the command table
 * (commands.c), the login (auth.c) and the maildrop (mailbox.c). Trusts
 * nothing from the client; trusts the config and the users file.
 */
#ifndef POMBO_POP3D_H
#define POMBO_POP3D_H

#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "lineio.h"
#include "login.h"
#include "mailbox.h"
#include "tls.h"
#include "users.h"

/* RFC 2449 4: a command is at most 255 octets with its CRLF */
#define POP3_LINE_MAX	253
/*
 * RFC 5034 4 asks clients to keep AUTH with its initial response within
 * that too, but a longer one is read rather than refused: a SASL response
 * may need LOGIN_SASL_LINE_MAX octets.
 */
#define POP3_AUTH_LINE_MAX	(sizeof("AUTH PLAIN ") - 1 + LOGIN_SASL_LINE_MAX)

/* Session states (RFC 1939 3): a bit each, for the command table. */
enum {
	ST_AUTHORIZATION	= 1 << 0,	/* greeting sent, not logged in */
	ST_TRANSACTION		= 1 << 1,	/* logged in, mailbox locked */
	ST_UPDATE		= 1 << 2,	/* QUIT given: commit, then close */
};

struct pop3_session {
	const struct conf	*conf;
	struct lineio		 io;
	unsigned		 state;
	int			 quit;
	unsigned		 errors;	/* protocol errors */
	unsigned		 failures;	/* failed logins */
	int			 local;		/* stdin is a pipe or file */
	char			 client[64];	/* IP address, or "local" */
	struct tls		*tls;		/* after STLS or implicit TLS */
	int			 have_user;	/* USER given, PASS expected */
	char			 user[POP3_LINE_MAX + 1];	/* USER's name */
	char			 addr[ADDR_MAX + 1];	/* who logged in */
	struct mailbox		 mb;

	/* what a command's check parsed for its proceed */
	size_t			 msgno;		/* 0-based message index */
	int			 has_msgno;	/* LIST, UIDL: one, not all */
	uint64_t		 lines;		/* TOP's body lines */
};

/* session.c */
void pop3d_session_init(struct pop3_session *s, const struct conf *conf,
    int rfd, int wfd, int local, const char *client);
void pop3d_session_run(struct pop3_session *s);
void pop3d_session_free(struct pop3_session *s);
void pop3d_session_reply(struct pop3_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pop3d_session_error(struct pop3_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* commands.c */
void pop3d_commands_dispatch(struct pop3_session *s, char *line);

/* stls.c: STLS (RFC 2595) and implicit TLS (RFC 8314) */
int stls_offered(const struct pop3_session *s);
/*
 * Load the certificate and key; if they fail, reply unavail (when not
 * NULL) and return 1, the session going on in the clear. Else reply
 * ready (when not NULL), discard pipelined input, shake hands, forget
 * USER: 0, or -1 to close.
 */
int stls_start(struct pop3_session *s, const char *ready,
    const char *unavail);

/* auth.c */
/*
 * May passwords be sent here: under TLS, on a pipe, from loopback, or
 * anywhere with allow_plaintext_auth (DESIGN: passwords only over TLS).
 */
int auth_plaintext_ok(const struct pop3_session *s);

#endif
