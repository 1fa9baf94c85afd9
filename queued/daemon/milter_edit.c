/*
 * milter_edit: milters' changes to a message. What each change means is
 * libmilter's (smfi_addheader, smfi_insheader, smfi_chgheader,
 * smfi_replacebody): a changed field whose Nth occurrence does not
 * exist is added, an empty value deletes. The header section ends at
 * the first empty line (RFC 5322 2.1); a line starting with a blank
 * continues the field before it (2.2.3).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "milter_edit.h"

void
milter_mods_init(struct milter_mods *m, size_t body_max)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->body, body_max);
}

void
milter_mods_free(struct milter_mods *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
	}
	free(m->v);
	free(m->quarantine);
	buf_free(&m->body);
	memset(m, 0, sizeof(*m));
}

/*
 * A copy with every CRLF made LF: the queue file's line ends (a field
 * with a bare CR never gets here: milter_proto_header_value_ok).
 */
static char *
dup_lf(const char *s)
{
	char *d = malloc(strlen(s) + 1), *o = d;

	if (d == NULL)
		return NULL;
	for (; *s; s++)
		if (!(s[0] == '\r' && s[1] == '\n'))
			*o++ = *s;
	*o = '\0';
	return d;
}

int
milter_mods_add(struct milter_mods *m, enum milter_mod_type type,
    uint32_t index, const char *name, const char *value)
{
	struct milter_mod *nv, *mod;

	if (m->n >= MILTER_MODS_MAX)
		return -1;
	if ((nv = realloc(m->v, (m->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	m->v = nv;
	mod = &m->v[m->n];
	mod->type = type;
	mod->index = index;
	mod->name = strdup(name);
	mod->value = value ? dup_lf(value) : NULL;
	if (mod->name == NULL || (value && mod->value == NULL)) {
		free(mod->name);
		free(mod->value);
		return -1;
	}
	m->n++;
	return 0;
}

/*
 * CRLF becomes LF, also when a chunk ends between the two, and a bare CR
 * a line end, as pombo-sendmail makes it: the spool holds no CR
 * (SPOOL.md), which would leave on the wire as it is.
 */
int
milter_mods_body(struct milter_mods *m, const void *data, size_t len)
{
	const char *p = data;
	size_t i;

	m->replbody = 1;
	for (i = 0; i < len; i++) {
		if (m->body_cr && p[i] != '\n' && buf_addc(&m->body, '\n') == -1)
			return -1;
		m->body_cr = 0;
		if (p[i] == '\r') {
			m->body_cr = 1;
			continue;
		}
		if (buf_addc(&m->body, p[i]) == -1)
			return -1;
	}
	return 0;
}

void
milter_mods_body_end(struct milter_mods *m)
{
	if (m->body_cr)
		(void)buf_addc(&m->body, '\n');
	m->body_cr = 0;
}

int
milter_mods_quarantine(struct milter_mods *m, const char *reason)
{
	char *r = strdup(reason);

	if (r == NULL)
		return -1;
	free(m->quarantine);
	m->quarantine = r;
	return 0;
}

int
milter_mods_edit_message(const struct milter_mods *m)
{
	size_t i;

	if (m->replbody)
		return 1;
	for (i = 0; i < m->n; i++)
		if (m->v[i].type <= MILTER_MOD_CHGHDR)
			return 1;
	return 0;
}

/* One header field: its text in the message or a change's. */
struct field {
	const char	*text;		/* the message's: whole lines */
	size_t		 len;
	const char	*name;		/* a change's: name and value */
	size_t		 nlen;
	const char	*value;
};

struct fields {
	struct field	*v;
	size_t		 n, cap;
};

static int
fields_insert(struct fields *f, size_t at, const struct field *x)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct field *nv = realloc(f->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		f->v = nv;
		f->cap = cap;
	}
	if (at > f->n)
		at = f->n;
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof(*x));
	f->v[at] = *x;
	f->n++;
	return 0;
}

/* The index of the nth (from 1) field called name, or f->n. */
static size_t
fields_find(const struct fields *f, const char *name, uint32_t nth)
{
	size_t i, len = strlen(name);

	if (nth == 0)
		nth = 1;
	for (i = 0; i < f->n; i++)
		if (f->v[i].nlen == len &&
		    strncasecmp(f->v[i].name, name, len) == 0 && --nth == 0)
			return i;
	return f->n;
}

/*
 * Split the header section into fields; *body is where the body
 * starts (after the empty line), or len if there is none.
 */
static int
fields_parse(struct fields *f, const char *msg, size_t len, size_t *body,
    int *blank)
{
	size_t pos = 0;

	*blank = 0;
	while (pos < len) {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - msg) + 1 : len;
		struct field x;
		const char *colon;

		if (msg[pos] == '\n') {
			*blank = 1;
			pos++;
			break;
		}
		if ((msg[pos] == ' ' || msg[pos] == '\t') && f->n > 0) {
			f->v[f->n - 1].len += end - pos;
			pos = end;
			continue;
		}
		memset(&x, 0, sizeof(x));
		x.text = msg + pos;
		x.len = end - pos;
		x.name = x.text;
		colon = memchr(x.text, ':', x.len);
		/* a line that is not a field keeps its place, matches no name */
		x.nlen = colon ? (size_t)(colon - x.text) : 0;
		if (fields_insert(f, f->n, &x) == -1)
			return -1;
		pos = end;
	}
	*body = pos;
	return 0;
}

/* Buffered writes to an fd. */
struct out {
	int	 fd;
	char	 buf[65536];
	size_t	 len;
	int	 err;
};

static void
out_flush(struct out *o)
{
	size_t off = 0;

	while (!o->err && off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n == -1 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	o->len = 0;
}

static void
out_add(struct out *o, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0 && !o->err) {
		size_t k = sizeof(o->buf) - o->len;

		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

int
milter_edit_apply(const char *msg, size_t len, const struct milter_mods *m,
    int fd)
{
	struct fields f = { NULL, 0, 0 };
	struct out *o;
	size_t i, body;
	int blank, err = 0;

	if ((o = malloc(sizeof(*o))) == NULL)
		return -1;
	o->fd = fd;
	o->len = 0;
	o->err = 0;
	if (fields_parse(&f, msg, len, &body, &blank) == -1) {
		err = ENOMEM;
		goto done;
	}
	for (i = 0; i < m->n && !err; i++) {
		const struct milter_mod *mod = &m->v[i];
		struct field x = { NULL, 0, mod->name, strlen(mod->name),
		    mod->value };
		size_t at;

		switch (mod->type) {
		case MILTER_MOD_ADDHDR:
			err = fields_insert(&f, f.n, &x) ? ENOMEM : 0;
			break;
		case MILTER_MOD_INSHDR:
			err = fields_insert(&f, mod->index, &x) ? ENOMEM : 0;
			break;
		case MILTER_MOD_CHGHDR:
			at = fields_find(&f, mod->name, mod->index);
			if (at < f.n && mod->value[0] == '\0') {
				memmove(&f.v[at], &f.v[at + 1],
				    (f.n - at - 1) * sizeof(x));
				f.n--;
			} else if (at < f.n)
				f.v[at] = x;
			else if (mod->value[0] != '\0')
				err = fields_insert(&f, f.n, &x) ? ENOMEM : 0;
			break;
		default:
			break;
		}
	}
	if (err)
		goto done;
	for (i = 0; i < f.n; i++) {
		if (f.v[i].text != NULL) {
			out_add(o, f.v[i].text, f.v[i].len);
			/* the last field of a message without an end of line */
			if (f.v[i].text[f.v[i].len - 1] != '\n')
				out_add(o, "\n", 1);
			continue;
		}
		out_add(o, f.v[i].name, f.v[i].nlen);
		out_add(o, ":", 1);
		out_add(o, f.v[i].value, strlen(f.v[i].value));
		out_add(o, "\n", 1);
	}
	if (m->replbody) {
		if (blank || m->body.len > 0)
			out_add(o, "\n", 1);
		out_add(o, m->body.data, m->body.len);
	} else {
		if (blank)
			out_add(o, "\n", 1);
		out_add(o, msg + body, len - body);
	}
	out_flush(o);
	err = o->err;
done:
	free(f.v);
	free(o);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
