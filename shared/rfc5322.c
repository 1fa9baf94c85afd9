/*
 * rfc5322: a small scanner that knows quoted strings, comments (nested)
 * and angle brackets, enough to split an address list at its top-level
 * commas and find each mailbox. Every address found is validated with
 * the RFC 5321 mailbox parser before it is passed on.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "rfc5322.h"
#include "str.h"

/*
 * An addr-spec as written in s (n octets), without the comments and
 * blanks (CFWS) RFC 5322 3.4.1 and 4.4 allow around its parts, into
 * out; *first: where in s its first octet was. -1: too long, or an
 * unclosed quoted local part.
 */
static int
strip_cfws(const char *s, size_t n, char *out, size_t outlen, size_t *first)
{
	size_t i, o = 0;

	*first = (size_t)-1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '(') {
			int d = 1;
			for (i++; i < n && d; i++) {
				if (s[i] == '\\')
					i++;
				else if (s[i] == '(')
					d++;
				else if (s[i] == ')')
					d--;
			}
			i--;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (*first == (size_t)-1)
			*first = i;
		if (c == '"') {
			/* a quoted local part keeps its quotes */
			do {
				if (o + 1 >= outlen)
					return -1;
				out[o++] = s[i];
				if (s[i] == '\\' && i + 1 < n) {
					if (o + 1 >= outlen)
						return -1;
					out[o++] = s[++i];
				}
			} while (++i < n && s[i] != '"');
			if (i >= n || o + 1 >= outlen)
				return -1;
			out[o++] = '"';
			continue;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (int)o;
}

/*
 * One entry (between top-level commas): its address, or "" if none.
 * *at is where in s an "@domain" would go (before the '>', or after a
 * bare addr-spec written without blanks or comments inside), else
 * (size_t)-1.
 */
static int
entry_address(const char *s, size_t n, char *out, size_t outlen,
    size_t *at)
{
	size_t i, o = 0, lt = (size_t)-1, gt = (size_t)-1;
	size_t first = (size_t)-1;
	int depth = 0, quoted = 0;

	*at = (size_t)-1;
	/* find the last top-level <...> */
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (quoted) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				quoted = 0;
		} else if (depth) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '"')
			quoted = 1;
		else if (c == '(')
			depth = 1;
		else if (c == '<')
			lt = i;
		else if (c == '>' && lt != (size_t)-1)
			gt = i;
	}
	if (quoted || depth)
		return -1;
	if (lt != (size_t)-1 && gt != (size_t)-1 && gt > lt) {
		const char *p = s + lt + 1, *e = s + gt;
		/* an obsolete route "@a,@b:" before the mailbox is dropped */
		if (*p == '@') {
			const char *colon = memchr(p, ':', (size_t)(e - p));
			if (colon == NULL)
				return -1;
			p = colon + 1;
		}
		/*
		 * "< john.doe@example.org >", "<john (Work) @example.org>":
		 * CFWS inside the brackets is RFC 5322's (3.4.1, 4.4); an
		 * address so written is not one to qualify in place.
		 */
		if ((o = (size_t)strip_cfws(p, (size_t)(e - p), out, outlen,
		    &first)) == (size_t)-1)
			return -1;
		if (o == (size_t)(e - p))
			*at = gt;
		return 0;
	}
	if (lt != (size_t)-1)
		return -1;
	/* a bare addr-spec: drop comments and blanks around it */
	if ((o = (size_t)strip_cfws(s, n, out, outlen, &first)) ==
	    (size_t)-1)
		return -1;
	/* copied one for one: nothing was left out between its ends */
	if (o > 0 && first + o <= n && memcmp(s + first, out, o) == 0)
		*at = first + o;
	return 0;
}

/*
 * Split value at its top-level commas (and a group's ':' and ';') and
 * give fn each entry's address ("" for none) and where its "@domain"
 * would go in value.
 */
static int
each_entry(const char *value, int (*fn)(char *addr, size_t at,
    const char *raw, size_t rawlen, void *arg), void *arg, char *err,
    size_t errlen)
{
	char addr[ADDR_MAX + 1];
	size_t i, at, start = 0, n = strlen(value);
	int depth = 0, quoted = 0, angle = 0;

	for (i = 0; i <= n; i++) {
		char c = i < n ? value[i] : ',';
		if (quoted) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				quoted = 0;
			continue;
		}
		if (depth) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '"') {
			quoted = 1;
			continue;
		}
		if (c == '(') {
			depth = 1;
			continue;
		}
		if (c == '<')
			angle = 1;
		else if (c == '>')
			angle = 0;
		/* a group's name ends at ':'; its list at ';' */
		if (!angle && c == ':') {
			start = i + 1;
			continue;
		}
		if (angle || (c != ',' && c != ';'))
			continue;
		if (entry_address(value + start, i - start, addr,
		    sizeof(addr), &at) == -1) {
			str_fmt_trunc(err, errlen, "bad address near '%.60s'",
			    value + start);
			return -1;
		}
		if (fn(addr, at == (size_t)-1 ? at : start + at,
		    value + start, i - start, arg) == -1)
			return -1;
		start = i + 1;
	}
	if (quoted || depth || angle) {
		str_fmt_trunc(err, errlen, "unbalanced quotes, comment or brackets");
		return -1;
	}
	return 0;
}

