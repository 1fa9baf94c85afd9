/*
 * aliases_fuzz: the /etc/aliases format (shared/aliases.c) as queued
 * loads it. Pipe, file and :include: targets must be refused; every name
 * and target must be an address or a local part.
 * Invariants: accepted names are lowercased, sorted and unique, each
 * with at least one target and none that starts a pipe or a path; each
 * name is found again by aliases_find.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aliases a;
	char *text, err[512], local[1024];
	size_t i, k;

	text = malloc(size ? size : 1);
	memcpy(text, data, size);
	err[0] = '\0';
	if (aliases_parse(&a, text, size, "aliases", err, sizeof(err)) == -1) {
		FUZZ_ASSERT(strncmp(err, "aliases", 7) == 0);
		FUZZ_ASSERT(a.n == 0 && a.v == NULL);
		free(text);
		return 0;
	}
	for (i = 0; i < a.n; i++) {
		const struct alias *al = &a.v[i];
		const char *at, *p;
		FUZZ_ASSERT(al->ntargets >= 1 &&
		    al->ntargets <= ALIASES_TARGETS_MAX);
		for (p = al->name; *p; p++)
			FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
		FUZZ_ASSERT(i == 0 || strcmp(a.v[i - 1].name, al->name) < 0);
		for (k = 0; k < al->ntargets; k++) {
			const char *t = al->targets[k];
			FUZZ_ASSERT(t[0] != '\0' && t[0] != '|' && t[0] != '/');
			FUZZ_ASSERT(strncmp(t, ":include:", 9) != 0);
		}
		/* "local@domain" is found by its parts, "local" in any domain */
		if ((at = strrchr(al->name, '@')) != NULL) {
			FUZZ_ASSERT((size_t)(at - al->name) < sizeof(local));
			memcpy(local, al->name, (size_t)(at - al->name));
			local[at - al->name] = '\0';
			FUZZ_ASSERT(aliases_find(&a, local, at + 1) == al);
		} else
			FUZZ_ASSERT(aliases_find(&a, al->name, "x.invalid") != NULL);
	}
	aliases_free(&a);
	free(text);
	return 0;
}
