/*
 * dkimsign: the message is streamed twice by the remote agent, once
 * here and once onto the wire, through the same mime8 conversion; the
 * signature covers exactly the octets the receiver gets (DESIGN.md:
 * sign what is sent, as it is sent). The header block is held (bounded)
 * until its end, since the From: domain picks the keys; the body goes
 * through relaxed canonicalization into one SHA-256 shared by every key.
 *
 * Signed here rather than by libopendkim (which pombo-verify still
 * uses): libopendkim parses the PEM key again for every message, and
 * with OpenSSL 3 that parse and a fresh key's set-up cost more than the
 * signature itself (Ed25519: 0.9 ms a message against 0.06 ms).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "base64.h"
#include "dkimsign.h"
#include "mime8.h"
#include "rfc5322.h"

#define DKIMSIGN_FIELDS_MAX	256	/* fields signed; more: not signed */
#define DKIMSIGN_H_MAX	(DKIMSIGN_FIELDS_MAX * 32)	/* the h= list */
#define DKIMSIGN_FOLD	72		/* b= and h= folded near this column */

struct dkimsign {
	struct dkimkey	*keys;
	size_t		 nkeys;
};

/*
 * RFC 6376 5.4.1's list, and the MIME fields besides: the body hash
 * covers the octets, these say how they are read. Only fields present
 * are signed; those of oversign_fields once more besides (8.15).
 */
static const char *sign_fields[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"resent-date", "resent-from", "resent-to", "resent-cc",
	"in-reply-to", "references", "list-id", "list-help",
	"list-unsubscribe", "list-subscribe", "list-post", "list-owner",
	"list-archive", "message-id", "mime-version", "content-type",
	"content-transfer-encoding", NULL
};

/*
 * What a reader is shown, and how the body is read: each is named in
 * h= once more than it appears, so that one added on the way (a second
 * Subject: on top, which many readers show, or a Reply-To: where there
 * was none) breaks the signature (RFC 6376 8.15, 5.4.2: a name with no
 * field left stands for the null string). Those written "?" only when
 * the message has one: a gateway may add MIME-Version to plain text.
 */
static const char *oversign_fields[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"?mime-version", "?content-type", "?content-transfer-encoding", NULL
};

struct dkimsign *
dkimsign_new(void)
{
	return calloc(1, sizeof(struct dkimsign));
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
	/* a key that fails stays, without its key: its domain's mail waits */
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


/* ---- relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) ---- */

#define IS_WSP(c)	((c) == ' ' || (c) == '\t')

/* A field's name ends before its colon and the blanks before that. */
static size_t
name_len(const char *f, const char *colon)
{
	size_t nl;

	for (nl = (size_t)(colon - f); nl > 0 && IS_WSP(f[nl - 1]); nl--)
		;
	return nl;
}

/*
 * A header field, name and value as they stand (folded, CRLF ends) into
 * its relaxed form: the name in lower case, the value unfolded, runs of
 * whitespace one space, none around the colon or at the end; CRLF.
 */
static int
canon_field(struct buf *out, const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len), *end = f + len, *p;
	size_t nl;
	int wsp = 0, text = 0;

	if (colon == NULL)
		return -1;
	nl = name_len(f, colon);
	for (p = f; p < f + nl; p++)
		if (buf_addc(out, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 :
		    *p)) == -1)
			return -1;
	if (buf_addc(out, ':') == -1)
		return -1;
	for (p = colon + 1; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;	/* unfolded */
		if (IS_WSP(*p)) {
			wsp = 1;
			continue;
		}
		/* a space between words only: none after the colon */
		if (wsp && text && buf_addc(out, ' ') == -1)
			return -1;
		wsp = 0;
		text = 1;
		if (buf_addc(out, *p) == -1)
			return -1;
	}
	return buf_add(out, "\r\n", 2);
}

/* The body's relaxed form, as it streams by, into the body hash. */
struct body_canon {
	EVP_MD_CTX	*md;
	unsigned long	 blank;		/* empty lines held back */
	int		 wsp;		/* whitespace held back in the line */
	int		 text;		/* the line has more than whitespace */
	char		 out[4096];
	size_t		 outlen;
};

