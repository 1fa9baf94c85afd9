/*
 * dkimkey: a key file is read whole (bounded) and handed to OpenSSL's
 * PEM reader; the parsed key is kept for every signature (OpenSSL 3
 * takes longer to parse a key than Ed25519 takes to sign).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64.h"
#include "dkimkey.h"
#include "fileio.h"
#include "str.h"

static EVP_PKEY *
parse_pem(const char *pem, size_t len)
{
	EVP_PKEY *pk;
	BIO *bio;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return pk;
}

int
dkimkey_load(struct dkimkey *k, const char *path, char *err, size_t errlen)
{
	struct buf b;
	EVP_PKEY *pk;
	char why[256];

	memset(k, 0, sizeof(*k));
	buf_init(&b, DKIMKEY_FILE_MAX);
	if (fileio_read(path, 0, &b, why, sizeof(why)) == -1) {
		/* "path: reason": the caller names the path itself */
		size_t pl = strlen(path);
		str_copy_trunc(err, strncmp(why, path, pl) == 0 && why[pl] == ':' ?
		    why + pl + 2 : why, errlen);
		buf_free(&b);
		return -1;
	}
	if (b.len == 0 || (pk = parse_pem(b.data, b.len)) == NULL) {
		str_copy_trunc(err, "not a PEM private key", errlen);
		buf_free(&b);
		return -1;
	}
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		k->alg = DKIMKEY_ED25519;
		k->bits = 256;
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		k->alg = DKIMKEY_RSA;
		k->bits = (unsigned)EVP_PKEY_get_bits(pk);
		if (k->bits < DKIMKEY_RSA_MIN) {
			str_fmt_trunc(err, errlen, "an RSA key of %u bits (Pombo signs "
			    "with at least %u, as RFC 8301 3.2 advises)",
			    k->bits, DKIMKEY_RSA_MIN);
			EVP_PKEY_free(pk);
			buf_free(&b);
			return -1;
		}
	} else {
		str_fmt_trunc(err, errlen, "a %s key (DKIM signs with Ed25519 or "
		    "RSA)", EVP_PKEY_get0_type_name(pk));
		EVP_PKEY_free(pk);
		buf_free(&b);
		return -1;
	}
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	k->pkey = pk;
	return 0;
}

void
dkimkey_free(struct dkimkey *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

int
dkimkey_public(const struct dkimkey *k, char *out, size_t len)
{
	unsigned char der[DKIMKEY_PUB_MAX], *p = der;
	size_t n = sizeof(der);
	EVP_PKEY *pk = k->pkey;
	int dl, rc = -1;

	if (pk == NULL)
		return -1;
	if (k->alg == DKIMKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pk, der, &n) == 1)
			rc = base64_encode(der, n, out, len);
	} else if ((dl = i2d_PUBKEY(pk, NULL)) > 0 &&
	    (size_t)dl <= sizeof(der) && i2d_PUBKEY(pk, &p) == dl)
		rc = base64_encode(der, (size_t)dl, out, len);
	return rc < 0 ? -1 : 0;
}

const char *
dkimkey_alg_name(enum dkimkey_alg alg)
{
	return alg == DKIMKEY_ED25519 ? "ed25519" : "rsa";
}
