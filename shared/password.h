/*
 * password: checks a password against a crypt(3) hash (yescrypt, SHA-512
 * and whatever libxcrypt knows) in constant time. Used by pop3d and smtpd
 * AUTH. A NULL or locked hash is replaced by a SHA-512 dummy, so a check
 * is made anyway; login.c passes a hash of the users file instead when it
 * has one, so that check costs what the users' own do.
 */
#ifndef POMBO_PASSWORD_H
#define POMBO_PASSWORD_H

#include <stddef.h>

/* 1 if password matches hash; hash may be NULL (unknown user): 0. */
int password_check(const char *hash, const char *password);
/*
 * The length of what in hash sets the cost of checking it: the scheme
 * and its parameters ("$6$rounds=N$", "$y$j9T$", "$2b$12$"), without
 * salt or checksum. Two hashes whose prefixes are equal cost the same
 * crypt(3). Pure.
 */
size_t password_cost_prefix(const char *hash);

#endif
