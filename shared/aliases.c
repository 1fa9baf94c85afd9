/*
 * aliases: logical lines are joined first (a line starting with a blank
 * continues the previous one), then split at the first ':' and at commas.
 * Every target is checked as a mailbox or a dot-atom local part.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "fileio.h"
#include "str.h"

static int
alias_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alias *)a)->name,
	    ((const struct alias *)b)->name);
}

void
aliases_free(struct aliases *a)
{
	size_t i, j;

	for (i = 0; i < a->n; i++) {
		for (j = 0; j < a->v[i].ntargets; j++)
			free(a->v[i].targets[j]);
		free(a->v[i].targets);
		free(a->v[i].name);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* A name or target: a mailbox, or a local part alone. */
static int
name_valid(const char *s)
{
	struct addr ad;
	char buf[ADDR_MAX + 1];

	if (strchr(s, '@'))
		return addr_parse_mailbox(s, ADDR_UTF8_OK, &ad) == 0 &&
		    ad.domain[0] != '[';
	return str_fmt(buf, sizeof(buf), "%s@x.test", s) != -1 &&
	    addr_parse_mailbox(buf, ADDR_UTF8_OK, &ad) == 0;
}

static int
add_alias(struct aliases *a, size_t *cap, char *text, size_t lineno,
    const char *fname, char *err, size_t errlen)
{
	char *colon, *name, *t, *save = NULL, **nt;
	struct alias *al;

	if ((colon = strchr(text, ':')) == NULL) {
		str_fmt_trunc(err, errlen, "%s:%zu: expected 'name: target, ...'",
		    fname, lineno);
		return -1;
	}
	*colon = '\0';
	name = str_trim(text);
	str_lower(name);
	if (!name_valid(name)) {
		str_fmt_trunc(err, errlen, "%s:%zu: '%.100s' is not an alias name",
		    fname, lineno, name);
		return -1;
	}
	if (a->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((al = realloc(a->v, *cap * sizeof(*al))) == NULL)
			goto oom;
		a->v = al;
	}
	al = &a->v[a->n++];
	memset(al, 0, sizeof(*al));
	al->line = lineno;
	if ((al->name = strdup(name)) == NULL)
		goto oom;
	for (t = strtok_r(colon + 1, ",", &save); t; t = strtok_r(NULL, ",",
	    &save)) {
		t = str_trim(t);
		if (*t == '\0')
			continue;
		if (t[0] == '|' || t[0] == '/' || (t[0] == '"' && (t[1] == '|' ||
		    t[1] == '/')) || str_prefix(t, ":include:")) {
			str_fmt_trunc(err, errlen, "%s:%zu: %s: pipe, file and "
			    ":include: targets are not supported", fname,
			    lineno, name);
			return -1;
		}
		if (!name_valid(t)) {
			str_fmt_trunc(err, errlen, "%s:%zu: %s: '%.100s' is not an "
			    "address", fname, lineno, name, t);
			return -1;
		}
		if (al->ntargets >= ALIASES_TARGETS_MAX) {
			str_fmt_trunc(err, errlen, "%s:%zu: %s: too many targets",
			    fname, lineno, name);
			return -1;
		}
		nt = realloc(al->targets, (al->ntargets + 1) * sizeof(*nt));
		if (nt == NULL)
			goto oom;
		al->targets = nt;
		if ((nt[al->ntargets] = strdup(t)) == NULL)
			goto oom;
		al->ntargets++;
	}
	if (al->ntargets == 0) {
		str_fmt_trunc(err, errlen, "%s:%zu: %s has no target", fname, lineno,
		    name);
		return -1;
	}
	return 0;
oom:
	str_fmt_trunc(err, errlen, "%s: out of memory", fname);
	return -1;
}

int
aliases_parse(struct aliases *a, const char *text, size_t len,
    const char *fname, char *err, size_t errlen)
{
	struct buf logical;
	size_t pos = 0, n, lineno = 0, start_line = 0, cap = 0, i;
	char line[4096];

	a->v = NULL;
	a->n = 0;
	buf_init(&logical, 1024 * 1024);
	for (;;) {
		const char *nl;
		int more = pos < len;

		if (more) {
			nl = memchr(text + pos, '\n', len - pos);
			n = nl ? (size_t)(nl - (text + pos)) : len - pos;
			lineno++;
			if (n >= sizeof(line) || memchr(text + pos, '\0', n)) {
				str_fmt_trunc(err, errlen, "%s:%zu: line too long or "
				    "binary", fname, lineno);
				goto fail;
			}
			memcpy(line, text + pos, n);
			line[n] = '\0';
			pos += n + 1;
			if (line[0] == '#' || *str_trim(line) == '\0')
				continue;
			/* a continuation line joins the logical line */
			if ((line[0] == ' ' || line[0] == '\t') && logical.len) {
				if (buf_addc(&logical, ',') == -1 ||
				    buf_addstr(&logical, line) == -1)
					goto toolong;
				continue;
			}
		}
		if (logical.len && add_alias(a, &cap, (char *)buf_cstr(&logical),
		    start_line, fname, err, errlen) == -1)
			goto fail;
		buf_reset(&logical);
		if (!more)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			str_fmt_trunc(err, errlen, "%s:%zu: continuation line with "
			    "nothing to continue", fname, lineno);
			goto fail;
		}
		start_line = lineno;
		if (buf_addstr(&logical, line) == -1)
			goto toolong;
	}
	buf_free(&logical);
	if (a->n)
		qsort(a->v, a->n, sizeof(*a->v), alias_cmp);
	for (i = 1; i < a->n; i++)
		if (strcmp(a->v[i - 1].name, a->v[i].name) == 0) {
			str_fmt_trunc(err, errlen, "%s:%zu: %s is defined twice",
			    fname, a->v[i].line > a->v[i - 1].line ?
			    a->v[i].line : a->v[i - 1].line, a->v[i].name);
			aliases_free(a);
			return -1;
		}
	return 0;
toolong:
	str_fmt_trunc(err, errlen, "%s:%zu: alias too long", fname, lineno);
fail:
	buf_free(&logical);
	aliases_free(a);
	return -1;
}

int
aliases_load(struct aliases *a, const char *path, char *err, size_t errlen)
{
	struct buf b;
	int rc;

	a->v = NULL;
	a->n = 0;
	buf_init(&b, ALIASES_FILE_MAX);
	rc = fileio_read(path, 1, &b, err, errlen);
	if (rc == 0)
		rc = aliases_parse(a, b.data ? b.data : "", b.len, path, err,
		    errlen);
	else if (rc == 1)
		rc = 0;		/* a missing file is an empty list */
	buf_free(&b);
	return rc;
}

const struct alias *
aliases_find(const struct aliases *a, const char *local, const char *domain)
{
	struct alias key;
	const struct alias *r;
	char name[ADDR_MAX + 1];

	if (a->n == 0)
		return NULL;
	if (str_fmt(name, sizeof(name), "%s@%s", local, domain) == -1)
		return NULL;
	str_lower(name);
	key.name = name;
	if ((r = bsearch(&key, a->v, a->n, sizeof(*a->v), alias_cmp)) != NULL)
		return r;
	if (str_copy(name, local, sizeof(name)) == -1)
		return NULL;
	str_lower(name);
	return bsearch(&key, a->v, a->n, sizeof(*a->v), alias_cmp);
}
