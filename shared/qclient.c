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

void
qclient_close(struct qclient *q)
{
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
}

int
qclient_send(struct qclient *q, const char *fmt, ...)
{
	char line[QPROTO_LINE_MAX + 2];
	va_list ap;
	int n;

	if (q->fd == -1)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > QPROTO_LINE_MAX)
		return -1;
	line[n++] = '\n';
	if (lineio_write(&q->io, line, (size_t)n) == -1)
		return -1;
	q->pending++;
	return 0;
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
		size_t used = 0;
		/* a reply may have "ddd-" lines before its last, CRLF-joined */
		for (;;) {
			if (qclient_line(q, line, sizeof(line)) == -1)
				goto gone;
			if ((code = qproto_parse_reply(line, &text)) == -1)
				goto gone;
			if (!first_bad && used < len) {
				str_fmt_trunc(reply + used, len - used, "%s%s",
				    used ? "\r\n" : "", line);
				used = strlen(reply);
			}
			if (line[3] != '-')
				break;
		}
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
	char line[QPROTO_LINE_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    qclient_send(q, "%s", line) == -1) {
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
