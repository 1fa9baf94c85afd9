/*
 * session: one handler's request, the client's socket it passes, the
 * handshake, then the relay: TLS records on the client's socket,
 * plaintext on the handler's. Every descriptor is non-blocking and
 * watched edge-triggered, so session_pump goes on until nothing moves
 * (EAGAIN, a full buffer, an end). Each direction has one bounded
 * buffer; a side whose buffer toward the other is full is not read.
 *
 * States:
 *   S_REQ        reading the request line (TLSD_REQ_TIMEOUT_MS)
 *   S_FD         "OK" sent; waiting for the client's socket (timeout_ms)
 *   S_HANDSHAKE  SSL_accept on it (timeout_ms)
 *   S_RELAY      "OK <desc>" queued; plaintext both ways. Idle time is
 *                the handler's business; but output the client does not
 *                take gets timeout_ms without progress, and once the
 *                handler closed (or is gone: a reset), tlsd_drain_ms for
 *                the client to take the rest, then close_notify
 *   S_CLOSING    a last line to the handler (ERR, NOCERT), our side
 *                shut, its input drained (2 s at most), then over
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "str.h"
#include "tlsd.h"

enum state { S_REQ, S_FD, S_HANDSHAKE, S_RELAY, S_CLOSING };

/* the request line is read into the buffer toward the client */
_Static_assert(TLSPROXY_LINE_MAX <= TLSD_BUFSZ, "request buffer");

struct rbuf {
	size_t	start, end;
	char	data[TLSD_BUFSZ];
};

struct session {
	enum state	 state;
	int		 hfd, cfd;
	SSL		*ssl;
	int64_t		 deadline;
	int		 timeout_ms;
	int		 heof;		/* the handler closed its side */
	int		 ceof;		/* the client's side is over */
	int		 hshut;		/* we shut our side toward the handler */
	int		 fatal;		/* no more TLS: no write, no shutdown */
	int		 hgone;		/* the handler takes no more (reset) */
	int		 hclosed;	/* it closed its side: drain, then over */
	int64_t		 drain;		/* then, the end of the drain */
	int64_t		 lastout;	/* the client last took output */
	size_t		 wpending;	/* SSL_write to retry with this length */
	char		 client[TLSPROXY_CLIENT_MAX];
	struct rbuf	 toh;		/* to the handler: lines, plaintext */
	struct rbuf	 toc;		/* from the handler: request, plaintext */
};

static size_t
used(const struct rbuf *b)
{
	return b->end - b->start;
}

/*
 * Room at the end, moving what is left to the front when that helps.
 * What was passed on is cleared: it was a session's plaintext (AUTH
 * lines, POP3's PASS), and this process outlives the sessions.
 */
static size_t
room(struct rbuf *b)
{
	size_t n;

	if (b->start == b->end) {
		if (b->end > 0)
			explicit_bzero(b->data, b->end);
		b->start = b->end = 0;
	} else if (b->end == sizeof(b->data) && b->start > 0) {
		n = used(b);
		memmove(b->data, b->data + b->start, n);
		explicit_bzero(b->data + n, b->end - n);
		b->end = n;
		b->start = 0;
	}
	return sizeof(b->data) - b->end;
}

/* Drop what b holds, cleared as room() clears what was passed on. */
static void
drop(struct rbuf *b)
{
	b->start = b->end;
	(void)room(b);
}

/* A line for the handler: it fits, the buffer is empty in these states. */
static void
say(struct session *s, const char *word, const char *text)
{
	char line[TLSPROXY_REPLY_MAX];
	size_t n;

	str_fmt_trunc(line, sizeof(line) - 1, "%s%s%s", word, *text ? " " : "",
	    text);
	str_unctrl(line);
	n = strlen(line);
	line[n++] = '\n';
	if (n <= room(&s->toh)) {
		memcpy(s->toh.data + s->toh.end, line, n);
		s->toh.end += n;
	}
}

struct session *
session_new(int hfd, int64_t now)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->hfd = hfd;
	s->cfd = -1;
	s->state = S_REQ;
	s->deadline = now + TLSD_REQ_TIMEOUT_MS;
	str_copy_trunc(s->client, "-", sizeof(s->client));
	return s;
}