static void
body_put(struct body_canon *b, const char *p, size_t n)
{
	if (b->outlen + n > sizeof(b->out)) {
		EVP_DigestUpdate(b->md, b->out, b->outlen);
		b->outlen = 0;
	}
	if (n > sizeof(b->out))
		EVP_DigestUpdate(b->md, p, n);
	else {
		memcpy(b->out + b->outlen, p, n);
		b->outlen += n;
	}
}

/* A piece of a line, without its line end. */
static void
body_text(struct body_canon *b, const char *p, size_t n)
{
	size_t i, run;

	for (i = 0; i < n; i += run) {
		if (IS_WSP(p[i])) {
			b->wsp = 1;
			run = 1;
			continue;
		}
		if (!b->text) {
			/* empty lines are kept only when text follows */
			for (; b->blank > 0; b->blank--)
				body_put(b, "\r\n", 2);
			b->text = 1;
		}
		if (b->wsp)
			body_put(b, " ", 1);
		b->wsp = 0;
		for (run = 1; i + run < n && !IS_WSP(p[i + run]); run++)
			;
		body_put(b, p + i, run);
	}
}

/* The end of a line: whitespace before it goes; an empty line waits. */
static void
body_eol(struct body_canon *b)
{
	if (b->text)
		body_put(b, "\r\n", 2);
	else
		b->blank++;
	b->text = b->wsp = 0;
}

/* ---- signing as the message streams by ---- */

struct sign_ctx {
	struct dkimsign	*s;
	struct buf	 hdr;		/* the header block, CRLF ends */
	int		 in_header;
	int		 bol;		/* at the start of a line */
	int		 skip;		/* not signing this one */
	int		 failed;
	const struct dkimkey *k[DKIMSIGN_PER_DOMAIN];
	size_t		 nk;
	struct body_canon body;
	char		*why;
	size_t		 whylen;
};

/* The header is whole: pick the keys of its From: domain. */
static int
header_done(struct sign_ctx *c)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	size_t i;

	c->in_header = 0;
	/* an empty message has no header block at all (data NULL) */
	if (dkimsign_from_domain(c->hdr.data ? c->hdr.data : "", c->hdr.len,
	    domain, sizeof(domain)) == -1) {
		str_copy_trunc(c->why, "no single From: domain", c->whylen);
		c->skip = 1;
		return 0;
	}
	for (i = 0; i < c->s->nkeys && c->nk < DKIMSIGN_PER_DOMAIN; i++) {
		const struct dkimkey *k = &c->s->keys[i];
		if (strcmp(k->domain, domain) != 0)
			continue;
		if (k->pkey == NULL) {
			str_fmt_trunc(c->why, c->whylen, "the key %s of %s could not "
			    "be loaded", k->selector, domain);
			c->failed = 1;
			return -1;
		}
		c->k[c->nk++] = k;
	}
	if (c->nk == 0) {
		str_fmt_trunc(c->why, c->whylen, "no key for %s", domain);
		c->skip = 1;
	}
	return 0;
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
	body_text(&c->body, p, n);
	if (eol)
		body_eol(&c->body);
	return 0;
}

/* The header fields of the block one by one: [*f, *f + *len). */
static int
next_field(const struct buf *hdr, size_t *pos, const char **f, size_t *len)
{
	const char *p = hdr->data + *pos, *end = hdr->data + hdr->len, *nl;

	if (p >= end || *p == '\r' || *p == '\n')
		return 0;	/* the empty line that ends the block */
	*f = p;
	do {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			p = end;
			break;
		}
		p = nl + 1;
	} while (p < end && IS_WSP(*p));
	*len = (size_t)(p - *f);
	*pos += *len;
	return 1;
}

/* A field to sign: its text and the length of its name. */
struct field {
	const char	*f;
	size_t		 len, nl;
	int		 used;
};

static int
signed_name(const char *f, size_t len, size_t *nl)
{
	const char *colon = memchr(f, ':', len);
	int i;

	if (colon == NULL)
		return 0;
	*nl = name_len(f, colon);
	for (i = 0; sign_fields[i]; i++)
		if (strlen(sign_fields[i]) == *nl &&
		    strncasecmp(f, sign_fields[i], *nl) == 0)
			return 1;
	return 0;
}

/* Whether a field of fs is called name. */
static int
fields_have(const struct field *fs, size_t nfs, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < nfs; i++)
		if (fs[i].nl == n && strncasecmp(fs[i].f, name, n) == 0)
			return 1;
	return 0;
}

