/*
 * login: who may log in and how: a name and a password checked against
 * users_file (smtpd AUTH, pop3d USER/PASS and AUTH), SASL PLAIN decoding
 * (RFC 4616), and whether passwords may travel on this session at all.
 * Trusts the users file; nothing the client sends.
 */
#ifndef POMBO_LOGIN_H
#define POMBO_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "users.h"

#define LOGIN_SASL_MAX	1024	/* a decoded SASL response */
/*
 * A SASL response line, base64: RFC 4616 2 allows 255 octets each for
 * authzid, authcid and password, 767 with the two NULs, 1024 encoded.
 * The command line limits do not apply to it (RFC 5034 4, RFC 4954 4).
 */
#define LOGIN_SASL_LINE_MAX	1024

enum login_result {
	LOGIN_OK = 0,
	LOGIN_FAIL,	/* unknown user or wrong password: never say which */
	LOGIN_TEMP,	/* the users file cannot be read */
	LOGIN_AUTHZ,	/* right password, but the authzid is someone else */
};

/* 127.0.0.0/8 or ::1 */
int login_loopback(const char *client);
/*
 * The users file entry a login name means: the address itself, or a
 * bare local part in exactly one of the local domains. NULL if none.
 */
const struct user *login_resolve(const struct conf *conf,
    const struct users *u, const char *name);
/*
 * Check name and password; an unknown or locked user costs the same
 * crypt(3)s, one for each kind of hash in the file (see login.c). On
 * success addr is the user's address and, when path is not NULL, path
 * the user's Maildir.
 */
enum login_result login_check(const struct conf *conf, const char *name,
    const char *password, char *addr, size_t addrlen, char *path,
    size_t pathlen);
/*
 * login_check for a SASL login that may name whom it acts for (RFC 4616
 * 2): an authzid that is empty or resolves to the same user is the user;
 * any other gives LOGIN_AUTHZ, and only when the password is right.
 */
enum login_result login_check_as(const struct conf *conf, const char *authzid,
    const char *name, const char *password, char *addr, size_t addrlen,
    char *path, size_t pathlen);
/*
 * After a failed login, wait until start (lineio_now() when the attempt
 * began, before login_check) + delay seconds: the failure is answered at
 * the same moment whatever the check cost, so its timing cannot tell an
 * unknown user from a wrong password, nor one hash from another.
 */
void login_fail_wait(int64_t start, unsigned delay);
/*
 * Decode an AUTH PLAIN response (base64 of authzid NUL authcid NUL
 * passwd) into buf; the three point into buf, authzid "" if none. -1 if
 * malformed; whom the authzid names is login_check_as's question.
 */
int login_sasl_plain(const char *b64, char *buf, size_t buflen,
    const char **authzid, const char **authcid, const char **password);
/* Client text made safe for a log line: printable ASCII only. */
void login_log_safe(char *dst, size_t len, const char *src);
/*
 * The one log line of a failed login, smtpd's AUTH and pop3d's alike:
 * "auth failed: client=IP user=NAME (n of max)", the client first so
 * that no user name can stand in for it (fail2ban's filter anchors on
 * it; units/fail2ban/). user is the name as the client sent it.
 */
void login_log_failure(const char *client, const char *user, unsigned n,
    unsigned max);

#endif