int
session_client_fd(const struct session *s)
{
	return s->cfd;
}

int64_t
session_deadline(const struct session *s)
{
	return s->deadline;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->cfd != -1)
		close(s->cfd);
	close(s->hfd);
	explicit_bzero(s, sizeof(*s));	/* what its buffers still held */
	free(s);
}

/* Write what is queued for the handler: -1 if it is gone. */
static int
flush_handler(struct session *s, int *progress)
{
	ssize_t n;

	while (used(&s->toh) > 0) {
		n = send(s->hfd, s->toh.data + s->toh.start, used(&s->toh),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			s->toh.start += (size_t)n;
			*progress = 1;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			return 0;
		else
			return -1;
	}
	return 0;
}

static void
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		str_copy_trunc(buf, errno ? strerror(errno) : "connection closed",
		    len);
	ERR_clear_error();
}

/* S_REQ: the request line, then a context for it. */
static enum session_next
request(struct session *s, int64_t now)
{
	static struct tlsproxy_req r;	/* 8 KB: not on the stack */
	char err[256], *nl;
	SSL_CTX *ctx;
	ssize_t n;
	size_t len;

	for (;;) {
		/* the line, "\n" included, in TLSPROXY_LINE_MAX octets */
		if (s->toc.end >= TLSPROXY_LINE_MAX) {
			say(s, "ERR", "request too long");
			s->state = S_CLOSING;
			return SESSION_WAIT;
		}
		n = read(s->hfd, s->toc.data + s->toc.end,
		    TLSPROXY_LINE_MAX - s->toc.end);
		if (n > 0) {
			s->toc.end += (size_t)n;
			if (memchr(s->toc.data, '\n', s->toc.end))
				break;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			return SESSION_WAIT;
		else
			return SESSION_DONE;
	}
	nl = memchr(s->toc.data, '\n', s->toc.end);
	len = (size_t)(nl - s->toc.data);
	/* the socket comes after our answer: nothing may follow the line */
	if (len + 1 != s->toc.end || tlsproxy_req_parse(s->toc.data, len, &r,
	    err, sizeof(err)) == -1) {
		if (len + 1 != s->toc.end)
			str_copy_trunc(err, "data after the request", sizeof(err));
		log_warnx("a handler's request refused: %s", err);
		say(s, "ERR", err);
		s->state = S_CLOSING;
		return SESSION_WAIT;
	}
	drop(&s->toc);
	str_copy_trunc(s->client, r.client, sizeof(s->client));
	s->timeout_ms = r.timeout_ms;
	if ((ctx = ctxcache_get(r.cert, r.key, r.mx, err, sizeof(err))) ==
	    NULL) {
		log_warnx("%s: TLS not available: %s", s->client, err);
		say(s, "NOCERT", err);
		s->state = S_CLOSING;
		return SESSION_WAIT;
	}
	if ((s->ssl = SSL_new(ctx)) == NULL) {
		ssl_reason(err, sizeof(err));
		say(s, "ERR", err);
		s->state = S_CLOSING;
		return SESSION_WAIT;
	}
	say(s, "OK", "");
	s->state = S_FD;
	s->deadline = now + s->timeout_ms;
	return SESSION_WAIT;
}

/* S_FD: one octet with one descriptor, a socket. */
static enum session_next
receive_fd(struct session *s, int64_t now)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)], one;
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr msg;
	struct cmsghdr *cm;
	struct stat st;
	int fds[4], nfds = 0, i;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	do
		n = recvmsg(s->hfd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return SESSION_WAIT;
	if (n != 1)
		return SESSION_DONE;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; (size_t)i < (cm->cmsg_len - CMSG_LEN(0)) /
		    sizeof(int) && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
	}
	if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC) ||
	    fstat(fds[0], &st) == -1 || !S_ISSOCK(st.st_mode)) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		log_warnx("%s: the handler passed no socket", s->client);
		say(s, "ERR", "one socket expected");
		s->state = S_CLOSING;
		return SESSION_WAIT;
	}
	s->cfd = fds[0];
	fcntl(s->cfd, F_SETFL, fcntl(s->cfd, F_GETFL) | O_NONBLOCK);
	SSL_set_fd(s->ssl, s->cfd);
	s->state = S_HANDSHAKE;
	s->deadline = now + s->timeout_ms;
	return SESSION_WAIT;
}

