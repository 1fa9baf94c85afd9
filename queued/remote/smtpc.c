/*
 * smtpc: replies are read through the shared bounded line reader; a
 * reply of more than SMTPC_REPLY_LINES lines, a line over SMTPC_LINE_MAX,
 * or lines whose codes disagree end the connection as garbage.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mime8.h"
#include "smtpc.h"
#include "str.h"

int
smtpc_reply_line(const char *line, int *code, int *more)
{
	if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return -1;
	if (line[3] != ' ' && line[3] != '-' && line[3] != '\0')
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*more = line[3] == '-';
	return 0;
}

unsigned
smtpc_parse_ehlo(const char *kw, uint64_t *size_limit)
{
	char word[32];
	size_t n = strcspn(kw, " ");

	if (n == 0 || n >= sizeof(word))
		return 0;
	memcpy(word, kw, n);
	word[n] = '\0';
	if (strcasecmp(word, "PIPELINING") == 0)
		return EXT_PIPELINING;
	if (strcasecmp(word, "8BITMIME") == 0)
		return EXT_8BITMIME;
	if (strcasecmp(word, "SMTPUTF8") == 0)
		return EXT_SMTPUTF8;
	if (strcasecmp(word, "DSN") == 0)
		return EXT_DSN;
	if (strcasecmp(word, "STARTTLS") == 0)
		return EXT_STARTTLS;
	if (strcasecmp(word, "ENHANCEDSTATUSCODES") == 0)
		return EXT_ENHANCED;
	if (strcasecmp(word, "SIZE") == 0) {
		const char *p = kw + n;
		uint64_t v = 0;
		while (*p == ' ')
			p++;
		while (isdigit((unsigned char)*p) && v < (1ULL << 50))
			v = v * 10 + (uint64_t)(*p++ - '0');
		*size_limit = v;
		return EXT_SIZE;
	}
	return 0;
}

int
smtpc_connect(struct smtpc *c, const struct dns_addr *a, unsigned connect_ms,
    unsigned timeout_ms, char *err, size_t errlen)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, e = 0, r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1) {
		str_fmt_trunc(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == -1) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, (int)connect_ms);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			e = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
		if (e)
			goto fail;
	}
	/* blocking reads are bounded by lineio's poll deadlines */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	c->fd = fd;
	lineio_init(&c->io, fd, fd);
	c->io.write_timeout_ms = (int)timeout_ms;
	return 0;
fail:
	close(fd);
	str_fmt_trunc(err, errlen, "connect to %s: %s", a->text, strerror(e));
	return -1;
}

