/*
 * rfc5322: a small scanner that knows quoted strings, comments (nested)
 * and angle brackets, enough to split an address list at its top-level
 * commas and find each mailbox. Every address found is validated with
 * the RFC 5321 mailbox parser before it is passed on.
 */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "rfc5322.h"
#include "str.h"

/* One entry (between top-level commas): its address, or "" if none. */
static int
entry_address(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0, lt = (size_t)-1, gt = (size_t)-1;
	int depth = 0, quoted = 0;

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
		if ((size_t)(e - p) >= outlen)
			return -1;
		memcpy(out, p, (size_t)(e - p));
		out[e - p] = '\0';
		return 0;
	}
	if (lt != (size_t)-1)
		return -1;
	/* a bare addr-spec: drop comments and blanks around it */
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
	char addr[ADDR_MAX + 1];
	struct addr a;
	size_t i, start = 0, n = strlen(value);
	int depth = 0, quoted = 0, angle = 0, count = 0;

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
		    sizeof(addr)) == -1) {
			str_fmt(err, errlen, "bad address near '%.60s'",
			    value + start);
			return -1;
		}
		start = i + 1;
		if (addr[0] == '\0')
			continue;	/* empty group, trailing comma */
		/* "To: root", as cron writes it: a local user of domain */
		if (domain && strchr(addr, '@') == NULL &&
		    str_fmt(addr + strlen(addr), sizeof(addr) - strlen(addr),
		    "@%s", domain) == -1) {
			str_fmt(err, errlen, "'%.100s' is too long", addr);
			return -1;
		}
		if (addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1) {
			str_fmt(err, errlen, "'%.100s' is not an address", addr);
			return -1;
		}
		if (++count > RFC5322_MAX_ADDRS) {
			str_fmt(err, errlen, "too many addresses");
			return -1;
		}
		if (cb(addr, ctx) == -1) {
			str_fmt(err, errlen, "cannot take '%.100s'", addr);
			return -1;
		}
	}
	if (quoted || depth || angle) {
		str_fmt(err, errlen, "unbalanced quotes, comment or brackets");
		return -1;
	}
	return count;
}