/* S_HANDSHAKE */
static enum session_next
handshake(struct session *s)
{
	char buf[TLSPROXY_REPLY_MAX];
	int r, e;

	errno = 0;
	if ((r = SSL_accept(s->ssl)) == 1) {
		ctxcache_describe(s->ssl, buf, sizeof(buf));
		log_debug("%s: TLS %s%s", s->client, buf,
		    SSL_session_reused(s->ssl) ? " (resumed)" : "");
		say(s, "OK", buf);
		s->state = S_RELAY;
		s->deadline = 0;
		return SESSION_WAIT;
	}
	e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return SESSION_WAIT;
	s->fatal = 1;
	str_copy_trunc(buf, "TLS handshake: ", sizeof(buf));
	ssl_reason(buf + strlen(buf), sizeof(buf) - strlen(buf));
	log_debug("%s: %s", s->client, buf);
	say(s, "ERR", buf);
	s->state = S_CLOSING;
	return SESSION_WAIT;
}

/* client -> handler: decrypt while there is room */
static void
from_client(struct session *s, int *progress)
{
	int n, e;

	if (s->fatal && !s->ceof) {
		s->ceof = 1;	/* nothing more can come */
		*progress = 1;
	}
	while (!s->ceof && room(&s->toh) > 0) {
		errno = 0;
		n = SSL_read(s->ssl, s->toh.data + s->toh.end,
		    (int)room(&s->toh));
		if (n > 0) {
			s->toh.end += (size_t)n;
			*progress = 1;
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		/* close_notify, or the connection gone or broken */
		if (e != SSL_ERROR_ZERO_RETURN)
			s->fatal = 1;
		ERR_clear_error();
		s->ceof = 1;
		*progress = 1;
	}
}

/*
 * handler -> client: read while there is room. A handler that exits
 * with input unread resets the socket (ECONNRESET): that is its end
 * too, and what it wrote before still goes to the client.
 */
static void
from_handler(struct session *s, int *progress)
{
	ssize_t n;

	while (!s->heof && room(&s->toc) > 0) {
		n = read(s->hfd, s->toc.data + s->toc.end, room(&s->toc));
		if (n > 0) {
			s->toc.end += (size_t)n;
			*progress = 1;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			return;
		else {
			if (n == -1)
				s->hgone = 1;
			s->heof = 1;
			*progress = 1;
		}
	}
}

/* Its side shut, seen even when we do not read it (toc full). */
static int
handler_closed(struct session *s)
{
	struct pollfd p = { .fd = s->hfd, .events = POLLIN | POLLRDHUP };

	if (s->heof)
		return 1;
	/* with room, from_handler read until EAGAIN: no end yet */
	if (room(&s->toc) > 0)
		return 0;
	return poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* encrypt what the handler wrote; dropped once the client cannot take it */
static void
to_client(struct session *s, int *progress)
{
	size_t len;
	int n, e;

	while (used(&s->toc) > 0) {
		if (s->fatal) {
			drop(&s->toc);
			s->wpending = 0;
			return;
		}
		/* after WANT_*, SSL_write is retried with the same length */
		len = s->wpending ? s->wpending : used(&s->toc);
		n = SSL_write(s->ssl, s->toc.data + s->toc.start,
		    len > 0x7fffffff ? 0x7fffffff : (int)len);
		if (n > 0) {
			s->toc.start += (size_t)n;
			s->wpending = 0;
			*progress = 1;
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			s->wpending = len;
			return;
		}
		ERR_clear_error();
		s->fatal = 1;
		*progress = 1;
	}
}

/* S_RELAY */
static enum session_next
relay(struct session *s, int64_t now)
{
	int progress = 1, out, turns;

	if (used(&s->toc) == 0)
		s->lastout = now;	/* nothing waited for the client */
	/* a bounded number of turns, then the other sessions' (AGAIN) */
	for (turns = 0; progress && turns < 64; turns++) {
		progress = 0;
		from_client(s, &progress);
		/* the handler gone, what the client sends is dropped */
		if (!s->hgone && flush_handler(s, &progress) == -1)
			s->hgone = 1;
		if (s->hgone)
			drop(&s->toh);
		if (s->ceof && used(&s->toh) == 0 && !s->hshut && !s->hgone) {
			/* the client is done: the handler reads EOF, may
			 * still answer (a 221 after QUIT), then closes */
			shutdown(s->hfd, SHUT_WR);
			s->hshut = 1;
		}
		from_handler(s, &progress);
		out = 0;
		to_client(s, &out);
		if (out || used(&s->toc) == 0)
			s->lastout = now;
		progress |= out;
	}
	/* the handler's end: its last words get tlsd_drain_ms, no more */
	if (!s->hclosed && (s->hgone || handler_closed(s))) {
		s->hclosed = 1;
		s->drain = now + tlsd_drain_ms;
	}
	/* output the client does not take: timeout_ms without progress */
	s->deadline = s->drain;
	if (used(&s->toc) > 0 && (!s->deadline ||
	    s->lastout + s->timeout_ms < s->deadline))
		s->deadline = s->lastout + s->timeout_ms;
	if (s->heof && used(&s->toc) == 0) {
		/* the handler closed: close_notify, once, and done */
		if (!s->fatal)
			(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
		return SESSION_DONE;
	}
	return progress ? SESSION_AGAIN : SESSION_WAIT;
}

/*
 * S_CLOSING: the last line out, then our side shut and what the handler
 * still sends read and dropped until it closes (2 s at most): closing
 * with unread input would reset the connection, and the line with it.
 */
static enum session_next
closing(struct session *s, int64_t now)
{
	char sink[512];
	int progress = 0, i;
	ssize_t n;

	if (flush_handler(s, &progress) == -1)
		return SESSION_DONE;
	if (used(&s->toh) > 0)
		return SESSION_WAIT;
	if (!s->hshut) {
		shutdown(s->hfd, SHUT_WR);
		s->hshut = 1;
		s->deadline = now + 2000;
	}
	for (i = 0; i < 64; i++) {
		n = read(s->hfd, sink, sizeof(sink));
		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		if (n == -1 && errno == EAGAIN)
			return SESSION_WAIT;
		return SESSION_DONE;
	}
	return SESSION_AGAIN;	/* the others' turn first */
}

enum session_next
session_pump(struct session *s, int64_t now)
{
	enum state before;
	int progress;

	do {
		before = s->state;
		switch (s->state) {
		case S_REQ:
			if (request(s, now) == SESSION_DONE)
				return SESSION_DONE;
			break;
		case S_FD:
			if (receive_fd(s, now) == SESSION_DONE)
				return SESSION_DONE;
			break;
		case S_HANDSHAKE:
			if (handshake(s) == SESSION_DONE)
				return SESSION_DONE;
			break;
		case S_RELAY:
			return relay(s, now);
		case S_CLOSING:
			return closing(s, now);
		}
		progress = 0;
		if (flush_handler(s, &progress) == -1)
			return SESSION_DONE;
	} while (s->state != before);
	return SESSION_WAIT;
}

void
session_expire(struct session *s)
{
	static const char *const what[] = { "request", "client socket",
	    "TLS handshake", "relay", "close" };
	char line[64];
	int progress = 0;

	if (s->state == S_CLOSING)
		return;		/* the handler did not close: no matter */
	if (s->state == S_RELAY) {
		log_debug("%s: the client took no more %s", s->client,
		    s->hclosed ? "after the handler closed" :
		    "of the handler's output");
		return;
	}
	log_warnx("%s: %s timed out", s->client, what[s->state]);
	str_fmt_trunc(line, sizeof(line), "%s timed out", what[s->state]);
	if (s->state == S_FD || s->state == S_HANDSHAKE) {
		drop(&s->toh);
		say(s, "ERR", line);
		(void)flush_handler(s, &progress);
	}
}
