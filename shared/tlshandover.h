/*
 * tlshandover: a handler's side of pombo-tlsd(8): ask it for TLS, hand
 * it the client's socket, and read the plaintext from it after. Used by
 * shared/tls.c (tls_start_session) for smtpd and pop3d; never loads
 * libssl. Trusts tlsd's socket as the admin named it (tls_proxy).
 */
#ifndef POMBO_TLSHANDOVER_H
#define POMBO_TLSHANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "tlsproxy.h"

enum tlshandover_result {
	TLSHANDOVER_OK,		/* go on: tlsd has a context for us */
	TLSHANDOVER_NOCERT,	/* the certificate or key is unusable */
	TLSHANDOVER_FALLBACK,	/* no tlsd, or it will not: TLS in-process */
	TLSHANDOVER_ABSENT,	/* no socket file: no tlsd set up, in-process */
};

/*
 * Is the session's rfd/wfd one socket (as under inetd and systemd),
 * the only thing tlsd can take? Pipes (tests, sendmail -bs) are not.
 */
int tlshandover_fit(int rfd, int wfd);
/*
 * Step 1: connect to path, send r, read tlsd's answer by deadline.
 * TLSHANDOVER_OK with *fdp, the connection; else err says why.
 */
enum tlshandover_result tlshandover_ask(const char *path,
    const struct tlsproxy_req *r, int64_t deadline, int *fdp, char *err,
    size_t errlen);
/*
 * Steps 2 and 3, after the ready reply went out: send clientfd over pfd,
 * read the handshake's outcome by deadline. 0 with desc (the TLS
 * version and cipher); -1 with err (the session is over: the client's
 * socket is tlsd's, or was never taken).
 */
int tlshandover_pass(int pfd, int clientfd, int64_t deadline, char *desc,
    size_t desclen, char *err, size_t errlen);
/*
 * The session reads and writes pfd from now on, on the same descriptor
 * numbers: pfd goes onto rfd and wfd, and a copy of the client's socket
 * on fd 2 (inetd puts it there) is replaced by /dev/null, so the
 * handler holds the client's socket no more and tlsd's close is the
 * client's. pfd itself is closed.
 */
int tlshandover_adopt(int pfd, int rfd, int wfd);

#endif
