/*
 * envelope: line-oriented parse of the header written by
 * envelope_format. Every line is checked with the same parsers queued
 * uses on the wire (qproto_parse_helo, esmtp_parse_mail/rcpt).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "log.h"
#include "qproto.h"

void
envelope_init(struct envelope *e)
{
	memset(e, 0, sizeof(*e));
}

void
envelope_free(struct envelope *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpts[i].addr);
		free(e->rcpts[i].params);
		free(e->rcpts[i].error);
	}
	free(e->rcpts);
	free(e->client);
	free(e->from);
	free(e->from_params);
	envelope_init(e);
}

/* Split a validated "<path> params" into the mailbox and the rest. */
static int
split_path(const char *arg, char **addr, char **params)
{
	char mailbox[ADDR_MAX + 1];
	struct addr a;
	const char *end;

	end = addr_parse_path(arg, ADDR_NULL_OK | ADDR_POSTMASTER_OK |
	    ADDR_UTF8_OK, &a);
	if (end == NULL)
		return -1;
	addr_format(&a, mailbox, sizeof(mailbox));
	*addr = strdup(mailbox);
	*params = strdup(end);
	if (*addr == NULL || *params == NULL) {
		free(*addr);
		free(*params);
		*addr = *params = NULL;
		return -1;
	}
	return 0;
}

int
envelope_set_from(struct envelope *e, const char *arg)
{
	char line[QPROTO_LINE_MAX + 8];
	struct mail_args m;
	struct esmtp_err err;

	if (str_fmt(line, sizeof(line), "FROM:%s", arg) == -1 ||
	    esmtp_parse_mail(line, 1, &m, &err) == -1)
		return -1;
	free(e->from);
	free(e->from_params);
	e->from = e->from_params = NULL;
	return split_path(arg, &e->from, &e->from_params);
}

int
envelope_add_rcpt(struct envelope *e, const char *arg)
{
	char line[QPROTO_LINE_MAX + 8];
	struct rcpt_args r;
	struct esmtp_err err;
	struct rcpt *nr;

	if (str_fmt(line, sizeof(line), "TO:%s", arg) == -1 ||
	    esmtp_parse_rcpt(line, 1, 1, &r, &err) == -1)
		return -1;
	nr = realloc(e->rcpts, (e->nrcpt + 1) * sizeof(*nr));
	if (nr == NULL)
		return -1;
	e->rcpts = nr;
	nr = &e->rcpts[e->nrcpt];
	memset(nr, 0, sizeof(*nr));
	if (split_path(arg, &nr->addr, &nr->params) == -1)
		return -1;
	nr->state = RS_QUEUED;
	e->nrcpt++;
	return 0;
}

int
envelope_add_expanded(struct envelope *e, const char *addr, const char *orig,
    const struct rcpt_args *r)
{
	static const struct rcpt_args none;
	char arg[QPROTO_LINE_MAX], xorig[ESMTP_ORCPT_MAX + 1], notify[64];
	size_t i;

	if (r == NULL)
		r = &none;
	for (i = 0; i < e->nrcpt; i++)
		if (strcasecmp(e->rcpts[i].addr, addr) == 0)
			return 0;	/* a duplicate is delivered once */
	xorig[0] = '\0';
	if (r->orcpt[0] == '\0' && strcasecmp(addr, orig) != 0 &&
	    esmtp_xtext_encode(orig, xorig, sizeof(xorig)) == -1)
		xorig[0] = '\0';
	if (str_fmt(arg, sizeof(arg), "<%s>%s%s%s%s", addr,
	    r->notify ? " NOTIFY=" : "",
	    r->notify ? esmtp_notify_str(r->notify, notify, sizeof(notify)) : "",
	    r->orcpt[0] ? " ORCPT=" : xorig[0] ? " ORCPT=rfc822;" : "",
	    r->orcpt[0] ? r->orcpt : xorig) == -1)
		return -1;
	return envelope_add_rcpt(e, arg);
}

