/*
 * ctxcache: pombo-tlsd's server contexts. Each request stats the
 * certificate and the key (two stat calls: cheap beside a handshake) so
 * a renewed pair is served by the next session, as the in-process TLS
 * that reads them per session does. The ticket keys (ticket.c) are the
 * same in every context and worker: a ticket from one resumes on
 * another, and on the context made again after a renewal.
 *
 * The files are read in the event loop, so only regular files of a
 * bounded size are: a FIFO or a device named there would block every
 * session of the worker. Symbolic links are followed (certbot's live/).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "log.h"
#include "str.h"
#include "tls_ciphers.h"
#include "tlsd.h"

#define CTXCACHE_MAX	8
#define CTXCACHE_FILE_MAX	(1024 * 1024)	/* a chain of a few PEMs */

struct fileid {
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtime;
};

struct entry {
	char		*cert, *key;
	int		 mx;
	struct fileid	 certid, keyid;
	SSL_CTX		*ctx;
	uint64_t	 used;		/* for LRU */
};

static struct entry cache[CTXCACHE_MAX];
static uint64_t clock_uses;

static int
fileid(const char *path, struct fileid *id, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		str_fmt_trunc(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CTXCACHE_FILE_MAX) {
		str_fmt_trunc(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ?
		    "larger than 1 MB" : "not a regular file");
		return -1;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	return 0;
}

static int
same(const struct fileid *a, const struct fileid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void
ssl_error(const char *what, char *err, size_t errlen)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		str_fmt_trunc(err, errlen, "%s: %s", what, buf);
	} else
		str_fmt_trunc(err, errlen, "%s failed", what);
	ERR_clear_error();
}

/*
 * The whole of path in a memory BIO: opened without blocking (a FIFO
 * swapped in since the stat), a regular file of CTXCACHE_FILE_MAX at
 * most, read to its end.
 */
static BIO *
slurp(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	BIO *bio = NULL;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		str_fmt_trunc(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CTXCACHE_FILE_MAX) {
		str_fmt_trunc(err, errlen, "%s: not a regular file of 1 MB at "
		    "most", path);
		goto out;
	}
	/* one more octet: a file that grew is seen */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		str_fmt_trunc(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got <= (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			str_fmt_trunc(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size) {
		str_fmt_trunc(err, errlen, "%s: changed while read", path);
		goto out;
	}
	/* BIO_new_mem_buf does not copy: a BIO of its own does */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    BIO_write(bio, buf, (int)got) != (int)got) {
		BIO_free(bio);
		bio = NULL;
		ssl_error(path, err, errlen);
	}
out:
	if (buf) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);	/* a key */
		free(buf);
	}
	close(fd);
	return bio;
}

/* no passphrase is asked for (OpenSSL's default reads the terminal) */
static int
no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* The certificate, then its chain, from the file's PEM blocks. */
static int
load_chain(SSL_CTX *ctx, const char *cert, char *err, size_t errlen)
{
	X509 *x;
	BIO *bio;
	int r = -1;

	if ((bio = slurp(cert, err, errlen)) == NULL)
		return -1;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL)) ==
	    NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		ssl_error(cert, err, errlen);
		goto out;
	}
	X509_free(x);
	SSL_CTX_clear_chain_certs(ctx);
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL))) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ssl_error(cert, err, errlen);
			goto out;
		}
	}
	/* the end of the file, or a block that is no certificate */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		ssl_error(cert, err, errlen);
		goto out;
	}
	ERR_clear_error();
	r = 0;
out:
	BIO_free(bio);
	return r;
}

static int
load_key(SSL_CTX *ctx, const char *key, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	BIO *bio;
	int r = 0;

	if ((bio = slurp(key, err, errlen)) == NULL)
		return -1;
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) ==
	    NULL || SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(key, err, errlen);
		r = -1;
	}
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return r;
}

/* As shared/tls.c's tls_new and tls_server_new make theirs. */
static SSL_CTX *
make(const char *cert, const char *key, int mx, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_error("SSL_CTX_new", err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_CLEANSE_PLAINTEXT
	/* OpenSSL's record buffers hold what it decrypted until the next
	 * record: cleared once read, as tlsd's own buffers are */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
#endif
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a FIN without close_notify is an end, not an error that would
	 * drop the handler's last reply (a 221 after QUIT) */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (SSL_CTX_set_cipher_list(ctx, mx ? TLS_MX_CIPHERS :
	    TLS_SERVER_CIPHERS) != 1) {
		ssl_error("TLS cipher list", err, errlen);
		goto fail;
	}
	SSL_CTX_set_dh_auto(ctx, 1);
	if (load_chain(ctx, cert, err, errlen) == -1 ||
	    load_key(ctx, key, err, errlen) == -1)
		goto fail;
	if (ticket_setup(ctx) == -1) {
		ssl_error("ticket keys", err, errlen);
		goto fail;
	}
	/* the relay keeps what it could not write where it is */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void
entry_clear(struct entry *e)
{
	free(e->cert);
	free(e->key);
	SSL_CTX_free(e->ctx);
	memset(e, 0, sizeof(*e));
}

SSL_CTX *
ctxcache_get(const char *cert, const char *key, int mx, char *err,
    size_t errlen)
{
	struct fileid cid, kid;
	struct entry *e = NULL, *lru = &cache[0];
	SSL_CTX *ctx;
	char *c, *k;
	size_t i;

	if (fileid(cert, &cid, err, errlen) == -1 ||
	    fileid(key, &kid, err, errlen) == -1)
		return NULL;
	for (i = 0; i < CTXCACHE_MAX; i++) {
		if (cache[i].ctx && cache[i].mx == mx &&
		    strcmp(cache[i].cert, cert) == 0 &&
		    strcmp(cache[i].key, key) == 0)
			e = &cache[i];
		if (cache[i].used < lru->used)
			lru = &cache[i];
	}
	if (e && same(&e->certid, &cid) && same(&e->keyid, &kid)) {
		e->used = ++clock_uses;
		return e->ctx;
	}
	if ((ctx = make(cert, key, mx, err, errlen)) == NULL)
		return NULL;
	if ((c = strdup(cert)) == NULL || (k = strdup(key)) == NULL) {
		free(c);
		SSL_CTX_free(ctx);
		str_copy_trunc(err, "out of memory", errlen);
		return NULL;
	}
	log_info("%s %s (%s)", e ? "reloaded" : "loaded", cert,
	    mx ? "MX ciphers" : "submission ciphers");
	/* sessions under way keep their reference to the old one */
	if (e == NULL)
		e = lru;
	entry_clear(e);
	e->cert = c;
	e->key = k;
	e->mx = mx;
	e->certid = cid;
	e->keyid = kid;
	e->ctx = ctx;
	e->used = ++clock_uses;
	return ctx;
}

void
ctxcache_free(void)
{
	size_t i;

	for (i = 0; i < CTXCACHE_MAX; i++)
		entry_clear(&cache[i]);
}

void
ctxcache_describe(SSL *ssl, char *buf, size_t len)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	str_fmt_trunc(buf, len, "%s/%s/%d", SSL_get_version(ssl),
	    c ? SSL_CIPHER_get_name(c) : "none",
	    c ? SSL_CIPHER_get_bits(c, NULL) : 0);
}
