/*
 * qclient: connect, pipeline, read replies. A queued that vanishes or
 * answers garbage makes every call fail, and the caller sends its client
 * a 4xx: never a 250 without queued's word for it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qclient.h"
#include "qproto.h"
#include "str.h"

int
qclient_open(struct qclient *q, const char *path, int timeout_ms)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd == -1)
		return -1;
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;
		close(q->fd);
		q->fd = -1;
		errno = saved;
		return -1;
	}
	q->pending = 0;
	q->timeout_ms = timeout_ms;
	lineio_init(&q->io, q->fd, q->fd);
	q->io.write_timeout_ms = timeout_ms;
	return qclient_send(q, "POMBO %d", QPROTO_VERSION);
}

int
qclient_greeted(struct qclient *q, const char *path, int timeout_ms,
    char *reply, size_t len)
{
	if (qclient_open(q, path, timeout_ms) == -1) {
		str_copy_trunc(reply, strerror(errno), len);
		return -1;
	}
	reply[0] = '\0';
	if (qclient_reply(q, reply, len) != 250) {
		if (reply[0] == '\0')
			str_copy_trunc(reply, "no greeting", len);
		qclient_close(q);
		return -1;
	}
	return 0;
}

void
qclient_close(struct qclient *q)
{
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
}

/*
 * The line is formatted straight into the output buffer, with room made
 * first: no line buffer of its own on the stack (nor a second one in
 * qclient_cmd), which put a handler's queue conversation two stack
 * pages deeper, each a page fault of every session (issue 19).
 */
static int
qclient_vsend(struct qclient *q, const char *fmt, va_list ap)
{
	struct lineio *io = &q->io;
	char *line;
	int n;

	if (q->fd == -1)
		return -1;
	if (sizeof(io->out) - io->olen < QPROTO_LINE_MAX + 2 &&
	    lineio_flush(io) == -1)
		return -1;
	line = io->out + io->olen;
	n = vsnprintf(line, QPROTO_LINE_MAX + 2, fmt, ap);
	if (n < 0 || (size_t)n > QPROTO_LINE_MAX)
		return -1;	/* nothing queued: olen is unchanged */
	line[n++] = '\n';
	io->olen += (size_t)n;
	q->pending++;
	return 0;
}

int
qclient_send(struct qclient *q, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = qclient_vsend(q, fmt, ap);
	va_end(ap);
	return rc;
}

int
qclient_line(struct qclient *q, char *line, size_t len)
{
	size_t n;
	int crlf;

	if (q->fd == -1)
		return -1;
	if (lineio_read(&q->io, line, len - 1, &n, &crlf,
	    lineio_now() + q->timeout_ms) != LINEIO_OK)
		return -1;
	return 0;
}

int
qclient_reply_each(struct qclient *q, qclient_line_fn *fn, void *arg)
{
	char line[QCLIENT_REPLY_MAX + 1];
	const char *text;
	int code, first = -1;

	if (q->fd == -1 || q->pending == 0 || lineio_flush(&q->io) == -1)
		goto gone;
	do {
		if (qclient_line(q, line, sizeof(line)) == -1 ||
		    (code = qproto_parse_reply(line, &text)) == -1)
			goto gone;
		/* every line of one reply has its code (RFC 5321 4.2.1) */
		if (first == -1)
			first = code;
		else if (code != first)
			goto gone;
		fn(arg, line, line[3] != '-');
	} while (line[3] == '-');
	q->pending--;
	return code;
gone:
	qclient_close(q);
	return -1;
}

/*
 * A reply may have "ddd-" lines before its last, CRLF-joined. Only
 * whole lines are kept; if they do not all fit, the last one kept
 * becomes the reply's last ("ddd "), so that whoever passes it on never
 * leaves a reply unfinished.
 */
struct joined {
	char	*reply;
	size_t	 len, used, last;
	int	 keep, cut;
};

static void
join_line(void *arg, const char *line, int final)
{
	struct joined *j = arg;
	size_t n = strlen(line);

	(void)final;
	if (!j->keep || j->cut)
		;
	else if (j->used == 0) {
		str_copy_trunc(j->reply, line, j->len);
		j->used = strlen(j->reply);
	} else if (j->used + 2 + n < j->len) {
		memcpy(j->reply + j->used, "\r\n", 2);
		j->last = j->used + 2;
		memcpy(j->reply + j->last, line, n + 1);
		j->used = j->last + n;
	} else
		j->cut = 1;
}

int
qclient_reply(struct qclient *q, char *reply, size_t len)
{
	int code = -1, first_bad = 0;

	if (q->fd == -1)
		goto gone;
	while (q->pending > 0) {
		struct joined j = { reply, len, 0, 0, !first_bad, 0 };

		if ((code = qclient_reply_each(q, join_line, &j)) == -1)
			goto gone;
		if (j.cut && j.used > j.last + 3 && reply[j.last + 3] == '-')
			reply[j.last + 3] = ' ';
		if (!first_bad && code >= 400)
			first_bad = code;
	}
	return first_bad ? first_bad : code;
gone:
	qclient_close(q);
	str_copy_trunc(reply, "451 4.3.0 Queue unavailable, try again later", len);
	return -1;
}

int
qclient_cmd(struct qclient *q, char *reply, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = qclient_vsend(q, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		str_copy_trunc(reply, "451 4.3.0 Queue unavailable, try again later",
		    len);
		return -1;
	}
	return qclient_reply(q, reply, len);
}

int
qclient_chunk(struct qclient *q, const void *p, size_t n)
{
	char hdr[32];
	int h;

	if (q->fd == -1 || n == 0)
		return q->fd == -1 ? -1 : 0;
	h = snprintf(hdr, sizeof(hdr), "%zu\n", n);
	if (lineio_write(&q->io, hdr, (size_t)h) == -1 ||
	    lineio_write(&q->io, p, n) == -1) {
		qclient_close(q);
		return -1;
	}
	return 0;
}
