/*
 * lineio: reads through a fixed buffer, so no input can make it grow
 * (qmail's unbounded reader became CVE-2005-1514). A too-long line is
 * consumed to its LF and reported, never split into two commands.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lineio.h"

/*
 * The coarse clock (the last tick's, a few ms behind): deadlines are of
 * seconds, and where a deadline is read late the wait only lasts that
 * much longer. The fine one reads the hypervisor's clock page too, one
 * more page fault in every handler on a VM (issue 19).
 */
int64_t
lineio_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t
fd_read(void *ctx, void *buf, size_t len)
{
	struct lineio *io = ctx;

	return read(io->rfd, buf, len);
}

static ssize_t
fd_write(void *ctx, const void *buf, size_t len)
{
	struct lineio *io = ctx;
	ssize_t n;

	/* never block in write: a client that stops reading must time out */
	n = send(io->wfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1 && errno == ENOTSOCK)
		n = write(io->wfd, buf, len);
	return n;
}

static size_t
fd_pending(void *ctx)
{
	return 0;
}

static const struct lineio_ops fd_ops = { fd_read, fd_write, fd_pending,
    NULL };

void
lineio_init(struct lineio *io, int rfd, int wfd)
{
	io->rfd = rfd;
	io->wfd = wfd;
	io->ops = &fd_ops;
	io->ctx = io;
	io->write_timeout_ms = 300 * 1000;
	io->eof = 0;
	io->ipos = io->iend = 0;
	io->olen = 0;
}

void
lineio_set_ops(struct lineio *io, const struct lineio_ops *ops, void *ctx)
{
	io->ops = ops ? ops : &fd_ops;
	io->ctx = ops ? ctx : io;
}

int
lineio_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - lineio_now();
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return r;
	}
}

/* Wait for what the transport's last EAGAIN needs (dflt: its own). */
static int
wait_again(struct lineio *io, short dflt, int64_t deadline)
{
	short ev = io->ops->events ? io->ops->events(io->ctx) : dflt;

	if (ev != POLLIN && ev != POLLOUT)
		ev = dflt;
	return lineio_wait(ev == POLLIN ? io->rfd : io->wfd, ev, deadline);
}

enum lineio_result
lineio_fill(struct lineio *io, int64_t deadline)
{
	ssize_t n;
	int r;

	if (io->ipos < io->iend)
		return LINEIO_OK;
	if (io->eof)
		return LINEIO_EOF;
	io->ipos = io->iend = 0;
	if (io->ops->pending(io->ctx) == 0) {
		if (lineio_flush(io) == -1)
			return LINEIO_ERROR;
		r = lineio_wait(io->rfd, POLLIN, deadline);
		if (r == 0)
			return LINEIO_TIMEOUT;
		if (r == -1)
			return LINEIO_ERROR;
	}
	for (;;) {
		n = io->ops->read(io->ctx, io->in, sizeof(io->in));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			r = wait_again(io, POLLIN, deadline);
			if (r == 0)
				return LINEIO_TIMEOUT;
			if (r == -1)
				return LINEIO_ERROR;
			continue;
		}
		break;
	}
	if (n == 0) {
		io->eof = 1;
		return LINEIO_EOF;
	}
	if (n < 0)
		return LINEIO_ERROR;
	io->iend = (size_t)n;
	return LINEIO_OK;
}

enum lineio_result
lineio_read(struct lineio *io, char *line, size_t max, size_t *len, int *crlf,
    int64_t deadline)
{
	enum lineio_result r;
	size_t n = 0, chunk;
	const char *nl;
	int toolong = 0;

	for (;;) {
		if ((r = lineio_fill(io, deadline)) != LINEIO_OK) {
			/* an unterminated last line is not a command */
			return r;
		}
		chunk = io->iend - io->ipos;
		nl = memchr(io->in + io->ipos, '\n', chunk);
		if (nl != NULL)
			chunk = (size_t)(nl - (io->in + io->ipos));
		if (!toolong) {
			if (n + chunk > max + 1) {	/* +1: a CR we may strip */
				toolong = 1;
			} else {
				memcpy(line + n, io->in + io->ipos, chunk);
				n += chunk;
			}
		}
		io->ipos += chunk;
		if (nl == NULL)
			continue;
		io->ipos++;	/* the LF */
		break;
	}
	if (toolong)
		return LINEIO_TOOLONG;
	*crlf = n > 0 && line[n - 1] == '\r';
	if (*crlf)
		n--;
	if (n > max)
		return LINEIO_TOOLONG;
	line[n] = '\0';
	*len = n;
	return LINEIO_OK;
}

int
lineio_has_input(struct lineio *io)
{
	struct pollfd pfd = { .fd = io->rfd, .events = POLLIN };

	if (io->ipos < io->iend || io->ops->pending(io->ctx) > 0)
		return 1;
	return poll(&pfd, 1, 0) == 1;
}

void
lineio_forget_consumed(struct lineio *io)
{
	explicit_bzero(io->in, io->ipos);
	explicit_bzero(io->in + io->iend, sizeof(io->in) - io->iend);
}

size_t
lineio_discard_input(struct lineio *io)
{
	size_t n = io->iend - io->ipos;

	/* what was pipelined may have been an AUTH line: cleared too */
	explicit_bzero(io->in, io->iend);
	io->ipos = io->iend = 0;
	return n;
}

int
lineio_flush(struct lineio *io)
{
	int64_t deadline = lineio_now() + io->write_timeout_ms;
	size_t off = 0;
	ssize_t n;

	while (off < io->olen) {
		n = io->ops->write(io->ctx, io->out + off, io->olen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (wait_again(io, POLLOUT, deadline) <= 0)
				goto fail;
			continue;
		}
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	io->olen = 0;
	return 0;
fail:
	io->olen = 0;
	return -1;
}

int
lineio_write(struct lineio *io, const void *p, size_t n)
{
	const char *s = p;
	size_t room;

	while (n > 0) {
		if (io->olen == sizeof(io->out) && lineio_flush(io) == -1)
			return -1;
		room = sizeof(io->out) - io->olen;
		if (room > n)
			room = n;
		memcpy(io->out + io->olen, s, room);
		io->olen += room;
		s += room;
		n -= room;
	}
	return 0;
}

int
lineio_puts(struct lineio *io, const char *s)
{
	return lineio_write(io, s, strlen(s));
}

/* One reply line: fmt's text, cut to leave room for the CRLF in max. */
int
lineio_vline(struct lineio *io, size_t max, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	if (max > sizeof(line))
		max = sizeof(line);
	n = vsnprintf(line, max - 2, fmt, ap);
	if (n < 0)
		return -1;
	if ((size_t)n > max - 3)
		n = (int)(max - 3);
	line[n++] = '\r';
	line[n++] = '\n';
	return lineio_write(io, line, (size_t)n);
}

int
lineio_line(struct lineio *io, size_t max, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = lineio_vline(io, max, fmt, ap);
	va_end(ap);
	return rc;
}
