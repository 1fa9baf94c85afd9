/*
 * auth: where pop3d lets passwords travel. The checks themselves are
 * shared/login.c, the same as smtpd's AUTH.
 */
#include "config.h"

#include "login.h"
#include "pop3d.h"

int
auth_plaintext_ok(const struct pop3_session *s)
{
	return s->tls != NULL || s->local || login_loopback(s->client) ||
	    s->conf->allow_plaintext_auth;
}
