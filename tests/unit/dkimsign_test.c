/*
 * dkimsign against another implementation: every signature Pombo makes
 * is verified by libopendkim (the verifier pombo-verify uses), over
 * messages built to strain relaxed canonicalization and field selection,
 * and over random ones (fixed seed, bounded); a changed octet must fail.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <opendkim/dkim.h>

#include "dkimsign.h"

static char dir[] = "/tmp/pombo-dkimsign-test-XXXXXX";
static char pub_ed[128], pub_rsa[1024], pub_big[2048];
static struct dkimsign *signer;

/* A key of alg into dir/<sel>.pem, its DNS record into rec. */
static void
make_key(const char *alg, const char *sel, char *rec, size_t reclen)
{
	char path[128], err[256], p[900];
	struct dkimkey k;
	EVP_PKEY *pk;
	FILE *f;

	pk = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, alg,
	    (size_t)2048) : EVP_PKEY_Q_keygen(NULL, NULL, alg);
	cr_assert_not_null(pk);
	snprintf(path, sizeof(path), "%s/%s.pem", dir, sel);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	EVP_PKEY_free(pk);
	cr_assert_eq(dkimkey_load(&k, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(dkimkey_public(&k, p, sizeof(p)), 0);
	snprintf(rec, reclen, "v=DKIM1; k=%s; p=%s",
	    dkimkey_alg_name(k.alg), p);
	dkimkey_free(&k);
	cr_assert_eq(dkimsign_add_key(signer, "example.test", sel, path, err,
	    sizeof(err)), 0, "%s", err);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_not_null(signer = dkimsign_new());
	make_key("ED25519", "ed", pub_ed, sizeof(pub_ed));
	make_key("RSA", "rsa", pub_rsa, sizeof(pub_rsa));
}

static void
teardown(void)
{
	char cmd[128];

	dkimsign_free(signer);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static DKIM_CBSTAT
key_lookup(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	const char *sel = (const char *)dkim_sig_getselector(sig);

	(void)d;
	snprintf((char *)buf, buflen, "%s", strcmp(sel, "ed") == 0 ? pub_ed :
	    strcmp(sel, "big") == 0 ? pub_big : pub_rsa);
	return DKIM_CBSTAT_CONTINUE;
}

/* The signed message as a receiver gets it: fields on top, CRLF ends. */
static size_t
as_sent(const struct buf *sig, const char *msg, char *out, size_t size)
{
	size_t n = 0;
	const char *p;

	cr_assert_lt(sig->len, size);
	memcpy(out, sig->data, sig->len);
	n = sig->len;
	for (p = msg; *p; p++) {
		cr_assert_lt(n + 2, size);
		if (*p == '\n')
			out[n++] = '\r';
		out[n++] = *p;
	}
	/* SMTP ends the data with a line end, as the remote agent does */
	if (p > msg && p[-1] != '\n') {
		cr_assert_lt(n + 2, size);
		memcpy(out + n, "\r\n", 2);
		n += 2;
	}
	return n;
}

/* How many signatures libopendkim finds good; -1 if it finds none. */
static int
verified(const char *m, size_t len)
{
	DKIM_SIGINFO **sigs;
	DKIM_LIB *lib;
	DKIM_STAT st;
	DKIM *d;
	int i, n, good = 0;

	cr_assert_not_null(lib = dkim_init(NULL, NULL));
	cr_assert_eq(dkim_set_key_lookup(lib, key_lookup), DKIM_STAT_OK);
	cr_assert_not_null(d = dkim_verify(lib, (const u_char *)"t", NULL,
	    &st));
	st = dkim_chunk(d, (u_char *)(uintptr_t)m, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		(void)dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK)
		n = 0;
	for (i = 0; i < n; i++)
		good += DKIM_SIG_CHECK(sigs[i]);
	dkim_free(d);
	dkim_close(lib);
	return n == 0 ? -1 : good;
}

/* Sign msg (LF ends, as in the queue); 1 and the message as sent. */
static int
sign(const char *msg, char *out, size_t size, size_t *len)
{
	char path[128], why[256];
	struct buf sig;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/msg", dir);
	cr_assert((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	cr_assert_eq(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	buf_init(&sig, 1 << 20);
	rc = dkimsign_message(signer, fd, 0, strlen(msg), 0,
	    &sig, why, sizeof(why));
	close(fd);
	cr_assert_neq(rc, -1, "%s", why);
	if (rc == 1)
		*len = as_sent(&sig, msg, out, size);
	buf_free(&sig);
	return rc;
}

static const char *cases[] = {
	"From: a@example.test\nTo: b@b.test\nSubject: hi\n\nbody\n",
	/* whitespace: runs, tabs, at line ends, whole lines of it */
	"From:  a@example.test \nSubject:\tRe:  two\t spaces  \n\n"
	"  lead\tand  inner \t \n\t\n \nlast\n \n\t\n\n",
	/* a colon in the value, a blank before the name's colon, folding */
	"Subject : Re: Fwd:  x\nFrom: a@example.test\nTo: b@b.test,\n"
	"\tc@c.test,\n  d@d.test\n\nx\n",
	/* fields twice: each signed, bottom up; case of names kept */
	"FROM: a@example.test\nCc: one@x.test\nSUBJECT: s\ncc: two@x.test\n"
	"X-Other: not signed\nCC: three@x.test\n\nb\n",
	/* empty body; a body of empty lines; no line end at the end */
	"From: a@example.test\n\n",
	"From: a@example.test\n\n\n\n\n",
	"From: a@example.test\n\nno end",
	"From: a@example.test\n\nwhite at the end   ",
	/* 8-bit octets and a long line */
	"From: a@example.test\nSubject: caf\xc3\xa9\n\n\xc3\xa9t\xc3\xa9 "
	"0123456789012345678901234567890123456789012345678901234567890123456"
	"789012345678901234567890123456789012345678901234567890123456789\n",
	/* headers only */
	"From: a@example.test\nSubject: x\n",
};

Test(dkimsign, libopendkim_verifies, .init = setup, .fini = teardown)
{
	static char out[1 << 16];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(sign(cases[i], out, sizeof(out), &len), 1,
		    "case %zu signed", i);
		cr_expect_eq(verified(out, len), 2, "case %zu: both verify:\n%.*s",
		    i, (int)len, out);
	}
}

Test(dkimsign, a_changed_octet_fails, .init = setup, .fini = teardown)
{
	static char out[1 << 16], added[(1 << 16) + 32];
	char *p;
	size_t len;

	cr_assert_eq(sign(cases[0], out, sizeof(out), &len), 1);
	cr_assert_eq(verified(out, len), 2);
	cr_assert_not_null(p = strstr(out, "body"));
	*p = 'B';
	cr_expect_eq(verified(out, len), 0, "the body");
	*p = 'b';
	cr_assert_not_null(p = strstr(out, "Subject: hi"));
	p[9] = 'H';
	cr_expect_eq(verified(out, len), 0, "a signed field");
	p[9] = 'h';
	/* a second From: on top: oversigned (RFC 6376 8.15) */
	cr_assert_lt(len + 19, sizeof(added));
	memcpy(added, "From: x@evil.test\r\n", 19);
	memcpy(added + 19, out, len);
	cr_expect_eq(verified(added, len + 19), 0, "a From: added on top");
}

/*
 * What a reader is shown cannot be added to on the way either (RFC
 * 6376 8.15): a second Subject:, To: or Date:, a Reply-To: or Cc: the
 * message had none of, a second Content-Type: (another reading of the
 * body) each break the signature. A field that is neither, added, does
 * not.
 */
Test(dkimsign, an_added_field_fails, .init = setup, .fini = teardown)
{
	static const struct { const char *field; int good; } t[] = {
		{ "Subject: pay now\r\n", 0 },
		{ "To: x@evil.test\r\n", 0 },
		{ "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n", 0 },
		{ "Reply-To: x@evil.test\r\n", 0 },
		{ "Cc: x@evil.test\r\n", 0 },
		{ "Content-Type: text/html\r\n", 0 },
		{ "X-Spam-Score: 0\r\n", 2 },
	};
	static const char msg[] = "From: a@example.test\nTo: b@b.test\n"
	    "Subject: hi\nDate: Wed, 2 Dec 2026 01:00:00 +0000\n"
	    "MIME-Version: 1.0\nContent-Type: text/plain\n\nbody\n";
	static char out[1 << 16], added[(1 << 16) + 128];
	size_t i, len, n;

	cr_assert_eq(sign(msg, out, sizeof(out), &len), 1);
	cr_assert_eq(verified(out, len), 2);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = strlen(t[i].field);
		cr_assert_lt(len + n, sizeof(added));
		memcpy(added, t[i].field, n);
		memcpy(added + n, out, len);
		cr_expect_eq(verified(added, len + n), t[i].good,
		    "%s added on top", t[i].field);
	}
}

/*
 * What cannot be signed goes unsigned (0), never an error: an empty
 * message has no header block at all (its buffer still NULL, which the
 * From: search once did arithmetic on: UBSan stopped the agent there),
 * and one without a From: field has no domain.
 */
Test(dkimsign, nothing_to_sign, .init = setup, .fini = teardown)
{
	static char out[1 << 16];
	size_t len;

	cr_expect_eq(sign("", out, sizeof(out), &len), 0, "an empty message");
	cr_expect_eq(sign("\n", out, sizeof(out), &len), 0, "an empty line");
	cr_expect_eq(sign("Subject: x\n\nbody\n", out, sizeof(out), &len), 0,
	    "no From:");
}

/*
 * An RSA key past 8192 bits: queued's start check takes it (dkimkey has
 * no upper bound), so a message must not fail at send time for it (the
 * signature once had a fixed buffer of 1024 octets: every message of
 * the domain waited). Five primes make the key in seconds.
 */
Test(dkimsign, rsa_key_over_8192_bits, .init = setup, .fini = teardown)
{
	static char out[1 << 16];
	unsigned char der[1536], *d = der, sig[1100], rec[64];
	const unsigned char *dp = der;
	char path[128], err[256], b64[1500], *p;
	EVP_PKEY_CTX *pc;
	EVP_PKEY *pk = NULL;
	size_t len, reclen = sizeof(rec);
	long dl;
	int n;
	FILE *f;

	cr_assert_not_null(pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL));
	cr_assert_eq(EVP_PKEY_keygen_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(pc, 8200), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_keygen_primes(pc, 5), 1);
	cr_assert_eq(EVP_PKEY_keygen(pc, &pk), 1);
	EVP_PKEY_CTX_free(pc);
	snprintf(path, sizeof(path), "%s/big.pem", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	n = i2d_PUBKEY(pk, NULL);
	cr_assert(n > 0 && (size_t)n <= sizeof(der));
	cr_assert_eq(i2d_PUBKEY(pk, &d), n);
	dl = n;
	EVP_PKEY_free(pk);
	len = (size_t)snprintf(pub_big, sizeof(pub_big), "v=DKIM1; k=rsa; p=");
	cr_assert_lt(len + ((size_t)n + 2) / 3 * 4, sizeof(pub_big));
	EVP_EncodeBlock((unsigned char *)pub_big + len, der, n);
	cr_assert_eq(dkimsign_add_key(signer, "big.test", "big", path, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(sign("From: a@big.test\nSubject: s\n\nbody\n", out,
	    sizeof(out), &len), 1, "signed");
	/*
	 * libopendkim reads a key record of at most 1024 octets, too few
	 * for this key: b= is checked with OpenSSL to be an RSA-SHA256
	 * signature by the key, of the key's length (python3-dkim verifies
	 * the whole signature)
	 */
	out[len] = '\0';
	cr_assert_not_null(p = strstr(out, "\tb="));
	for (p += 3, n = 0; *p && !(p[0] == '\r' && p[2] != ' ' &&
	    p[2] != '\t'); p++)
		if (*p != '\r' && *p != '\n' && *p != '\t' && *p != ' ')
			b64[n++] = *p;
	b64[n] = '\0';
	cr_assert_eq(EVP_DecodeBlock(sig, (unsigned char *)b64, n), 1026);
	cr_assert_eq(b64[n - 1], '=');	/* 1025 octets, padded */
	cr_assert_not_null(pk = d2i_PUBKEY(NULL, &dp, dl));
	cr_assert_not_null(pc = EVP_PKEY_CTX_new(pk, NULL));
	cr_assert_eq(EVP_PKEY_verify_recover_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
	cr_expect_eq(EVP_PKEY_verify_recover(pc, rec, &reclen, sig, 1025), 1);
	cr_expect_eq(reclen, 32, "a SHA-256 digest");
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(pk);
}

/* Random messages of the octets canonicalization cares about. */
Test(dkimsign, random_messages, .init = setup, .fini = teardown)
{
	static const char *names[] = { "Subject", "to", "CC", "X-Y", "Date",
	    "Message-ID", "reply-to" };
	static const char alpha[] = "ab \t\t  :;=\xe9\n\n";
	static char msg[8192], out[1 << 16];
	size_t i, j, n, len;

	srand(19);
	for (i = 0; i < 300; i++) {
		n = (size_t)snprintf(msg, sizeof(msg), "From: a@example.test\n");
		for (j = (size_t)rand() % 6; j > 0; j--) {
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s:",
			    names[rand() % 7], rand() % 5 ? "" : " ");
			for (size_t k = (size_t)rand() % 30; k > 0; k--) {
				char c = alpha[rand() % (sizeof(alpha) - 3)];
				msg[n++] = c;
			}
			/* a folded continuation now and then */
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s\n",
			    rand() % 4 ? "" : "\n\t more");
		}
		msg[n++] = '\n';
		for (j = (size_t)rand() % 400; j > 0; j--)
			msg[n++] = alpha[rand() % (sizeof(alpha) - 1)];
		msg[n] = '\0';
		cr_assert_eq(sign(msg, out, sizeof(out), &len), 1, "%zu", i);
		cr_expect_eq(verified(out, len), 2, "message %zu:\n%s", i, msg);
	}
}
