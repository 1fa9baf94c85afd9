/*
 * commands: the SMTP command table (RFC 5321 4.1.1). Each check only
 * validates and replies on failure; each proceed acts. Replies use the
 * codes of RFC 5321 4.2 and the enhanced codes of RFC 3463.
 */
#include "config.h"

#include <string.h>

#include "cmdtab.h"
#include "log.h"
#include "smtpd.h"
#include "str.h"

#define S(v) struct smtp_session *s = (v)

static int
check_noarg(void *v, char *arg)
{
	S(v);

	if (*arg != '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: no parameters allowed");
		return -1;
	}
	return 0;
}

static int
check_helo(void *v, char *arg)
{
	S(v);

	if (*arg == '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: EHLO hostname");
		return -1;
	}
	if (strlen(arg) > SMTP_HELO_MAX || !addr_helo_valid(arg, strlen(arg))) {
		smtpd_session_error(s, "501 5.5.4 Invalid domain name");
		return -1;
	}
	return 0;
}

/* A new HELO/EHLO resets the session (RFC 5321 4.1.4). */
static void
greet(struct smtp_session *s, char *arg, int esmtp)
{
	if (s->state & (ST_MAIL | ST_RCPT))
		submit_rset(s);
	session_reset(s);
	str_copy_trunc(s->helo, arg, sizeof(s->helo));	/* checked: fits */
	s->esmtp = esmtp;
	s->state = ST_GREETED;
	/* the queue learns the new name from a new connection */
	submit_quit(s);
}

static void
proceed_helo(void *v, char *arg)
{
	S(v);

	greet(s, arg, 0);
	smtpd_session_reply(s, "250 %s", s->conf->hostname);
}

static void
proceed_ehlo(void *v, char *arg)
{
	S(v);

	greet(s, arg, 1);
	smtpd_session_reply(s, "250-%s Hello %s", s->conf->hostname, s->helo);
	smtpd_session_reply(s, "250-PIPELINING");
	smtpd_session_reply(s, "250-SIZE %llu",
	    (unsigned long long)s->conf->max_message_size);
	smtpd_session_reply(s, "250-8BITMIME");
	smtpd_session_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_session_reply(s, "250-SMTPUTF8");
	if (starttls_offered(s))
		smtpd_session_reply(s, "250-STARTTLS");
	if (auth_offered(s) && s->auth_user[0] == '\0')
		smtpd_session_reply(s, "250-AUTH PLAIN LOGIN");
	smtpd_session_reply(s, "250 DSN");
}

const char *
session_proto(const struct smtp_session *s, int utf8)
{
	/* RFC 3848 and RFC 6531 3.7.4: S for TLS, A for AUTH */
	static const char *names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->esmtp)
		return "SMTP";
	return names[utf8 != 0][s->tls != NULL][s->auth_user[0] != '\0'];
}

static int
check_starttls(void *v, char *arg)
{
	S(v);

	if (!starttls_offered(s)) {
		smtpd_session_error(s, s->tls ? "503 5.5.1 TLS already active" :
		    "502 5.5.1 STARTTLS not available");
		return -1;
	}
	return check_noarg(v, arg);
}

static void
proceed_starttls(void *v, char *arg)
{
	S(v);

	if (starttls_start(s, "220 2.0.0 Ready to start TLS",
	    "454 4.7.0 TLS not available due to temporary reason") == -1)
		s->quit = 1;	/* a failed handshake ends the session */
}

static int
check_auth(void *v, char *arg)
{
	S(v);

	if (*arg == '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: AUTH mechanism");
		return -1;
	}
	return 0;
}

static void
proceed_auth(void *v, char *arg)
{
	S(v);

	auth_command(s, arg);
}

static int
check_mail(void *v, char *arg)
{
	S(v);
	struct esmtp_err err;

	if (s->submission && s->auth_user[0] == '\0') {
		smtpd_session_error(s, "530 5.7.0 Authentication required");
		return -1;
	}
	if (esmtp_parse_mail(arg, s->esmtp, &s->mail, &err) == -1) {
		smtpd_session_error(s, "%d %s", err.code, err.msg);
		return -1;
	}
	if (s->submission && !auth_owns(s, &s->mail.from)) {
		char from[ADDR_MAX + 1];
		addr_format(&s->mail.from, from, sizeof(from));
		smtpd_session_error(s, "553 5.7.1 <%s>: Sender address not owned by "
		    "user %s", from, s->auth_user);
		return -1;
	}
	if (s->mail.size > s->conf->max_message_size) {
		smtpd_session_reply(s, "552 5.3.4 Message size exceeds fixed limit "
		    "of %llu octets",
		    (unsigned long long)s->conf->max_message_size);
		session_junk(s);
		return -1;
	}
	return 0;
}

