/*
 * starttls: STARTTLS (RFC 3207) and implicit TLS (RFC 8314). Whatever the
 * client pipelined after the STARTTLS line is thrown away before the
 * handshake, never read as if it had come encrypted (CVE-2011-0411), and
 * the session starts over: no HELO, no transaction, no AUTH survive.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "smtpd.h"
#include "str.h"

int
starttls_offered(const struct smtp_session *s)
{
	return s->tls == NULL && s->conf->tls_cert[0] && s->conf->tls_key[0];
}

int
starttls_start(struct smtp_session *s, const char *ready, const char *unavail)
{
	char err[256];
	struct tls *t;
	size_t junk;

	/*
	 * The certificate before the 220: a client told to go ahead would
	 * meet a closed connection (RFC 3207 4: 454, and go on in the clear).
	 */
	if ((t = tls_server_new(s->conf->tls_cert, s->conf->tls_key, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s: TLS not available: %s", s->client, err);
		if (unavail)
			session_reply(s, "%s", unavail);
		return 1;
	}
	if (ready)
		session_reply(s, "%s", ready);
	if (lineio_flush(&s->io) == -1) {
		tls_close(t);
		return -1;
	}
	if ((junk = lineio_discard_input(&s->io)) > 0)
		log_warnx("%s: %zu octets pipelined after STARTTLS discarded",
		    s->client, junk);
	if (tls_accept(t, s->io.rfd, s->io.wfd,
	    (int)s->conf->smtp_timeout * 1000, err, sizeof(err)) == -1) {
		log_warnx("%s: TLS failed: %s", s->client, err);
		tls_close(t);
		return -1;
	}
	s->tls = t;
	lineio_set_ops(&s->io, &tls_lineio_ops, s->tls);
	tls_describe(s->tls, s->tls_desc, sizeof(s->tls_desc));
	log_info("%s: TLS %s", s->client, s->tls_desc);
	/* RFC 3207 4.2: forget everything learnt before */
	submit_quit(s);
	session_reset(s);
	s->state = ST_CONNECTED;
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->auth_user[0] = '\0';
	return 0;
}
