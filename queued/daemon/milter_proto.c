/*
 * milter_proto: encoder and decoder of milter packets. The protocol has
 * no RFC; its reference is Sendmail's libmilter (mfdef.h names every
 * octet) and Postfix's milter8 as the other MTA speaking it. Integers
 * are 32 bits in network order; strings end in a NUL.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "milter_proto.h"

static void
put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Start a packet of len data octets; the caller adds exactly them. */
static int
start(struct buf *b, char cmd, size_t len)
{
	unsigned char hdr[5];

	if (len + 1 > MILTER_PACKET_MAX || b->len + 5 + len > b->max)
		return -1;
	put32(hdr, (uint32_t)(len + 1));
	hdr[4] = (unsigned char)cmd;
	return buf_add(b, hdr, 5);
}

int
milter_proto_put(struct buf *b, char cmd, const void *data, size_t len)
{
	size_t old = b->len;

	if (start(b, cmd, len) == -1 || buf_add(b, data, len) == -1) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milter_proto_optneg(struct buf *b, uint32_t version, uint32_t actions,
    uint32_t protocol)
{
	unsigned char d[12];

	put32(d, version);
	put32(d + 4, actions);
	put32(d + 8, protocol);
	return milter_proto_put(b, MILTER_C_OPTNEG, d, sizeof(d));
}

int
milter_proto_strings(struct buf *b, char cmd, const char *const *s, size_t n)
{
	size_t i, len = 0, old = b->len;

	for (i = 0; i < n; i++)
		len += strlen(s[i]) + 1;
	if (start(b, cmd, len) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_add(b, s[i], strlen(s[i]) + 1) == -1) {
			b->len = old;
			return -1;
		}
	return 0;
}

/*
 * CONNECT: host name, then the family octet; for '4' and '6' the port
 * (16 bits, network order) and the address text; 'U' the socket path.
 */
int
milter_proto_connect(struct buf *b, const char *host, char family,
    uint16_t port, const char *addr)
{
	size_t hl = strlen(host) + 1, al = strlen(addr) + 1, len, old = b->len;
	unsigned char p[2];

	len = hl + 1 + (family == 'L' ? 0 : 2 + al);
	if (start(b, MILTER_C_CONNECT, len) == -1)
		return -1;
	p[0] = (unsigned char)(port >> 8);
	p[1] = (unsigned char)port;
	if (buf_add(b, host, hl) == -1 || buf_addc(b, family) == -1 ||
	    (family != 'L' && (buf_add(b, p, 2) == -1 ||
	    buf_add(b, addr, al) == -1))) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
milter_proto_macros(struct buf *b, char stage, const char *const *names,
    const char *const *values, size_t n)
{
	size_t i, len = 1, old = b->len;

	for (i = 0; i < n; i++)
		if (values[i] != NULL)
			len += strlen(names[i]) + strlen(values[i]) + 2;
	if (start(b, MILTER_C_MACRO, len) == -1 || buf_addc(b, stage) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (values[i] != NULL && (buf_add(b, names[i],
		    strlen(names[i]) + 1) == -1 || buf_add(b, values[i],
		    strlen(values[i]) + 1) == -1))
			goto fail;
	return 0;
fail:
	b->len = old;
	return -1;
}

int
milter_proto_frame(const void *in, size_t len, size_t *plen)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = get32(in);
	if (n == 0 || n > MILTER_PACKET_MAX)
		return -1;
	if (len - 4 < n)
		return 0;
	*plen = n;
	return 1;
}

/* RFC 5322 2.2: a field name is printable US-ASCII except ':'. */
int
milter_proto_header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 ||
		    *s == ':')
			return 0;
	return 1;
}

/*
 * A value may be folded (RFC 5322 2.2.3): a line break, CRLF or LF,
 * then a blank; any other break or control octet (but TAB) would let a
 * filter write a header line of its own or end the header section.
 */
int
milter_proto_header_value_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r' && s[1] == '\n')
			s++, c = '\n';
		if (c == '\n') {
			if (s[1] != ' ' && s[1] != '\t')
				return 0;
			continue;
		}
		if ((c < 32 && c != '\t') || c == 127)
			return 0;
	}
	return 1;
}

/*
 * RFC 5321 4.2: "xyz text" or, over several lines, "xyz-text" for all
 * but the last; lines split by CRLF (LF alone accepted). Only 4xx and
 * 5xx mean anything from a filter. An enhanced code (RFC 3463 2), when
 * one starts the text, must be of the same class.
 */
int
milter_proto_reply_code(const char *s)
{
	const char *p = s;
	int code = -1;

	if (strlen(s) > MILTER_REPLY_MAX)
		return -1;
	for (;;) {
		int c;
		const char *eol;

		if (!isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || (p[0] != '4' && p[0] != '5'))
			return -1;
		c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		if (code != -1 && c != code)
			return -1;
		code = c;
		if ((p[3] == ' ' || p[3] == '-') &&
		    isdigit((unsigned char)p[4]) && p[5] == '.' && p[4] != p[0])
			return -1;
		eol = p + 3 + strcspn(p + 3, "\r\n");
		for (const char *q = p + 3; q < eol; q++)
			if ((unsigned char)*q < 32 || *q == 127)
				return -1;
		/* the last line, maybe with its line end */
		if (*eol == '\0' || strcmp(eol, "\r\n") == 0 ||
		    strcmp(eol, "\n") == 0)
			return p[3] == ' ' || p[3] == '\0' ? code : -1;
		if (p[3] != '-')
			return -1;
		if (eol[0] == '\r' && eol[1] != '\n')
			return -1;
		p = eol + (eol[0] == '\r' ? 2 : 1);
	}
}

