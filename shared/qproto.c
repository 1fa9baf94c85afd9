/*
 * qproto: decoding is strict: exact verbs in upper case, single spaces,
 * printable ASCII (UTF-8 allowed only where SMTPUTF8 allows it, which the
 * MAIL/RCPT re-validation checks), nothing trailing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "qid.h"
#include "qproto.h"
#include "str.h"

static const struct {
	const char	*name;
	enum qcmd_verb	 verb;
	int		 arg;	/* 0 none, 1 required, 2 optional */
} qverbs[] = {
	{ "POMBO",	QCMD_POMBO,	1 },
	{ "HELO",	QCMD_HELO,	1 },
	{ "MAIL",	QCMD_MAIL,	1 },
	{ "RCPT",	QCMD_RCPT,	1 },
	{ "DATA",	QCMD_DATA,	0 },
	{ "RSET",	QCMD_RSET,	0 },
	{ "QUIT",	QCMD_QUIT,	0 },
	{ "FLUSH",	QCMD_FLUSH,	2 },
	{ "LIST",	QCMD_LIST,	0 },
	{ "SHOW",	QCMD_SHOW,	1 },
	{ "DELETE",	QCMD_DELETE,	1 },
	{ "HOLD",	QCMD_HOLD,	1 },
	{ "RELEASE",	QCMD_RELEASE,	1 },
	{ "VRFY",	QCMD_VRFY,	1 },
	{ "EXPN",	QCMD_EXPN,	1 },
	{ "TLSRPT",	QCMD_TLSRPT,	0 },
	{ "STATS",	QCMD_STATS,	0 },
};

int
qproto_parse_cmd(const char *line, struct qcmd *out)
{
	size_t i, vlen, len = strlen(line);

	if (len == 0 || len > QPROTO_LINE_MAX || !str_printable(line))
		return -1;
	vlen = strcspn(line, " ");
	for (i = 0; i < sizeof(qverbs) / sizeof(qverbs[0]); i++) {
		if (strlen(qverbs[i].name) != vlen ||
		    memcmp(qverbs[i].name, line, vlen) != 0)
			continue;
		out->verb = qverbs[i].verb;
		if (line[vlen] == '\0') {
			if (qverbs[i].arg == 1)
				return -1;
			out->arg = "";
			return 0;
		}
		if (qverbs[i].arg == 0 || line[vlen + 1] == '\0' ||
		    line[vlen + 1] == ' ')
			return -1;
		out->arg = line + vlen + 1;
		return 0;
	}
	return -1;
}

static int
token_copy(const char **p, char *dst, size_t size)
{
	size_t n = strcspn(*p, " ");

	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p += n;
	if (**p == ' ')
		(*p)++;
	return 0;
}

/* One of the words of QPROTO_PROTOS, exactly. */
static int
proto_known(const char *proto)
{
	const char *p = QPROTO_PROTOS;
	size_t n = strlen(proto);

	while (*p) {
		size_t w = strcspn(p, " ");
		if (w == n && strncmp(p, proto, n) == 0)
			return 1;
		p += w;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int
qproto_parse_helo(const char *arg, struct qhelo *out)
{
	unsigned char tmp[16];
	char word[QPROTO_AUTH_MAX + 8];
	const char *p = arg;

	memset(out, 0, sizeof(*out));
	if (token_copy(&p, out->proto, sizeof(out->proto)) == -1 ||
	    !proto_known(out->proto))
		return -1;
	if (token_copy(&p, out->client, sizeof(out->client)) == -1)
		return -1;
	if (strcmp(out->client, "local") != 0 &&
	    inet_pton(AF_INET, out->client, tmp) != 1 &&
	    inet_pton(AF_INET6, out->client, tmp) != 1)
		return -1;
	if (token_copy(&p, out->helo, sizeof(out->helo)) == -1 ||
	    !addr_helo_valid(out->helo, strlen(out->helo)))
		return -1;
	while (*p) {
		if (token_copy(&p, word, sizeof(word)) == -1)
			return -1;
		if (strncmp(word, "auth=", 5) == 0 && out->auth[0] == '\0') {
			struct addr a;
			if (addr_parse_mailbox(word + 5, ADDR_UTF8_OK, &a) == -1 &&
			    strspn(word + 5, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    strlen(word + 5))
				return -1;
			if (str_copy(out->auth, word + 5,
			    sizeof(out->auth)) == -1)
				return -1;	/* cut, it would name another user */
		} else if (strncmp(word, "tls=", 4) == 0 && out->tls[0] == '\0') {
			if (word[4] == '\0' || strlen(word + 4) > QPROTO_TLS_MAX)
				return -1;
			str_copy_trunc(out->tls, word + 4, sizeof(out->tls));
		} else
			return -1;
	}
	return 0;
}

long
qproto_parse_chunk(const char *line)
{
	long n = 0;
	const char *p;

	if (strcmp(line, "ABORT") == 0)
		return -2;
	if (*line == '\0' || strlen(line) > 8 || (line[0] == '0' && line[1]))
		return -1;
	for (p = line; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n > QPROTO_CHUNK_MAX ? -1 : n;
}

int
qproto_parse_reply(const char *line, const char **text)
{
	int code;

	if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (line[3] != ' ' && line[3] != '\0' && line[3] != '-'))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 200 || code > 599)
		return -1;
	*text = line[3] ? line + 4 : line + 3;
	return code;
}

int
qproto_qid_valid(const char *s)
{
	return qid_valid(s);
}
