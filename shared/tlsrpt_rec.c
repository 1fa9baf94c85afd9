/*
 * tlsrpt_rec: RFC 8460 3's record, "v=TLSRPTv1; rua=mailto:a@b.example,
 * https://...". An address is taken as it is written: one that needs
 * URI decoding ('%'), or carries a query, or does not fit, is left out
 * rather than guessed at.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "str.h"
#include "tlsrpt_rec.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One mailto: address of the rua list (n octets at u) onto rua. */
static void
add_mailto(const char *u, size_t n, char *rua, size_t rualen)
{
	const char *at;
	size_t len = strlen(rua), i;

	if (n <= 7 || strncasecmp(u, "mailto:", 7) != 0)
		return;		/* https: or anything else */
	u += 7;
	n -= 7;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f ||
		    strchr("%?<>,;\"", u[i]) != NULL)
			return;
	if ((at = memchr(u, '@', n)) == NULL || at == u || n > ADDR_MAX ||
	    !addr_domain_valid(at + 1, (size_t)(u + n - at - 1), 0))
		return;
	if (len + (len > 0) + n + 1 > rualen)
		return;		/* no room: left out, never cut */
	if (len > 0)
		rua[len++] = ',';
	memcpy(rua + len, u, n);
	rua[len + n] = '\0';
}

int
tlsrpt_rec_parse(const char *txt, char *rua, size_t rualen)
{
	const char *p = txt, *v, *end, *u;
	int have_rua = 0;

	if (rualen == 0)
		return -1;
	rua[0] = '\0';
	if (strncmp(p, "v=TLSRPTv1", 10) != 0 ||
	    (p[10] != '\0' && p[10] != ';' && !is_wsp(p[10])))
		return 0;
	p += 10;
	for (;;) {
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return -1;
		while (is_wsp(*p))
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ";");
		if (memchr(p, '=', (size_t)(end - p)) == NULL ||
		    !isalnum((unsigned char)*p))
			return -1;
		if (strncmp(p, "rua=", 4) != 0) {
			p = end;	/* an extension: ignored */
			continue;
		}
		if (have_rua++ || p + 4 == end)
			return -1;
		/* tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri) */
		for (v = p + 4; v < end; ) {
			while (v < end && is_wsp(*v))
				v++;
			for (u = v; v < end && *v != ',' && !is_wsp(*v); v++)
				;
			if (v == u)
				return -1;
			add_mailto(u, (size_t)(v - u), rua, rualen);
			while (v < end && is_wsp(*v))
				v++;
			if (v < end && *v++ != ',')
				return -1;
		}
		p = end;
	}
	return have_rua ? 1 : -1;
}
