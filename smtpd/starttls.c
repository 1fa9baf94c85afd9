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
	int rc;

	/* RFC 3207 4: a 454 when TLS is not available, and on in the clear */
	if ((rc = tls_start_session(&s->io, s->conf->tls_proxy,
	    s->conf->tls_cert, s->conf->tls_key, !s->submission, ready,
	    unavail, (int)s->conf->smtp_timeout * 1000, s->client, "STARTTLS",
	    &s->tls)) != 0)
		return rc;
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