/* A NUL-terminated string at *pos inside d[0..len), or NULL. */
static const char *
take(const char *d, size_t len, size_t *pos)
{
	const char *s = d + *pos, *nul;

	if (*pos >= len || (nul = memchr(s, '\0', len - *pos)) == NULL)
		return NULL;
	*pos = (size_t)(nul - d) + 1;
	return s;
}

static int
fail(char *err, size_t errlen, const char *what, char cmd)
{
	if ((unsigned char)cmd >= 33 && (unsigned char)cmd < 127)
		str_fmt_trunc(err, errlen, "%s in '%c' packet", what, cmd);
	else
		str_fmt_trunc(err, errlen, "%s in packet 0x%02x", what,
		    (unsigned char)cmd);
	return -1;
}

static int
parse_optneg(const char *d, size_t len, struct milter_reply *r, char *err,
    size_t errlen)
{
	size_t pos = 12;

	if (len < 12)
		return fail(err, errlen, "short negotiation", 'O');
	r->version = get32((const unsigned char *)d);
	r->actions = get32((const unsigned char *)d + 4);
	r->protocol = get32((const unsigned char *)d + 8);
	/* version 6 filters may name, per stage, the macros they want */
	while (pos < len) {
		uint32_t stage;
		const char *list;

		if (len - pos < 4)
			return fail(err, errlen, "truncated macro list", 'O');
		stage = get32((const unsigned char *)d + pos);
		pos += 4;
		if (stage >= MILTER_M_N)
			return fail(err, errlen, "unknown macro stage", 'O');
		if ((list = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated macro list",
			    'O');
		r->symlist[stage] = list;
	}
	return 0;
}

int
milter_proto_parse(const void *pkt, size_t len, struct milter_reply *r,
    char *err, size_t errlen)
{
	const char *d = (const char *)pkt + 1;
	size_t pos = 0;
	char cmd;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return fail(err, errlen, "empty", '?');
	cmd = r->cmd = ((const char *)pkt)[0];
	len--;
	switch (cmd) {
	case MILTER_R_ACCEPT:
	case MILTER_R_CONTINUE:
	case MILTER_R_DISCARD:
	case MILTER_R_REJECT:
	case MILTER_R_TEMPFAIL:
	case MILTER_R_PROGRESS:
	case MILTER_R_SKIP:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		break;
	case MILTER_R_OPTNEG:
		return parse_optneg(d, len, r, err, errlen);
	case MILTER_R_REPLBODY:
		r->data = d;
		r->len = len;
		return 0;
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		if (len < 4)
			return fail(err, errlen, "no index", cmd);
		r->index = get32((const unsigned char *)d);
		pos = 4;
		/* FALLTHROUGH */
	case MILTER_R_ADDHEADER:
		if ((r->s1 = take(d, len, &pos)) == NULL ||
		    (r->s2 = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated string", cmd);
		if (!milter_proto_header_name_ok(r->s1))
			return fail(err, errlen, "bad header name", cmd);
		if (!milter_proto_header_value_ok(r->s2))
			return fail(err, errlen, "bad header value", cmd);
		break;
	case MILTER_R_ADDRCPT:
	case MILTER_R_DELRCPT:
	case MILTER_R_QUARANTINE:
	case MILTER_R_REPLYCODE:
		if ((r->s1 = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated string", cmd);
		if (cmd == MILTER_R_REPLYCODE) {
			if ((r->code = milter_proto_reply_code(r->s1)) == -1)
				return fail(err, errlen, "bad reply", cmd);
		} else if (!str_printable(r->s1) || (*r->s1 == '\0' &&
		    cmd != MILTER_R_QUARANTINE))
			return fail(err, errlen, "bad string", cmd);
		break;
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_CHGFROM:
		/* the ESMTP arguments are optional */
		if ((r->s1 = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated string", cmd);
		if (pos < len && (r->s2 = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated string", cmd);
		if (*r->s1 == '\0' || !str_printable(r->s1) ||
		    (r->s2 && !str_printable(r->s2)))
			return fail(err, errlen, "bad string", cmd);
		break;
	case MILTER_R_SETSYMLIST:
		if (len < 4)
			return fail(err, errlen, "no stage", cmd);
		r->index = get32((const unsigned char *)d);
		pos = 4;
		if (r->index >= MILTER_M_N)
			return fail(err, errlen, "unknown macro stage", cmd);
		if ((r->s1 = take(d, len, &pos)) == NULL)
			return fail(err, errlen, "unterminated string", cmd);
		break;
	default:
		return fail(err, errlen, "unknown reply", cmd);
	}
	if (pos != len)
		return fail(err, errlen, "trailing data", cmd);
	return 0;
}
