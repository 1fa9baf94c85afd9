/*
 * dnswire: bounded readers of record data, and the pure helpers both
 * resolvers share (MX order, the null MX, a result's text). A name's
 * labels are taken only as host-name octets (and '_' for the _25._tcp
 * owner names): a dot or a control inside a label would make another
 * name of the text.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "dnswire.h"

int
dnswire_name(const unsigned char *p, size_t len, size_t *used, char *out,
    size_t outlen)
{
	size_t i = 0, o = 0, k, n;

	if (outlen == 0)
		return -1;
	for (;;) {
		if (i >= len)
			return -1;
		n = p[i++];
		if (n == 0)
			break;
		/* 0xC0: a compression pointer; 0x40, 0x80: no such label */
		if (n > 63 || n > len - i)
			return -1;
		/* the dot before it, the label, the NUL after */
		if (o + (o > 0) + n + 1 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < n; k++) {
			unsigned char c = p[i + k];
			if (!isalnum(c) && c != '-' && c != '_')
				return -1;
			out[o++] = (char)c;
		}
		i += n;
	}
	out[o] = '\0';
	*used = i;
	return 0;
}

int
dnswire_mx(const unsigned char *rd, size_t len, struct dns_mx *mx)
{
	size_t used;

	if (len < 3)
		return -1;
	if (dnswire_name(rd + 2, len - 2, &used, mx->host,
	    sizeof(mx->host)) == -1 || 2 + used != len)
		return -1;
	mx->pref = rd[0] << 8 | rd[1];
	return 0;
}

int
dnswire_tlsa(const unsigned char *rd, size_t len, struct dnswire_tlsa *t)
{
	if (len < 4 || len - 3 > DNSWIRE_TLSA_DATA_MAX)
		return -1;
	t->usage = rd[0];
	t->selector = rd[1];
	t->mtype = rd[2];
	t->len = len - 3;
	memcpy(t->data, rd + 3, t->len);
	return 0;
}

int
dnswire_txt(const unsigned char *rd, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0, n;

	if (len == 0 || outlen == 0)
		return -1;
	while (i < len) {
		n = rd[i++];
		if (n > len - i || n >= outlen - o ||
		    memchr(rd + i, '\0', n) != NULL)
			return -1;
		memcpy(out + o, rd + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return 0;
}

const char *
dns_result_text(enum dns_result r)
{
	switch (r) {
	case DNS_OK:		return "ok";
	case DNS_NXDOMAIN:	return "domain not found (NXDOMAIN)";
	case DNS_NODATA:	return "no records of that type";
	default:		return "temporary DNS failure";
	}
}

void
dns_sort_mx(struct dns_mx *mx, size_t n, unsigned (*rnd)(void))
{
	size_t i, j;
	struct dns_mx t;

	/* insertion sort by preference; n is at most DNS_MAX_MX */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && mx[j - 1].pref > mx[j].pref; j--) {
			t = mx[j];
			mx[j] = mx[j - 1];
			mx[j - 1] = t;
		}
	/* Fisher-Yates within each run of equal preference */
	for (i = 0; i < n; i = j) {
		size_t k;
		for (j = i; j < n && mx[j].pref == mx[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + rnd() % (k - i + 1);
			t = mx[k];
			mx[k] = mx[r];
			mx[r] = t;
		}
	}
}

int
dns_is_null_mx(const struct dns_mx *mx, size_t n)
{
	return n == 1 && mx[0].pref == 0 && mx[0].host[0] == '\0';
}
