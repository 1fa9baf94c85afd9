/*
 * password: checks a password against a crypt(3) hash (yescrypt, SHA-512
 * and whatever libxcrypt knows) in constant time. Used by pop3d and smtpd
 * AUTH. A NULL or locked hash is replaced by a SHA-512 dummy, so a check
 * is made anyway; login.c passes a hash of the users file instead when it
 * has one, so that check costs what the users' own do.
 */
#ifndef POMBO_PASSWORD_H
#define POMBO_PASSWORD_H

/* 1 if password matches hash; hash may be NULL (unknown user): 0. */
int password_check(const char *hash, const char *password);

#endif