struct found {
	const char	*domain;
	int		(*cb)(const char *, void *);
	void		*ctx;
	char		*err;
	size_t		 errlen;
	int		 count;
};

static int
found_address(char *addr, size_t at, const char *raw, size_t rawlen,
    void *arg)
{
	struct found *f = arg;
	struct addr a;

	(void)at;
	(void)raw;
	(void)rawlen;
	if (addr[0] == '\0')
		return 0;	/* empty group, trailing comma */
	/* "To: root", as cron writes it: a local user of domain */
	if (f->domain && strchr(addr, '@') == NULL &&
	    str_fmt(addr + strlen(addr), ADDR_MAX + 1 - strlen(addr), "@%s",
	    f->domain) == -1) {
		str_fmt_trunc(f->err, f->errlen, "'%.100s' is too long", addr);
		return -1;
	}
	if (addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1) {
		str_fmt_trunc(f->err, f->errlen, "'%.100s' is not an address",
		    addr);
		return -1;
	}
	if (++f->count > RFC5322_MAX_ADDRS) {
		str_fmt_trunc(f->err, f->errlen, "too many addresses");
		return -1;
	}
	if (f->cb(addr, f->ctx) == -1) {
		str_fmt_trunc(f->err, f->errlen, "cannot take '%.100s'", addr);
		return -1;
	}
	return 0;
}

int
rfc5322_addresses(const char *value, int (*cb)(const char *, void *),
    void *ctx, char *err, size_t errlen)
{
	return rfc5322_addresses_in(value, NULL, cb, ctx, err, errlen);
}

int
rfc5322_addresses_in(const char *value, const char *domain,
    int (*cb)(const char *, void *), void *ctx, char *err, size_t errlen)
{
	struct found f = { domain, cb, ctx, err, errlen, 0 };

	if (each_entry(value, found_address, &f, err, errlen) == -1)
		return -1;
	return f.count;
}

struct qualify {
	const char	*value, *domain;
	size_t		 copied;
	struct buf	*out;
};

static int
qualify_address(char *addr, size_t at, const char *raw, size_t rawlen,
    void *arg)
{
	struct qualify *q = arg;
	struct addr a;
	size_t n = strlen(addr);

	(void)raw;
	(void)rawlen;
	if (n == 0 || strchr(addr, '@') != NULL || at == (size_t)-1)
		return 0;
	if (str_fmt(addr + n, ADDR_MAX + 1 - n, "@%s", q->domain) == -1 ||
	    addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1)
		return 0;	/* left as it was */
	if (buf_add(q->out, q->value + q->copied, at - q->copied) == -1 ||
	    buf_addc(q->out, '@') == -1 || buf_addstr(q->out, q->domain) == -1)
		return -1;
	q->copied = at;
	return 0;
}

int
rfc5322_qualify(const char *value, const char *domain, struct buf *out)
{
	struct qualify q = { value, domain, 0, out };
	size_t len0 = out->len;
	char err[8];

	if (each_entry(value, qualify_address, &q, err, sizeof(err)) == -1 ||
	    buf_addstr(out, value + q.copied) == -1) {
		out->len = len0;
		return -1;
	}
	return 0;
}

struct from_domains {
	char	(*d)[ADDR_DOMAIN_MAX + 1];
	size_t	 n, max;
	size_t	 found;		/* addresses of the field being read */
	int	 unread;	/* a field or an address gave no domain */
};

/*
 * Whether the RFC 2047 encoded words in s (n octets) may decode to an
 * '@': "=40" in a Q one, an octet 0x40 in a B one (so also in UTF-16).
 * Read as leniently as readers' programs do (no padding needed).
 */