void
smtpc_close(struct smtpc *c)
{
	tls_close(c->tls);
	c->tls = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

int
smtpc_read(struct smtpc *c, struct smtpc_reply *r, unsigned timeout_ms,
    int ehlo)
{
	char line[SMTPC_LINE_MAX + 1];
	int64_t deadline = lineio_now() + timeout_ms;
	size_t len;
	int crlf, code, more = 1, first = 1, n;

	r->code = -1;
	str_copy_trunc(r->text, "421 4.4.2 Connection lost", sizeof(r->text));
	if (c->fd == -1)
		return -1;
	for (n = 0; more; n++) {
		if (n >= SMTPC_REPLY_LINES ||
		    lineio_read(&c->io, line, SMTPC_LINE_MAX, &len, &crlf,
		    deadline) != LINEIO_OK ||
		    smtpc_reply_line(line, &code, &more) == -1 ||
		    (!first && code != r->code)) {
			if (n > 0)
				str_copy_trunc(r->text, "421 4.4.2 Garbled reply",
				    sizeof(r->text));
			smtpc_close(c);
			r->code = -1;
			return -1;
		}
		if (first) {
			r->code = code;
			str_copy_trunc(r->text, line, sizeof(r->text));
			/*
			 * "250-..." reads as "250 ...". A bare "250" (the text
			 * is optional, RFC 5321 4.2) must end there: before,
			 * the space took the place of the NUL and the stale
			 * "4.4.2 Connection lost" above came back as its text.
			 */
			if (r->text[3] == '\0')
				r->text[4] = '\0';
			r->text[3] = ' ';
			/* keep the text printable, one line */
			str_unctrl(r->text);
			first = 0;
		} else if (ehlo && len > 4)
			c->ext |= smtpc_parse_ehlo(line + 4, &c->size_limit);
	}
	return r->code;
}

int
smtpc_send(struct smtpc *c, const char *fmt, ...)
{
	char line[SMTPC_LINE_MAX];
	va_list ap;
	int n;

	if (c->fd == -1)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	line[n++] = '\r';
	line[n++] = '\n';
	return lineio_write(&c->io, line, (size_t)n);
}

struct data_out {
	struct smtpc	*c;
	int		 bol;	/* at the start of a line */
};

/* Write message octets as SMTP data: dot-stuffing, CRLF line ends. */
static int
data_out(void *arg, const char *p, size_t n, int eol)
{
	struct data_out *d = arg;

	if (n > 0 && d->bol && p[0] == '.' &&
	    lineio_write(&d->c->io, ".", 1) == -1)
		return -1;
	if (n > 0 && lineio_write(&d->c->io, p, n) == -1)
		return -1;
	if (n > 0)
		d->bol = 0;
	if (!eol)
		return 0;
	d->bol = 1;
	return lineio_write(&d->c->io, "\r\n", 2);
}

/*
 * Is a reply already waiting? A readable socket is not enough: under TLS
 * it is readable with records that carry no reply, a TLS 1.3 KeyUpdate
 * or a late NewSessionTicket (RFC 8446 4.6), and a server that closed
 * makes it readable with an EOF. So the reply is read for, hardly
 * waiting: only octets of one count. An EOF or an error is left to the
 * dot and the read after it ("connection lost").
 *
 * Once something is there, the data still buffered goes out before the
 * read: sent inside lineio_fill, a slow server's taking of it used up
 * the wait, and the reply already there was never read. Not before the
 * look: with nothing there, the end of the data and the dot go in one
 * write; flushed apart, the dot is a small segment that Nagle holds
 * until the server ACKs the data, a delayed ACK (40 ms, 200 on some
 * systems) every message. And the wait is of some ticks, not 1 ms:
 * lineio_now is the coarse clock, and a deadline one tick old is never
 * polled.
 */
#define EARLY_REPLY_WAIT_MS	20

static int
early_reply(struct smtpc *c)
{
	if (!lineio_has_input(&c->io))
		return 0;
	if (lineio_flush(&c->io) == -1)
		return 0;
	return lineio_fill(&c->io, lineio_now() + EARLY_REPLY_WAIT_MS) ==
	    LINEIO_OK;
}

int
smtpc_send_message(struct smtpc *c, int fd, uint64_t off, uint64_t size,
    int to7bit, const char *prefix, size_t prefixlen)
{
	struct data_out d = { c, 1 };

	/* header fields made for this copy (DKIM-Signature), CRLF ends */
	if (prefixlen > 0 && lineio_write(&c->io, prefix, prefixlen) == -1)
		return -1;
	switch (mime8_stream(fd, off, size, to7bit, data_out, &d)) {
	case -2:
		/*
		 * A file shorter than its envelope says, or a read error:
		 * no final dot, or the server would take a truncated
		 * message; and the connection goes, or the next command
		 * would be read as the message.
		 */
		smtpc_close(c);
		return -2;
	case -1:
		return -1;
	}
	/*
	 * RFC 5321 4.2: the server replies once the data has ended, so a
	 * reply already here (a "250" sent with the 354) is out of step:
	 * taken as the answer to the dot, a rejection that came after it
	 * would be lost. No dot then, and the connection goes.
	 */
	if (early_reply(c)) {
		smtpc_close(c);
		return -3;
	}
	if (lineio_write(&c->io, ".\r\n", 3) == -1)
		return -1;
	return lineio_flush(&c->io);
}
