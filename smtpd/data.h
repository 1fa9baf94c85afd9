/*
 * data: the DATA byte machine (RFC 5321 4.1.1.4, 4.5.2). Turns the
 * client's CRLF, dot-stuffed stream into the spool's LF form, finds the end
 * of data, counts size and Received: hops, and refuses bare LF and bare CR
 * (SMTP smuggling). Pure: bytes in, bytes out; used by smtpd and fuzzed.
 */
#ifndef POMBO_SMTPD_DATA_H
#define POMBO_SMTPD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "esmtp.h"

#define DATA_MAX_HOPS	ESMTP_MAX_HOPS

enum data_state {
	DS_BOL,		/* at the start of a line: seen CRLF or nothing */
	DS_DOT,		/* seen CRLF "." */
	DS_DOTCR,	/* seen CRLF "." CR */
	DS_TEXT,	/* inside a line */
	DS_CR,		/* inside a line, seen CR */
	DS_END,		/* seen CRLF "." CRLF: done */
};

enum {
	DATA_ERR_BARE_LF	= 1 << 0,
	DATA_ERR_BARE_CR	= 1 << 1,
	DATA_ERR_TOO_BIG	= 1 << 2,
	DATA_ERR_HOPS		= 1 << 3,
};

struct data_machine {
	enum data_state	state;
	int		lf_ends_lines;	/* a pipe: LF alone ends a line */
	unsigned	errors;
	unsigned	first_error;	/* the one to report */
	uint64_t	size;		/* octets of the message, LF form */
	/*
	 * The size RFC 1870 3 limits: the octets the client transmits,
	 * "including CR-LF pairs" but not the stuffing dots or the final
	 * dot line. A line end counts 2 even on a pipe, where LF alone ends
	 * lines: the same message costs the same however it came.
	 */
	uint64_t	wire_size;
	uint64_t	max_size;	/* of wire_size */
	int		in_header;
	unsigned	hops;
	size_t		linelen;	/* octets emitted on this line */
	char		head[10];	/* the line's first octets */
};

void data_init(struct data_machine *dm, int lf_ends_lines, uint64_t max_size);
/*
 * Consume up to len bytes of in, writing the message octets to out (room
 * for len bytes always suffices). Returns the bytes consumed: fewer than
 * len only when the end of data was reached (dm->state == DS_END). out
 * may be in itself: no octet is written past the one being read, so the
 * bytes after the ones consumed are left as they were.
 */
size_t data_feed(struct data_machine *dm, const char *in, size_t len,
    char *out, size_t *outlen);

#endif
