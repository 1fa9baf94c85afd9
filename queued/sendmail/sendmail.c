/*
 * sendmail: the header is the part up to the first empty line, or up to
 * the first line that is not a field (then the body gets the empty line
 * it lacked); fields are matched by name at the start of a line,
 * continuation lines belong to the field above them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "date.h"
#include "rfc5322.h"
#include "sendmail.h"

int
sendmail_read(int fd, int ignore_dots, size_t max, struct buf *msg)
{
	char chunk[65536];
	size_t linestart = msg->len, i;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (msg->len > linestart &&
			    msg->data[msg->len - 1] == '\r')
				msg->data[msg->len - 1] = '\n';
			return 0;
		}
		for (i = 0; i < (size_t)n; i++) {
			char c = chunk[i];
			/* a bare CR ends a line: it must never reach SMTP */
			if (c != '\n' && msg->len > linestart &&
			    msg->data[msg->len - 1] == '\r') {
				msg->data[msg->len - 1] = '\n';
				linestart = msg->len;
			}
			if (c == '\n') {
				/* CRLF from a Windows-minded program: LF */
				if (msg->len > linestart &&
				    msg->data[msg->len - 1] == '\r')
					msg->len--;
				if (!ignore_dots && msg->len - linestart == 1 &&
				    msg->data[linestart] == '.') {
					msg->len = linestart;
					return 0;
				}
			}
			if (msg->len >= max || buf_addc(msg, c) == -1)
				return -2;
			if (c == '\n')
				linestart = msg->len;
		}
	}
}

/*
 * Is this line a header field, "name:" (RFC 5322 2.2: the name is
 * printable US-ASCII but ':'), or the obsolete "name WSP :" (4.5.3)?
 */
