/*
 * users: the virtual users file, one "address:hash" a line (# comments),
 * the hash any crypt(3) string. Used by queued (who exists), pop3d and
 * smtpd AUTH (passwords, with password.c). The parser is pure; every
 * address is validated, since its parts become Maildir path components.
 */
#ifndef POMBO_USERS_H
#define POMBO_USERS_H

#include <stddef.h>

#include "conf.h"

#define USERS_FILE_MAX	(16 * 1024 * 1024)
#define USERS_HASH_MAX	512

struct user {
	char	*addr;		/* lowercased "local@domain" */
	char	*local;		/* lowercased local part */
	char	*domain;	/* lowercased domain */
	char	*hash;		/* crypt(3) string; "" or "*": no login */
};

struct users {
	struct user	*v;	/* sorted by addr */
	size_t		 n;
};

int users_parse(struct users *u, const char *text, size_t len,
    const char *fname, char *err, size_t errlen);
/* A missing file is an empty user list. */
int users_load(struct users *u, const char *path, char *err, size_t errlen);
void users_free(struct users *u);
/* Case-insensitive lookup of "local@domain". */
const struct user *users_find(const struct users *u, const char *addr);
/*
 * A bare name (no '@'): the user of that name in the one local domain
 * (hostname included) that has it; NULL if none has it or several do.
 * Used for login names and for bare names in mail (queued's resolver).
 */
const struct user *users_find_bare(const struct users *u,
    const struct conf *c, const char *name);
/* Is s a safe local part for a path: dot-atom without '/', no leading dot. */
int users_local_safe(const char *s);

#endif
