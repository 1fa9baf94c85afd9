/*
 * transfer: one pass over the file, octet by octet. The state is what
 * the previous octets were (start of a line, a CR), so a chunk boundary
 * can fall anywhere. The same machine sizes foreign files, so LIST and
 * RETR can never disagree about a message without ,W= in its name.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "transfer.h"

#define TRANSFER_CHUNK	8192

void
transfer_init(struct transfer *t, uint64_t body_lines)
{
	memset(t, 0, sizeof(*t));
	t->lines = body_lines;
	t->bol = 1;
	t->blank = 1;
}

/* A line has ended: count it, and see whether TOP has sent enough. */
static void
line_done(struct transfer *t)
{
	if (!t->body) {
		/* RFC 5322 2.1: the first empty line ends the header */
		if (t->blank) {
			t->body = 1;
			if (t->lines == 0)
				t->done = 1;
		}
	} else if (t->lines != TRANSFER_ALL && --t->lines == 0)
		t->done = 1;
	t->bol = 1;
	t->blank = 1;
	t->cr = 0;
}

size_t
transfer_feed(struct transfer *t, const char *in, size_t n, char *out)
{
	size_t i, o = 0, stuffed = 0;
	char c;

	for (i = 0; i < n && !t->done; i++) {
		c = in[i];
		if (t->bol && c == '.') {
			/* RFC 1939 3: a line starting with "." gets one more */
			out[o++] = '.';
			stuffed++;
		}
		if (c == '\n') {
			/* LF -> CRLF; a CRLF already there stays as it is */
			if (!t->cr)
				out[o++] = '\r';
			out[o++] = '\n';
			line_done(t);
			continue;
		}
		out[o++] = c;
		t->bol = 0;
		t->cr = c == '\r';
		if (c != '\r')
			t->blank = 0;
	}
	t->size += o - stuffed;
	return o;
}

size_t
transfer_end(struct transfer *t, char *out)
{
	size_t o = 0;

	if (t->done || t->bol)
		return 0;
	/* RFC 1939 3: the response is lines; finish an unterminated one */
	if (!t->cr)
		out[o++] = '\r';
	out[o++] = '\n';
	t->size += o;
	t->bol = 1;
	return o;
}

static ssize_t
read_retry(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

int
transfer_size(int fd, uint64_t *size)
{
	char in[TRANSFER_CHUNK], out[2 * TRANSFER_CHUNK];
	struct transfer t;
	ssize_t n;

	transfer_init(&t, TRANSFER_ALL);
	while ((n = read_retry(fd, in, sizeof(in))) > 0)
		transfer_feed(&t, in, (size_t)n, out);
	if (n == -1)
		return -1;
	transfer_end(&t, out);
	*size = t.size;
	return 0;
}

int
transfer_send(int fd, struct lineio *io, uint64_t body_lines)
{
	char in[TRANSFER_CHUNK], out[2 * TRANSFER_CHUNK];
	struct transfer t;
	size_t o;
	ssize_t n;

	transfer_init(&t, body_lines);
	while (!t.done && (n = read_retry(fd, in, sizeof(in))) != 0) {
		if (n == -1) {
			log_warn("read message");
			return -1;
		}
		o = transfer_feed(&t, in, (size_t)n, out);
		if (lineio_write(io, out, o) == -1)
			return -1;
	}
	o = transfer_end(&t, out);
	if (lineio_write(io, out, o) == -1 || lineio_write(io, ".\r\n", 3) == -1)
		return -1;
	return 0;
}