static int
is_field(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/*
 * Length of the header part (with the LF of its last line); *body is
 * where the body starts. The header ends at the empty line, or at the
 * first line that is neither a field nor a continuation: "echo hi |
 * sendmail bob" has no header at all, and its text must stay the body
 * (Postfix and Sendmail read it the same way).
 */
static size_t
header_len(const char *p, size_t len, size_t *body)
{
	size_t i = 0, end;

	while (i < len) {
		for (end = i; end < len && p[end] != '\n'; end++)
			;
		if (end == i) {
			*body = i + 1;
			return i;
		}
		if (!is_field(p + i, end - i) &&
		    (i == 0 || (p[i] != ' ' && p[i] != '\t')))
			break;
		i = end < len ? end + 1 : len;
	}
	*body = i;
	return i;
}

/* Does the header have a field of this name? */
static int
has_field(const char *h, size_t len, const char *name)
{
	size_t nl = strlen(name), i = 0;

	while (i < len) {
		if (len - i > nl && strncasecmp(h + i, name, nl) == 0 &&
		    h[i + nl] == ':')
			return 1;
		while (i < len && h[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

/* The fields that hold addresses (RFC 5322 3.6.2, 3.6.3, 3.6.6). */
static const char *const address_fields[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc", "resent-from",
	"resent-sender", "resent-to", "resent-cc", "resent-bcc", NULL
};

/* Length of the field's name if it is one of address_fields, else 0. */
static size_t
address_field(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t i, k;

	if (colon == NULL)
		return 0;
	for (k = (size_t)(colon - p); k > 0 && (p[k - 1] == ' ' ||
	    p[k - 1] == '\t'); k--)
		;
	for (i = 0; address_fields[i]; i++)
		if (strlen(address_fields[i]) == k &&
		    strncasecmp(p, address_fields[i], k) == 0)
			return (size_t)(colon - p);
	return 0;
}

/* The longest line of p (n octets), its LF not counted. */
static size_t
longest_line(const char *p, size_t n)
{
	const char *nl;
	size_t most = 0, k;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		k = nl ? (size_t)(nl - p) : n;
		if (k > most)
			most = k;
		if (nl == NULL)
			break;
		n -= k + 1;
		p = nl + 1;
	}
	return most;
}

/*
 * One address field, its continuation lines with it, from h + i: its
 * addresses qualified with domain (rfc5322_qualify), or as it was if
 * they do not parse. Returns where the next field starts.
 */
static size_t
put_address_field(const char *h, size_t hl, size_t i, size_t colon,
    const char *domain, struct buf *out, int *rc)
{
	struct buf value;
	size_t end = i, start, named;

	for (;;) {
		while (end < hl && h[end] != '\n')
			end++;
		if (end + 1 >= hl || (h[end + 1] != ' ' && h[end + 1] != '\t'))
			break;
		end++;		/* a continuation line: the field goes on */
	}
	buf_init(&value, RFC5322_FIELD_MAX);
	start = out->len;
	*rc |= buf_add(out, h + i, colon + 1);
	named = out->len;
	/*
	 * A NUL would end the string rfc5322_qualify reads, and what
	 * follows it would be lost; a line made longer than RFC 5322
	 * 2.1.1's 998 octets would not go through SMTP as it is: such a
	 * field goes on as it was.
	 */
	if (memchr(h + i + colon + 1, '\0', end - i - colon - 1) != NULL ||
	    buf_add(&value, h + i + colon + 1, end - i - colon - 1) == -1 ||
	    rfc5322_qualify(buf_cstr(&value), domain, out) == -1 ||
	    (longest_line(out->data + start, out->len - start) > 998 &&
	    longest_line(h + i, end - i) <= 998)) {
		out->len = named;
		*rc |= buf_add(out, h + i + colon + 1, end - i - colon - 1);
	}
	*rc |= buf_addc(out, '\n');
	buf_free(&value);
	return end + 1;
}

int
sendmail_fix_header(const struct buf *msg, const struct sendmail_opts *o,
    int drop_bcc, struct buf *out)
{
	const char *h = msg->data ? msg->data : "";
	size_t body, hl = header_len(h, msg->len, &body), i = 0, end, colon;
	char date[64];
	int skipping = 0, rc = 0;

	date_rfc5322((time_t)o->now, date, sizeof(date));
	if (!has_field(h, hl, "Date"))
		rc |= buf_printf(out, "Date: %s\n", date);
	if (!has_field(h, hl, "Message-ID"))
		rc |= buf_printf(out, "Message-ID: <%s@%s>\n", o->qid_hint,
		    o->hostname);
	if (!has_field(h, hl, "From"))
		rc |= buf_printf(out, "From: %s\n", o->from);
	while (i < hl) {
		for (end = i; end < hl && h[end] != '\n'; end++)
			;
		if (h[i] != ' ' && h[i] != '\t') {
			skipping = drop_bcc && end - i >= 4 &&
			    strncasecmp(h + i, "bcc:", 4) == 0;
			/* "To: root" from cron: root of this host */
			if (!skipping && (colon = address_field(h + i,
			    end - i)) > 0) {
				i = put_address_field(h, hl, i, colon,
				    o->hostname, out, &rc);
				continue;
			}
		}
		if (!skipping) {
			rc |= buf_add(out, h + i, end - i);
			rc |= buf_addc(out, '\n');
		}
		i = end + 1;
	}
	/*
	 * The empty line and the body, as they were; a body that no empty
	 * line introduced gets one, or it would read as more header.
	 */
	if (body > hl)
		rc |= buf_add(out, h + hl, msg->len - hl);
	else if (body < msg->len) {
		rc |= buf_addc(out, '\n');
		rc |= buf_add(out, h + body, msg->len - body);
	}
	return rc ? -1 : 0;
}

int
sendmail_qualify(const char *addr, const char *domain, char *out,
    size_t len)
{
	if (strchr(addr, '@') != NULL)
		return str_copy(out, addr, len);
	return str_fmt(out, len, "%s@%s", addr, domain) == -1 ? -1 : 0;
}

int
sendmail_header_rcpts(const struct buf *msg, const char *domain,
    int (*cb)(const char *, void *), void *ctx, char *err, size_t errlen)
{
	const char *h = msg->data ? msg->data : "";
	size_t body, hl = header_len(h, msg->len, &body), i = 0, end;
	struct buf field;
	int total = 0, n;

	buf_init(&field, 1024 * 1024);
	while (i < hl) {
		for (end = i; end < hl && h[end] != '\n'; end++)
			;
		if ((end - i >= 3 && strncasecmp(h + i, "to:", 3) == 0) ||
		    (end - i >= 3 && strncasecmp(h + i, "cc:", 3) == 0) ||
		    (end - i >= 4 && strncasecmp(h + i, "bcc:", 4) == 0)) {
			size_t colon = (size_t)((const char *)memchr(h + i, ':',
			    end - i) - h);
			buf_reset(&field);
			buf_add(&field, h + colon + 1, end - colon - 1);
			/* unfold the continuation lines */
			while (end + 1 < hl && (h[end + 1] == ' ' ||
			    h[end + 1] == '\t')) {
				i = end + 1;
				for (end = i; end < hl && h[end] != '\n'; end++)
					;
				buf_addc(&field, ' ');
				buf_add(&field, h + i, end - i);
			}
			n = rfc5322_addresses_in(buf_cstr(&field), domain, cb,
			    ctx, err, errlen);
			if (n < 0) {
				buf_free(&field);
				return -1;
			}
			total += n;
		}
		i = end + 1;
	}
	buf_free(&field);
	return total;
}
