/*
 * base64: strict: only the alphabet, padding only at the end, length a
 * multiple of four (SASL responses are never line-wrapped).
 */
#include "config.h"

#include <string.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

int
base64_decode(const char *s, unsigned char *out, size_t outlen, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	int v[4], k, pad = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = value(s[i + k])) == -1)
				return -1;
		}
		if (pad == 1 && s[i + 3] != '=')
			return -1;
		if (o + 3 - (size_t)pad > outlen)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	*len = o;
	return 0;
}

int
base64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen < (n + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}
