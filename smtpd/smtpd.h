/*
 * smtpd: one SMTP session on stdin/stdout (RFC 5321). The session state,
 * shared by the command table (commands.c), the DATA streamer (session.c)
 * and the queue conversation (submit.c). Trusts nothing from the client;
 * trusts queued's replies.
 */
#ifndef POMBO_SMTPD_H
#define POMBO_SMTPD_H

#include <stdint.h>

#include "conf.h"
#include "esmtp.h"
#include "lineio.h"
#include "qclient.h"
#include "qid.h"
#include "tls.h"

#define SMTP_LINE_MAX		510	/* 512 with CRLF, RFC 5321 4.5.3.1.4 */
#define SMTP_PARAM_LINE_MAX	1022	/* MAIL/RCPT with DSN parameters */
#define SMTP_HELO_MAX		(ADDR_DOMAIN_MAX + 2)
/*
 * NOOP, RSET, VRFY, EXPN, HELP and HELO/EHLO without mail in between: a
 * client that only says those holds a connection slot for nothing.
 */
#define SMTP_JUNK_MAX		100

/* Session states (RFC 5321 3.3): a bit each, for the command table. */
enum {
	ST_CONNECTED	= 1 << 0,	/* greeting sent, no HELO yet */
	ST_GREETED	= 1 << 1,	/* HELO/EHLO done, no transaction */
	ST_MAIL		= 1 << 2,	/* MAIL accepted */
	ST_RCPT		= 1 << 3,	/* at least one RCPT accepted */
};
#define ST_ANY (ST_CONNECTED | ST_GREETED | ST_MAIL | ST_RCPT)

struct smtp_session {
	const struct conf	*conf;
	struct lineio		 io;
	unsigned		 state;
	int			 esmtp;
	int			 local;		/* stdin is a pipe or file */
	int			 quit;
	unsigned		 errors;
	unsigned		 junk;		/* commands since the last mail */
	char			 client[64];	/* IP address, or "local" */
	char			 helo[SMTP_HELO_MAX + 1];
	int			 submission;	/* --submission: AUTH first */
	struct tls		*tls;		/* after STARTTLS/implicit TLS */
	char			 tls_desc[TLS_DESC_MAX];
	char			 auth_user[ADDR_MAX + 1];	/* "" if none */
	unsigned		 auth_failures;

	/* the transaction */
	struct mail_args	 mail;
	unsigned		 nrcpt;
	char			 rcpt1[ADDR_MAX + 1];	/* for Received: for */
	char			 qid[QID_LEN + 1];

	struct qclient		 q;		/* open from the first MAIL */
};

/* session.c */
void smtpd_session_init(struct smtp_session *s, const struct conf *conf,
    int rfd, int wfd, int local, const char *client);
void smtpd_session_run(struct smtp_session *s);
/* The session after its greeting: read and answer commands until QUIT. */
void smtpd_session_loop(struct smtp_session *s);
void smtpd_session_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtpd_queue_reply(struct smtp_session *s, const char *reply);
void smtpd_session_error(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int session_junk(struct smtp_session *s);
void session_reset(struct smtp_session *s);
int64_t session_deadline(const struct smtp_session *s);

/* commands.c */
void smtpd_commands_dispatch(struct smtp_session *s, char *line, size_t len);
/* The protocol name of the session so far (RFC 3848, 6531). */
const char *session_proto(const struct smtp_session *s, int utf8);

/* tls: STARTTLS (RFC 3207) and implicit TLS (RFC 8314) */
int starttls_offered(const struct smtp_session *s);
/*
 * Load the certificate and key; if they fail, reply unavail (when not
 * NULL) and return 1: the session goes on in the clear. Else reply ready
 * (when not NULL) and shake hands: 0, or -1 and the session is over.
 */
int starttls_start(struct smtp_session *s, const char *ready,
    const char *unavail);

/* auth.c: AUTH PLAIN and LOGIN (RFC 4954) */
int auth_offered(const struct smtp_session *s);
void auth_command(struct smtp_session *s, char *arg);
/* In submission mode: may the user send as this address? */
int auth_owns(const struct smtp_session *s, const struct addr *from);

/* submit.c: the conversation with queued */
int submit_mail(struct smtp_session *s, char *reply, size_t len);
int submit_rcpt(struct smtp_session *s, const char *arg, char *reply,
    size_t len);
int submit_data(struct smtp_session *s);
void submit_rset(struct smtp_session *s);
/* VRFY/EXPN through queued, which knows the users and aliases. */
int submit_verify(struct smtp_session *s, const char *verb, const char *arg,
    char *reply, size_t len);
void submit_quit(struct smtp_session *s);
/* Read the message from the client and stream it; replies itself. */
void submit_stream(struct smtp_session *s);

#endif
