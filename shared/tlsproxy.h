/*
 * tlsproxy: the lines a handler and pombo-tlsd(8) exchange on tlsd's
 * Unix socket, formatted and parsed as pure functions (no I/O).
 * Used by shared/tlshandover.c (the handler's side) and tlsd/.
 * Trusts nothing: tlsd parses a handler's request as hostile.
 *
 * The protocol (also in pombo-tlsd(8)), one connection per session:
 *   handler: TLSPROXY 1 <mx 0|1> <timeout-ms> <client> <cert> <key>\n
 *   tlsd:    OK\n | NOCERT <text>\n | ERR <text>\n
 *   handler: one octet carrying the client's socket (SCM_RIGHTS)
 *   tlsd:    OK <desc>\n | ERR <text>\n   (after the handshake)
 *   then plaintext both ways until either side closes.
 * NOCERT: the certificate or key cannot be used (the handler replies
 * 454/-ERR and stays in the clear); ERR: tlsd will not serve this
 * session (busy, a request it does not understand): in-process TLS.
 */
#ifndef POMBO_TLSPROXY_H
#define POMBO_TLSPROXY_H

#include <limits.h>
#include <stddef.h>

#define TLSPROXY_CLIENT_MAX	64
/* a request line, "\n" included: two paths and the small fields */
#define TLSPROXY_LINE_MAX	(2 * PATH_MAX + 128)
/* a reply line, "\n" included */
#define TLSPROXY_REPLY_MAX	256
#define TLSPROXY_TIMEOUT_MAX	3600000		/* ms */
/* a handler's wait for tlsd's first answer: a live one answers at once,
 * a hung one (stopped, swapping) must not hold the ready reply long */
#define TLSPROXY_ASK_MS		2000

struct tlsproxy_req {
	int	mx;		/* port 25's cipher list (tls_server_new) */
	int	timeout_ms;	/* for the handshake */
	char	client[TLSPROXY_CLIENT_MAX];	/* for log lines */
	char	cert[PATH_MAX];
	char	key[PATH_MAX];
};

enum tlsproxy_reply {
	TLSPROXY_OK,
	TLSPROXY_NOCERT,
	TLSPROXY_ERR,
};

/*
 * The request line into buf (len octets), "\n" included: its length,
 * or -1 if a field cannot be sent (a path that is not absolute or
 * holds a space or control octet, a field too long): the handler then
 * does TLS itself. A client name's odd octets become '?'.
 */
int tlsproxy_req_format(const struct tlsproxy_req *r, char *buf, size_t len);
/* line (len octets, its "\n" removed) into r: 0, or -1 with err. */
int tlsproxy_req_parse(const char *line, size_t len, struct tlsproxy_req *r,
    char *err, size_t errlen);
/*
 * A reply line (its "\n" removed): its kind, and its text (after the
 * word, "" if none) into text; -1 if it is none of them.
 */
int tlsproxy_reply_parse(const char *line, size_t len,
    enum tlsproxy_reply *kind, char *text, size_t textlen);

#endif
