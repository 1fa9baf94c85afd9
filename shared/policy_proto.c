/*
 * policy_proto: the policy delegation protocol of Postfix
 * (SMTPD_POLICY_README): a request is "name=value" lines ended by an
 * empty line; so is the reply, whose "action" is an access(5) action.
 * What each action does follows Postfix's defaults (access(5),
 * access_map_reject_code 554, access_map_defer_code 450, 5.7.1/4.7.1).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_proto.h"

int
policy_proto_encode(struct buf *out, const struct policy_attr *a, size_t n)
{
	char v[POLICY_VALUE_MAX + 1];
	size_t i, k;

	for (i = 0; i < n; i++) {
		/* a newline in a value would end the line, two the request */
		/* cut to POLICY_VALUE_MAX on purpose (policy_proto_test) */
		str_copy_trunc(v, a[i].value ? a[i].value : "", sizeof(v));
		for (k = 0; v[k]; k++)
			if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f)
				v[k] = '?';
		if (buf_printf(out, "%s=%s\n", a[i].name, v) == -1)
			return -1;
	}
	return buf_addc(out, '\n');
}

int
policy_proto_parse_reply(const char *buf, size_t len, struct policy_reply *out,
    size_t *used)
{
	const char *p = buf, *end = buf + len, *nl, *eq;
	size_t n, lines = 0;
	int have_action = 0;

	out->action[0] = '\0';
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')	/* a server written for CRLF */
			n--;
		if (n == 0) {
			if (!have_action)
				return -1;
			*used = (size_t)(nl + 1 - buf);
			return 1;
		}
		if (n > POLICY_LINE_MAX || ++lines > POLICY_ATTRS_MAX ||
		    memchr(p, '\0', n) != NULL ||
		    (eq = memchr(p, '=', n)) == NULL || eq == p)
			return -1;
		if ((size_t)(eq - p) == 6 && strncasecmp(p, "action", 6) == 0) {
			if (have_action++)
				return -1;
			memcpy(out->action, eq + 1, n - 7);
			out->action[n - 7] = '\0';
		}
		p = nl + 1;
	}
	/* the unfinished line counts too: a server may not send forever */
	if (len > POLICY_REPLY_MAX || (size_t)(end - p) > POLICY_LINE_MAX + 1 ||
	    memchr(p, '\0', (size_t)(end - p)) != NULL)
		return -1;
	return 0;
}

/* Printable ASCII only, at most max octets: it goes into an SMTP reply. */
static void
clean_text(char *dst, const char *src, size_t max)
{
	size_t i;

	while (*src == ' ' || *src == '\t')
		src++;
	for (i = 0; src[i] && i < max; i++)
		dst[i] = (unsigned char)src[i] < 0x20 ||
		    (unsigned char)src[i] > 0x7e ? '?' : src[i];
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

/* "x.y.z" of RFC 3463: 2, 4 or 5, then two numbers of 1-3 digits. */
static size_t
dsn_len(const char *s)
{
	size_t i = 0, part, k;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (k = 0; k < 3 && isdigit((unsigned char)s[i]); k++)
			i++;
		if (k == 0)
			return 0;
		if (part == 0 && s[i++] != '.')
			return 0;
	}
	if (s[i] != '\0' && s[i] != ' ')
		return 0;
	return i;
}

/* "Name: value": a field name of printable octets but ':' (RFC 5322 3.6.8). */
static int
is_header(const char *s)
{
	const char *p;

	for (p = s; *p && *p != ':'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return 0;
	if (*p != ':' || p == s)
		return 0;
	for (; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') ||
		    (unsigned char)*p == 0x7f)
			return 0;
	return strlen(s) <= POLICY_HEADER_MAX;
}

static void
refuse(struct policy_action *out, enum policy_kind kind, int code,
    const char *text)
{
	size_t d;

	out->kind = kind;
	out->code = code;
	str_copy_trunc(out->dsn, code >= 500 ? "5.7.1" : "4.7.1", sizeof(out->dsn));
	while (*text == ' ' || *text == '\t')
		text++;
	/* "REJECT 5.7.23 text": the server's own code, as Postfix takes it
	 * (postgrey's "DEFER_IF_PERMIT 4.2.0 Greylisted"); its class is the
	 * reply's (RFC 3463 3.1) */
	if ((d = dsn_len(text)) > 0 && d < sizeof(out->dsn)) {
		memcpy(out->dsn, text, d);
		out->dsn[d] = '\0';
		out->dsn[0] = code >= 500 ? '5' : '4';
		text += d;
	}
	clean_text(out->text, text, POLICY_TEXT_MAX);
}

/* A keyword ends at a blank; what follows is its text. */
static const char *
keyword(const char *s, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(s, kw, n) != 0 || (s[n] != '\0' && s[n] != ' ' &&
	    s[n] != '\t'))
		return NULL;
	return s + n;
}

