/*
 * ticket: the session-ticket keys of every pombo-tlsd worker, in memory
 * shared by them (mapped before the fork), so a ticket one worker issued
 * resumes on another. The key changes every lifetime seconds; tickets
 * of the key before still resume (and get a new ticket), older ones do
 * not: a key stolen later opens no TLS 1.2 session older than two
 * lifetimes. Whichever worker first sees the key is due makes the new
 * one; a sequence count (odd while it writes) keeps readers from a
 * half-written key.
 */
#include "config.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tlsd.h"

struct tkey {
	unsigned char	name[16];
	unsigned char	hmac[32];
	unsigned char	aes[32];
};

struct tshared {
	unsigned	seq;		/* odd: being written */
	int64_t		made;		/* when cur was made (CLOCK_MONOTONIC s) */
	struct tkey	cur, prev;
};

static struct tshared *sh;
static int64_t lifetime;

static int64_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int
fresh(struct tkey *k)
{
	return RAND_priv_bytes((unsigned char *)k, sizeof(*k)) == 1 ? 0 : -1;
}

int
ticket_init(int lifetime_s)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	lifetime = lifetime_s;
	sh->made = now_s();
	/* prev: random too, so it matches nothing anyone was given */
	return fresh(&sh->cur) == -1 || fresh(&sh->prev) == -1 ? -1 : 0;
}

/* If cur is due, one worker makes the next key; the others go on. */
static void
rotate(int64_t now)
{
	unsigned s = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
	struct tkey next, next2;
	int64_t age = now - __atomic_load_n(&sh->made, __ATOMIC_RELAXED);

	if ((s & 1) || age < lifetime || fresh(&next) == -1 ||
	    fresh(&next2) == -1)
		return;
	if (!__atomic_compare_exchange_n(&sh->seq, &s, s + 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;		/* another worker does it */
	/* two lifetimes gone: the old one goes too */
	sh->prev = age < 2 * lifetime ? sh->cur : next2;
	sh->cur = next;
	__atomic_store_n(&sh->made, now, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->seq, s + 2, __ATOMIC_RELEASE);
	OPENSSL_cleanse(&next, sizeof(next));
	OPENSSL_cleanse(&next2, sizeof(next2));
}

/* A consistent copy of the keys; -1 if a writer kept them (no ticket). */
static int
snapshot(struct tkey *cur, struct tkey *prev)
{
	unsigned s1, s2;
	int i;

	for (i = 0; i < 1000; i++) {
		s1 = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		*cur = sh->cur;
		*prev = sh->prev;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&sh->seq, __ATOMIC_RELAXED);
		if (s1 == s2)
			return 0;
	}
	return -1;
}

static int
hmac_key(EVP_MAC_CTX *hctx, const struct tkey *k)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
		    (void *)k->hmac, sizeof(k->hmac)),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * SSL_CTX_set_tlsext_ticket_key_evp_cb(3): enc 1, make a ticket with the
 * current key; enc 0, find the key a ticket names: 2 (resume, and issue
 * a new ticket), 0 (none: a full handshake), -1 (error). Always a new
 * ticket, of the current key: a TLS 1.3 client uses a ticket once (RFC
 * 8446 C.4), and with 1 OpenSSL sends none after a resumption, so every
 * other session would be a full handshake (Postfix's, measured).
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tkey cur, prev;
	const struct tkey *k;
	int rc = -1;

	(void)ssl;
	rotate(now_s());
	if (snapshot(&cur, &prev) == -1)
		return 0;
	if (enc) {
		k = &cur;
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1 ||
		    EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1 || hmac_key(hctx, k) == -1)
			goto out;
		rc = 1;
	} else {
		if (memcmp(name, cur.name, sizeof(cur.name)) == 0)
			k = &cur;
		else if (memcmp(name, prev.name, sizeof(prev.name)) == 0)
			k = &prev;
		else {
			rc = 0;
			goto out;
		}
		if (hmac_key(hctx, k) == -1 || EVP_DecryptInit_ex(ctx,
		    EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
			goto out;
		rc = 2;
	}
out:
	OPENSSL_cleanse(&cur, sizeof(cur));
	OPENSSL_cleanse(&prev, sizeof(prev));
	return rc;
}

int
ticket_setup(SSL_CTX *ctx)
{
	return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) == 1 ?
	    0 : -1;
}
