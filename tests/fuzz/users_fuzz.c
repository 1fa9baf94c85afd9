/*
 * users_fuzz: the virtual users file (shared/users.c). Its local parts
 * and domains become Maildir path components (mail_root/domain/local),
 * so nothing that could leave mail_root may pass.
 * Invariants: accepted entries are lowercased, sorted and unique, with
 * a safe local part, a real domain (no literal, no '/', no "..") and a
 * printable hash; each is found again by users_find.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "users.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct users u;
	char *text, err[512];
	size_t i;

	text = malloc(size ? size : 1);
	memcpy(text, data, size);
	err[0] = '\0';
	if (users_parse(&u, text, size, "users", err, sizeof(err)) == -1) {
		FUZZ_ASSERT(strncmp(err, "users", 5) == 0);
		FUZZ_ASSERT(u.n == 0 && u.v == NULL);
		free(text);
		return 0;
	}
	for (i = 0; i < u.n; i++) {
		const struct user *e = &u.v[i];
		const char *p;
		FUZZ_ASSERT(users_local_safe(e->local));
		FUZZ_ASSERT(strchr(e->local, '/') == NULL &&
		    strchr(e->domain, '/') == NULL);
		FUZZ_ASSERT(e->domain[0] != '[' && e->domain[0] != '.' &&
		    strstr(e->domain, "..") == NULL);
		FUZZ_ASSERT(addr_domain_valid(e->domain, strlen(e->domain), 0));
		for (p = e->addr; *p; p++)
			FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
		for (p = e->hash; *p; p++)
			FUZZ_ASSERT((unsigned char)*p > 32 &&
			    (unsigned char)*p < 127 && *p != ':');
		FUZZ_ASSERT(i == 0 || strcmp(u.v[i - 1].addr, e->addr) < 0);
		FUZZ_ASSERT(users_find(&u, e->addr) == e);
	}
	users_free(&u);
	free(text);
	return 0;
}
