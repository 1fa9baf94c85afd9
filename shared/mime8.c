/*
 * mime8: each entity's header is held until its end, so its
 * Content-Type and Content-Transfer-Encoding are known before anything of
 * it is written; the body then streams. A leaf whose encoding is 7bit,
 * 8bit or absent is quoted-printable-encoded (encoding 7-bit text too is
 * harmless and keeps the machine simple); base64, quoted-printable,
 * binary and multipart parts pass unchanged, and the message in a
 * message/rfc822 part is converted like the outer one.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mime8.h"

void
mime8_init(struct mime8 *m, int convert, mime8_out out, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->convert = convert;
	m->out = out;
	m->arg = arg;
	m->in_header = convert;
	m->top = 1;
	buf_init(&m->header, MIME8_HEADER_MAX);
}

int
mime8_has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
			return 1;
	return 0;
}

/* The value of header field name in an unfolded copy of the header. */
static int
header_value(const char *hdr, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t nl = strlen(name), i = 0, o = 0;

	while (i < len) {
		size_t end = i;
		while (end < len && hdr[end] != '\n')
			end++;
		if (end - i > nl && strncasecmp(hdr + i, name, nl) == 0 &&
		    hdr[i + nl] == ':') {
			size_t j = i + nl + 1;
			/* the value and its folded continuation lines */
			for (;;) {
				for (; j < end && o + 1 < outlen; j++)
					out[o++] = hdr[j] == '\t' ? ' ' : hdr[j];
				if (end + 1 < len && (hdr[end + 1] == ' ' ||
				    hdr[end + 1] == '\t')) {
					j = end + 1;
					end = j;
					while (end < len && hdr[end] != '\n')
						end++;
					continue;
				}
				break;
			}
			out[o] = '\0';
			return 0;
		}
		i = end + 1;
	}
	return -1;
}

/* boundary="..." or boundary=token from a Content-Type value. */
static int
find_boundary(const char *ct, char *out, size_t len)
{
	const char *p = ct;
	size_t n = 0;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		if (*p == '"') {
			for (p++; *p && *p != '"' && n + 1 < len; p++)
				out[n++] = *p;
		} else
			for (; *p && *p != ';' && *p != ' ' && n + 1 < len; p++)
				out[n++] = *p;
		out[n] = '\0';
		return n > 0 ? 0 : -1;
	}
	return -1;
}

static int
emit(struct mime8 *m, const char *p, size_t n, int eol)
{
	return m->out(m->arg, p, n, eol);
}

/* Give up on a held header: write its lines as they came. */
static int
flush_header(struct mime8 *m)
{
	const char *h = m->header.data;
	size_t i = 0, end;

	while (i < m->header.len) {
		for (end = i; end < m->header.len && h[end] != '\n'; end++)
			;
		if (emit(m, h + i, end - i, end < m->header.len) == -1)
			return -1;
		i = end + 1;
	}
	buf_reset(&m->header);
	return 0;
}

