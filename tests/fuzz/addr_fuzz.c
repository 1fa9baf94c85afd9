/*
 * addr_fuzz: RFC 5321 paths, mailboxes and EHLO names (shared/addr.c),
 * the first syntax check every SMTP argument meets. The first octet picks
 * the flags; the rest is the text.
 * Invariants: parsed parts fit their bounds, nothing 8-bit passes
 * without ADDR_UTF8_OK, and a parsed path formats back into a path that
 * parses to the same parts (what smtpd sends queued must re-validate).
 * The word encoding of any text decodes to that text and holds no blank,
 * control, '<' or '>'; a decoded word encodes to a word that decodes
 * alike.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "fuzz.h"
#include "str.h"

static int
has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void
check_parts(const struct addr *a, unsigned flags)
{
	FUZZ_ASSERT(strlen(a->local) <= ADDR_LOCAL_MAX);
	FUZZ_ASSERT(strlen(a->domain) <= ADDR_DOMAIN_MAX);
	if (!(flags & ADDR_UTF8_OK))
		FUZZ_ASSERT(!has_8bit(a->local) && !has_8bit(a->domain));
	FUZZ_ASSERT(a->utf8 == (has_8bit(a->local) || has_8bit(a->domain)));
	if (a->null)
		FUZZ_ASSERT(a->local[0] == '\0' && a->domain[0] == '\0');
	else
		FUZZ_ASSERT(a->local[0] != '\0');
}

static void
fuzz_path(const char *s, unsigned flags)
{
	struct addr a, b;
	char buf[ADDR_MAX + 1], path[ADDR_MAX + 3], canon[ADDR_LOCAL_MAX + 1];
	const char *end, *end2;

	if ((end = addr_parse_path(s, flags, &a)) == NULL)
		return;
	FUZZ_ASSERT(end > s && end <= s + strlen(s) && end[-1] == '>');
	FUZZ_ASSERT((size_t)(end - s) <= ADDR_PATH_MAX);
	check_parts(&a, flags);
	if (a.null)
		FUZZ_ASSERT(flags & ADDR_NULL_OK);
	/* <postmaster> without a domain only where it is allowed */
	if (!a.null && a.domain[0] == '\0')
		FUZZ_ASSERT((flags & ADDR_POSTMASTER_OK) &&
		    strcasecmp(a.local, "postmaster") == 0);
	/* format, bracket, parse again: the same parts */
	addr_format(&a, buf, sizeof(buf));
	FUZZ_ASSERT(str_fmt(path, sizeof(path), "<%s>", buf) != -1);
	end2 = addr_parse_path(path, flags, &b);
	FUZZ_ASSERT(end2 != NULL && *end2 == '\0');
	FUZZ_ASSERT(strcmp(a.local, b.local) == 0);
	FUZZ_ASSERT(strcmp(a.domain, b.domain) == 0);
	FUZZ_ASSERT(a.null == b.null && a.utf8 == b.utf8);
	if (!a.null) {
		FUZZ_ASSERT(addr_local_canon(a.local, canon, sizeof(canon)) == 0);
		FUZZ_ASSERT(strlen(canon) <= strlen(a.local));
	}
}

static void
fuzz_mailbox(const char *s, unsigned flags)
{
	struct addr a, b;
	char buf[ADDR_MAX + 1];

	if (addr_parse_mailbox(s, flags, &a) == -1)
		return;
	check_parts(&a, flags);
	FUZZ_ASSERT(!a.null && a.domain[0] != '\0');
	addr_format(&a, buf, sizeof(buf));
	FUZZ_ASSERT(strcmp(buf, s) == 0);
	FUZZ_ASSERT(addr_parse_mailbox(buf, flags, &b) == 0);
}

static void
fuzz_encoding(const char *s)
{
	char enc[ADDR_ENC_MAX * 4 + 1], dec[ADDR_ENC_MAX * 4 + 1];
	char dec2[ADDR_ENC_MAX * 4 + 1];
	size_t i;
	int n, m;

	n = addr_encode(s, enc, sizeof(enc));
	FUZZ_ASSERT(strlen(enc) < sizeof(enc));
	if (n >= 0) {
		FUZZ_ASSERT((size_t)n == strlen(enc));
		for (i = 0; enc[i]; i++)
			FUZZ_ASSERT((unsigned char)enc[i] > ' ' &&
			    enc[i] != 127 && enc[i] != '<' && enc[i] != '>');
		m = addr_decode(enc, dec, sizeof(dec));
		FUZZ_ASSERT(m >= 0 && strcmp(dec, s) == 0);
		/* what needs no escape is itself */
		if (strpbrk(s, " %<>") == NULL && str_printable(s))
			FUZZ_ASSERT(strcmp(enc, s) == 0);
	}
	if ((m = addr_decode(s, dec, sizeof(dec))) >= 0 &&
	    (size_t)m * 3 < sizeof(enc)) {
		FUZZ_ASSERT((size_t)m == strlen(dec));
		FUZZ_ASSERT(addr_encode(dec, enc, sizeof(enc)) >= 0);
		FUZZ_ASSERT(addr_decode(enc, dec2, sizeof(dec2)) == m);
		FUZZ_ASSERT(strcmp(dec, dec2) == 0);
	}
	/* the bounds: a small buffer truncates, never overflows */
	n = addr_encode(s, enc, 8);
	FUZZ_ASSERT(strlen(enc) < 8 && (n == -1 || (size_t)n == strlen(enc)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	unsigned flags;
	size_t len;

	if (size < 1)
		return 0;
	flags = data[0] & (ADDR_NULL_OK | ADDR_POSTMASTER_OK | ADDR_UTF8_OK);
	s = fuzz_cstr(data + 1, size - 1);
	len = strlen(s);
	fuzz_path(s, flags);
	fuzz_mailbox(s, flags);
	fuzz_encoding(s);
	if (addr_helo_valid(s, len) && s[0] != '[')
		FUZZ_ASSERT(!has_8bit(s));
	if (addr_domain_valid(s, len, 0))
		FUZZ_ASSERT(len <= ADDR_DOMAIN_MAX && !has_8bit(s));
	if (addr_domain_valid(s, len, 1))
		FUZZ_ASSERT(addr_utf8_valid(s, len));
	free(s);
	return 0;
}