/*
 * The fields to sign, in the order of the block, and the h= list: each
 * one's name as it is written, and those of oversign_fields once more.
 * -1: too many.
 */
static int
signed_fields(const struct buf *hdr, struct field *fs, size_t *nfs,
    struct buf *h)
{
	const char *f, *name;
	size_t pos = 0, len, nl, i;

	*nfs = 0;
	while (next_field(hdr, &pos, &f, &len)) {
		if (!signed_name(f, len, &nl))
			continue;
		if (*nfs == DKIMSIGN_FIELDS_MAX ||
		    (h->len > 0 && buf_addc(h, ':') == -1) ||
		    buf_add(h, f, nl) == -1)
			return -1;
		fs[(*nfs)++] = (struct field){ f, len, nl, 0 };
	}
	for (i = 0; oversign_fields[i]; i++) {
		name = oversign_fields[i];
		if (*name == '?' && !fields_have(fs, *nfs, ++name))
			continue;
		if ((h->len > 0 && buf_addc(h, ':') == -1) ||
		    buf_addstr(h, name) == -1)
			return -1;
	}
	return buf_addc(h, '\0');
}

/*
 * The header part of the hash (RFC 6376 5.4.2): for each name of h=,
 * the last field of that name not taken yet, relaxed; a name with none
 * left adds nothing.
 */
static int
hash_fields(EVP_MD_CTX *md, struct field *fs, size_t nfs, const char *h,
    struct buf *tmp)
{
	const char *name;
	size_t n, i, last;

	for (i = 0; i < nfs; i++)
		fs[i].used = 0;
	for (name = h; *name; name += n + (name[n] == ':')) {
		n = strcspn(name, ":");
		for (i = 0, last = nfs; i < nfs; i++)
			if (!fs[i].used && fs[i].nl == n &&
			    strncasecmp(fs[i].f, name, n) == 0)
				last = i;
		if (last == nfs)
			continue;
		fs[last].used = 1;
		buf_reset(tmp);
		if (canon_field(tmp, fs[last].f, fs[last].len) == -1 ||
		    EVP_DigestUpdate(md, tmp->data, tmp->len) != 1)
			return -1;
	}
	return 0;
}

/* Append s to the field, folding before it if the line would be long. */
static int
fold_add(struct buf *out, size_t *col, const char *s, size_t n)
{
	if (*col + n > DKIMSIGN_FOLD && *col > 1) {
		if (buf_add(out, "\r\n\t", 3) == -1)
			return -1;
		*col = 1;
	}
	*col += n;
	return buf_add(out, s, n);
}