/* The header is complete: decide, rewrite, write it out. */
static int
header_end(struct mime8 *m)
{
	char ct[1024] = "", cte[128] = "", b[MIME8_BOUNDARY_MAX + 1];
	const char *h = m->header.data ? m->header.data : "";
	size_t len = m->header.len, i = 0;
	int has_ct, has_mv, drop, embedded, identity;

	has_ct = header_value(h, len, "Content-Type", ct, sizeof(ct)) == 0;
	has_mv = header_value(h, len, "MIME-Version", b, sizeof(b)) == 0;
	header_value(h, len, "Content-Transfer-Encoding", cte, sizeof(cte));
	{
		char *t = ct;
		while (*t == ' ')
			t++;
		memmove(ct, t, strlen(t) + 1);
		t = cte;
		while (*t == ' ')
			t++;
		memmove(cte, t, strlen(t) + 1);
		cte[strcspn(cte, " ;")] = '\0';
	}
	m->multipart = has_ct && strncasecmp(ct, "multipart/", 10) == 0;
	/*
	 * RFC 2046 5.2.1: a message/rfc822 body may only be 7bit, 8bit or
	 * binary, so it is not encoded as a whole: the message in it is
	 * converted entity by entity, like the outer one.
	 */
	identity = cte[0] == '\0' || strcasecmp(cte, "7bit") == 0 ||
	    strcasecmp(cte, "8bit") == 0;
	/* one sent encoded anyway (it happens) is text, not a header */
	embedded = has_ct && strncasecmp(ct, "message/rfc822", 14) == 0 &&
	    (ct[14] == '\0' || ct[14] == ';' || ct[14] == ' ') &&
	    (identity || strcasecmp(cte, "binary") == 0);
	m->encode = 0;
	if (m->multipart) {
		if (find_boundary(ct, b, sizeof(b)) == 0 &&
		    m->depth < MIME8_DEPTH)
			memcpy(m->boundary[m->depth++], b, sizeof(b));
		else
			m->broken = 1;
	} else if (!(has_ct && strncasecmp(ct, "message/", 8) == 0) &&
	    identity)
		m->encode = 1;
	/* write it, minus the old encoding field when we replace it */
	while (i < len) {
		size_t end = i;
		while (end < len && h[end] != '\n')
			end++;
		/* h is not NUL-terminated: compare only within the line */
		drop = m->encode && end - i >= 26 && strncasecmp(h + i,
		    "Content-Transfer-Encoding:", 26) == 0;
		for (;;) {
			if (!drop && emit(m, h + i, end - i, 1) == -1)
				return -1;
			i = end + 1;
			if (i >= len || (h[i] != ' ' && h[i] != '\t'))
				break;
			end = i;
			while (end < len && h[end] != '\n')
				end++;
		}
	}
	if (m->encode) {
		if (m->top && !has_mv && emit(m, "MIME-Version: 1.0", 17, 1) == -1)
			return -1;
		if (emit(m, "Content-Transfer-Encoding: quoted-printable", 43,
		    1) == -1)
			return -1;
	}
	buf_reset(&m->header);
	m->in_header = embedded;
	m->top = embedded;	/* it may need its own MIME-Version */
	return emit(m, "", 0, 1);	/* the blank line */
}

/* Quoted-printable, RFC 2045 6.7: at most 76 columns, soft breaks. */
static int
qp_octet(struct mime8 *m, unsigned char c, int literal)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[3];
	size_t w = literal ? 1 : 3;

	if (m->qp_col + w > 75) {
		if (emit(m, "=", 1, 1) == -1)
			return -1;
		m->qp_col = 0;
	}
	if (literal) {
		enc[0] = (char)c;
	} else {
		enc[0] = '=';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
	}
	m->qp_col += w;
	return emit(m, enc, w, 0);
}

static int
qp_piece(struct mime8 *m, const char *p, size_t n, int eol)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (m->qp_ws) {
			/* a blank is literal unless it ends the line */
			if (qp_octet(m, (unsigned char)m->qp_ws, 1) == -1)
				return -1;
			m->qp_ws = 0;
		}
		if (c == ' ' || c == '\t') {
			m->qp_ws = (char)c;
			continue;
		}
		/* a leading dot is encoded too: no stuffing question arises */
		if (qp_octet(m, c, c >= 33 && c <= 126 && c != '=' &&
		    !(c == '.' && m->qp_col == 0)) == -1)
			return -1;
	}
	if (!eol)
		return 0;
	if (m->qp_ws && qp_octet(m, (unsigned char)m->qp_ws, 0) == -1)
		return -1;
	m->qp_ws = 0;
	m->qp_col = 0;
	return emit(m, "", 0, 1);
}

