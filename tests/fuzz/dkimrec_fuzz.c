/*
 * dkimrec_fuzz: DKIM key records (shared/dkimrec.c) as they come from
 * DNS for pombo-dkim check, and for a verifier later: any octets, of any
 * length a TXT record can join to.
 * Invariants: every field is NUL-terminated within its bound; k= is
 * never empty on success (rsa by default); p= holds no blanks; v= is
 * DKIM1 or empty; an error says why.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dkimrec.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkimrec r;
	char err[256];

	err[0] = '\0';
	if (dkimrec_parse((const char *)data, size, &r, err,
	    sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0' && strlen(err) < sizeof(err));
		return 0;
	}
	FUZZ_ASSERT(strlen(r.p) <= DKIMREC_P_MAX);
	FUZZ_ASSERT(strlen(r.k) > 0 && strlen(r.k) <= DKIMREC_TAG_MAX);
	FUZZ_ASSERT(strpbrk(r.p, " \t\r\n") == NULL);
	FUZZ_ASSERT(r.v[0] == '\0' || strcmp(r.v, "DKIM1") == 0);
	FUZZ_ASSERT(strlen(r.h) <= DKIMREC_TAG_MAX &&
	    strlen(r.s) <= DKIMREC_TAG_MAX && strlen(r.t) <= DKIMREC_TAG_MAX);
	return 0;
}
