/*
 * addr: a hand-written scanner for the RFC 5321 4.1.2 grammar. Every
 * function takes explicit lengths and bounds its output; nothing here
 * allocates. RFC 6531 widens atext and sub-domains to UTF-8 when the
 * client gave SMTPUTF8.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "str.h"

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int
addr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 1; cp = p[i] & 0x1f;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2; cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3; cp = p[i] & 0x07;
		} else
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
is_atext(unsigned char c, int utf8)
{
	if (isalnum(c))
		return 1;
	if (c >= 0x80)
		return utf8;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static int
is_letdig(unsigned char c, int utf8)
{
	return isalnum(c) || (utf8 && c >= 0x80);
}

int
addr_domain_valid(const char *d, size_t len, int utf8)
{
	size_t i, label = 0;

	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return 0;
	if (utf8 && !addr_utf8_valid(d, len))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			/* a sub-domain ends in a Let-dig, never a hyphen */
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (label == 0 ? !is_letdig(c, utf8) :
		    !(is_letdig(c, utf8) || c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && d[len - 1] != '-';
}

int
addr_literal_ip(const char *s, size_t len, char *out, size_t outlen)
{
	unsigned char tmp[16];
	int family = AF_INET;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return -1;
	s++;
	len -= 2;
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		family = AF_INET6;
		s += 5;
		len -= 5;
	}
	if (len >= outlen)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	/* General-address-literal: no Standardized-tag is registered */
	return inet_pton(family, out, tmp) == 1 ? 0 : -1;
}

/* address-literal with its brackets (RFC 5321 4.1.3). */
static int
literal_valid(const char *s, size_t len)
{
	char ip[64];

	return addr_literal_ip(s, len, ip, sizeof(ip)) == 0;
}

int
addr_helo_valid(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		return literal_valid(s, len);
	/* a trailing dot is common in EHLO names and harmless */
	if (len > 1 && s[len - 1] == '.')
		len--;
	return addr_domain_valid(s, len, 0);
}

/* Local-part = Dot-string / Quoted-string. Returns its length or 0. */
static size_t
local_scan(const char *s, int utf8)
{
	size_t i = 0;

	if (s[0] == '"') {
		for (i = 1; s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				c = (unsigned char)s[++i];
				if (c < 32 || c > 126)
					return 0;
			} else if (c == '\0' || (c < 32 || c == 127) ||
			    (c >= 0x80 && !utf8))
				return 0;
		}
		return i + 1;
	}
	for (;;) {
		size_t start = i;
		while (is_atext((unsigned char)s[i], utf8))
			i++;
		if (i == start)
			return 0;	/* empty atom: "..", leading or trailing dot */
		if (s[i] != '.')
			return i;
		i++;
	}
}

/* Mailbox = Local-part "@" ( Domain / address-literal ); length or 0. */
static size_t
mailbox_scan(const char *s, unsigned flags, struct addr *out)
{
	int utf8 = (flags & ADDR_UTF8_OK) != 0;
	size_t llen, dlen;
	const char *d;

	llen = local_scan(s, utf8);
	if (llen == 0 || llen > ADDR_LOCAL_MAX)
		return 0;
	if (s[llen] != '@') {
		/* RCPT TO:<Postmaster> needs no domain (RFC 5321 4.1.1.3) */
		if ((flags & ADDR_POSTMASTER_OK) && llen == 10 &&
		    strncasecmp(s, "postmaster", 10) == 0) {
			memcpy(out->local, s, llen);
			out->local[llen] = '\0';
			out->domain[0] = '\0';
			return llen;
		}
		return 0;
	}
	d = s + llen + 1;
	if (d[0] == '[') {
		const char *close = strchr(d, ']');
		if (close == NULL)
			return 0;
		dlen = (size_t)(close - d) + 1;
		if (!literal_valid(d, dlen))
			return 0;
	} else {
		dlen = 0;
		while (d[dlen] != '\0' && d[dlen] != '>' && d[dlen] != ' ')
			dlen++;
		if (!addr_domain_valid(d, dlen, utf8))
			return 0;
	}
	if (dlen > ADDR_DOMAIN_MAX)
		return 0;
	if (utf8 && !addr_utf8_valid(s, llen))
		return 0;
	memcpy(out->local, s, llen);
	out->local[llen] = '\0';
	memcpy(out->domain, d, dlen);
	out->domain[dlen] = '\0';
	return llen + 1 + dlen;
}

