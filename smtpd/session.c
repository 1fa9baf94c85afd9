/*
 * session: the read-dispatch loop of one SMTP session, its replies,
 * deadlines (poll, RFC 5321 4.5.3.2 timeouts) and error budget.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "qproto.h"
#include "smtpd.h"
#include "str.h"

/*
 * s must be zeroed already (static storage): clearing it here would
 * touch its 64 KiB of I/O buffers, pages a short session never needs.
 */
void
smtpd_session_init(struct smtp_session *s, const struct conf *conf, int rfd,
    int wfd, int local, const char *client)
{
	s->conf = conf;
	s->local = local;
	s->state = ST_CONNECTED;
	s->q.fd = -1;
	str_copy_trunc(s->client, client, sizeof(s->client));
	lineio_init(&s->io, rfd, wfd);
	s->io.write_timeout_ms = (int)conf->smtp_timeout * 1000;
}

int64_t
session_deadline(const struct smtp_session *s)
{
	return lineio_now() + (int64_t)s->conf->smtp_timeout * 1000;
}

static void
session_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	if (lineio_vline(&s->io, 1024, fmt, ap) == -1)
		s->quit = 1;
}

void
smtpd_session_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
}

/*
 * A reply from queued, passed on. A 421 there (a filter's, a queued
 * shutting down) closes the connection, as RFC 5321 3.8 says of 421: the
 * client hears it and the session ends, rather than meeting the same
 * refusal at every later command.
 */
void
smtpd_queue_reply(struct smtp_session *s, const char *reply)
{
	const char *text, *p, *nl;

	/* line by line: a long reply of many lines (EXPN) is not cut */
	for (p = reply; (nl = strstr(p, "\r\n")) != NULL; p = nl + 2)
		smtpd_session_reply(s, "%.*s", (int)(nl - p), p);
	smtpd_session_reply(s, "%s", p);
	if (qproto_parse_reply(reply, &text) == 421) {
		log_info("%s: queue said 421, closing", s->client);
		submit_quit(s);
		s->quit = 1;
	}
}

/* A protocol error: reply, and close after max_errors of them. */
void
smtpd_session_error(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= s->conf->max_errors) {
		log_info("too many errors from %s, closing", s->client);
		smtpd_session_reply(s, "421 4.7.0 %s Too many errors, closing "
		    "connection", s->conf->hostname);
		s->quit = 1;
	}
}

/*
 * A command that moved no mail: NOOP, RSET and the like, or a MAIL or
 * RCPT that was refused. After SMTP_JUNK_MAX of them since the last
 * message, close: the client holds a slot for nothing, or tries
 * addresses (RCPT says which exist) for ever. -1 when closing.
 */
int
session_junk(struct smtp_session *s)
{
	if (++s->junk <= SMTP_JUNK_MAX)
		return 0;
	log_info("too many commands without mail from %s, closing",
	    s->client);
	smtpd_session_reply(s, "421 4.7.0 %s Too many commands without mail, "
	    "closing connection", s->conf->hostname);
	s->quit = 1;
	return -1;
}

void
session_reset(struct smtp_session *s)
{
	memset(&s->mail, 0, sizeof(s->mail));
	s->nrcpt = 0;
	s->rcpt1[0] = '\0';
	s->qid[0] = '\0';
	if (s->state & (ST_MAIL | ST_RCPT))
		s->state = ST_GREETED;
}

void
smtpd_session_run(struct smtp_session *s)
{
	smtpd_session_reply(s, "220 %s ESMTP Pombo", s->conf->hostname);
	smtpd_session_loop(s);
}

void
smtpd_session_loop(struct smtp_session *s)
{
	char line[SMTP_PARAM_LINE_MAX + 1];
	enum lineio_result r;
	size_t len;
	int crlf, auth;

	while (!s->quit) {
		r = lineio_read(&s->io, line, SMTP_PARAM_LINE_MAX, &len,
		    &crlf, session_deadline(s));
		switch (r) {
		case LINEIO_OK:
			auth = strncasecmp(line, "AUTH", 4) == 0;
			smtpd_commands_dispatch(s, line, len);
			/*
			 * An AUTH line's initial response is a password,
			 * whatever became of the command (535, 501, but
			 * also 503 in a transaction or once authenticated,
			 * 538): cleared here, as pop3d clears its lines,
			 * with what the input buffer held of it.
			 */
			explicit_bzero(line, len);
			if (auth)
				lineio_forget_consumed(&s->io);
			break;
		case LINEIO_TOOLONG:
			/* the part that fitted may be an AUTH line's */
			explicit_bzero(line, sizeof(line));
			lineio_forget_consumed(&s->io);
			smtpd_session_error(s, "500 5.5.2 Line too long (512 octets "
			    "at most)");
			break;
		case LINEIO_TIMEOUT:
			log_info("timeout from %s", s->client);
			smtpd_session_reply(s, "421 4.4.2 %s Timeout, closing "
			    "connection", s->conf->hostname);
			s->quit = 1;
			break;
		case LINEIO_EOF:
		case LINEIO_ERROR:
			log_debug("%s from %s", r == LINEIO_EOF ?
			    "disconnect" : "read error", s->client);
			s->quit = 1;
			break;
		}
	}
	lineio_flush(&s->io);
	submit_quit(s);
}