int
envelope_format(const struct envelope *e, struct buf *out)
{
	char digits[ENVELOPE_LENGTH_DIGITS + 1], sum[ENVELOPE_SUM_DIGITS + 1];
	size_t i;

	if (buf_addstr(out, ENVELOPE_MAGIC) == -1 ||
	    buf_printf(out, "id %s\ntime %lld\nclient %s\nfrom <%s>%s\n",
	    e->qid, (long long)e->time, e->client, e->from,
	    e->from_params) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++)
		if (buf_printf(out, "rcpt <%s>%s\n", e->rcpts[i].addr,
		    e->rcpts[i].params) == -1)
			return -1;
	if ((e->flags & ENV_DOUBLE) &&
	    buf_addstr(out, "flags double-bounce\n") == -1)
		return -1;
	/* the verdict of pombo-verify, known after this is written: a
	 * digit filled in like the length (envelope_junk_offset) */
	if ((e->flags & ENV_VERIFIED) && buf_printf(out, "junk %c\n",
	    e->flags & ENV_JUNK ? '1' : '0') == -1)
		return -1;
	/* the message's checksum, known at the commit: filled in then */
	if (e->flags & ENV_SUM) {
		envelope_sum_digits(e->sum, sum);
		if (buf_printf(out, "%s%s\n", ENVELOPE_SUM_PREFIX, sum) == -1)
			return -1;
	}
	/* last, so that its place is known from data_off alone */
	envelope_length_digits(e->size, digits);
	if (buf_printf(out, "length %s\n", digits) == -1)
		return -1;
	return buf_addstr(out, "data\n");
}

void
envelope_length_digits(uint64_t size, char out[ENVELOPE_LENGTH_DIGITS + 1])
{
	/* fits: max_message_size keeps a message far below 10^18 octets */
	str_fmt_trunc(out, ENVELOPE_LENGTH_DIGITS + 1, "%0*llu",
	    ENVELOPE_LENGTH_DIGITS, (unsigned long long)size);
}

uint64_t
envelope_length_offset(uint64_t data_off)
{
	/* "length <digits>\ndata\n" ends at data_off */
	return data_off - strlen("data\n") - 1 - ENVELOPE_LENGTH_DIGITS;
}

void
envelope_sum_digits(uint32_t sum, char out[ENVELOPE_SUM_DIGITS + 1])
{
	str_fmt_trunc(out, ENVELOPE_SUM_DIGITS + 1, "%08x", (unsigned)sum);
}

uint64_t
envelope_sum_offset(uint64_t data_off)
{
	/* "<digits>\nlength " comes before the length's digits */
	return envelope_length_offset(data_off) - strlen("length ") - 1 -
	    ENVELOPE_SUM_DIGITS;
}

uint64_t
envelope_junk_offset(uint64_t data_off, unsigned flags)
{
	/* "junk <d>\n" comes before "sum ..." or "length " */
	if (flags & ENV_SUM)
		return envelope_sum_offset(data_off) -
		    strlen(ENVELOPE_SUM_PREFIX) - 2;
	return envelope_length_offset(data_off) - strlen("length ") - 2;
}

/* 8 lower-case hex digits, as envelope_sum_digits writes them */
static int
parse_sum(const char *s, uint32_t *out)
{
	size_t i;

	if (strlen(s) != ENVELOPE_SUM_DIGITS)
		return -1;
	for (i = 0; i < ENVELOPE_SUM_DIGITS; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return -1;
	*out = (uint32_t)strtoul(s, NULL, 16);
	return 0;
}

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s) || strlen(s) > 18)
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

#define FAIL(m) do { str_copy_trunc(err, (m), errlen); goto fail; } while (0)

