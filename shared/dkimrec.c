/*
 * dkimrec: RFC 6376 3.2 tag=value lists. FWS may surround tags, '=' and
 * values, and fold inside a value; a tag appears once; unknown tags are
 * ignored (3.6.1: "Unrecognized tags MUST be ignored").
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "dkimrec.h"
#include "str.h"

#define BAD(...) do { str_fmt_trunc(err, errlen, __VA_ARGS__); return -1; } while (0)

static int
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy a value, blanks removed (p=) or kept inside and trimmed. */
static int
set_tag(char *dst, size_t size, const char *v, size_t n, int squeeze)
{
	size_t i, o = 0;

	while (n > 0 && is_fws(v[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		if (squeeze && is_fws(v[i]))
			continue;
		if (o + 1 >= size)
			return -1;
		dst[o++] = v[i];
	}
	dst[o] = '\0';
	return 0;
}

int
dkimrec_parse(const char *txt, size_t len, struct dkimrec *r, char *err,
    size_t errlen)
{
	static const char *known = "vkhstp";
	unsigned seen = 0;
	size_t pos = 0, ntag = 0;
	int has_p = 0;

	memset(r, 0, sizeof(*r));
	while (pos < len) {
		const char *name, *val, *kp;
		size_t nlen, vlen;

		while (pos < len && is_fws(txt[pos]))
			pos++;
		if (pos == len)
			break;		/* a trailing ';' is allowed */
		name = txt + pos;
		if (!isalpha((unsigned char)txt[pos]))
			BAD("tag %zu: a name must start with a letter", ntag + 1);
		while (pos < len && (isalnum((unsigned char)txt[pos]) ||
		    txt[pos] == '_'))
			pos++;
		nlen = (size_t)(txt + pos - name);
		while (pos < len && is_fws(txt[pos]))
			pos++;
		if (pos == len || txt[pos] != '=')
			BAD("tag %zu: no '='", ntag + 1);
		pos++;
		while (pos < len && is_fws(txt[pos]))
			pos++;
		val = txt + pos;
		/* tag-value: %x21-3A / %x3C-7E, and FWS between them */
		while (pos < len && txt[pos] != ';') {
			unsigned char c = (unsigned char)txt[pos];
			if (!is_fws((char)c) && (c < 0x21 || c > 0x7e))
				BAD("tag %zu: a control or 8-bit octet",
				    ntag + 1);
			pos++;
		}
		vlen = (size_t)(txt + pos - val);
		if (pos < len)
			pos++;		/* the ';' */
		ntag++;
		if (nlen != 1 || (kp = strchr(known, name[0])) == NULL)
			continue;
		if (seen & (1u << (kp - known)))
			BAD("tag %c= given twice", name[0]);
		seen |= 1u << (kp - known);
		/* 3.6.1: v=, if present, MUST be the first tag */
		if (name[0] == 'v' && ntag != 1)
			BAD("v= is not the first tag");
		switch (name[0]) {
		case 'v':
			if (set_tag(r->v, sizeof(r->v), val, vlen, 0) == -1 ||
			    strcmp(r->v, "DKIM1") != 0)
				BAD("v= is not DKIM1");
			break;
		case 'k':
			if (set_tag(r->k, sizeof(r->k), val, vlen, 1) == -1)
				BAD("k= too long");
			break;
		case 'h':
			if (set_tag(r->h, sizeof(r->h), val, vlen, 1) == -1)
				BAD("h= too long");
			break;
		case 's':
			if (set_tag(r->s, sizeof(r->s), val, vlen, 1) == -1)
				BAD("s= too long");
			break;
		case 't':
			if (set_tag(r->t, sizeof(r->t), val, vlen, 1) == -1)
				BAD("t= too long");
			break;
		case 'p':
			if (set_tag(r->p, sizeof(r->p), val, vlen, 1) == -1)
				BAD("p= too long");
			has_p = 1;
			break;
		}
	}
	if (!has_p)
		BAD("no p= (public key) tag");
	if (r->k[0] == '\0')
		str_copy_trunc(r->k, "rsa", sizeof(r->k));
	return 0;
}
