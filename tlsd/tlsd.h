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

#define TLSD_BUFSZ		16384	/* per direction and session */
#define TLSD_REQ_TIMEOUT_MS	10000	/* for the request line */
#define TLSD_DRAIN_MS		30000	/* to send a closed handler's last data */

/* -T: TLSD_DRAIN_MS unless told */
extern int tlsd_drain_ms;

/*
 * ticket: the session-ticket keys, shared by the workers (ticket_init
 * before the fork), made again every lifetime_s seconds; the key before
 * still resumes. ticket_setup has a context use them.
 */
int ticket_init(int lifetime_s);
int ticket_setup(SSL_CTX *ctx);

/*
 * ctxcache: the server contexts for (cert, key, mx), a few of them, made
 * as shared/tls.c's tls_server_new makes them, with the shared ticket
 * keys. A context is made again when the certificate's or the key's
 * file changed (device, inode, size, mtime): a renewed certificate
 * needs no restart.
 */
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
