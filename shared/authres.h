/*
 * authres: the Authentication-Results: header fields of a message
 * (RFC 8601): finds the ones that claim an authserv-id, so that the
 * verify agent removes those of ours before it puts its own on top
 * (RFC 8601 5), and writes values as the field's grammar wants them.
 * Used by pombo-verify; pure and fuzzed: the message is anyone's.
 */
#ifndef POMBO_AUTHRES_H
#define POMBO_AUTHRES_H

#include <stddef.h>

/*
 * The next header field at or after *pos (the start of a line of the
 * header section of msg, LF line ends) that is an Authentication-Results:
 * field whose authserv-id is id (ASCII case-insensitive): 1 with *start
 * and *flen its octets (name, body, continuation lines and the last LF),
 * *pos past it; 0 when the header section ends first (*pos at the empty
 * line that ends it, or len).
 */
int authres_next(const char *msg, size_t len, size_t *pos, const char *id,
    size_t *start, size_t *flen);
/*
 * The authserv-id of a field body (after the colon; folded lines
 * allowed): 0 with out, -1 if there is none or it does not fit.
 */
int authres_id(const char *body, size_t len, char *out, size_t outlen);
/*
 * in as an RFC 2045 value: itself when it is a token, else a quoted
 * string (RFC 5322 3.2.4; controls dropped). 0, or -1 if out is short.
 */
int authres_value(const char *in, char *out, size_t outlen);

#endif
