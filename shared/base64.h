/*
 * base64: RFC 4648 encoding and strict decoding, for SASL (AUTH PLAIN and
 * LOGIN in smtpd, AUTH PLAIN in pop3d). Pure; the decoder is fuzzed.
 */
#ifndef POMBO_BASE64_H
#define POMBO_BASE64_H

#include <stddef.h>

/* Decode s into out (at most outlen octets); -1 on bad input or overflow. */
int base64_decode(const char *s, unsigned char *out, size_t outlen,
    size_t *len);
/* Encode; -1 if out is too small (it needs 4*ceil(n/3)+1). */
int base64_encode(const unsigned char *in, size_t n, char *out,
    size_t outlen);

#endif
