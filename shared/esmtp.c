/*
 * esmtp: MAIL/RCPT argument scanner. The path comes first, then
 * space-separated keyword[=value] pairs (RFC 5321 4.1.2 Mail-parameters);
 * each known keyword may appear once.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esmtp.h"
#include "str.h"

#define ERR(c, m) do { err->code = (c); err->msg = (m); return -1; } while (0)

int
esmtp_xtext_valid(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '+') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]) ||
			    islower((unsigned char)s[1]) ||
			    islower((unsigned char)s[2]))
				return 0;
			s += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return 0;
	}
	return 1;
}

int
esmtp_xtext_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		if (c < 33 || c > 126 || c == '+' || c == '=') {
			if (o + 4 > len)
				return -1;
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (o + 2 > len)
				return -1;
			out[o++] = (char)c;
		}
	}
	if (len == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* Splits "KEY=value" at p; returns the next parameter or NULL at the end. */
static char *
param_next(char *p, char **key, char **val)
{
	char *eq;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	*key = p;
	while (*p && *p != ' ')
		p++;
	if (*p)
		*p++ = '\0';
	if ((eq = strchr(*key, '=')) != NULL) {
		*eq = '\0';
		*val = eq + 1;
	} else
		*val = NULL;
	return p;
}

static int
keyword_valid(const char *k)
{
	if (!isalnum((unsigned char)*k))
		return 0;
	for (k++; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '-')
			return 0;
	return 1;
}

int
esmtp_value_valid(const char *v)
{
	/* esmtp-value = 1*(%d33-60 / %d62-126), or UTF-8 under RFC 6531 */
	if (*v == '\0')
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v < 33 || *v == '=' || *v == 127)
			return 0;
	return 1;
}

/* Copies the argument after "FROM:"/"TO:", tolerating a space after ':'. */
static const char *
skip_prefix(const char *arg, const char *prefix)
{
	const char *p = str_prefix(arg, prefix);

	if (p == NULL)
		return NULL;
	while (*p == ' ')
		p++;
	return p;
}

int
esmtp_parse_mail(const char *arg, int esmtp, struct mail_args *out,
    struct esmtp_err *err)
{
	char params[512], *p, *key, *val;
	const char *path, *end;
	unsigned flags = ADDR_NULL_OK;
	int seen_size = 0, seen_body = 0, seen_ret = 0, seen_envid = 0,
	    seen_auth = 0;

	memset(out, 0, sizeof(*out));
	if ((path = skip_prefix(arg, "FROM:")) == NULL || *path != '<')
		ERR(501, "5.5.4 Syntax: MAIL FROM:<address>");
	/* SMTPUTF8 decides how the path may look: find it first */
	if (esmtp && strcasestr(path, " SMTPUTF8") != NULL)
		flags |= ADDR_UTF8_OK;
	if ((end = addr_parse_path(path, flags, &out->from)) == NULL) {
		if (!(flags & ADDR_UTF8_OK) &&
		    addr_parse_path(path, flags | ADDR_UTF8_OK, &out->from))
			ERR(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		ERR(501, "5.1.7 Bad sender address syntax");
	}
	if (*end != '\0' && *end != ' ')
		ERR(501, "5.1.7 Bad sender address syntax");
	if (str_copy(params, end, sizeof(params)) == -1)
		ERR(501, "5.5.4 Too many parameters");
	p = params;
	if (!esmtp && *str_trim(p) != '\0')
		ERR(555, "5.5.4 Parameters need EHLO");
	while ((p = param_next(p, &key, &val)) != NULL) {
		if (!keyword_valid(key) || (val && !esmtp_value_valid(val)))
			ERR(501, "5.5.4 Bad parameter syntax");
		if (strcasecmp(key, "SIZE") == 0) {
			char *e;
			if (seen_size++ || val == NULL || !isdigit((unsigned char)*val))
				ERR(501, "5.5.4 Bad SIZE parameter");
			/* RFC 1870: 1*20DIGIT; past 2^64 - 1 it is as big as
			 * any limit, not a syntax error */
			errno = 0;
			out->size = strtoull(val, &e, 10);
			if (*e != '\0' || strlen(val) > 20)
				ERR(501, "5.5.4 Bad SIZE parameter");
			if (errno == ERANGE)
				out->size = UINT64_MAX;
		} else if (strcasecmp(key, "BODY") == 0) {
			if (seen_body++ || val == NULL)
				ERR(501, "5.5.4 Bad BODY parameter");
			if (strcasecmp(val, "7BIT") == 0)
				out->body = BODY_7BIT;
			else if (strcasecmp(val, "8BITMIME") == 0)
				out->body = BODY_8BITMIME;
			else
				ERR(501, "5.5.4 BODY must be 7BIT or 8BITMIME");
		} else if (strcasecmp(key, "SMTPUTF8") == 0) {
			if (out->smtputf8++ || val != NULL)
				ERR(501, "5.5.4 Bad SMTPUTF8 parameter");
		} else if (strcasecmp(key, "RET") == 0) {
			if (seen_ret++ || val == NULL)
				ERR(501, "5.5.4 Bad RET parameter");
			if (strcasecmp(val, "FULL") == 0)
				out->ret = RET_FULL;
			else if (strcasecmp(val, "HDRS") == 0)
				out->ret = RET_HDRS;
			else
				ERR(501, "5.5.4 RET must be FULL or HDRS");
		} else if (strcasecmp(key, "ENVID") == 0) {
			if (seen_envid++ || val == NULL ||
			    strlen(val) > ESMTP_ENVID_MAX ||
			    !esmtp_xtext_valid(val))
				ERR(501, "5.5.4 Bad ENVID parameter");
			str_copy_trunc(out->envid, val, sizeof(out->envid));
		} else if (strcasecmp(key, "AUTH") == 0) {
			/* RFC 4954 5: accepted; the session's own AUTH decides */
			if (seen_auth++ || val == NULL)
				ERR(501, "5.5.4 Bad AUTH parameter");
		} else
			ERR(555, "5.5.4 Unsupported MAIL parameter");
	}
	if (out->from.utf8 && !out->smtputf8)
		ERR(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
	return 0;
}

static int
notify_parse(char *v, unsigned *out)
{
	char *tok, *save = NULL;

	*out = 0;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned bit;
		if (strcasecmp(tok, "NEVER") == 0)
			bit = NOTIFY_NEVER;
		else if (strcasecmp(tok, "SUCCESS") == 0)
			bit = NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "FAILURE") == 0)
			bit = NOTIFY_FAILURE;
		else if (strcasecmp(tok, "DELAY") == 0)
			bit = NOTIFY_DELAY;
		else
			return -1;
		if (*out & bit)
			return -1;
		*out |= bit;
	}
	/* NEVER stands alone (RFC 3461 4.1) */
	if (*out == 0 || ((*out & NOTIFY_NEVER) && *out != NOTIFY_NEVER))
		return -1;
	return 0;
}

