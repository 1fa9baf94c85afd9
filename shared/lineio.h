/*
 * lineio: the one bounded line reader and buffered writer, used by smtpd,
 * pop3d, the remote agent and queued's clients. Hard maximum per line,
 * absolute deadlines (poll, never signals), distinct results, and I/O
 * through an ops struct so TLS and tests can swap the transport.
 */
#ifndef POMBO_LINEIO_H
#define POMBO_LINEIO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LINEIO_INSZ	16384
#define LINEIO_OUTSZ	16384

struct lineio_ops {
	ssize_t	(*read)(void *ctx, void *buf, size_t len);
	ssize_t	(*write)(void *ctx, const void *buf, size_t len);
	size_t	(*pending)(void *ctx);	/* bytes the transport holds */
	/*
	 * After read or write failed with EAGAIN: POLLIN (wait on rfd) or
	 * POLLOUT (on wfd). TLS may need to write to read and the reverse.
	 * NULL: a read waits for input, a write for room.
	 */
	short	(*events)(void *ctx);
};

enum lineio_result {
	LINEIO_OK = 0,
	LINEIO_TOOLONG,		/* line over the maximum; skipped to its end */
	LINEIO_TIMEOUT,
	LINEIO_EOF,
	LINEIO_ERROR,
};

struct lineio {
	int			 rfd, wfd;
	const struct lineio_ops	*ops;
	void			*ctx;
	int			 write_timeout_ms;
	int			 eof;
	size_t			 ipos, iend;
	size_t			 olen;
	char			 in[LINEIO_INSZ];
	char			 out[LINEIO_OUTSZ];
};

/* Milliseconds on CLOCK_MONOTONIC_COARSE; deadlines are absolute in it. */
int64_t lineio_now(void);

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
int lineio_wait(int fd, short events, int64_t deadline);

void lineio_init(struct lineio *io, int rfd, int wfd);
void lineio_set_ops(struct lineio *io, const struct lineio_ops *ops, void *ctx);

/*
 * Read one line of at most max octets (terminator excluded) into line,
 * NUL-terminated, so line needs max + 1 bytes. *crlf says whether it ended
 * in CRLF (1) or a bare LF (0). Before blocking, pending output is flushed
 * (RFC 2920: replies to a pipelined group go out when input runs dry).
 */
enum lineio_result lineio_read(struct lineio *io, char *line, size_t max,
    size_t *len, int *crlf, int64_t deadline);

/* Make at least one input byte available: the caller reads io->in. */
enum lineio_result lineio_fill(struct lineio *io, int64_t deadline);
static inline size_t lineio_avail(const struct lineio *io)
{ return io->iend - io->ipos; }
static inline const char *lineio_peek(const struct lineio *io)
{ return io->in + io->ipos; }
/* The same, for a caller that rewrites what it then consumes. */
static inline char *lineio_peek_rw(struct lineio *io)
{ return io->in + io->ipos; }
static inline void lineio_consume(struct lineio *io, size_t n)
{ io->ipos += n; }
/* Is more input already here (buffered, or in the transport)? */
int lineio_has_input(struct lineio *io);
/* Drop buffered input (STARTTLS: pipelined plaintext must not survive). */
size_t lineio_discard_input(struct lineio *io);
/*
 * Clear every octet of the input buffer but those not read yet: what was
 * consumed, and what is left past them of earlier reads (a line that
 * came in two reads has its first part there). After a password.
 */
void lineio_forget_consumed(struct lineio *io);

int lineio_write(struct lineio *io, const void *p, size_t n);
int lineio_puts(struct lineio *io, const char *s);
/* One reply line of at most max octets, CRLF included (max >= 3). */
int lineio_vline(struct lineio *io, size_t max, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int lineio_line(struct lineio *io, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lineio_flush(struct lineio *io);

#endif
