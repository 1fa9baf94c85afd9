/*
 * mime8: streams a message out line by line and, for a server without
 * 8BITMIME (RFC 6152 3), turns its 8-bit leaf parts into quoted-printable
 * (RFC 2045 6.7), rewriting their Content-Transfer-Encoding; multipart
 * structure and encoded parts pass unchanged, message/rfc822 parts are
 * converted inside. Used by the remote agent's data writer. Trusts nothing in the message: headers and
 * nesting are bounded, and past a bound the rest passes unchanged.
 */
#ifndef POMBO_MIME8_H
#define POMBO_MIME8_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

#define MIME8_DEPTH	16
#define MIME8_HEADER_MAX (64 * 1024)
#define MIME8_BOUNDARY_MAX 70	/* RFC 2046 5.1.1 */

/* Emit n octets; eol: a line ends after them. */
typedef int (*mime8_out)(void *arg, const char *p, size_t n, int eol);

struct mime8 {
	int		 convert;
	mime8_out	 out;
	void		*arg;
	int		 in_header;	/* reading an entity's header */
	int		 encode;	/* this entity's body is QP-encoded */
	int		 multipart;	/* the current entity is multipart */
	int		 top;		/* the entity is the message itself */
	int		 broken;	/* a bound was hit: pass the rest */
	size_t		 depth;
	char		 boundary[MIME8_DEPTH][MIME8_BOUNDARY_MAX + 1];
	struct buf	 header;	/* the entity's header lines, LF ends */
	size_t		 qp_col;	/* QP: column of the output line */
	char		 qp_ws;		/* QP: a held blank, or 0 */
	int		 partial;	/* inside a line given in pieces */
};

void mime8_init(struct mime8 *m, int convert, mime8_out out, void *arg);
/* A line (or a piece of one: eol = 0) of the message, without its LF. */
int mime8_line(struct mime8 *m, const char *p, size_t n, int eol);
int mime8_finish(struct mime8 *m);
/*
 * The message at [off, off + size) of fd (a queue file: LF line ends)
 * through a mime8 to out: what the remote agent sends, and what its
 * DKIM signer reads, so both see the same octets. 0; -1 if out failed;
 * -2 if the message could not be read whole (a file shorter than size).
 */
int mime8_stream(int fd, uint64_t off, uint64_t size, int convert,
    mime8_out out, void *arg);
/* Any octet >= 0x80 (or NUL) in p? */
int mime8_has_8bit(const char *p, size_t n);

#endif
