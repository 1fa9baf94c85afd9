/*
 * mtasts_fuzz: MTA-STS texts (shared/mtasts_policy.c) as they come from
 * a web server (the policy file) and from DNS (the _mta-sts TXT record,
 * each line of the input tried as one), and the MX matching.
 * Invariants: an accepted policy has version, mode and max_age within
 * its bounds, an mx pattern unless its mode is none, every pattern a
 * lowercase name that matches itself (a wildcard: one label more); an
 * error says why; an accepted TXT record has an id of 1 to 32 letters
 * and digits. Each line is also tried as a TLSRPT record (RFC 8460 3,
 * shared/tlsrpt_rec.c): its rua is bounded, and a list of addresses
 * without blanks.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mtasts_policy.h"
#include "str.h"
#include "tlsrpt_rec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy p;
	char why[256], id[MTASTS_ID_MAX + 1], host[ADDR_DOMAIN_MAX + 8];
	char rua[128];
	size_t i, pos = 0;
	int rc;

	why[0] = '\0';
	if (mtasts_policy_parse((const char *)data, size, &p, why,
	    sizeof(why)) == -1)
		FUZZ_ASSERT(why[0] != '\0' && strlen(why) < sizeof(why));
	else {
		FUZZ_ASSERT(size <= MTASTS_POLICY_MAX);
		FUZZ_ASSERT(p.max_age <= MTASTS_MAX_AGE_MAX);
		FUZZ_ASSERT(p.nmx <= MTASTS_MX_MAX);
		FUZZ_ASSERT(p.nmx > 0 || p.mode == MTASTS_NONE);
		for (i = 0; i < p.nmx; i++) {
			const char *m = p.mx[i];
			FUZZ_ASSERT(m[0] != '\0' && strchr(m + 1, '*') == NULL);
			FUZZ_ASSERT(strlen(m) <= ADDR_DOMAIN_MAX + 2);
			for (const char *c = m; *c; c++)
				FUZZ_ASSERT(!isupper((unsigned char)*c));
			if (m[0] == '*')
				str_fmt_trunc(host, sizeof(host), "x%s", m + 1);
			else
				str_copy_trunc(host, m, sizeof(host));
			FUZZ_ASSERT(mtasts_mx_match(&p, host));
		}
	}
	while (pos < size) {
		char *line = fuzz_cstrn(data + pos, size - pos);
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		rc = mtasts_txt_parse(line, id);
		FUZZ_ASSERT(rc >= -1 && rc <= 1);
		if (rc == 1) {
			FUZZ_ASSERT(id[0] != '\0' && strlen(id) <= MTASTS_ID_MAX);
			for (i = 0; id[i]; i++)
				FUZZ_ASSERT(isalnum((unsigned char)id[i]));
		}
		rc = tlsrpt_rec_parse(line, rua, sizeof(rua));
		FUZZ_ASSERT(rc >= -1 && rc <= 1);
		FUZZ_ASSERT(strlen(rua) < sizeof(rua));
		if (rc == 1)
			FUZZ_ASSERT(strpbrk(rua, " \t;<>") == NULL &&
			    (rua[0] == '\0' || strchr(rua, '@') != NULL));
		free(line);
		pos = nl ? (size_t)(nl - data) + 1 : size;
	}
	return 0;
}