int
envelope_parse(struct envelope *e, const char *text, size_t len, char *err,
    size_t errlen)
{
	char line[QPROTO_LINE_MAX + 16];
	size_t pos, n;
	int have_id = 0, have_time = 0, have_flags = 0, have_length = 0;
	int64_t length;

	envelope_init(e);
	n = strlen(ENVELOPE_MAGIC);
	if (len < n)
		return memcmp(text, ENVELOPE_MAGIC, len) == 0 ? 1 : -1;
	if (memcmp(text, ENVELOPE_MAGIC, n) != 0) {
		str_copy_trunc(err, "not a Pombo queue file", errlen);
		return -1;
	}
	for (pos = n;;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL) {
			if (len - pos > sizeof(line))
				FAIL("header line too long");
			envelope_free(e);
			return 1;
		}
		n = (size_t)(nl - (text + pos));
		if (n >= sizeof(line) || memchr(text + pos, '\0', n))
			FAIL("bad header line");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (strcmp(line, "data") == 0)
			break;
		if (strncmp(line, "id ", 3) == 0) {
			if (have_id++ || !qid_valid(line + 3))
				FAIL("bad id line");
			memcpy(e->qid, line + 3, QID_LEN + 1);
		} else if (strncmp(line, "time ", 5) == 0) {
			if (have_time++ || parse_i64(line + 5, &e->time) == -1)
				FAIL("bad time line");
		} else if (strncmp(line, "client ", 7) == 0) {
			struct qhelo h;
			if (e->client || qproto_parse_helo(line + 7, &h) == -1 ||
			    (e->client = strdup(line + 7)) == NULL)
				FAIL("bad client line");
		} else if (strncmp(line, "from ", 5) == 0) {
			if (e->from || envelope_set_from(e, line + 5) == -1)
				FAIL("bad from line");
		} else if (strncmp(line, "rcpt ", 5) == 0) {
			if (envelope_add_rcpt(e, line + 5) == -1)
				FAIL("bad rcpt line");
		} else if (strncmp(line, "flags ", 6) == 0) {
			/* the one flag there is; an unknown one is refused */
			if (have_flags++ || strcmp(line + 6, "double-bounce") != 0)
				FAIL("bad flags line");
			e->flags |= ENV_DOUBLE;
		} else if (strncmp(line, "junk ", 5) == 0) {
			if ((e->flags & (ENV_VERIFIED | ENV_SUM)) || have_length ||
			    (strcmp(line + 5, "0") && strcmp(line + 5, "1")))
				FAIL("bad junk line");
			e->flags |= ENV_VERIFIED | (line[5] == '1' ? ENV_JUNK : 0);
		} else if (strncmp(line, "sum ", 4) == 0) {
			/* one algorithm: another is refused like an unknown
			 * line (a file from a newer queued, set aside) */
			if ((e->flags & ENV_SUM) || have_length ||
			    strncmp(line, ENVELOPE_SUM_PREFIX,
			    strlen(ENVELOPE_SUM_PREFIX)) != 0 ||
			    parse_sum(line + strlen(ENVELOPE_SUM_PREFIX),
			    &e->sum) == -1)
				FAIL("bad sum line");
			e->flags |= ENV_SUM;
		} else if (strncmp(line, "length ", 7) == 0) {
			/* the message's octets when it was committed: a file
			 * that no longer has them is not delivered */
			if (have_length++ || parse_i64(line + 7, &length) == -1)
				FAIL("bad length line");
			e->size = (uint64_t)length;
			e->flags |= ENV_LENGTH;
		} else
			FAIL("unknown header line");
	}
	if (!have_id || !have_time || !e->client || !e->from || e->nrcpt == 0)
		FAIL("incomplete header");
	e->data_off = pos;
	return 0;
fail:
	envelope_free(e);
	return -1;
}

int
envelope_format_state(const struct envelope *e, struct buf *out)
{
	size_t i;

	if (buf_addstr(out, ENVELOPE_STATE_MAGIC) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct rcpt *r = &e->rcpts[i];
		if (r->state == RS_QUEUED && r->attempts == 0)
			continue;
		if (buf_printf(out, "rcpt %zu %c %u %lld%s%s\n", i, r->state,
		    r->attempts, (long long)r->next, r->error ? " " : "",
		    r->error ? r->error : "") == -1)
			return -1;
	}
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].notify && buf_printf(out, "notify %zu %c\n", i,
		    e->rcpts[i].notify) == -1)
			return -1;
	return buf_printf(out, "flags%s%s\n", e->flags & ENV_HOLD ? " hold" : "",
	    e->flags & ENV_WARNED ? " warned" : "");
}

