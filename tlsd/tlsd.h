/*
 * pombo-tlsd: a long-lived TLS proxy for the handlers' STARTTLS, STLS
 * and implicit TLS (shared/tlsproxy.h has the protocol). Its parts: the
 * context cache (ctxcache.c), one session's state machine (session.c),
 * the event loop (loop.c), main.c. Trusts the handlers it lets connect
 * (by uid) to name certificate files; nothing the TLS client sends.
 */
#ifndef POMBO_TLSD_H
#define POMBO_TLSD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "tlsproxy.h"

/* TLS 1.3's ticket key: name, HMAC and AES keys (SSL_CTX_set_tlsext_ticket_keys) */
#define TLSD_TICKET_KEYS	80
#define TLSD_BUFSZ		16384	/* per direction and session */
#define TLSD_REQ_TIMEOUT_MS	10000	/* for the request line */
#define TLSD_DRAIN_MS		30000	/* to send a closed handler's last data */

/*
 * ctxcache: the server contexts for (cert, key, mx), a few of them, made
 * as shared/tls.c's tls_server_new makes them and with the ticket keys
 * every worker shares (ctxcache_init, before the fork). A context is
 * made again when the certificate's or the key's file changed (device,
 * inode, size, mtime): a renewed certificate needs no restart.
 */
void ctxcache_init(const unsigned char keys[TLSD_TICKET_KEYS]);
/* A context (the cache's reference), or NULL with err. */
SSL_CTX *ctxcache_get(const char *cert, const char *key, int mx, char *err,
    size_t errlen);
void ctxcache_free(void);
/* "TLSv1.3/TLS_AES_256_GCM_SHA384/256", as tls_describe says */
void ctxcache_describe(SSL *ssl, char *buf, size_t len);

struct session;

/*
 * session: one handler's connection, from its request to the end of
 * the relay. session_new takes hfd (non-blocking, accepted);
 * session_pump does what can be done now and says what is next.
 */
enum session_next {
	SESSION_WAIT,	/* for events (or the deadline) */
	SESSION_AGAIN,	/* more to do: pump it again after the others */
	SESSION_DONE,	/* over: session_free it */
};
struct session *session_new(int hfd, int64_t now);
enum session_next session_pump(struct session *s, int64_t now);
/* The client's socket once it came (to watch it too), else -1. */
int session_client_fd(const struct session *s);
/* 0 if none */
int64_t session_deadline(const struct session *s);
/* The deadline passed: log, tell the handler if it can be, over. */
void session_expire(struct session *s);
void session_free(struct session *s);

/*
 * loop: accept on lfd (shared by the workers), check each peer's uid
 * against uids[] (root and our own are always allowed), and drive the
 * sessions, at most max at once, until tlsd_stop is set (SIGTERM): then
 * every session is dropped and it returns.
 */
extern volatile sig_atomic_t tlsd_stop;
void loop_run(int lfd, const uid_t *uids, size_t nuids, size_t max);

#endif
