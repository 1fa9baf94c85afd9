/*
 * stls: STLS (RFC 2595 4) and implicit TLS (RFC 8314). What the client
 * pipelined after the STLS line is thrown away before the handshake,
 * never read as if it had come encrypted (CVE-2011-0411), and a USER
 * given before it is forgotten: the session starts over in TLS.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "pop3d.h"

int
stls_offered(const struct pop3_session *s)
{
	return s->tls == NULL && s->conf->tls_cert[0] && s->conf->tls_key[0];
}

int
stls_start(struct pop3_session *s, const char *ready, const char *unavail)
{
	char err[256], desc[TLS_DESC_MAX];
	struct tls *t;
	size_t junk;

	/* the certificate before the +OK: a client told to go ahead would
	 * meet a closed connection */
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
		log_warnx("%s: %zu octets pipelined after STLS discarded",
		    s->client, junk);
	if (tls_accept(t, s->io.rfd, s->io.wfd,
	    (int)s->conf->pop3_timeout * 1000, err, sizeof(err)) == -1) {
		log_warnx("%s: TLS failed: %s", s->client, err);
		tls_close(t);
		return -1;
	}
	s->tls = t;
	lineio_set_ops(&s->io, &tls_lineio_ops, s->tls);
	tls_describe(s->tls, desc, sizeof(desc));
	log_info("%s: TLS %s", s->client, desc);
	s->have_user = 0;
	s->user[0] = '\0';
	return 0;
}
