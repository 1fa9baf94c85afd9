/*
 * auth: SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, checked
 * against users_file with crypt(3). Offered under TLS, on a pipe, from
 * loopback, or everywhere with allow_plaintext_auth. A failure is answered
 * login_delay after the check began and counts; neither the reply nor its
 * timing says whether the user exists.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "log.h"
#include "login.h"
#include "reexec.h"
#include "smtpd.h"
#include "str.h"

#define AUTH_LINE_MAX	LOGIN_SASL_LINE_MAX
#define AUTH_DECODED_MAX LOGIN_SASL_MAX

int
auth_offered(const struct smtp_session *s)
{
	return s->tls != NULL || s->local || login_loopback(s->client) ||
	    s->conf->allow_plaintext_auth;
}

/* Read one SASL response line; -1 on EOF/timeout, 1 if cancelled. */
static int
read_response(struct smtp_session *s, char *line, size_t max)
{
	size_t len;
	int crlf;

	switch (lineio_read(&s->io, line, max, &len, &crlf,
	    session_deadline(s))) {
	case LINEIO_OK:
		break;
	case LINEIO_TOOLONG:
		/* RFC 4954 4: the exchange ends, the session goes on */
		smtpd_session_error(s, "500 5.5.6 Authentication Exchange line is "
		    "too long");
		return 1;
	case LINEIO_TIMEOUT:
		smtpd_session_reply(s, "421 4.4.2 %s Timeout, closing connection",
		    s->conf->hostname);
		s->quit = 1;
		return -1;
	default:
		s->quit = 1;
		return -1;
	}
	if (strcmp(line, "*") == 0) {
		smtpd_session_error(s, "501 5.0.0 Authentication cancelled");
		return 1;
	}
	return 0;
}

static int
decode(const char *b64, char *out, size_t *len)
{
	if (base64_decode(b64, (unsigned char *)out, AUTH_DECODED_MAX - 1,
	    len) == -1)
		return -1;
	out[*len] = '\0';
	return 0;
}

/* authz: whom PLAIN's authzid names, "" for the user itself */
static void
verify(struct smtp_session *s, const char *authz, const char *user,
    const char *pass)
{
	char addr[ADDR_MAX + 1];
	int64_t start = lineio_now();

	/* in smtpd-full when this smtpd cannot run crypt(3): reexec.h */
	switch (reexec_login_check(s->conf, authz, user, pass, addr,
	    sizeof(addr))) {
	case LOGIN_TEMP:
		smtpd_session_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	case LOGIN_OK:
		str_copy_trunc(s->auth_user, addr, sizeof(s->auth_user));
		log_info("%s: authenticated as %s", s->client, s->auth_user);
		/* a queue connection opened before (MAIL then RSET) knows
		 * the client without it: the next one says auth= */
		submit_quit(s);
		smtpd_session_reply(s, "235 2.7.0 Authentication successful");
		return;
	case LOGIN_AUTHZ:
		/* RFC 4954 4, RFC 4616 2: not a decoding error, so not 501 */
		log_warnx("%s: %s may not act as another user", s->client,
		    addr);
		smtpd_session_error(s, "535 5.7.8 Not authorized to act as that "
		    "user");
		return;
	case LOGIN_FAIL:
		break;
	}
	login_log_failure(s->client, user, ++s->auth_failures,
	    s->conf->max_login_failures);
	lineio_flush(&s->io);
	login_fail_wait(start, s->conf->login_delay);
	if (s->auth_failures >= s->conf->max_login_failures) {
		smtpd_session_reply(s, "421 4.7.0 %s Too many authentication failures",
		    s->conf->hostname);
		s->quit = 1;
		return;
	}
	smtpd_session_reply(s, "535 5.7.8 Authentication credentials invalid");
}

static void
auth_plain(struct smtp_session *s, const char *initial)
{
	char line[AUTH_LINE_MAX + 1], dec[LOGIN_SASL_MAX];
	const char *authz, *user, *pass;

	if (initial == NULL) {
		smtpd_session_reply(s, "334 ");
		if (read_response(s, line, AUTH_LINE_MAX) != 0)
			goto out;
		initial = line;
	}
	if (login_sasl_plain(strcmp(initial, "=") == 0 ? "" : initial, dec,
	    sizeof(dec), &authz, &user, &pass) == -1) {
		smtpd_session_error(s, "501 5.5.2 Cannot decode the AUTH PLAIN response");
		goto out;
	}
	verify(s, authz, user, pass);
out:
	explicit_bzero(dec, sizeof(dec));
	explicit_bzero(line, sizeof(line));
}

static void
auth_login(struct smtp_session *s, const char *initial)
{
	char line[AUTH_LINE_MAX + 1], user[AUTH_DECODED_MAX];
	char pass[AUTH_DECODED_MAX];
	size_t len;

	pass[0] = '\0';
	if (initial == NULL) {
		smtpd_session_reply(s, "334 VXNlcm5hbWU6");	/* "Username:" */
		if (read_response(s, line, AUTH_LINE_MAX) != 0)
			goto out;
		initial = line;
	}
	if (decode(initial, user, &len) == -1 || memchr(user, '\0', len)) {
		smtpd_session_error(s, "501 5.5.2 Cannot decode the user name");
		goto out;
	}
	smtpd_session_reply(s, "334 UGFzc3dvcmQ6");		/* "Password:" */
	if (read_response(s, line, AUTH_LINE_MAX) != 0)
		goto out;
	if (decode(line, pass, &len) == -1 || memchr(pass, '\0', len)) {
		smtpd_session_error(s, "501 5.5.2 Cannot decode the password");
		goto out;
	}
	verify(s, "", user, pass);
out:
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(line, sizeof(line));
}

void
auth_command(struct smtp_session *s, char *arg)
{
	char *mech = arg, *initial;

	if (s->auth_user[0]) {
		smtpd_session_error(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (!auth_offered(s)) {
		smtpd_session_error(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism");
		return;
	}
	if ((initial = strchr(arg, ' ')) != NULL)
		*initial++ = '\0';
	if (strcasecmp(mech, "PLAIN") == 0)
		auth_plain(s, initial);
	else if (strcasecmp(mech, "LOGIN") == 0)
		auth_login(s, initial);
	else
		smtpd_session_error(s, "504 5.5.4 Unrecognized authentication type");
	/*
	 * The password was also in the initial response and in the input
	 * already consumed: the session loop clears both after any AUTH
	 * line, also one refused before it came here (503, 538).
	 */
}

int
auth_owns(const struct smtp_session *s, const struct addr *from)
{
	char local[ADDR_LOCAL_MAX + 1], addr[ADDR_MAX + 1];
	const char *d;
	size_t i;

	if (from->null || addr_local_canon(from->local, local,
	    sizeof(local)) == -1)
		return 0;
	/* user+tag@domain is the user's too */
	for (i = 0; s->conf->recipient_delimiter[i]; i++)
		if ((d = strchr(local, s->conf->recipient_delimiter[i])) != NULL &&
		    d != local)
			local[d - local] = '\0';
	if (str_fmt(addr, sizeof(addr), "%s@%s", local, from->domain) == -1)
		return 0;	/* cut, it could be the user's and is not */
	return strcasecmp(addr, s->auth_user) == 0;
}
