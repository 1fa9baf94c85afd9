/*
 * rfc5322_fuzz: address lists of To/Cc/Bcc header fields
 * (shared/rfc5322.c), which pombo-sendmail -t turns into recipients;
 * the header is whatever a local program wrote. The input is one
 * unfolded field body.
 * Invariants: every address handed on is a valid mailbox of bounded
 * length; the count returned is the number handed on; an error says why.
 * The same octets as a header block for rfc5322_from_domains (the
 * author domains pombo-verify checks DMARC for): at most max domains,
 * each distinct, lowercase and of bounded length.
 * rfc5322_qualify (pombo-sendmail's "To: root" -> root@host) of the same
 * field body: on failure out is as it was; on success it is the input
 * with some "@mx.test"s added, and qualifying it again changes nothing.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "fuzz.h"
#include "rfc5322.h"
#include "str.h"

struct seen {
	int	n;
	int	stop_at;	/* the callback refuses this one (-1: none) */
};

static int
take(const char *addr, void *ctx)
{
	struct seen *s = ctx;
	struct addr a;

	FUZZ_ASSERT(strlen(addr) <= ADDR_MAX);
	FUZZ_ASSERT(addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == 0);
	if (s->n++ == s->stop_at)
		return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s;
	char *value, err[256];
	int rc;

	if (size < 1)
		return 0;
	value = fuzz_cstr(data + 1, size - 1);
	s.n = 0;
	s.stop_at = data[0] < 8 ? data[0] : -1;
	err[0] = '\0';
	rc = rfc5322_addresses(value, take, &s, err, sizeof(err));
	if (rc == -1)
		FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
	else {
		FUZZ_ASSERT(rc == s.n && rc <= RFC5322_MAX_ADDRS);
		FUZZ_ASSERT(s.stop_at == -1 || s.n <= s.stop_at);
	}
	{
		struct buf q1, q2;
		size_t n = strlen(value);

		buf_init(&q1, 1024 * 1024);
		buf_init(&q2, 1024 * 1024);
		buf_addstr(&q1, "To:");
		if (rfc5322_qualify(value, "mx.test", &q1) == -1)
			FUZZ_ASSERT(q1.len == 3);
		else {
			FUZZ_ASSERT(q1.len >= n + 3 && (q1.len - n - 3) % 8 == 0);
			FUZZ_ASSERT(rfc5322_qualify(buf_cstr(&q1) + 3,
			    "mx.test", &q2) == 0);
			FUZZ_ASSERT(q2.len == q1.len - 3 &&
			    memcmp(q2.data, q1.data + 3, q2.len) == 0);
		}
		buf_free(&q1);
		buf_free(&q2);
	}
	free(value);

	{
		char d[4][ADDR_DOMAIN_MAX + 1];
		int unread = -1;
		size_t n = rfc5322_from_domains((const char *)data, size, d, 4,
		    &unread), i, k;
		FUZZ_ASSERT(n <= 4 && (unread == 0 || unread == 1));
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(d[i][0] != '\0' &&
			    strlen(d[i]) <= ADDR_DOMAIN_MAX);
			for (k = 0; d[i][k]; k++)
				FUZZ_ASSERT(!isupper((unsigned char)d[i][k]));
			for (k = 0; k < i; k++)
				FUZZ_ASSERT(strcasecmp(d[i], d[k]) != 0);
		}
	}
	return 0;
}
