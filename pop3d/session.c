/*
 * session: the read-dispatch loop of one POP3 session, its replies and
 * its deadline (RFC 1939 3: an idle client may be logged out after at
 * least 10 minutes; poll deadlines, never signals). A session that ends
 * any other way than QUIT leaves the maildrop exactly as it found it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3d.h"
#include "str.h"

void
pop3d_session_init(struct pop3_session *s, const struct conf *conf, int rfd,
    int wfd, int local, const char *client)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->local = local;
	s->state = ST_AUTHORIZATION;
	str_copy_trunc(s->client, client, sizeof(s->client));
	lineio_init(&s->io, rfd, wfd);
	s->io.write_timeout_ms = (int)conf->pop3_timeout * 1000;
	mailbox_init(&s->mb);
}

void
pop3d_session_free(struct pop3_session *s)
{
	mailbox_close(&s->mb);
	tls_close(s->tls);
	s->tls = NULL;
}

static void
session_vreply(struct pop3_session *s, const char *fmt, va_list ap)
{
	if (lineio_vline(&s->io, 512, fmt, ap) == -1)
		s->quit = 1;
}

void
pop3d_session_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
}

/*
 * A protocol error (unknown command, wrong state, bad syntax): reply,
 * and close after max_errors of them, so no client can loop forever.
 */
void
pop3d_session_error(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= s->conf->max_errors) {
		log_info("too many errors from %s, closing", s->client);
		s->quit = 1;
	}
}

void
pop3d_session_run(struct pop3_session *s)
{
	char line[POP3_AUTH_LINE_MAX + 1];
	enum lineio_result r;
	size_t len;
	int crlf;

	pop3d_session_reply(s, "+OK Pombo POP3 server ready");
	while (!s->quit) {
		r = lineio_read(&s->io, line, POP3_AUTH_LINE_MAX, &len, &crlf,
		    lineio_now() + (int64_t)s->conf->pop3_timeout * 1000);
		/* only AUTH may carry more: a SASL initial response */
		if (r == LINEIO_OK && len > POP3_LINE_MAX &&
		    strncasecmp(line, "AUTH ", 5) != 0) {
			explicit_bzero(line, sizeof(line));
			r = LINEIO_TOOLONG;
		}
		switch (r) {
		case LINEIO_OK:
			/* RFC 1939 3 wants CRLF; a bare LF is taken too */
			if (memchr(line, '\0', len) != NULL)
				pop3d_session_error(s, "-ERR NUL in command");
			else
				pop3d_commands_dispatch(s, line);
			/* the line may have held a password (PASS, AUTH),
			 * whatever became of the command: so may the input
			 * buffer */
			if (strncasecmp(line, "PASS", 4) == 0 ||
			    strncasecmp(line, "AUTH", 4) == 0)
				lineio_forget_consumed(&s->io);
			explicit_bzero(line, sizeof(line));
			break;
		case LINEIO_TOOLONG:
			/* the part that fitted, from an earlier read, may be
			 * a PASS or an AUTH line's: lineio_read copied it */
			explicit_bzero(line, sizeof(line));
			lineio_forget_consumed(&s->io);
			pop3d_session_error(s, "-ERR Command line too long (255 "
			    "octets at most)");
			break;
		case LINEIO_TIMEOUT:
			log_info("timeout from %s%s%s", s->client,
			    s->addr[0] ? " user " : "", s->addr);
			pop3d_session_reply(s, "-ERR Timeout, closing connection");
			s->quit = 1;
			break;
		case LINEIO_EOF:
		case LINEIO_ERROR:
			log_info("%s from %s%s%s", r == LINEIO_EOF ?
			    "disconnect" : "read error", s->client,
			    s->addr[0] ? " user " : "", s->addr);
			s->quit = 1;
			break;
		}
	}
	lineio_flush(&s->io);
}
