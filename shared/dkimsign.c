/*
 * dkimsign: the message is streamed twice by the remote agent, once
 * here and once onto the wire, through the same mime8 conversion; the
 * signature covers exactly the octets the receiver gets (DESIGN.md:
 * sign what is sent, as it is sent). The header block is held (bounded)
 * until its end, since the From: domain picks the keys.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "dkimsign.h"
#include "mime8.h"
#include "rfc5322.h"

struct dkimsign {
	DKIM_LIB	*lib;
	struct dkimkey	*keys;
	size_t		 nkeys;
};

/*
 * RFC 6376 5.4.1's list, and the MIME fields besides: the body hash
 * covers the octets, these say how they are read. Only fields present
 * are signed (libopendkim), and From once more (OVERSIGNHDRS), so that
 * a second From: added on the way breaks the signature (8.15).
 */
static const char *sign_fields[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"resent-date", "resent-from", "resent-to", "resent-cc",
	"in-reply-to", "references", "list-id", "list-help",
	"list-unsubscribe", "list-subscribe", "list-post", "list-owner",
	"list-archive", "message-id", "mime-version", "content-type",
	"content-transfer-encoding", NULL
};
static const char *oversign_fields[] = { "from", NULL };

struct dkimsign *
dkimsign_new(void)
{
	struct dkimsign *s;
	const char **p;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->lib = dkim_init(NULL, NULL)) == NULL) {
		free(s);
		return NULL;
	}
	/* the option takes the array itself, its size that of a pointer */
	p = sign_fields;
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, p,
	    sizeof(p)) != DKIM_STAT_OK)
		goto fail;
	p = oversign_fields;
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, p,
	    sizeof(p)) != DKIM_STAT_OK)
		goto fail;
	return s;
fail:
	dkim_close(s->lib);
	free(s);
	return NULL;
}

int
dkimsign_add_key(struct dkimsign *s, const char *domain, const char *selector,
    const char *path, char *err, size_t errlen)
{
	struct dkimkey *nk, *k;
	int rc;

	if (s->nkeys >= DKIMSIGN_KEYS_MAX) {
		str_copy_trunc(err, "too many keys", errlen);
		return -1;
	}
	if ((nk = realloc(s->keys, (s->nkeys + 1) * sizeof(*nk))) == NULL) {
		str_copy_trunc(err, "out of memory", errlen);
		return -1;
	}
	s->keys = nk;
	k = &nk[s->nkeys];
	/* a key that fails stays, without its PEM: its domain's mail waits */
	rc = dkimkey_load(k, path, err, errlen);
	if (str_copy(k->domain, domain, sizeof(k->domain)) == -1 ||
	    str_copy(k->selector, selector, sizeof(k->selector)) == -1) {
		dkimkey_free(k);
		str_copy_trunc(err, "domain or selector too long", errlen);
		return -1;
	}
	s->nkeys++;
	return rc;
}

size_t
dkimsign_nkeys(const struct dkimsign *s)
{
	return s->nkeys;
}

void
dkimsign_free(struct dkimsign *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkeys; i++)
		dkimkey_free(&s->keys[i]);
	free(s->keys);
	dkim_close(s->lib);
	free(s);
}

/* ---- the From: domain ---- */

struct from_ctx {
	char	*domain;
	size_t	 dlen;
	int	 n, mixed;
};

static int
from_addr(const char *addr, void *arg)
{
	struct from_ctx *f = arg;
	const char *at = strrchr(addr, '@');

	if (at == NULL || at[1] == '\0') {
		f->mixed = 1;
		return 0;
	}
	if (f->n++ == 0) {
		if (str_copy(f->domain, at + 1, f->dlen) == -1)
			f->mixed = 1;	/* cut, it is another domain */
	} else if (strcasecmp(f->domain, at + 1) != 0)
		f->mixed = 1;	/* mailboxes of several domains: whose key? */
	return 0;
}

static void
from_field(const char *body, void *arg)
{
	struct from_ctx *f = arg;
	char err[128];

	if (body == NULL || rfc5322_addresses(body, from_addr, f, err,
	    sizeof(err)) < 1)
		f->mixed = 1;
}

int
dkimsign_from_domain(const char *hdr, size_t len, char *domain, size_t dlen)
{
	struct from_ctx f;

	memset(&f, 0, sizeof(f));
	f.domain = domain;
	f.dlen = dlen;
	/* RFC 5322 3.6: exactly one From: */
	if (rfc5322_from_fields(hdr, len, from_field, &f) != 1 || f.n == 0 ||
	    f.mixed)
		return -1;
	str_lower(domain);
	return 0;
}

/* ---- signing as the message streams by ---- */

struct sign_ctx {
	struct dkimsign	*s;
	const char	*id;
	struct buf	 hdr;		/* the header block, CRLF ends */
	int		 in_header;
	int		 bol;		/* at the start of a line */
	int		 skip;		/* not signing this one */
	int		 failed;
	DKIM		*d[DKIMSIGN_PER_DOMAIN];
	size_t		 nd;
	char		*why;
	size_t		 whylen;
};