static int
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

const char *
addr_parse_path(const char *s, unsigned flags, struct addr *out)
{
	const char *start = s, *p;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (*s != '<')
		return NULL;
	p = s + 1;
	if (*p == '>') {
		if (!(flags & ADDR_NULL_OK))
			return NULL;
		out->null = 1;
		return p + 1;
	}
	/* A-d-l: "@" Domain *( "," "@" Domain ) ":", accepted and ignored */
	if (*p == '@') {
		for (;;) {
			size_t dlen = 0;
			p++;
			while (p[dlen] != '\0' && p[dlen] != ',' && p[dlen] != ':')
				dlen++;
			if (!addr_domain_valid(p, dlen, 0))
				return NULL;
			p += dlen;
			if (*p == ':')
				break;
			if (*p != ',' || p[1] != '@')
				return NULL;
			p++;
		}
		p++;
	}
	n = mailbox_scan(p, flags, out);
	if (n == 0 || p[n] != '>')
		return NULL;
	p += n + 1;
	if ((size_t)(p - start) > ADDR_PATH_MAX)
		return NULL;
	out->utf8 = has_8bit(out->local) || has_8bit(out->domain);
	return p;
}

int
addr_parse_mailbox(const char *s, unsigned flags, struct addr *out)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	n = mailbox_scan(s, flags & ~(unsigned)ADDR_POSTMASTER_OK, out);
	if (n == 0 || s[n] != '\0')
		return -1;
	out->utf8 = has_8bit(out->local) || has_8bit(out->domain);
	return 0;
}

void
addr_format(const struct addr *a, char *buf, size_t len)
{
	if (a->null)
		buf[0] = '\0';
	else if (a->domain[0] == '\0')
		str_copy_trunc(buf, a->local, len);
	else
		str_fmt_trunc(buf, len, "%s@%s", a->local, a->domain);
}

int
addr_local_canon(const char *local, char *buf, size_t len)
{
	size_t i, o = 0;
	int quoted = local[0] == '"';

	for (i = quoted ? 1 : 0; local[i] != '\0'; i++) {
		unsigned char c = (unsigned char)local[i];
		if (quoted && c == '"')
			break;
		if (quoted && c == '\\')
			c = (unsigned char)local[++i];
		if (o + 1 >= len)
			return -1;
		buf[o++] = (char)tolower(c);
	}
	buf[o] = '\0';
	return 0;
}

int
addr_local_quote(const char *local, char *buf, size_t len)
{
	size_t i, o = 0, n = strlen(local);

	if (n > 0 && local_scan(local, 1) == n && local[0] != '"')
		return str_copy(buf, local, len);	/* a Dot-string */
	/* RFC 5321 4.1.2: Quoted-string, '"' and '\' as quoted-pairs */
	if (len < 3)
		return -1;
	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		if (local[i] == '"' || local[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = local[i];
		if (o + 2 >= len)
			return -1;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}

/* The octets addr_encode writes as "%XX": structure in the lines. */
static int
enc_special(unsigned char c)
{
	return c <= ' ' || c == 0x7f || c == '%' || c == '<' || c == '>';
}

int
addr_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (len == 0)
		return -1;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (!enc_special(c)) {
			if (o + 1 >= len)
				goto full;
			out[o++] = (char)c;
			continue;
		}
		if (o + 3 >= len)
			goto full;
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return (int)o;
full:
	out[o] = '\0';	/* a prefix, for a log line */
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
addr_decode(const char *in, char *out, size_t len)
{
	size_t o = 0;
	int hi, lo;

	if (len == 0)
		return -1;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '%') {
			if ((hi = hexval(in[1])) == -1 ||
			    (lo = hexval(in[2])) == -1 || (hi | lo) == 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			in += 2;
		} else if (enc_special(c))
			return -1;	/* a blank here was a split word */
		if (o + 1 >= len)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}
