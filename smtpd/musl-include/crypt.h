/*
 * crypt.h for smtpd's musl build alone (smtpd/musl.mk): musl ships none,
 * and libxcrypt's needs glibc's headers. shared/password.c takes only
 * these types from it: it dlopens libcrypt, which a static program cannot,
 * so that build never checks a password itself (smtpd/reexec.c).
 */
#ifndef POMBO_MUSL_CRYPT_H
#define POMBO_MUSL_CRYPT_H

struct crypt_data {
	char opaque[32768];	/* libxcrypt's size */
};
char *crypt_r(const char *phrase, const char *setting,
    struct crypt_data *data);

#endif
