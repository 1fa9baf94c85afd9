/*
 * dkimrec: a DKIM key record (RFC 6376 3.6.1), the TXT text at
 * <selector>._domainkey.<domain>, parsed as a tag-list (3.2). Used by
 * pombo-dkim check, and meant for a verifier. Pure and fuzzed: the
 * text comes from DNS and is trusted for nothing.
 */
#ifndef POMBO_DKIMREC_H
#define POMBO_DKIMREC_H

#include <stddef.h>

#define DKIMREC_P_MAX	2048	/* base64 of a 8192-bit RSA key fits */
#define DKIMREC_TAG_MAX	64

struct dkimrec {
	char	v[DKIMREC_TAG_MAX + 1];	/* "DKIM1" or "" */
	char	k[DKIMREC_TAG_MAX + 1];	/* "rsa" when absent (3.6.1) */
	char	h[DKIMREC_TAG_MAX + 1];	/* hash algorithms, "" = any */
	char	s[DKIMREC_TAG_MAX + 1];	/* service types, "" = "*" */
	char	t[DKIMREC_TAG_MAX + 1];	/* flags: y (testing), s */
	char	p[DKIMREC_P_MAX + 1];	/* base64, blanks removed; "" revoked */
};

/* 0, or -1 with err naming the fault. */
int dkimrec_parse(const char *txt, size_t len, struct dkimrec *r, char *err,
    size_t errlen);

#endif