static int
feed(struct sign_ctx *c, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < c->nd; i++)
		if (dkim_chunk(c->d[i], (unsigned char *)(uintptr_t)p, n) !=
		    DKIM_STAT_OK) {
			str_fmt_trunc(c->why, c->whylen, "libopendkim: %s",
			    dkim_geterror(c->d[i]) ? dkim_geterror(c->d[i]) :
			    "dkim_chunk failed");
			c->failed = 1;
			return -1;
		}
	return 0;
}

/* The header is whole: pick the keys of its From: domain, start them. */
static int
header_done(struct sign_ctx *c)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	DKIM_STAT st;
	size_t i;

	c->in_header = 0;
	if (dkimsign_from_domain(c->hdr.data, c->hdr.len, domain,
	    sizeof(domain)) == -1) {
		str_copy_trunc(c->why, "no single From: domain", c->whylen);
		c->skip = 1;
		return 0;
	}
	for (i = 0; i < c->s->nkeys && c->nd < DKIMSIGN_PER_DOMAIN; i++) {
		const struct dkimkey *k = &c->s->keys[i];
		if (strcmp(k->domain, domain) != 0)
			continue;
		if (k->pem == NULL) {
			str_fmt_trunc(c->why, c->whylen, "the key %s of %s could not "
			    "be loaded", k->selector, domain);
			c->failed = 1;
			return -1;
		}
		c->d[c->nd] = dkim_sign(c->s->lib, (const unsigned char *)c->id,
		    NULL, (dkim_sigkey_t)k->pem, (const unsigned char *)
		    k->selector, (const unsigned char *)k->domain,
		    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
		    k->alg == DKIMKEY_ED25519 ? DKIM_SIGN_ED25519SHA256 :
		    DKIM_SIGN_RSASHA256, -1, &st);
		if (c->d[c->nd] == NULL) {
			str_fmt_trunc(c->why, c->whylen, "libopendkim: %s",
			    dkim_getresultstr(st));
			c->failed = 1;
			return -1;
		}
		c->nd++;
	}
	if (c->nd == 0) {
		str_fmt_trunc(c->why, c->whylen, "no key for %s", domain);
		c->skip = 1;
		return 0;
	}
	return feed(c, c->hdr.data, c->hdr.len);
}

/* A mime8_out: one piece of a line (CRLF added at eol). */
static int
sign_out(void *arg, const char *p, size_t n, int eol)
{
	struct sign_ctx *c = arg;
	int empty = c->bol && n == 0 && eol;

	if (c->skip || c->failed)
		return c->failed ? -1 : 0;
	c->bol = eol;
	if (c->in_header) {
		if ((n > 0 && buf_add(&c->hdr, p, n) == -1) ||
		    (eol && buf_add(&c->hdr, "\r\n", 2) == -1)) {
			str_copy_trunc(c->why, "header too large", c->whylen);
			c->skip = 1;
			return 0;
		}
		return empty ? header_done(c) : 0;
	}
	if (n > 0 && feed(c, p, n) == -1)
		return -1;
	return eol ? feed(c, "\r\n", 2) : 0;
}

/* The signature field, its folding LF made CRLF. */
static int
add_field(struct buf *sig, DKIM *d)
{
	unsigned char *v;
	size_t len, i;

	if (dkim_getsighdr_d(d, strlen(DKIM_SIGNHEADER ": "), &v, &len) !=
	    DKIM_STAT_OK || buf_addstr(sig, DKIM_SIGNHEADER ": ") == -1)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] == '\r')
			continue;
		if (v[i] == '\n' ? buf_add(sig, "\r\n", 2) == -1 :
		    buf_addc(sig, (char)v[i]) == -1)
			return -1;
	}
	return buf_add(sig, "\r\n", 2);
}

int
dkimsign_message(struct dkimsign *s, const char *id, int fd, uint64_t off,
    uint64_t size, int convert, struct buf *sig, char *why, size_t whylen)
{
	struct sign_ctx c;
	size_t i;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.id = id;
	c.in_header = 1;
	c.bol = 1;
	c.why = why;
	c.whylen = whylen;
	buf_init(&c.hdr, DKIMSIGN_HEADER_MAX);
	buf_reset(sig);
	if (mime8_stream(fd, off, size, convert, sign_out, &c) < 0) {
		if (!c.failed)
			str_copy_trunc(why, "cannot read the message", whylen);
		goto out;
	}
	/* a message of header fields alone */
	if (c.in_header && !c.skip && header_done(&c) == -1)
		goto out;
	if (c.skip) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < c.nd; i++) {
		DKIM_STAT st;
		if ((st = dkim_chunk(c.d[i], NULL, 0)) != DKIM_STAT_OK ||
		    (st = dkim_eom(c.d[i], NULL)) != DKIM_STAT_OK) {
			str_fmt_trunc(why, whylen, "libopendkim: %s",
			    dkim_geterror(c.d[i]) ? dkim_geterror(c.d[i]) :
			    dkim_getresultstr(st));
			goto out;
		}
		if (add_field(sig, c.d[i]) == -1) {
			str_copy_trunc(why, "cannot make the signature field",
			    whylen);
			goto out;
		}
	}
	rc = 1;
out:
	for (i = 0; i < c.nd; i++)
		dkim_free(c.d[i]);
	buf_free(&c.hdr);
	return rc;
}