int
esmtp_parse_rcpt(const char *arg, int esmtp, int smtputf8,
    struct rcpt_args *out, struct esmtp_err *err)
{
	char params[1024], *p, *key, *val;
	const char *path, *end, *semi;
	unsigned flags = ADDR_POSTMASTER_OK;
	int seen_orcpt = 0;

	memset(out, 0, sizeof(*out));
	if (smtputf8)
		flags |= ADDR_UTF8_OK;
	if ((path = skip_prefix(arg, "TO:")) == NULL || *path != '<')
		ERR(501, "5.5.4 Syntax: RCPT TO:<address>");
	if ((end = addr_parse_path(path, flags, &out->to)) == NULL) {
		if (!smtputf8 &&
		    addr_parse_path(path, flags | ADDR_UTF8_OK, &out->to))
			ERR(553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		ERR(501, "5.1.3 Bad recipient address syntax");
	}
	if (*end != '\0' && *end != ' ')
		ERR(501, "5.1.3 Bad recipient address syntax");
	if (str_copy(params, end, sizeof(params)) == -1)
		ERR(501, "5.5.4 Too many parameters");
	p = params;
	if (!esmtp && *str_trim(p) != '\0')
		ERR(555, "5.5.4 Parameters need EHLO");
	while ((p = param_next(p, &key, &val)) != NULL) {
		if (!keyword_valid(key) || (val && !esmtp_value_valid(val)))
			ERR(501, "5.5.4 Bad parameter syntax");
		if (strcasecmp(key, "NOTIFY") == 0) {
			if (out->notify || val == NULL ||
			    notify_parse(val, &out->notify) == -1)
				ERR(501, "5.5.4 Bad NOTIFY parameter");
		} else if (strcasecmp(key, "ORCPT") == 0) {
			/* addr-type ";" xtext, RFC 3461 4.2 */
			if (seen_orcpt++ || val == NULL ||
			    strlen(val) > ESMTP_ORCPT_MAX ||
			    (semi = strchr(val, ';')) == NULL || semi == val ||
			    !esmtp_xtext_valid(semi + 1) || semi[1] == '\0')
				ERR(501, "5.5.4 Bad ORCPT parameter");
			str_copy_trunc(out->orcpt, val, sizeof(out->orcpt));
		} else
			ERR(555, "5.5.4 Unsupported RCPT parameter");
	}
	return 0;
}

const char *
esmtp_notify_str(unsigned notify, char *buf, size_t len)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ NOTIFY_NEVER, "NEVER" }, { NOTIFY_SUCCESS, "SUCCESS" },
		{ NOTIFY_FAILURE, "FAILURE" }, { NOTIFY_DELAY, "DELAY" },
	};
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (notify & names[i].bit) {
			int n = snprintf(buf + o, len - o, "%s%s",
			    o ? "," : "", names[i].name);
			if (n < 0 || (size_t)n >= len - o)
				break;
			o += (size_t)n;
		}
	return buf;
}

int
esmtp_format_mail(const struct mail_args *m, char *buf, size_t len)
{
	char a[ADDR_MAX + 1], size[32] = "";

	addr_format(&m->from, a, sizeof(a));
	if (m->size)
		str_fmt_trunc(size, sizeof(size), " SIZE=%llu",
		    (unsigned long long)m->size);
	return str_fmt(buf, len, "<%s>%s%s%s%s%s%s", a, size,
	    m->body == BODY_8BITMIME ? " BODY=8BITMIME" :
	    m->body == BODY_7BIT ? " BODY=7BIT" : "",
	    m->smtputf8 ? " SMTPUTF8" : "",
	    m->ret == RET_FULL ? " RET=FULL" : m->ret == RET_HDRS ? " RET=HDRS" : "",
	    m->envid[0] ? " ENVID=" : "", m->envid) < 0 ? -1 : 0;
}

int
esmtp_format_rcpt(const struct rcpt_args *r, char *buf, size_t len)
{
	char a[ADDR_MAX + 1], n[64];

	addr_format(&r->to, a, sizeof(a));
	return str_fmt(buf, len, "<%s>%s%s%s%s", a,
	    r->notify ? " NOTIFY=" : "",
	    r->notify ? esmtp_notify_str(r->notify, n, sizeof(n)) : "",
	    r->orcpt[0] ? " ORCPT=" : "", r->orcpt) < 0 ? -1 : 0;
}
