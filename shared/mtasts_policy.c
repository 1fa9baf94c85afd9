/*
 * mtasts_policy: RFC 8461's two texts and its MX matching. The policy
 * comes from a web server of the recipient's (or of whoever holds its
 * name): every line is checked, nothing is cut to fit; a text that does
 * not parse is no policy, which leaves delivery as it was without one.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mtasts_policy.h"
#include "str.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8461 3.1: sts-ext-name, (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" /
 * "-" / "."); the policy's extension names (3.2) are the same. */
static int
ext_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 32 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

int
mtasts_txt_parse(const char *txt, char id[MTASTS_ID_MAX + 1])
{
	const char *p = txt, *name, *eq, *val;
	size_t nlen, vlen, i;
	int have_id = 0;

	/* %s"v=STSv1": case-sensitive, and first */
	if (strncmp(p, "v=STSv1", 7) != 0 ||
	    (p[7] != '\0' && p[7] != ';' && !is_wsp(p[7])))
		return 0;
	p += 7;
	id[0] = '\0';
	for (;;) {
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return -1;
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;		/* [%x3B] at the end */
		name = p;
		if ((eq = strchr(p, '=')) == NULL)
			return -1;
		nlen = (size_t)(eq - name);
		val = eq + 1;
		/* sts-ext-value: %x21-3A / %x3C / %x3E-7E */
		for (vlen = 0; val[vlen] > 0x20 && val[vlen] < 0x7f &&
		    val[vlen] != ';' && val[vlen] != '='; vlen++)
			;
		if (!ext_name_valid(name, nlen) || vlen == 0)
			return -1;
		p = val + vlen;
		if (nlen != 2 || strncmp(name, "id", 2) != 0)
			continue;	/* an extension: ignored */
		if (have_id)
			return -1;	/* two ids: which one? */
		if (vlen > MTASTS_ID_MAX)
			return -1;
		for (i = 0; i < vlen; i++)
			if (!isalnum((unsigned char)val[i]))
				return -1;
		memcpy(id, val, vlen);
		id[vlen] = '\0';
		have_id = 1;
	}
	return have_id ? 1 : -1;
}

static int
fail(char *why, size_t whylen, const char *what, size_t line)
{
	str_fmt_trunc(why, whylen, "line %zu: %s", line, what);
	return -1;
}

/* An mx value: ["*."] Domain (RFC 8461 3.2), kept lowercased. */
static int
add_mx(struct mtasts_policy *p, const char *v, size_t n)
{
	const char *d = v;
	size_t dn = n;

	if (n > 0 && v[n - 1] == '.')
		dn = --n;	/* a trailing dot names the same host */
	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		d = v + 2;
		dn = n - 2;
	}
	if (dn == 0 || dn > ADDR_DOMAIN_MAX || !addr_domain_valid(d, dn, 0) ||
	    p->nmx >= MTASTS_MX_MAX)
		return -1;
	memcpy(p->mx[p->nmx], v, n);
	p->mx[p->nmx][n] = '\0';
	str_lower(p->mx[p->nmx]);
	p->nmx++;
	return 0;
}

int
mtasts_policy_parse(const char *text, size_t len, struct mtasts_policy *p,
    char *why, size_t whylen)
{
	const char *line = text, *end = text + len, *nl, *colon, *v;
	size_t n, klen, vlen, lineno = 0, i;
	int have_version = 0, have_mode = 0, have_age = 0;
	uint64_t age;

	memset(p, 0, sizeof(*p));
	if (len > MTASTS_POLICY_MAX)
		return fail(why, whylen, "policy too long", 0);
	for (; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		n = (size_t)(nl - line);
		/* sts-policy-term: LF or CRLF */
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;	/* a blank line (the last, mostly) */
		for (i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				return fail(why, whylen, "control character",
				    lineno);
		if ((colon = memchr(line, ':', n)) == NULL)
			return fail(why, whylen, "no ':'", lineno);
		klen = (size_t)(colon - line);
		if (!ext_name_valid(line, klen))
			return fail(why, whylen, "bad field name", lineno);
		/* sts-policy-field-delim = ":" *WSP; trailing *WSP too */
		for (v = colon + 1; v < line + n && is_wsp(*v); v++)
			;
		for (vlen = (size_t)(line + n - v); vlen > 0 &&
		    is_wsp(v[vlen - 1]); vlen--)
			;
#define KEY(s)	(klen == sizeof(s) - 1 && strncasecmp(line, s, klen) == 0)
#define VAL(s)	(vlen == sizeof(s) - 1 && strncasecmp(v, s, vlen) == 0)
		if (KEY("version")) {
			if (have_version++ || !VAL("STSv1"))
				return fail(why, whylen, "bad version", lineno);
		} else if (KEY("mode")) {
			if (have_mode++)
				return fail(why, whylen, "mode twice", lineno);
			if (VAL("enforce"))
				p->mode = MTASTS_ENFORCE;
			else if (VAL("testing"))
				p->mode = MTASTS_TESTING;
			else if (VAL("none"))
				p->mode = MTASTS_NONE;
			else
				return fail(why, whylen, "bad mode", lineno);
		} else if (KEY("max_age")) {
			/* 1*10(DIGIT); above a year counts as a year */
			if (have_age++ || vlen == 0 || vlen > 10)
				return fail(why, whylen, "bad max_age", lineno);
			for (age = 0, i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i]))
					return fail(why, whylen, "bad max_age",
					    lineno);
				age = age * 10 + (uint64_t)(v[i] - '0');
			}
			p->max_age = age > MTASTS_MAX_AGE_MAX ?
			    MTASTS_MAX_AGE_MAX : (uint32_t)age;
		} else if (KEY("mx")) {
			if (add_mx(p, v, vlen) == -1)
				return fail(why, whylen, p->nmx >=
				    MTASTS_MX_MAX ? "too many mx" : "bad mx",
				    lineno);
		}
		/* anything else: an extension, ignored (RFC 8461 3.2) */
#undef KEY
#undef VAL
	}
	if (!have_version || !have_mode || !have_age)
		return fail(why, whylen, !have_version ? "no version" :
		    !have_mode ? "no mode" : "no max_age", lineno);
	if (p->nmx == 0 && p->mode != MTASTS_NONE)
		return fail(why, whylen, "no mx", lineno);
	return 0;
}

int
mtasts_mx_match(const struct mtasts_policy *p, const char *host)
{
	size_t hn = strlen(host), i, pn;
	const char *dot;

	if (hn > 0 && host[hn - 1] == '.')
		hn--;
	for (i = 0; i < p->nmx; i++) {
		const char *pat = p->mx[i];
		pn = strlen(pat);
		if (pat[0] != '*') {
			if (pn == hn && strncasecmp(pat, host, hn) == 0)
				return 1;
			continue;
		}
		/*
		 * RFC 8461 4.1: "*.example.com" stands for one label more
		 * than example.com: mail.example.com, neither example.com
		 * nor a.b.example.com.
		 */
		if ((dot = memchr(host, '.', hn)) == NULL || dot == host)
			continue;
		if ((size_t)(host + hn - dot) == pn - 1 &&
		    strncasecmp(dot, pat + 1, pn - 1) == 0)
			return 1;
	}
	return 0;
}

const char *
mtasts_mode_name(enum mtasts_mode m)
{
	return m == MTASTS_ENFORCE ? "enforce" : m == MTASTS_TESTING ?
	    "testing" : "none";
}
