/*
 * tls: TLS (OpenSSL 3) for smtpd's STARTTLS and implicit TLS, pop3d's STLS
 * and the remote agent's STARTTLS. libssl is loaded with dlopen only when
 * a session asks for TLS: a handler is exec'd per connection, and linking
 * OpenSSL costs every connection about 1.5 ms whether it uses TLS or not.
 * Trusts the certificate files the admin configured; verifies peers only
 * when told to.
 */
#ifndef POMBO_TLS_H
#define POMBO_TLS_H

#include <stddef.h>

#include "lineio.h"

#define TLS_DESC_MAX 128

struct tls;

enum tls_verify {
	TLS_VERIFY_NONE,	/* encrypt, accept any certificate */
	TLS_VERIFY_PEER,	/* the certificate must verify for the name */
	TLS_VERIFY_CHECK,	/* checked as PEER, the handshake goes on
				   whatever: tls_verify_result says */
};

/*
 * Server side, in two steps so that a certificate or key that cannot be
 * loaded is known before the client is told to start TLS (it then gets
 * 454 or -ERR and the session goes on in the clear). tls_server_new
 * loads cert and key now (per connection, so a renewed certificate needs
 * no restart): NULL with err on failure. mx: an MX's port 25, where
 * MTAs start TLS opportunistically, adds forward-secret CBC suites after
 * the AEAD ones (shared/tls.c). tls_accept shakes hands on rfd/wfd
 * within timeout_ms: -1 with err on failure; tls_close t then.
 */
struct tls *tls_server_new(const char *cert, const char *key, int mx,
    char *err, size_t errlen);
int tls_accept(struct tls *t, int rfd, int wfd, int timeout_ms, char *err,
    size_t errlen);
/*
 * STARTTLS/STLS, or implicit TLS, on a handler's session io. Certificate
 * and key are loaded first: a client told to go ahead would meet a
 * closed connection. Then the ready reply (NULL for implicit TLS) goes
 * out, what the client pipelined after its command is dropped (never
 * read as TLS: RFC 3207 4, RFC 2595 4), the handshake runs within
 * timeout_ms, and io reads and writes through *tp. Returns 0; 1 if TLS
 * is not available (unavail, if any, was replied: go on in the clear);
 * -1 if the session must end. Failures are logged with client and verb.
 * With proxy (tls_proxy: pombo-tlsd's socket) and io on a socket, tlsd
 * does the TLS and io's descriptors become tlsd's socket, read and
 * written in plaintext (libssl is never loaded); without a tlsd there,
 * or one that will not serve, TLS in this process as without proxy.
 */
int tls_start_session(struct lineio *io, const char *proxy, const char *cert,
    const char *key, int mx, const char *ready, const char *unavail,
    int timeout_ms, const char *client, const char *verb, struct tls **tp);
/*
 * Set by a program that cannot load libssl (smtpd linked statically with
 * musl, smtpd/reexec.c): tls_start_session calls it where TLS would run
 * in this process, with its ready reply (NULL for implicit TLS). It does
 * not return if it hands the session to a program that can; else -1
 * with err, and the session goes on as if the certificate had failed.
 */
extern int (*tls_inprocess_hook)(const char *ready, char *err, size_t errlen);
/* Client side on fd, for host (SNI, and the name to verify). */
struct tls *tls_client(int fd, const char *host, enum tls_verify v,
    const char *cafile, int timeout_ms, char *err, size_t errlen);
/* A TLSA record (RFC 6698 2.1) for tls_client_dane. */
struct tls_tlsa {
	unsigned char		 usage, selector, mtype;
	const unsigned char	*data;
	size_t			 len;
};
/*
 * Client side with DANE (RFC 7672, OpenSSL's DANE support): SNI is base
 * (the TLSA base domain); the certificate chain must match one of the
 * records, and with a DANE-TA(2) match also carry one of names (no
 * partial wildcards, 3.2.3). With n == 0: TLS without authentication.
 * On success match (matchlen octets) says which record matched and at
 * what depth; on failure err says why.
 */
struct tls *tls_client_dane(int fd, const char *base,
    const char *const *names, size_t nnames, const struct tls_tlsa *tlsa,
    size_t n, int timeout_ms, char *match, size_t matchlen, char *err,
    size_t errlen);
/*
 * After tls_client: X509_V_OK (0) when the peer's certificate verified
 * for the host name (always so under TLS_VERIFY_PEER), else OpenSSL's
 * X509_V_ERR_* code, and its text in err (X509_V_ERR_HOSTNAME_MISMATCH:
 * a certificate for another name).
 */
long tls_verify_result(const struct tls *t, char *err, size_t errlen);
void tls_close(struct tls *t);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384/256" (pombo-tlsd says the same) */
void tls_describe(const struct tls *t, char *buf, size_t len);
/* The lineio transport over t (pass t as the ctx). */
extern const struct lineio_ops tls_lineio_ops;
/* Can TLS be loaded at all (libssl present)? */
int tls_available(void);

#endif
