/*
 * tls: the OpenSSL functions we use are looked up once in libssl.so.3
 * (which brings libcrypto), through a table, so no program links
 * OpenSSL. Descriptors are made non-blocking under TLS: a partial record
 * must not block a read past its deadline, so SSL_ERROR_WANT_* become
 * EAGAIN and lineio polls the way tls_events names (a read may need to
 * write, and a write to read).
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "str.h"
#include "tls.h"
#include "tls_ciphers.h"
#include "tlshandover.h"

#define FNS \
	F(TLS_server_method) F(TLS_client_method) F(SSL_CTX_new) \
	F(SSL_CTX_free) F(SSL_CTX_use_certificate_chain_file) \
	F(SSL_CTX_use_PrivateKey_file) F(SSL_CTX_check_private_key) \
	F(SSL_CTX_ctrl) F(SSL_CTX_set_options) \
	F(SSL_CTX_set_default_verify_paths) F(SSL_CTX_load_verify_locations) \
	F(SSL_CTX_set_verify) F(SSL_new) F(SSL_free) F(SSL_set_rfd) \
	F(SSL_set_wfd) F(SSL_set_fd) F(SSL_accept) F(SSL_connect) \
	F(SSL_read) F(SSL_write) F(SSL_pending) F(SSL_get_error) \
	F(SSL_shutdown) F(SSL_get_version) F(SSL_get_current_cipher) \
	F(SSL_CIPHER_get_name) F(SSL_CIPHER_get_bits) F(SSL_set1_host) \
	F(SSL_ctrl) F(SSL_get_verify_result) F(ERR_get_error) \
	F(SSL_get0_peer_certificate) \
	F(ERR_error_string_n) F(X509_verify_cert_error_string) \
	F(SSL_is_init_finished) F(SSL_CTX_set_cipher_list) \
	F(SSL_CTX_dane_enable) F(SSL_dane_enable) F(SSL_dane_tlsa_add) \
	F(SSL_get0_dane_authority) F(SSL_get0_dane_tlsa) F(SSL_add1_host) \
	F(SSL_set_hostflags) F(SSL_set_verify) F(SSL_dane_set_flags)

#define F(name) static __typeof__(&name) p_##name;
FNS
#undef F

struct tls {
	SSL_CTX	*ctx;
	SSL	*ssl;
	int	 rfd, wfd;
	int	 fatal;		/* SSL_ERROR_SSL or _SYSCALL seen: no shutdown */
	short	 want;		/* POLLIN or POLLOUT, after the last WANT_* */
	int	 proxied;	/* pombo-tlsd has the TLS; rfd is its socket */
	char	 desc[TLS_DESC_MAX];	/* tlsd's tls_describe, if proxied */
};

static int loaded;	/* 0 not tried, 1 ok, -1 failed */