int
envelope_parse_state(struct envelope *e, const char *text, size_t len,
    char *err, size_t errlen)
{
	char line[ENVELOPE_ERROR_MAX + 64], *p, *end;
	size_t pos, n;
	unsigned long idx, attempts;
	int64_t next;

	n = strlen(ENVELOPE_STATE_MAGIC);
	if (len < n || memcmp(text, ENVELOPE_STATE_MAGIC, n) != 0) {
		str_copy_trunc(err, "not a Pombo state file", errlen);
		return -1;
	}
	for (pos = n; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (nl == NULL || (n = (size_t)(nl - (text + pos))) >= sizeof(line)) {
			str_copy_trunc(err, "bad state line", errlen);
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (!str_printable(line)) {
			str_copy_trunc(err, "bad state line", errlen);
			return -1;
		}
		if (strncmp(line, "flags", 5) == 0 &&
		    (line[5] == '\0' || line[5] == ' ')) {
			/* the queue file's flags stay */
			e->flags &= ~(unsigned)(ENV_HOLD | ENV_WARNED);
			if (strstr(line, " hold"))
				e->flags |= ENV_HOLD;
			if (strstr(line, " warned"))
				e->flags |= ENV_WARNED;
			continue;
		}
		if (strncmp(line, "notify ", 7) == 0) {
			/* a notification owed but not yet queued */
			if (!isdigit((unsigned char)line[7]))
				goto bad;
			idx = strtoul(line + 7, &end, 10);
			if (*end != ' ' || idx >= e->nrcpt ||
			    strchr("fdrw", end[1]) == NULL || end[1] == '\0' ||
			    end[2] != '\0')
				goto bad;
			e->rcpts[idx].notify = end[1];
			continue;
		}
		if (strncmp(line, "rcpt ", 5) != 0 || !isdigit((unsigned char)line[5]))
			goto bad;
		idx = strtoul(line + 5, &end, 10);
		if (*end != ' ' || idx >= e->nrcpt)
			goto bad;
		p = end + 1;
		if ((*p != RS_QUEUED && *p != RS_DELIVERED && *p != RS_FAILED) ||
		    p[1] != ' ' || !isdigit((unsigned char)p[2]))
			goto bad;
		e->rcpts[idx].state = *p;
		attempts = strtoul(p + 2, &end, 10);
		if (*end != ' ' || attempts > 1000000)
			goto bad;
		p = end + 1;
		if (!isdigit((unsigned char)*p))
			goto bad;
		next = strtoll(p, &end, 10);
		if (*end != ' ' && *end != '\0')
			goto bad;
		e->rcpts[idx].attempts = (uint32_t)attempts;
		e->rcpts[idx].next = next;
		free(e->rcpts[idx].error);
		e->rcpts[idx].error = *end ? strdup(end + 1) : NULL;
	}
	return 0;
bad:
	str_copy_trunc(err, "bad state line", errlen);
	return -1;
}

size_t
envelope_pending(const struct envelope *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].state == RS_QUEUED)
			n++;
	return n;
}

/* The value of " KEY=" in a parameter string, up to the next blank. */
static int
param_value(const char *params, const char *key, char *out, size_t len)
{
	const char *p = strstr(params, key);
	size_t n;

	if (p == NULL)
		return -1;
	p += strlen(key);
	n = strcspn(p, " ");
	if (n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

unsigned
rcpt_notify(const struct rcpt *r)
{
	char v[64], *tok, *save = NULL;
	unsigned bits = 0;

	if (param_value(r->params, " NOTIFY=", v, sizeof(v)) == -1)
		return 0;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save)) {
		if (strcasecmp(tok, "NEVER") == 0)
			bits |= NOTIFY_NEVER;
		else if (strcasecmp(tok, "SUCCESS") == 0)
			bits |= NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "FAILURE") == 0)
			bits |= NOTIFY_FAILURE;
		else if (strcasecmp(tok, "DELAY") == 0)
			bits |= NOTIFY_DELAY;
	}
	return bits;
}

int
rcpt_orcpt(const struct rcpt *r, char *buf, size_t len)
{
	char v[ESMTP_ORCPT_MAX + 1], *semi;
	size_t o, i;

	if (param_value(r->params, " ORCPT=", v, sizeof(v)) == -1 ||
	    (semi = strchr(v, ';')) == NULL)
		return -1;
	*semi = '\0';
	if (str_fmt(buf, len, "%s; ", v) == -1)
		return -1;
	o = strlen(buf);
	/* xtext: "+HH" is the octet HH (RFC 3461 4) */
	for (i = 0; semi[1 + i] && o + 1 < len; i++) {
		const char *p = semi + 1 + i;
		if (p[0] == '+' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			char hex[3] = { p[1], p[2], 0 };
			unsigned c = (unsigned)strtoul(hex, NULL, 16);
			buf[o++] = c >= 32 && c < 127 ? (char)c : '?';
			i += 2;
		} else
			buf[o++] = *p;
	}
	buf[o] = '\0';
	return 0;
}
