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
qclient_reply(struct qclient *q, char *reply, size_t len)
{
	char line[QCLIENT_REPLY_MAX + 1];
	const char *text;
	int code, first_bad = 0;

	if (q->fd == -1 || lineio_flush(&q->io) == -1)
		goto gone;
	code = -1;
	while (q->pending > 0) {
		size_t used = 0, last = 0, n;
		int cut = 0;
		/*
		 * A reply may have "ddd-" lines before its last, CRLF-joined.
		 * Only whole lines are kept; if they do not all fit, the
		 * last one kept becomes the reply's last ("ddd "), so that
		 * whoever passes it on never leaves a reply unfinished.
		 */
		for (;;) {
			if (qclient_line(q, line, sizeof(line)) == -1)
				goto gone;
			if ((code = qproto_parse_reply(line, &text)) == -1)
				goto gone;
			n = strlen(line);
			if (first_bad || cut)
				;
			else if (used == 0) {
				str_copy_trunc(reply, line, len);
				used = strlen(reply);
			} else if (used + 2 + n < len) {
				memcpy(reply + used, "\r\n", 2);
				last = used + 2;
				memcpy(reply + last, line, n + 1);
				used = last + n;
			} else
				cut = 1;
			if (line[3] != '-')
				break;
		}
		if (cut && used > last + 3 && reply[last + 3] == '-')
			reply[last + 3] = ' ';
		q->pending--;
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
