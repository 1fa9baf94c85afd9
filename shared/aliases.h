/*
 * aliases: the /etc/aliases format ("name: target, target", continuation
 * lines start with a blank, # comments). A name is a local part (for every
 * local domain) or a full address; targets are addresses or local parts.
 * Pipe, file and :include: targets are refused when the file is loaded.
 * Used by queued's resolver; the parser is pure and fuzzed.
 */
#ifndef POMBO_ALIASES_H
#define POMBO_ALIASES_H

#include <stddef.h>

#define ALIASES_FILE_MAX	(16 * 1024 * 1024)
#define ALIASES_TARGETS_MAX	10000

struct alias {
	char	 *name;		/* lowercased "local" or "local@domain" */
	char	**targets;	/* "local" or "local@domain", as written */
	size_t	  ntargets;
	size_t	  line;
};

struct aliases {
	struct alias	*v;	/* sorted by name */
	size_t		 n;
};

int aliases_parse(struct aliases *a, const char *text, size_t len,
    const char *fname, char *err, size_t errlen);
/* A missing file is an empty list. */
int aliases_load(struct aliases *a, const char *path, char *err,
    size_t errlen);
void aliases_free(struct aliases *a);
/* "local@domain" first, then "local" alone; both lowercased here. */
const struct alias *aliases_find(const struct aliases *a, const char *local,
    const char *domain);

#endif
