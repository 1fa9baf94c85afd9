/*
 * password: checks a password against a crypt(3) hash (yescrypt, SHA-512
 * and whatever libxcrypt knows) in constant time. Used by pop3d and smtpd
 * AUTH. The hash of an unknown user is replaced by a dummy of the same
 * cost, so timing does not tell whether a user exists.
 */
#ifndef POMBO_PASSWORD_H
#define POMBO_PASSWORD_H

/* 1 if password matches hash; hash may be NULL (unknown user): 0. */
int password_check(const char *hash, const char *password);

#endif
