/*
 * str: bounded string helpers (glibc 2.36 has no strlcpy) and a growable
 * buffer with a hard maximum. Used everywhere; truncation is always reported.
 */
#ifndef POMBO_STR_H
#define POMBO_STR_H

#include <stddef.h>
#include <stdarg.h>

#include "log.h"

/*
 * The compiler warns wherever the result of str_copy or str_fmt is
 * unused (GCC takes no (void) cast for an answer: hence the _trunc
 * forms). A call either checks the result, because a cut value would
 * mean something else (a key, an address, a path, a file name, a
 * command's argument), or says it does not care by calling the _trunc
 * form instead: truncation intended (a log or reply text keeps its
 * start) or impossible (the source is known to fit; a short comment says
 * why where that is not plain). grep _trunc finds them all.
 */
#define STR_CHECK	__attribute__((warn_unused_result))

/* Copy with truncation; returns -1 if src did not fit (dst still ends in NUL). */
int str_copy(char *dst, const char *src, size_t size) STR_CHECK;
/* snprintf that returns -1 on truncation or error. */
int str_fmt(char *dst, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4)
    STR_CHECK;
/* The same, truncation intended or impossible (see above). */
void str_copy_trunc(char *dst, const char *src, size_t size);
void str_fmt_trunc(char *dst, size_t size, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* Case-insensitive prefix test: returns the rest of s after prefix, or NULL. */
const char *str_prefix(const char *s, const char *prefix);
/* Lowercase in place (ASCII only). */
void str_lower(char *s);
/* Trim ASCII whitespace in place at both ends; returns the start. */
char *str_trim(char *s);
/* No control character (C0 or DEL): fit for one line of a protocol or file. */
int str_printable(const char *s);
/* Turn every control character into a space, in place. */
void str_unctrl(char *s);

/* A growable byte buffer that never exceeds max. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *p, size_t n);	/* -1: over max */
/* Room for n more octets (and a NUL) after len: 0, or -1 over max. */
int buf_reserve(struct buf *b, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
int buf_addc(struct buf *b, char c);
/* Makes data a C string (without counting the NUL in len). */
const char *buf_cstr(struct buf *b);

#endif
