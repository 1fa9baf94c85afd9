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
	char desc[TLS_DESC_MAX];
	int rc;

	if ((rc = tls_start_session(&s->io, s->conf->tls_proxy,
	    s->conf->tls_cert, s->conf->tls_key, 0, ready, unavail,
	    (int)s->conf->pop3_timeout * 1000, s->client, "STLS",
	    &s->tls)) != 0)
		return rc;
	tls_describe(s->tls, desc, sizeof(desc));
	log_info("%s: TLS %s", s->client, desc);
	s->have_user = 0;
	s->user[0] = '\0';
	return 0;
}
