/*
 * users: parse, sort, bsearch. Local parts are restricted to dot-atoms
 * (no quoted strings) so that mail_root/domain/local/ can never leave
 * mail_root; duplicates are an error naming both lines.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "fileio.h"
#include "str.h"
#include "users.h"

int
users_local_safe(const char *s)
{
	struct addr a;
	char buf[ADDR_MAX + 1];

	if (s[0] == '\0' || s[0] == '.' || s[0] == '"' || strchr(s, '/'))
		return 0;
	if (str_fmt(buf, sizeof(buf), "%s@x.test", s) == -1)
		return 0;
	return addr_parse_mailbox(buf, 0, &a) == 0;
}

static int
user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct user *)a)->addr,
	    ((const struct user *)b)->addr);
}

void
users_free(struct users *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->v[i].addr);
		free(u->v[i].local);
		free(u->v[i].domain);
		free(u->v[i].hash);
	}
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

static int
hash_valid(const char *h)
{
	size_t n = strlen(h);

	if (n > USERS_HASH_MAX)
		return 0;
	for (; *h; h++)
		if (!isgraph((unsigned char)*h) || *h == ':')
			return 0;
	return 1;
}

int
users_parse(struct users *u, const char *text, size_t len, const char *fname,
    char *err, size_t errlen)
{
	char line[ADDR_MAX + USERS_HASH_MAX + 8], *colon, *addr, *hash;
	size_t pos = 0, n, lineno = 0, cap = 0, i;
	struct user *nv;
	struct addr a;

	u->v = NULL;
	u->n = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n >= sizeof(line) || memchr(text + pos, '\0', n)) {
			str_fmt_trunc(err, errlen, "%s:%zu: line too long or binary",
			    fname, lineno);
			goto fail;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		addr = str_trim(line);
		if (*addr == '\0' || *addr == '#')
			continue;
		if ((colon = strchr(addr, ':')) == NULL) {
			str_fmt_trunc(err, errlen, "%s:%zu: expected address:hash",
			    fname, lineno);
			goto fail;
		}
		*colon = '\0';
		hash = str_trim(colon + 1);
		addr = str_trim(addr);
		str_lower(addr);
		if (addr_parse_mailbox(addr, 0, &a) == -1 ||
		    a.domain[0] == '[' || !users_local_safe(a.local)) {
			str_fmt_trunc(err, errlen, "%s:%zu: '%.100s' is not a user "
			    "address (local@domain, a dot-atom local part)",
			    fname, lineno, addr);
			goto fail;
		}
		if (!hash_valid(hash)) {
			str_fmt_trunc(err, errlen, "%s:%zu: bad password hash",
			    fname, lineno);
			goto fail;
		}
		if (u->n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(u->v, cap * sizeof(*nv))) == NULL)
				goto oom;
			u->v = nv;
		}
		nv = &u->v[u->n];
		nv->addr = strdup(addr);
		nv->local = strdup(a.local);
		nv->domain = strdup(a.domain);
		nv->hash = strdup(hash);
		u->n++;
		if (!nv->addr || !nv->local || !nv->domain || !nv->hash)
			goto oom;
	}
	if (u->n)
		qsort(u->v, u->n, sizeof(*u->v), user_cmp);
	for (i = 1; i < u->n; i++)
		if (strcmp(u->v[i - 1].addr, u->v[i].addr) == 0) {
			str_fmt_trunc(err, errlen, "%s: %s is listed twice", fname,
			    u->v[i].addr);
			goto fail;
		}
	return 0;
oom:
	str_fmt_trunc(err, errlen, "%s: out of memory", fname);
fail:
	users_free(u);
	return -1;
}

int
users_load(struct users *u, const char *path, char *err, size_t errlen)
{
	struct buf b;
	int rc;

	u->v = NULL;
	u->n = 0;
	buf_init(&b, USERS_FILE_MAX);
	rc = fileio_read(path, 1, &b, err, errlen);
	if (rc == 0)
		rc = users_parse(u, b.data ? b.data : "", b.len, path, err,
		    errlen);
	else if (rc == 1)
		rc = 0;		/* a missing file is an empty list */
	buf_free(&b);
	return rc;
}

const struct user *
users_find(const struct users *u, const char *addr)
{
	struct user key;
	char lower[ADDR_MAX + 1];

	if (str_copy(lower, addr, sizeof(lower)) == -1)
		return NULL;
	str_lower(lower);
	key.addr = lower;
	if (u->n == 0)
		return NULL;
	return bsearch(&key, u->v, u->n, sizeof(*u->v), user_cmp);
}

/* name@domain, if domain is a new one (hostname may be listed too). */
static const struct user *
try_domain(const struct users *u, const char *name, const char *domain,
    const struct user *found, int *matches)
{
	char addr[ADDR_MAX + 1];
	const struct user *p;

	if (str_fmt(addr, sizeof(addr), "%s@%s", name, domain) == -1)
		return found;
	if ((p = users_find(u, addr)) == NULL || p == found)
		return found;
	(*matches)++;
	return p;
}

const struct user *
users_find_bare(const struct users *u, const struct conf *c, const char *name)
{
	const struct user *found = NULL;
	int matches = 0;
	size_t i;

	if (name[0] == '\0' || strchr(name, '@') != NULL ||
	    strlen(name) > ADDR_LOCAL_MAX)
		return NULL;
	/* a bare name means one user, never a guess between several */
	for (i = 0; i < c->n_local_domains; i++)
		found = try_domain(u, name, c->local_domains[i], found,
		    &matches);
	found = try_domain(u, name, c->hostname, found, &matches);
	return matches == 1 ? found : NULL;
}
