/*
 * auth_fuzz: the SASL responses of AUTH PLAIN and LOGIN (smtpd, pop3d):
 * the strict base64 decoder (shared/base64.c) and the PLAIN message
 * (shared/login.c, RFC 4616). The input is tried as base64 text, and
 * its bytes, encoded, as a decoded PLAIN message.
 * Invariants: a decoding fits its buffer and is 3/4 of the text less
 * the padding; what is encoded decodes back to the same octets; a PLAIN
 * message accepted has a non-empty authcid and password, no NUL in them,
 * and an authzid (maybe empty) at the start of the buffer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fuzz.h"
#include "login.h"

static void
check_plain(const char *b64)
{
	char buf[LOGIN_SASL_MAX];
	const char *authz = NULL, *user = NULL, *pass = NULL;

	if (login_sasl_plain(b64, buf, sizeof(buf), &authz, &user,
	    &pass) == -1)
		return;
	FUZZ_ASSERT(authz == buf);
	FUZZ_ASSERT(user > buf && user < buf + sizeof(buf));
	FUZZ_ASSERT(pass > user && pass < buf + sizeof(buf));
	FUZZ_ASSERT(user[0] != '\0' && pass[0] != '\0');
	FUZZ_ASSERT(user[-1] == '\0' && pass[-1] == '\0');
	FUZZ_ASSERT(strlen(authz) < (size_t)(user - buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *enc;
	unsigned char *out;
	size_t n = strlen(text), len = 0, outlen, pad;

	/* the input as base64 text, into a buffer of any size */
	outlen = size > 0 ? data[0] : 0;
	out = malloc(outlen + 1);
	if (base64_decode(text, out, outlen, &len) == 0) {
		pad = n >= 1 && text[n - 1] == '=' ? (n >= 2 &&
		    text[n - 2] == '=' ? 2 : 1) : 0;
		FUZZ_ASSERT(n % 4 == 0 && len <= outlen);
		FUZZ_ASSERT(len == n / 4 * 3 - pad);
	}
	free(out);
	check_plain(text);
	/* the input's octets, encoded: they decode back the same */
	enc = malloc(size / 3 * 4 + 5);
	FUZZ_ASSERT(base64_encode(data, size, enc, size / 3 * 4 + 5) == 0);
	FUZZ_ASSERT(strlen(enc) == (size + 2) / 3 * 4);
	out = malloc(size + 1);
	FUZZ_ASSERT(base64_decode(enc, out, size, &len) == 0 && len == size);
	FUZZ_ASSERT(size == 0 || memcmp(out, data, size) == 0);
	free(out);
	/* and as a PLAIN message, whatever its NULs */
	check_plain(enc);
	free(enc);
	free(text);
	return 0;
}