static int
tls_load(char *err, size_t errlen)
{
	void *h;

	if (loaded)
		return loaded == 1 ? 0 : (str_copy_trunc(err, "libssl.so.3 is "
		    "missing", errlen), -1);
	loaded = -1;
	if ((h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		str_fmt_trunc(err, errlen, "cannot load libssl.so.3: %s", dlerror());
		return -1;
	}
#define F(name) \
	if ((p_##name = (__typeof__(&name))dlsym(h, #name)) == NULL) { \
		str_fmt_trunc(err, errlen, "libssl.so.3 lacks %s", #name); \
		return -1; \
	}
	FNS
#undef F
	loaded = 1;
	return 0;
}

int
tls_available(void)
{
	char err[128];

	return tls_load(err, sizeof(err)) == 0;
}

static void
ssl_error(const char *what, char *err, size_t errlen)
{
	char buf[256];
	unsigned long e = p_ERR_get_error();

	if (e) {
		p_ERR_error_string_n(e, buf, sizeof(buf));
		str_fmt_trunc(err, errlen, "%s: %s", what, buf);
	} else
		str_fmt_trunc(err, errlen, "%s failed%s%s", what, errno ? ": " : "",
		    errno ? strerror(errno) : "");
}

static int
is_ip(const char *host)
{
	unsigned char ip[16];

	return inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/*
 * SSL_shutdown must not be called after a fatal error (SSL_get_error(3)):
 * remember one, and tls_close then only frees.
 */
static void
tls_failed(struct tls *t, int e)
{
	if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL)
		t->fatal = 1;
}

/* Drive a handshake step until done, polling within the deadline. */
static int
handshake(struct tls *t, int (*step)(SSL *), int timeout_ms, char *err,
    size_t errlen)
{
	int64_t deadline = lineio_now() + timeout_ms;
	int r, e;

	for (;;) {
		errno = 0;
		if ((r = step(t->ssl)) == 1)
			return 0;
		e = p_SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_failed(t, e);
			ssl_error("TLS handshake", err, errlen);
			return -1;
		}
		r = e == SSL_ERROR_WANT_READ ?
		    lineio_wait(t->rfd, POLLIN, deadline) :
		    lineio_wait(t->wfd, POLLOUT, deadline);
		if (r == 0) {
			str_copy_trunc(err, "TLS handshake timed out", errlen);
			return -1;
		}
		if (r == -1) {
			str_fmt_trunc(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static struct tls *
tls_new(const SSL_METHOD *method, char *err, size_t errlen)
{
	struct tls *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		str_copy_trunc(err, "out of memory", errlen);
		return NULL;
	}
	if ((t->ctx = p_SSL_CTX_new(method)) == NULL) {
		ssl_error("SSL_CTX_new", err, errlen);
		free(t);
		return NULL;
	}
	/* TLS 1.2 at least; no compression, no renegotiation */
	p_SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION,
	    NULL);
	p_SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	return t;
}

struct tls *
tls_server_new(const char *cert, const char *key, int mx, char *err,
    size_t errlen)
{
	struct tls *t;

	if (tls_load(err, errlen) == -1 ||
	    (t = tls_new(p_TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	if (p_SSL_CTX_set_cipher_list(t->ctx, mx ? TLS_MX_CIPHERS :
	    TLS_SERVER_CIPHERS) != 1) {
		ssl_error("TLS cipher list", err, errlen);
		goto fail;
	}
	p_SSL_CTX_set_options(t->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a client's FIN without close_notify: an end, as in pombo-tlsd */
	p_SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
#ifdef SSL_OP_CLEANSE_PLAINTEXT
	/*
	 * OpenSSL keeps what it decrypted in its record buffer until the
	 * next record overwrites it: an AUTH line (a password in base64)
	 * stayed there after auth.c cleared its own copies.
	 */
	p_SSL_CTX_set_options(t->ctx, SSL_OP_CLEANSE_PLAINTEXT);
#endif
	/* DHE with the RFC 7919 group that fits the key, not our own */
	p_SSL_CTX_ctrl(t->ctx, SSL_CTRL_SET_DH_AUTO, 1, NULL);
	if (p_SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		ssl_error(cert, err, errlen);
		goto fail;
	}
	if (p_SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    p_SSL_CTX_check_private_key(t->ctx) != 1) {
		ssl_error(key, err, errlen);
		goto fail;
	}
	if ((t->ssl = p_SSL_new(t->ctx)) == NULL) {
		ssl_error("SSL_new", err, errlen);
		goto fail;
	}
	return t;
fail:
	tls_close(t);
	return NULL;
}

int
tls_accept(struct tls *t, int rfd, int wfd, int timeout_ms, char *err,
    size_t errlen)
{
	t->rfd = rfd;
	t->wfd = wfd;
	nonblock(rfd);
	nonblock(wfd);
	p_SSL_set_rfd(t->ssl, rfd);
	p_SSL_set_wfd(t->ssl, wfd);
	return handshake(t, p_SSL_accept, timeout_ms, err, errlen);
}

struct tls *
tls_client(int fd, const char *host, enum tls_verify v, const char *cafile,
    int timeout_ms, char *err, size_t errlen)
{
	struct tls *t;
	long vr;

	/*
	 * The client keeps OpenSSL's default suites, CBC and static RSA
	 * included: its TLS is mostly opportunistic (RFC 7435, RFC 3207), and
	 * against a peer MTA that has nothing better, such TLS still beats
	 * the plaintext a refused handshake would fall back to. The peer's
	 * order decides, as it is its server.
	 */
	if (tls_load(err, errlen) == -1 ||
	    (t = tls_new(p_TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (v != TLS_VERIFY_NONE) {
		if ((cafile && *cafile ?
		    p_SSL_CTX_load_verify_locations(t->ctx, cafile, NULL) :
		    p_SSL_CTX_set_default_verify_paths(t->ctx)) != 1) {
			ssl_error("CA certificates", err, errlen);
			goto fail;
		}
		/* TLS_VERIFY_CHECK: the result is kept, the handshake goes
		 * on (tls_verify_result) */
		p_SSL_CTX_set_verify(t->ctx, v == TLS_VERIFY_PEER ?
		    SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	}
	if ((t->ssl = p_SSL_new(t->ctx)) == NULL) {
		ssl_error("SSL_new", err, errlen);
		goto fail;
	}
	t->rfd = t->wfd = fd;
	nonblock(fd);
	p_SSL_set_fd(t->ssl, fd);
	/* RFC 6066 3: a name, never an address literal */
	if (!is_ip(host))
		p_SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
		    TLSEXT_NAMETYPE_host_name, (void *)host);
	if (v != TLS_VERIFY_NONE && p_SSL_set1_host(t->ssl, host) != 1) {
		ssl_error("SSL_set1_host", err, errlen);
		goto fail;
	}
	if (handshake(t, p_SSL_connect, timeout_ms, err, errlen) == -1) {
		if (v == TLS_VERIFY_PEER &&
		    (vr = p_SSL_get_verify_result(t->ssl)) != X509_V_OK)
			str_fmt_trunc(err, errlen, "certificate of %s: %s", host,
			    p_X509_verify_cert_error_string(vr));
		goto fail;
	}
	return t;
fail:
	tls_close(t);
	return NULL;
}

struct tls *
tls_client_dane(int fd, const char *base, const char *const *names,
    size_t nnames, const struct tls_tlsa *tlsa, size_t n, int timeout_ms,
    char *match, size_t matchlen, char *err, size_t errlen)
{
	static const char *const usages[] = { "PKIX-TA", "PKIX-EE", "DANE-TA",
	    "DANE-EE" };
	struct tls *t;
	uint8_t u, s, m;
	const unsigned char *data;
	size_t i, dlen;
	int usable = 0, depth;
	long vr;

	match[0] = '\0';
	if (tls_load(err, errlen) == -1 ||
	    (t = tls_new(p_TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (p_SSL_CTX_dane_enable(t->ctx) <= 0) {
		ssl_error("SSL_CTX_dane_enable", err, errlen);
		goto fail;
	}
	if ((t->ssl = p_SSL_new(t->ctx)) == NULL) {
		ssl_error("SSL_new", err, errlen);
		goto fail;
	}
	/* RFC 7672 8.1: SNI is the TLSA base domain */
	p_SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
	    TLSEXT_NAMETYPE_host_name, (void *)base);
	if (p_SSL_dane_enable(t->ssl, base) <= 0) {
		ssl_error("SSL_dane_enable", err, errlen);
		goto fail;
	}
	/*
	 * RFC 7672 3.1.1: DANE-EE(3) binds the key alone, no name checks
	 * (OpenSSL makes them unless told); 3.2.3: "*" only as the whole
	 * left-most label.
	 */
	p_SSL_dane_set_flags(t->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	p_SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (i = 0; i < nnames; i++)
		if (p_SSL_add1_host(t->ssl, names[i]) != 1) {
			ssl_error("SSL_add1_host", err, errlen);
			goto fail;
		}
	/* a record OpenSSL cannot use (a digest or key that does not
	 * parse) is left out, as dane.c leaves out the others */
	for (i = 0; i < n; i++)
		if (p_SSL_dane_tlsa_add(t->ssl, tlsa[i].usage, tlsa[i].selector,
		    tlsa[i].mtype, tlsa[i].data, tlsa[i].len) > 0)
			usable++;
	/*
	 * None usable: TLS all the same, unauthenticated (RFC 7672 2.2).
	 * Else the handshake fails unless the chain matches a record.
	 */
	p_SSL_set_verify(t->ssl, usable ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	t->rfd = t->wfd = fd;
	nonblock(fd);
	p_SSL_set_fd(t->ssl, fd);
	if (handshake(t, p_SSL_connect, timeout_ms, err, errlen) == -1) {
		if (usable && (vr = p_SSL_get_verify_result(t->ssl)) !=
		    X509_V_OK)
			str_fmt_trunc(err, errlen, "the certificate of %s matches "
			    "none of its TLSA records: %s", base,
			    p_X509_verify_cert_error_string(vr));
		goto fail;
	}
	if (!usable) {
		str_copy_trunc(match, "no usable TLSA record: unauthenticated",
		    matchlen);
		return t;
	}
	/* VERIFY_PEER: a finished handshake has a matched record */
	if ((depth = p_SSL_get0_dane_authority(t->ssl, NULL, NULL)) < 0 ||
	    p_SSL_get0_dane_tlsa(t->ssl, &u, &s, &m, &data, &dlen) < 0) {
		str_fmt_trunc(err, errlen, "the certificate of %s matched no "
		    "TLSA record", base);
		goto fail;
	}
	str_fmt_trunc(match, matchlen, "TLSA %s(%u) %u %u matched at depth %d",
	    u < 4 ? usages[u] : "?", u, s, m, depth);
	return t;
fail:
	tls_close(t);
	return NULL;
}

long
tls_verify_result(const struct tls *t, char *err, size_t errlen)
{
	long vr = p_SSL_get_verify_result(t->ssl);

	/* no certificate (an anonymous suite) verifies as X509_V_OK */
	if (p_SSL_get0_peer_certificate(t->ssl) == NULL) {
		str_copy_trunc(err, "no certificate", errlen);
		return X509_V_ERR_UNSPECIFIED;
	}
	if (vr != X509_V_OK)
		str_copy_trunc(err, p_X509_verify_cert_error_string(vr),
		    errlen);
	return vr;
}

/*
 * The session's TLS by pombo-tlsd (tls_proxy): 0, 1 or -1 as
 * tls_start_session, or 2 to do TLS in-process (no tlsd, or it will
 * not serve: logged). Nothing here loads libssl.
 */
static int
tls_proxy_session(struct lineio *io, const char *proxy, const char *cert,
    const char *key, int mx, const char *ready, const char *unavail,
    int timeout_ms, const char *client, const char *verb, struct tls **tp)
{
	struct tlsproxy_req r;
	char err[256];
	struct tls *t;
	size_t junk;
	int pfd;

	if (!tlshandover_fit(io->rfd, io->wfd)) {
		log_debug("%s: not a socket: TLS in-process", client);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	r.mx = mx;
	/* a longer smtp_timeout is no reason not to use tlsd: capped */
	r.timeout_ms = timeout_ms < TLSPROXY_TIMEOUT_MAX ? timeout_ms :
	    TLSPROXY_TIMEOUT_MAX;
	str_copy_trunc(r.client, client, sizeof(r.client));
	if (str_copy(r.cert, cert, sizeof(r.cert)) == -1 ||
	    str_copy(r.key, key, sizeof(r.key)) == -1)
		return 2;
	/* tlsd answers at once; one that hangs must not hold the session */
	switch (tlshandover_ask(proxy, &r, lineio_now() + (timeout_ms <
	    TLSPROXY_ASK_MS ? timeout_ms : TLSPROXY_ASK_MS), &pfd, err,
	    sizeof(err))) {
	case TLSHANDOVER_OK:
		break;
	case TLSHANDOVER_NOCERT:
		log_warnx("%s: TLS not available: %s", client, err);
		if (unavail && lineio_line(io, 1024, "%s", unavail) == -1)
			return -1;
		return 1;
	case TLSHANDOVER_FALLBACK:
		log_info("%s: TLS in-process: %s", client, err);
		return 2;
	case TLSHANDOVER_ABSENT:
		/*
		 * No socket file: no pombo-tlsd set up (tls_proxy's default
		 * path, tried by every session); pombo-tlsd.socket keeps
		 * the file while enabled, so one that is down is above
		 */
		log_debug("%s: TLS in-process: %s", client, err);
		return 2;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		close(pfd);
		return 2;
	}
	t->proxied = 1;
	if ((ready && lineio_line(io, 1024, "%s", ready) == -1) ||
	    lineio_flush(io) == -1)
		goto fail;
	if ((junk = lineio_discard_input(io)) > 0)
		log_warnx("%s: %zu octets pipelined after %s discarded",
		    client, junk, verb);
	/* tlsd's deadline is timeout_ms from the fd's arrival: a little more */
	if (tlshandover_pass(pfd, io->rfd, lineio_now() + r.timeout_ms + 5000,
	    t->desc, sizeof(t->desc), err, sizeof(err)) == -1) {
		log_warnx("%s: TLS failed: %s", client, err);
		goto fail;
	}
	if (tlshandover_adopt(pfd, io->rfd, io->wfd) == -1) {
		log_warn("%s: TLS: cannot take pombo-tlsd's socket", client);
		free(t);
		return -1;
	}
	t->rfd = io->rfd;
	t->wfd = io->wfd;
	*tp = t;
	return 0;
fail:
	close(pfd);
	free(t);
	return -1;
}

int (*tls_inprocess_hook)(const char *ready, char *err, size_t errlen);

int
tls_start_session(struct lineio *io, const char *proxy, const char *cert,
    const char *key, int mx, const char *ready, const char *unavail,
    int timeout_ms, const char *client, const char *verb, struct tls **tp)
{
	char err[256];
	struct tls *t;
	size_t junk;
	int rc;

	if (proxy && *proxy && (rc = tls_proxy_session(io, proxy, cert, key,
	    mx, ready, unavail, timeout_ms, client, verb, tp)) != 2)
		return rc;
	/* a program that cannot load libssl hands over; back only on failure */
	if (tls_inprocess_hook != NULL) {
		tls_inprocess_hook(ready, err, sizeof(err));
		t = NULL;
	} else
		t = tls_server_new(cert, key, mx, err, sizeof(err));
	if (t == NULL) {
		log_warnx("%s: TLS not available: %s", client, err);
		if (unavail && lineio_line(io, 1024, "%s", unavail) == -1)
			return -1;
		return 1;
	}
	if ((ready && lineio_line(io, 1024, "%s", ready) == -1) ||
	    lineio_flush(io) == -1) {
		tls_close(t);
		return -1;
	}
	if ((junk = lineio_discard_input(io)) > 0)
		log_warnx("%s: %zu octets pipelined after %s discarded",
		    client, junk, verb);
	if (tls_accept(t, io->rfd, io->wfd, timeout_ms, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: TLS failed: %s", client, err);
		tls_close(t);
		return -1;
	}
	lineio_set_ops(io, &tls_lineio_ops, t);
	*tp = t;
	return 0;
}

void
tls_close(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->proxied) {
		/* tlsd sends close_notify and closes the client */
		shutdown(t->rfd, SHUT_RDWR);
		free(t);
		return;
	}
	if (t->ssl) {
		/* a handshake never finished has nothing to shut down */
		if (!t->fatal && p_SSL_is_init_finished(t->ssl))
			p_SSL_shutdown(t->ssl);
		p_SSL_free(t->ssl);
	}
	if (t->ctx)
		p_SSL_CTX_free(t->ctx);
	free(t);
}

void
tls_describe(const struct tls *t, char *buf, size_t len)
{
	const SSL_CIPHER *c;

	if (t->proxied) {
		str_copy_trunc(buf, t->desc, len);
		return;
	}
	c = p_SSL_get_current_cipher(t->ssl);
	str_fmt_trunc(buf, len, "%s/%s/%d", p_SSL_get_version(t->ssl),
	    c ? p_SSL_CIPHER_get_name(c) : "none",
	    c ? p_SSL_CIPHER_get_bits(c, NULL) : 0);
}

/*
 * A read may have to write (a TLS 1.3 KeyUpdate answered) and a write
 * may have to read: lineio asks tls_events which way to poll, or it
 * would wait for the wrong direction until its deadline.
 */
static ssize_t
tls_again(struct tls *t, int e)
{
	t->want = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	errno = EAGAIN;
	return -1;
}

static ssize_t
tls_read(void *ctx, void *buf, size_t len)
{
	struct tls *t = ctx;
	int n, e;

	n = p_SSL_read(t->ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len);
	if (n > 0)
		return n;
	e = p_SSL_get_error(t->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_again(t, e);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	tls_failed(t, e);
	errno = EIO;
	return -1;
}

static ssize_t
tls_write(void *ctx, const void *buf, size_t len)
{
	struct tls *t = ctx;
	int n, e;

	n = p_SSL_write(t->ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len);
	if (n > 0)
		return n;
	e = p_SSL_get_error(t->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return tls_again(t, e);
	tls_failed(t, e);
	errno = EIO;
	return -1;
}

static size_t
tls_pending(void *ctx)
{
	struct tls *t = ctx;

	return (size_t)p_SSL_pending(t->ssl);
}

static short
tls_events(void *ctx)
{
	struct tls *t = ctx;

	return t->want;
}

const struct lineio_ops tls_lineio_ops = { tls_read, tls_write, tls_pending,
    tls_events };