static void
proceed_mail(void *v, char *arg)
{
	S(v);
	char reply[QCLIENT_REPLY_MAX];
	int code;

	code = submit_mail(s, reply, sizeof(reply));
	smtpd_queue_reply(s, reply);
	if (code >= 200 && code < 300) {
		s->state = ST_MAIL;
		s->nrcpt = 0;
	} else
		session_junk(s);
}

static int
check_rcpt(void *v, char *arg)
{
	S(v);
	struct rcpt_args r;
	struct esmtp_err err;

	if (esmtp_parse_rcpt(arg, s->esmtp, s->mail.smtputf8, &r, &err) == -1) {
		smtpd_session_error(s, "%d %s", err.code, err.msg);
		return -1;
	}
	if (s->nrcpt >= s->conf->max_recipients) {
		/* not junk: a client sending a long list is told to send
		 * the rest in another transaction (RFC 5321 4.5.3.1.10) */
		smtpd_session_reply(s, "452 4.5.3 Too many recipients");
		return -1;
	}
	if (s->nrcpt == 0)
		addr_format(&r.to, s->rcpt1, sizeof(s->rcpt1));
	return 0;
}

/*
 * Apart from proceed_rcpt, whose frame would otherwise hold these 13 KB
 * in every RCPT and put the queue conversation below it three pages
 * deeper in the stack (page faults, issue 19).
 */
static void __attribute__((noinline))
rcpt_refused(struct smtp_session *s, const char *arg, const char *reply)
{
	char enc[ADDR_ENC_MAX + 1], text[QCLIENT_REPLY_MAX * 3];

	/* encoded: the client's text writes no fields of its own,
	 * nor does the reply that echoes its address */
	addr_encode(arg, enc, sizeof(enc));
	log_info("%s rejected RCPT %.300s: %s", s->client, enc,
	    log_text(reply, text, sizeof(text)));
	session_junk(s);
}

static void
proceed_rcpt(void *v, char *arg)
{
	S(v);
	char reply[QCLIENT_REPLY_MAX];
	int code;

	code = submit_rcpt(s, arg, reply, sizeof(reply));
	smtpd_queue_reply(s, reply);
	if (code >= 200 && code < 300) {
		s->nrcpt++;
		s->state = ST_RCPT;
	} else
		rcpt_refused(s, arg, reply);
}

static int
check_data(void *v, char *arg)
{
	S(v);

	if (check_noarg(v, arg) == -1)
		return -1;
	if (s->nrcpt == 0) {
		smtpd_session_error(s, "554 5.5.1 No valid recipients");
		return -1;
	}
	return 0;
}

static void
proceed_data(void *v, char *arg)
{
	S(v);

	if (submit_data(s) == -1) {
		smtpd_queue_reply(s, "451 4.3.0 Queue unavailable, try again "
		    "later");
		return;
	}
	smtpd_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	/*
	 * out now, and before queued hears DATA: the client sends while
	 * queued makes the queue file, rather than waiting for it
	 */
	lineio_flush(&s->io);
	submit_stream(s);
}

static void
proceed_rset(void *v, char *arg)
{
	S(v);

	if (s->state & (ST_MAIL | ST_RCPT))
		submit_rset(s);
	session_reset(s);
	smtpd_session_reply(s, "250 2.0.0 Ok");
}

static void
proceed_noop(void *v, char *arg)
{
	S(v);

	smtpd_session_reply(s, "250 2.0.0 Ok");
}

static void
proceed_quit(void *v, char *arg)
{
	S(v);

	smtpd_session_reply(s, "221 2.0.0 %s closing connection", s->conf->hostname);
	s->quit = 1;
}

static int
check_arg(void *v, char *arg)
{
	S(v);

	if (*arg == '\0') {
		smtpd_session_error(s, "501 5.5.4 Syntax: an argument is required");
		return -1;
	}
	return 0;
}

