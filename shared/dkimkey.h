/*
 * dkimkey: DKIM private keys (RFC 6376, RFC 8463): load and check a PEM
 * key file (Ed25519, or RSA of at least 2048 bits), and the public key
 * as a DNS record's p= value. Used by queued (every dkim_keys file is
 * checked at start), pombo-remote (signing) and pombo-dkim (keygen,
 * check). Trusts the key file only after OpenSSL has parsed it.
 */
#ifndef POMBO_DKIMKEY_H
#define POMBO_DKIMKEY_H

#include <stddef.h>

#include "addr.h"

#define DKIMKEY_FILE_MAX	(64 * 1024)
#define DKIMKEY_RSA_MIN		2048	/* RFC 8301 3.2: "SHOULD" be 2048 */
#define DKIMKEY_PUB_MAX		1024	/* base64 of a 4096-bit RSA key fits */

enum dkimkey_alg { DKIMKEY_ED25519, DKIMKEY_RSA };

struct dkimkey {
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 selector[ADDR_DOMAIN_MAX + 1];
	enum dkimkey_alg alg;
	unsigned	 bits;
	struct evp_pkey_st *pkey;	/* OpenSSL's EVP_PKEY: parsed once */
};

/* Read and check path; 0, or -1 with err saying why (no path in it). */
int dkimkey_load(struct dkimkey *k, const char *path, char *err,
    size_t errlen);
void dkimkey_free(struct dkimkey *k);
/*
 * The p= value (RFC 6376 3.6.1): base64 of the SubjectPublicKeyInfo
 * (RSA), of the 32 raw octets (Ed25519, RFC 8463 4.2). 0 or -1.
 */
int dkimkey_public(const struct dkimkey *k, char *out, size_t len);
/* "ed25519" or "rsa": the k= tag, and the a= prefix. */
const char *dkimkey_alg_name(enum dkimkey_alg alg);

#endif