void
policy_proto_action(const char *action, struct policy_action *out)
{
	static const char *const ignored[] = { "FILTER", "REDIRECT", "BCC",
	    "WARN", "INFO", "REJECT_UNAUTH_DESTINATION", "PERMIT", "REJECT_",
	    "CHECK_", "DELAY", NULL };
	const char *s = action, *t;
	size_t i, d;

	memset(out, 0, sizeof(*out));
	out->kind = PA_BAD;
	while (*s == ' ' || *s == '\t')
		s++;
	if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && (s[3] == '\0' || s[3] == ' ')) {
		int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		/* Postfix takes 4xx and 5xx only: a 2xx would skip checks */
		if (code < 400 || code > 599)
			return;
		t = s + 3;
		refuse(out, PA_REFUSE, code, t);
		out->numeric = 1;
		return;
	}
	if ((t = keyword(s, "OK")) != NULL) {
		out->kind = PA_OK;
	} else if ((t = keyword(s, "DUNNO")) != NULL) {
		out->kind = PA_DUNNO;
	} else if ((t = keyword(s, "REJECT")) != NULL) {
		refuse(out, PA_REFUSE, 554, t);
	} else if ((t = keyword(s, "DEFER")) != NULL) {
		refuse(out, PA_REFUSE, 450, t);
	} else if ((t = keyword(s, "DEFER_IF_PERMIT")) != NULL) {
		refuse(out, PA_DEFER_IF_PERMIT, 450, t);
	} else if ((t = keyword(s, "DEFER_IF_REJECT")) != NULL) {
		refuse(out, PA_DEFER_IF_REJECT, 450, t);
	} else if ((t = keyword(s, "HOLD")) != NULL) {
		out->kind = PA_HOLD;
		clean_text(out->text, t, POLICY_TEXT_MAX);
	} else if ((t = keyword(s, "DISCARD")) != NULL) {
		out->kind = PA_DISCARD;
		clean_text(out->text, t, POLICY_TEXT_MAX);
	} else if ((t = keyword(s, "PREPEND")) != NULL) {
		while (*t == ' ' || *t == '\t')
			t++;
		if (is_header(t)) {
			out->kind = PA_PREPEND;
			str_copy_trunc(out->text, t, sizeof(out->text));
		}
	} else {
		for (i = 0; ignored[i]; i++)
			if (strncasecmp(s, ignored[i], strlen(ignored[i])) == 0) {
				out->kind = PA_IGNORED;
				d = strcspn(s, " \t");
				if (d >= sizeof(out->name))
					d = sizeof(out->name) - 1;
				clean_text(out->name, s, d);
				break;
			}
	}
}

void
policy_chain_init(struct policy_chain *ch)
{
	memset(ch, 0, sizeof(*ch));
}

static void
chain_refuse(struct policy_chain *ch, const struct policy_action *a,
    const char *who, const char *what)
{
	const char *text = a->text[0] ? a->text : "Access denied";

	ch->done = 1;
	ch->accept = 0;
	if (a->numeric)
		str_fmt_trunc(ch->reply, sizeof(ch->reply), "%d %s %s", a->code,
		    a->dsn, text);
	else
		str_fmt_trunc(ch->reply, sizeof(ch->reply), "%d %s %s: %s rejected: "
		    "%s", a->code, a->dsn, who, what, text);
}

/* A permit, explicit or at the end: unless a DEFER_IF_PERMIT came first. */
static void
chain_permit(struct policy_chain *ch, const char *who, const char *what)
{
	if (ch->dip) {
		chain_refuse(ch, &ch->defer_if_permit, who, what);
		return;
	}
	ch->done = 1;
	ch->accept = 1;
}

int
policy_chain_step(struct policy_chain *ch, const struct policy_action *a,
    const char *who, const char *what)
{
	if (ch->done)
		return 1;
	switch (a->kind) {
	case PA_OK:
		chain_permit(ch, who, what);
		break;
	case PA_DISCARD:
		ch->discard = 1;
		chain_permit(ch, who, what);
		break;
	case PA_HOLD:
		ch->hold = 1;
		break;
	case PA_DUNNO:
	case PA_PREPEND:
	case PA_IGNORED:
		break;
	case PA_DEFER_IF_PERMIT:
		if (!ch->dip++)
			ch->defer_if_permit = *a;
		break;
	case PA_DEFER_IF_REJECT:
		if (!ch->dir++)
			ch->defer_if_reject = *a;
		break;
	case PA_REFUSE:
		if (a->code >= 500 && ch->dir)
			chain_refuse(ch, &ch->defer_if_reject, who, what);
		else
			chain_refuse(ch, a, who, what);
		break;
	case PA_BAD:
		ch->done = 1;
		ch->accept = 0;
		str_copy_trunc(ch->reply, "451 4.3.5 Server configuration error",
		    sizeof(ch->reply));
		break;
	}
	return ch->done;
}

void
policy_chain_finish(struct policy_chain *ch, const char *who, const char *what)
{
	if (!ch->done)
		chain_permit(ch, who, what);
}
