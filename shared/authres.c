/*
 * authres: a scanner of the header section and of the start of an
 * Authentication-Results: field body. Nothing here allocates; every
 * loop is bounded by the input's length.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "authres.h"

#define FIELD		"Authentication-Results"
#define FIELD_LEN	(sizeof(FIELD) - 1)

/* RFC 2045 5.1: tspecials, which a token cannot hold */
static int
tspecial(int c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int
token_char(int c)
{
	return c > ' ' && c < 127 && !tspecial(c);
}

/* Past CFWS (RFC 5322 3.2.2): blanks, line ends, nested comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	unsigned depth = 0;

	while (i < len) {
		char c = s[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			i++;
		else if (c == '(') {
			depth = 1;
			i++;
		} else
			break;
	}
	return i;
}

int
authres_id(const char *body, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return -1;
	i = skip_cfws(body, len, 0);
	if (i < len && body[i] == '"') {
		/* quoted-string: quoted-pairs stand for their octet */
		for (i++; i < len && body[i] != '"'; i++) {
			if (body[i] == '\\' && i + 1 < len)
				i++;
			if (body[i] == '\r' || body[i] == '\n')
				continue;	/* folding inside the quotes */
			if (o + 1 >= outlen)
				return -1;
			out[o++] = body[i];
		}
		if (i == len)
			return -1;
	} else {
		for (; i < len && token_char((unsigned char)body[i]); i++) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = body[i];
		}
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* The end of the field that starts at i: past its continuation lines. */
static size_t
field_end(const char *msg, size_t len, size_t i)
{
	const char *nl;

	for (;;) {
		nl = memchr(msg + i, '\n', len - i);
		if (nl == NULL)
			return len;
		i = (size_t)(nl - msg) + 1;
		if (i == len || (msg[i] != ' ' && msg[i] != '\t'))
			return i;
	}
}

int
authres_next(const char *msg, size_t len, size_t *pos, const char *id,
    size_t *start, size_t *flen)
{
	char have[256];
	size_t i = *pos, end, n;

	while (i < len) {
		/* an empty line ends the header section (RFC 5322 2.1) */
		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n'))
			break;
		end = field_end(msg, len, i);
		/* the name, then blanks (RFC 5322 4.5.3 obs-optional), then ':' */
		n = i;
		if (end - i > FIELD_LEN &&
		    strncasecmp(msg + i, FIELD, FIELD_LEN) == 0) {
			n = i + FIELD_LEN;
			while (n < end && (msg[n] == ' ' || msg[n] == '\t'))
				n++;
		}
		if (n > i && n < end && msg[n] == ':' &&
		    authres_id(msg + n + 1, end - n - 1, have,
		    sizeof(have)) == 0 && strcasecmp(have, id) == 0) {
			*start = i;
			*flen = end - i;
			*pos = end;
			return 1;
		}
		i = end;
	}
	*pos = i;
	return 0;
}

int
authres_value(const char *in, char *out, size_t outlen)
{
	size_t i, o = 0;
	int token = in[0] != '\0';

	for (i = 0; in[i]; i++)
		if (!token_char((unsigned char)in[i]))
			token = 0;
	if (token)
		return strlen(in) < outlen ?
		    (memcpy(out, in, strlen(in) + 1), 0) : -1;
	if (outlen < 3)
		return -1;
	out[o++] = '"';
	for (i = 0; in[i]; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < ' ' || c == 127)
			continue;
		if (c == '"' || c == '\\') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '\\';
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	if (o + 2 > outlen)
		return -1;
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}
