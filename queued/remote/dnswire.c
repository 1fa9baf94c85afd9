/*
 * dnswire: bounded readers of record data. A name's labels are taken
 * only as host-name octets (and '_' for the _25._tcp owner names): a
 * dot or a control inside a label would make another name of the text.
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
