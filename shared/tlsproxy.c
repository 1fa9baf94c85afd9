/*
 * tlsproxy: the request and reply lines of pombo-tlsd's protocol. The
 * request names the files tlsd opens with its privileges: absolute
 * paths of printable octets only, no empty or extra field, numbers
 * without signs or leading junk, everything bounded.
 */
#include "config.h"

#include <string.h>

#include "str.h"
#include "tlsproxy.h"

#define MAGIC	"TLSPROXY 1 "

/* A path fit for the request: absolute, printable, no space. */
static int
path_ok(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len >= PATH_MAX || p[0] != '/')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

int
tlsproxy_req_format(const struct tlsproxy_req *r, char *buf, size_t len)
{
	char client[TLSPROXY_CLIENT_MAX];
	size_t i;

	if (!path_ok(r->cert, strlen(r->cert)) ||
	    !path_ok(r->key, strlen(r->key)) || r->timeout_ms < 1 ||
	    r->timeout_ms > TLSPROXY_TIMEOUT_MAX)
		return -1;
	/* the client is only for log lines: made fit rather than refused */
	str_copy_trunc(client, r->client[0] ? r->client : "-", sizeof(client));
	for (i = 0; client[i]; i++)
		if ((unsigned char)client[i] <= ' ' ||
		    (unsigned char)client[i] >= 0x7f)
			client[i] = '?';
	if (str_fmt(buf, len, MAGIC "%d %d %s %s %s\n", r->mx ? 1 : 0,
	    r->timeout_ms, client, r->cert, r->key) == -1)
		return -1;
	return (int)strlen(buf);
}

/*
 * The next field of line[*pos..len): up to a space (which must follow
 * unless it is the last field) or the end. Its start and length.
 */
static int
field(const char *line, size_t len, size_t *pos, int last, const char **f,
    size_t *flen)
{
	size_t i = *pos;

	*f = line + i;
	while (i < len && line[i] != ' ')
		i++;
	*flen = (size_t)(i - *pos);
	if (*flen == 0)
		return -1;
	if (last) {
		if (i != len)
			return -1;
	} else {
		if (i == len)
			return -1;
		i++;	/* the space */
	}
	*pos = i;
	return 0;
}

/* A decimal number without sign or leading zero, at most max. */
static int
number(const char *f, size_t flen, long max, long *v)
{
	size_t i;

	*v = 0;
	if (flen == 0 || flen > 10 || (f[0] == '0' && flen > 1))
		return -1;
	for (i = 0; i < flen; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		*v = *v * 10 + (f[i] - '0');
	}
	return *v <= max ? 0 : -1;
}

int
tlsproxy_req_parse(const char *line, size_t len, struct tlsproxy_req *r,
    char *err, size_t errlen)
{
	const char *f;
	size_t pos, flen, i;
	long v;

	memset(r, 0, sizeof(*r));
	if (len < strlen(MAGIC) || memcmp(line, MAGIC, strlen(MAGIC)) != 0) {
		str_copy_trunc(err, "not a TLSPROXY 1 request", errlen);
		return -1;
	}
	pos = strlen(MAGIC);
	if (field(line, len, &pos, 0, &f, &flen) == -1 ||
	    number(f, flen, 1, &v) == -1) {
		str_copy_trunc(err, "bad mx flag", errlen);
		return -1;
	}
	r->mx = (int)v;
	if (field(line, len, &pos, 0, &f, &flen) == -1 ||
	    number(f, flen, TLSPROXY_TIMEOUT_MAX, &v) == -1 || v < 1) {
		str_copy_trunc(err, "bad timeout", errlen);
		return -1;
	}
	r->timeout_ms = (int)v;
	if (field(line, len, &pos, 0, &f, &flen) == -1 ||
	    flen >= sizeof(r->client)) {
		str_copy_trunc(err, "bad client", errlen);
		return -1;
	}
	for (i = 0; i < flen; i++)
		if ((unsigned char)f[i] <= ' ' || (unsigned char)f[i] >= 0x7f) {
			str_copy_trunc(err, "bad client", errlen);
			return -1;
		}
	memcpy(r->client, f, flen);
	if (field(line, len, &pos, 0, &f, &flen) == -1 ||
	    !path_ok(f, flen)) {
		str_copy_trunc(err, "bad certificate path", errlen);
		return -1;
	}
	memcpy(r->cert, f, flen);
	if (field(line, len, &pos, 1, &f, &flen) == -1 ||
	    !path_ok(f, flen)) {
		str_copy_trunc(err, "bad key path", errlen);
		return -1;
	}
	memcpy(r->key, f, flen);
	return 0;
}

int
tlsproxy_reply_parse(const char *line, size_t len, enum tlsproxy_reply *kind,
    char *text, size_t textlen)
{
	static const struct {
		const char		*word;
		enum tlsproxy_reply	 kind;
	} words[] = {
		{ "OK", TLSPROXY_OK },
		{ "NOCERT", TLSPROXY_NOCERT },
		{ "ERR", TLSPROXY_ERR },
	};
	size_t i, w, n;

	if (textlen == 0)
		return -1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		w = strlen(words[i].word);
		if (len < w || memcmp(line, words[i].word, w) != 0 ||
		    (len > w && line[w] != ' '))
			continue;
		n = len > w ? len - w - 1 : 0;
		if (n >= textlen)
			n = textlen - 1;
		if (n)
			memcpy(text, line + w + 1, n);
		text[n] = '\0';
		/* the text goes into log lines */
		str_unctrl(text);
		*kind = words[i].kind;
		return 0;
	}
	return -1;
}