/* Is this complete line a boundary of an enclosing multipart? */
static int
is_boundary(const struct mime8 *m, const char *p, size_t n, int *closing)
{
	size_t d, bl;

	if (n < 3 || p[0] != '-' || p[1] != '-')
		return 0;
	for (d = m->depth; d > 0; d--) {
		bl = strlen(m->boundary[d - 1]);
		if (n >= 2 + bl && memcmp(p + 2, m->boundary[d - 1], bl) == 0) {
			*closing = n >= 4 + bl && p[2 + bl] == '-' &&
			    p[3 + bl] == '-';
			return (int)d;
		}
	}
	return 0;
}

int
mime8_line(struct mime8 *m, const char *p, size_t n, int eol)
{
	int d, closing = 0;

	if (!m->convert || m->broken)
		return emit(m, p, n, eol);
	if (m->in_header && m->depth > 0 && !m->partial && eol &&
	    is_boundary(m, p, n, &closing)) {
		/*
		 * A boundary before the blank line: the entity had no body
		 * (an empty message/rfc822 part). Its lines pass as they
		 * came; the next part's header must not join them.
		 */
		if (flush_header(m) == -1)
			return -1;
		m->in_header = 0;
	}
	if (m->in_header) {
		if (n == 0 && eol && !m->partial)
			return header_end(m);
		if (buf_add(&m->header, p, n) == -1 ||
		    (eol && buf_addc(&m->header, '\n') == -1)) {
			/* a monster header: write it all as it is */
			m->broken = 1;
			if (flush_header(m) == -1)
				return -1;
			return emit(m, p, n, eol);
		}
		m->partial = !eol;
		return 0;
	}
	if (!m->partial && eol && (d = is_boundary(m, p, n, &closing)) != 0) {
		/* a boundary ends the part being encoded, if any */
		if (m->encode && m->qp_col > 0 && emit(m, "", 0, 1) == -1)
			return -1;
		m->qp_col = 0;
		m->qp_ws = 0;
		m->depth = (size_t)d;
		m->encode = 0;
		m->top = 0;	/* a part, not a message */
		if (closing)
			m->depth--;	/* back in the enclosing body */
		else
			m->in_header = 1;
		return emit(m, p, n, eol);
	}
	m->partial = !eol;
	if (m->encode)
		return qp_piece(m, p, n, eol);
	return emit(m, p, n, eol);
}

int
mime8_finish(struct mime8 *m)
{
	int rc = 0;

	if (m->convert && m->in_header && m->header.len > 0)
		rc = flush_header(m);
	else if (m->encode && (m->qp_col > 0 || m->qp_ws))
		rc = qp_piece(m, "", 0, 1);
	buf_free(&m->header);
	return rc;
}

int
mime8_stream(int fd, uint64_t off, uint64_t size, int convert,
    mime8_out out, void *arg)
{
	struct mime8 m;
	char buf[65536], line[1001];
	size_t linelen = 0, i;
	uint64_t done = 0;
	ssize_t n;
	int rc = -1;

	mime8_init(&m, convert, out, arg);
	while (done < size) {
		n = pread(fd, buf, size - done < sizeof(buf) ?
		    (size_t)(size - done) : sizeof(buf), (off_t)(off + done));
		if (n <= 0) {
			rc = -2;	/* shorter than said, or unreadable */
			goto out;
		}
		done += (uint64_t)n;
		for (i = 0; i < (size_t)n; i++) {
			if (buf[i] == '\n') {
				if (mime8_line(&m, line, linelen, 1) == -1)
					goto out;
				linelen = 0;
				continue;
			}
			line[linelen++] = buf[i];
			/* a long line goes out in pieces, unbroken */
			if (linelen == sizeof(line)) {
				if (mime8_line(&m, line, linelen, 0) == -1)
					goto out;
				linelen = 0;
			}
		}
	}
	if (linelen > 0 && mime8_line(&m, line, linelen, 1) == -1)
		goto out;
	return mime8_finish(&m);
out:
	buf_free(&m.header);
	return rc;
}
