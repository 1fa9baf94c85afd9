/*
 * recipients: who is local and where mail for them goes: users_file,
 * aliases_file (reloaded when they change), sub-addressing, bare names
 * and the always-present admin names (postmaster, RFC 5321 4.5.1; abuse,
 * RFC 2142; root, MAILER-DAEMON). Used by queued's policy at
 * RCPT and by the scheduler for Maildir paths; the resolver is a pure
 * function of its tables.
 */
#ifndef POMBO_RECIPIENTS_H
#define POMBO_RECIPIENTS_H

#include <stddef.h>

#include "addr.h"
#include "aliases.h"
#include "conf.h"
#include "users.h"

#define RESOLVE_MAX_DEPTH	10
#define RESOLVE_MAX_ADDRS	1000

enum resolve_result {
	RESOLVE_OK,
	RESOLVE_UNKNOWN,	/* no such local user or alias */
	RESOLVE_LOOP,		/* aliases loop, or expand too far */
};

struct resolved {
	char	addr[ADDR_MAX + 1];
	int	local;
};

struct resolve_out {
	struct resolved	*v;
	size_t		 n;
};

void resolve_free(struct resolve_out *out);
/* Expand addr ("local@domain", "postmaster") into final recipients. */
enum resolve_result resolve(const struct conf *c, const struct users *u,
    const struct aliases *a, const char *addr, struct resolve_out *out);
/* The Maildir of a local final recipient; -1 if it is nobody's. */
int resolve_maildir(const struct conf *c, const struct users *u,
    const char *addr, char *path, size_t len);

/* queued's own tables, reloaded when the files change. */
int recipients_load(const struct conf *c, char *err, size_t errlen);
void recipients_refresh(void);
const struct users *recipients_users(void);
const struct aliases *recipients_aliases(void);

#endif
