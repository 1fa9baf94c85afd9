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
stls_start(struct pop3_session *s)
{
	char err[256], desc[TLS_DESC_MAX];
	size_t junk;

	if (lineio_flush(&s->io) == -1)
		return -1;
	if ((junk = lineio_discard_input(&s->io)) > 0)
		log_warnx("%s: %zu octets pipelined after STLS discarded",
		    s->client, junk);
	s->tls = tls_server(s->conf->tls_cert, s->conf->tls_key, s->io.rfd,
	    s->io.wfd, (int)s->conf->pop3_timeout * 1000, err, sizeof(err));
	if (s->tls == NULL) {
		log_warnx("%s: TLS failed: %s", s->client, err);
		return -1;
	}
	lineio_set_ops(&s->io, &tls_lineio_ops, s->tls);
	tls_describe(s->tls, desc, sizeof(desc));
	log_info("%s: TLS %s", s->client, desc);
	s->have_user = 0;
	s->user[0] = '\0';
	return 0;
}
