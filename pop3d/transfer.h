/*
 * transfer: turns a stored message (LF line ends, no dot-stuffing) into
 * the octets of a POP3 multi-line response (RFC 1939 3): CRLF line ends,
 * dot-stuffed, a CRLF added at the end if missing; for TOP it stops after
 * the header and n body lines. Used by pop3d's RETR, TOP and by the
 * mailbox scan to size foreign files. Pure byte machine; the file is
 * untrusted data and any octets pass through it.
 */
#ifndef POMBO_POP3D_TRANSFER_H
#define POMBO_POP3D_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "lineio.h"

#define TRANSFER_ALL	UINT64_MAX	/* body lines of a RETR */

struct transfer {
	uint64_t	lines;	/* body lines still to send */
	uint64_t	size;	/* octets produced, stuffed dots not counted */
	int		bol;	/* the next octet starts a line */
	int		cr;	/* the last octet was a CR */
	int		blank;	/* this line is empty so far (a CR aside) */
	int		body;	/* past the blank line that ends the header */
	int		done;	/* TOP has sent its lines: ignore the rest */
};

void transfer_init(struct transfer *t, uint64_t body_lines);
/*
 * Convert n octets of in into out, which has room for 2 * n octets (an
 * LF becomes CRLF, a leading dot becomes two). Returns the octets in out.
 */
size_t transfer_feed(struct transfer *t, const char *in, size_t n, char *out);
/* At the end of the file: the CRLF a last unterminated line needs (<= 2). */
size_t transfer_end(struct transfer *t, char *out);

/* The RFC 1939 size of a whole file (as RETR sends it); -1 on error. */
int transfer_size(int fd, uint64_t *size);
/*
 * Send fd's message to io, then the terminating ".CRLF". -1 if the file
 * could not be read (the response is then broken: close the session) or
 * io failed.
 */
int transfer_send(int fd, struct lineio *io, uint64_t body_lines);

#endif