static void
proceed_vrfy(void *v, char *arg)
{
	S(v);
	char reply[QCLIENT_REPLY_MAX];

	/* RFC 5321 3.5.3: 252 when we will not say (the default) */
	if (!s->conf->enable_vrfy) {
		smtpd_session_reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
		    "message and attempt delivery");
		return;
	}
	submit_verify(s, "VRFY", arg, reply, sizeof(reply));
	smtpd_queue_reply(s, reply);
}

static void
proceed_expn(void *v, char *arg)
{
	S(v);
	char reply[QCLIENT_REPLY_MAX];

	if (!s->conf->enable_expn) {
		smtpd_session_reply(s, "502 5.5.1 EXPN not available");
		return;
	}
	submit_verify(s, "EXPN", arg, reply, sizeof(reply));
	smtpd_queue_reply(s, reply);
}

static void
proceed_help(void *v, char *arg)
{
	S(v);

	smtpd_session_reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET "
	    "NOOP QUIT VRFY EXPN HELP STARTTLS AUTH");
	smtpd_session_reply(s, "214 2.0.0 See RFC 5321 (Pombo)");
}

static void
proceed_turn(void *v, char *arg)
{
	S(v);

	smtpd_session_error(s, "502 5.5.1 TURN is obsolete (RFC 5321 4.1.1)");
}

static void
proceed_unknown(void *v, char *arg)
{
	S(v);

	smtpd_session_error(s, "500 5.5.2 Command unrecognized");
}

/* CMD_JUNK: moves no mail forward (Postfix's junk commands) */
static const struct cmdtab smtp_commands[] = {
	{ "HELO", ST_ANY, CMD_JUNK, NULL, check_helo, proceed_helo },
	{ "EHLO", ST_ANY, CMD_JUNK, NULL, check_helo, proceed_ehlo },
	/* parameters (RFC 1870, 3461) and SASL responses lengthen these */
	{ "MAIL", ST_GREETED, CMD_LONG,
	  "503 5.5.1 Nested MAIL command",
	  check_mail, proceed_mail },
	{ "RCPT", ST_MAIL | ST_RCPT, CMD_LONG,
	  "503 5.5.1 Need MAIL before RCPT",
	  check_rcpt, proceed_rcpt },
	{ "DATA", ST_MAIL | ST_RCPT, 0,
	  "503 5.5.1 Need MAIL and RCPT before DATA",
	  check_data, proceed_data },
	{ "RSET", ST_ANY, CMD_JUNK, NULL, check_noarg, proceed_rset },
	{ "NOOP", ST_ANY, CMD_JUNK, NULL, NULL, proceed_noop },
	{ "QUIT", ST_ANY, 0, NULL, check_noarg, proceed_quit },
	{ "VRFY", ST_ANY, CMD_JUNK, NULL, check_arg, proceed_vrfy },
	{ "EXPN", ST_ANY, CMD_JUNK, NULL, check_arg, proceed_expn },
	{ "HELP", ST_ANY, CMD_JUNK, NULL, NULL, proceed_help },
	{ "TURN", ST_ANY, 0, NULL, NULL, proceed_turn },
	{ "STARTTLS", ST_CONNECTED | ST_GREETED, 0,
	  "503 5.5.1 STARTTLS inside a transaction", check_starttls,
	  proceed_starttls },
	{ "AUTH", ST_GREETED, CMD_LONG,
	  "503 5.5.1 AUTH needs EHLO and no transaction",
	  check_auth, proceed_auth },
	{ NULL, ST_ANY, 0, NULL, NULL, proceed_unknown },
};

void
smtpd_commands_dispatch(struct smtp_session *s, char *line, size_t len)
{
	const struct cmdtab *c;
	char *arg;

	if (memchr(line, '\0', len) != NULL) {
		smtpd_session_error(s, "500 5.5.2 NUL octet in command");
		return;
	}
	c = cmdtab_find(smtp_commands, line, &arg);
	if (len > SMTP_LINE_MAX && !(c->flags & CMD_LONG)) {
		smtpd_session_error(s, "500 5.5.2 Line too long (512 octets at most)");
		return;
	}
	if ((c->flags & CMD_JUNK) && session_junk(s) == -1)
		return;
	if (!(c->states & s->state)) {
		smtpd_session_error(s, "%s", s->state == ST_CONNECTED ?
		    "503 5.5.1 Send HELO/EHLO first" : c->badseq);
		return;
	}
	if (c->check != NULL && c->check(s, arg) == -1)
		return;
	c->proceed(s, arg);
}