/* The signature of the hash input's digest with one key. */
static int
sign_digest(const struct dkimkey *k, const unsigned char *dig,
    size_t diglen, unsigned char *sig, size_t *siglen)
{
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *mc = NULL;
	int ok = 0;

	if (k->alg == DKIMKEY_ED25519) {
		/* RFC 8463 3: PureEdDSA over the SHA-256 of the input */
		ok = (mc = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(mc, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(mc, sig, siglen, dig, diglen) == 1;
		EVP_MD_CTX_free(mc);
	} else {
		ok = (pc = EVP_PKEY_CTX_new(k->pkey, NULL)) != NULL &&
		    EVP_PKEY_sign_init(pc) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pc, sig, siglen, dig, diglen) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	return ok ? 0 : -1;
}

/*
 * One DKIM-Signature field onto sig: the tags, hashed (relaxed) after
 * the signed fields with b= empty, then b= filled in and folded. The
 * signature's buffers are the key's size: dkimkey sets no upper bound
 * on RSA, and queued's start check passes any key it can load.
 */
static int
add_signature(struct sign_ctx *c, const struct dkimkey *k, const char *bh,
    struct field *fs, size_t nfs, const char *h, time_t now,
    struct buf *sig)
{
	unsigned char dig[EVP_MAX_MD_SIZE], *s = NULL;
	char *b64 = NULL;
	unsigned int diglen;
	size_t start = sig->len, col, siglen, i, n;
	struct buf tmp;
	EVP_MD_CTX *md;
	const char *p;
	int rc = -1, ks;

	buf_init(&tmp, DKIMSIGN_HEADER_MAX + 2 * DKIMSIGN_H_MAX);
	if ((ks = EVP_PKEY_get_size(k->pkey)) <= 0 ||
	    (s = malloc((size_t)ks)) == NULL ||
	    (b64 = malloc(((size_t)ks + 2) / 3 * 4 + 1)) == NULL)
		goto out;
	siglen = (size_t)ks;
	if (buf_printf(sig, "DKIM-Signature: v=1; a=%s-sha256; "
	    "c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; bh=%s;\r\n\th=",
	    dkimkey_alg_name(k->alg), k->domain, k->selector, (long long)now,
	    bh) == -1)
		goto out;
	col = 3;
	for (p = h; *p; p += n) {
		n = strcspn(p + 1, ":") + 1;	/* a name and the ':' before */
		if (fold_add(sig, &col, p, n) == -1)
			goto out;
	}
	if (buf_add(sig, ";\r\n\tb=", 6) == -1)
		goto out;
	col = 3;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    hash_fields(md, fs, nfs, h, &tmp) == -1)
		goto hashed;
	/* the field itself, b= empty, without its CRLF (RFC 6376 3.7) */
	buf_reset(&tmp);
	if (canon_field(&tmp, sig->data + start, sig->len - start) == -1 ||
	    EVP_DigestUpdate(md, tmp.data, tmp.len - 2) != 1 ||
	    EVP_DigestFinal_ex(md, dig, &diglen) != 1)
		goto hashed;
	if (sign_digest(k, dig, diglen, s, &siglen) == -1 ||
	    base64_encode(s, siglen, b64, ((size_t)ks + 2) / 3 * 4 + 1) < 0)
		goto hashed;
	for (i = 0, n = strlen(b64); i < n; i += DKIMSIGN_FOLD - 3) {
		if (i > 0 && buf_add(sig, "\r\n\t ", 4) == -1)
			goto hashed;
		if (buf_add(sig, b64 + i, n - i < DKIMSIGN_FOLD - 3 ? n - i :
		    DKIMSIGN_FOLD - 3) == -1)
			goto hashed;
	}
	rc = buf_add(sig, "\r\n", 2);
hashed:
	EVP_MD_CTX_free(md);
out:
	if (rc == -1)
		str_fmt_trunc(c->why, c->whylen, "cannot sign with %s (%s)",
		    k->selector, k->domain);
	buf_free(&tmp);
	free(s);
	free(b64);
	return rc;
}

int
dkimsign_message(struct dkimsign *s, int fd, uint64_t off, uint64_t size,
    int convert, struct buf *sig, char *why, size_t whylen)
{
	struct field fs[DKIMSIGN_FIELDS_MAX];
	unsigned char bh[EVP_MAX_MD_SIZE];
	char bh64[EVP_MAX_MD_SIZE * 2];
	struct sign_ctx c;
	struct buf h;
	unsigned int bhlen;
	time_t now = time(NULL);
	size_t i, nfs;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.in_header = 1;
	c.bol = 1;
	c.why = why;
	c.whylen = whylen;
	buf_init(&c.hdr, DKIMSIGN_HEADER_MAX);
	buf_init(&h, DKIMSIGN_H_MAX);
	buf_reset(sig);
	if ((c.body.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c.body.md, EVP_sha256(), NULL) != 1) {
		str_copy_trunc(why, "cannot start SHA-256", whylen);
		goto out;
	}
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
	/* a last line without its end gets one (RFC 6376 3.4.4) */
	if (c.body.text)
		body_eol(&c.body);
	if (EVP_DigestUpdate(c.body.md, c.body.out, c.body.outlen) != 1 ||
	    EVP_DigestFinal_ex(c.body.md, bh, &bhlen) != 1 ||
	    base64_encode(bh, bhlen, bh64, sizeof(bh64)) < 0) {
		str_copy_trunc(why, "cannot hash the body", whylen);
		goto out;
	}
	if (signed_fields(&c.hdr, fs, &nfs, &h) == -1) {
		str_copy_trunc(why, "too many header fields to sign", whylen);
		rc = 0;
		goto out;
	}
	for (i = 0; i < c.nk; i++)
		if (add_signature(&c, c.k[i], bh64, fs, nfs, h.data, now,
		    sig) == -1)
			goto out;
	rc = 1;
out:
	EVP_MD_CTX_free(c.body.md);
	buf_free(&c.hdr);
	buf_free(&h);
	return rc;
}