static int
encoded_at(const char *s, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = s, *end = s + n, *q, *t;
	unsigned int acc, bits;
	char enc;

	while ((q = memchr(p, '=', (size_t)(end - p))) != NULL) {
		p = q + 1;
		if (p >= end || *p != '?')
			continue;
		/* =?charset?enc?text?= */
		if ((q = memchr(p + 1, '?', (size_t)(end - p - 1))) == NULL ||
		    end - q < 4 || q[2] != '?')
			continue;
		enc = q[1];
		for (t = q + 3; t + 1 < end && !(t[0] == '?' && t[1] == '=');
		    t++)
			;
		if (t + 1 >= end)
			continue;
		if (enc == 'Q' || enc == 'q') {
			for (q += 3; q + 2 < t; q++)
				if (q[0] == '=' && q[1] == '4' && q[2] == '0')
					return 1;
		} else if (enc == 'B' || enc == 'b') {
			for (q += 3, acc = 0, bits = 0; q < t; q++) {
				const char *c;
				if (*q == '\0' ||
				    (c = strchr(b64, *q)) == NULL)
					continue;
				acc = (acc << 6 | (unsigned int)(c - b64)) &
				    0xffffff;
				if ((bits += 6) >= 8) {
					bits -= 8;
					if (((acc >> bits) & 0xff) == '@')
						return 1;
				}
			}
		}
		p = t + 2;
	}
	return 0;
}

/*
 * One entry of a From: field. One without an '@', brackets or an
 * encoded word that may hide an '@' is a piece of a display name that
 * a comma split ("Doe, John <j@example.org>", as some programs write
 * it): nothing to read, nothing unread. One with an '@' that is no
 * address ("ceo@bank.example.", "ceo.@bank.example", "ceo(@)bank.example",
 * "ceo@bank.example <>", "=?utf-8?q?ceo=40bank.example?=") is an author
 * a reader's program may show and the check cannot read.
 */
static int
author_entry(char *addr, size_t at, const char *raw, size_t rawlen,
    void *arg)
{
	struct from_domains *f = arg;
	struct addr a;
	const char *d;
	size_t i;

	(void)at;
	if (strchr(addr, '@') == NULL) {
		if (memchr(raw, '@', rawlen) != NULL ||
		    memchr(raw, '<', rawlen) != NULL ||
		    encoded_at(raw, rawlen))
			f->unread = 1;
		return 0;
	}
	if (addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1) {
		f->unread = 1;
		return 0;
	}
	f->found++;
	d = strrchr(addr, '@') + 1;
	for (i = 0; i < f->n; i++)
		if (strcasecmp(f->d[i], d) == 0)
			return 0;
	if (f->n < f->max && str_copy(f->d[f->n], d, sizeof(f->d[0])) == 0)
		str_lower(f->d[f->n++]);
	else if (f->n < f->max)
		f->unread = 1;		/* too long to be a domain */
	return 0;
}

size_t
rfc5322_from_fields(const char *hdr, size_t len,
    void (*cb)(const char *body, void *arg), void *arg)
{
	struct buf val;
	size_t pos = 0, n, nfrom = 0;
	int in_from = 0, bad = 0;

	buf_init(&val, RFC5322_FIELD_MAX);
	for (;;) {
		const char *line = hdr + pos, *nl = NULL;
		n = 0;
		if (pos < len) {
			nl = memchr(line, '\n', len - pos);
			n = nl ? (size_t)(nl - line) : len - pos;
			pos += n + (nl != NULL);
			if (n > 0 && line[n - 1] == '\r')
				n--;
		}
		if (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
			/* a folded line: unfolding removes the line end */
			if (in_from && !bad && buf_add(&val, line, n) == -1)
				bad = 1;
			continue;
		}
		/* a field ends: the From: one goes to cb */
		if (in_from)
			cb(!bad && buf_addc(&val, '\0') == 0 ? val.data : NULL,
			    arg);
		buf_reset(&val);
		bad = 0;
		in_from = 0;
		if (n == 0)
			break;		/* the end of the header (or of hdr) */
		/* "From", blanks (RFC 5322 4.5.3 obs-optional), ':' */
		if (n >= 5 && strncasecmp(line, "from", 4) == 0) {
			size_t c = 4;
			while (c < n && (line[c] == ' ' || line[c] == '\t'))
				c++;
			if (c < n && line[c] == ':') {
				in_from = 1;
				nfrom++;
				if (buf_add(&val, line + c + 1, n - c - 1) == -1)
					bad = 1;
			}
		}
	}
	buf_free(&val);
	return nfrom;
}

static void
from_field(const char *body, void *arg)
{
	struct from_domains *f = arg;
	char err[8];

	/* one that does not scan (an unclosed comment), or gives no
	 * address at all ("From: <>", "From: =?...?=", "From: CEO"),
	 * names no author the check can read */
	f->found = 0;
	if (body == NULL ||
	    each_entry(body, author_entry, f, err, sizeof(err)) == -1 ||
	    f->found == 0)
		f->unread = 1;
}

size_t
rfc5322_from_domains(const char *hdr, size_t len,
    char (*domains)[ADDR_DOMAIN_MAX + 1], size_t max, int *unread)
{
	struct from_domains f;

	f.d = domains;
	f.n = 0;
	f.max = max;
	f.unread = 0;
	rfc5322_from_fields(hdr, len, from_field, &f);
	*unread = f.unread;
	return f.n;
}
