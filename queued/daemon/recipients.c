/*
 * recipients: depth-first alias expansion. An alias that names itself
 * (directly or through others) delivers to the user of that name if there
 * is one (as sendmail does: "bob: bob, archive"), else it is a loop.
 *
 * Bare names: the users are virtual (local@domain), but local programs
 * (cron, mail(1)) and the aliases file speak of "root" and "alice". Such
 * a name is qualified with the hostname (pombo-sendmail) or the alias's
 * domain; at the hostname (or as the target of one of the admin's
 * aliases) a name that is nobody there is the user of that name in the
 * one local domain that has it, as a bare login name is. The names
 * every mail domain must answer to (postmaster, RFC 5321 4.5.1; abuse,
 * RFC 2142; root and MAILER-DAEMON, by Unix custom) go to the domain's
 * postmaster when they are nobody, and every postmaster to the
 * hostname's: one postmaster alias names the admin for all of them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "maildir.h"
#include "recipients.h"
#include "str.h"

struct expand {
	const struct conf	*c;
	const struct users	*u;
	const struct aliases	*a;
	struct resolve_out	*out;
	const char		*path[RESOLVE_MAX_DEPTH + 1];
	int			 depth;
	int			 loop;
};

void
resolve_free(struct resolve_out *out)
{
	free(out->v);
	out->v = NULL;
	out->n = 0;
}

static int
emit(struct expand *x, const char *addr, int local)
{
	struct resolved *nv;
	size_t i;

	for (i = 0; i < x->out->n; i++)
		if (strcasecmp(x->out->v[i].addr, addr) == 0)
			return 0;	/* delivered once */
	if (x->out->n >= RESOLVE_MAX_ADDRS) {
		x->loop = 1;
		return -1;
	}
	nv = realloc(x->out->v, (x->out->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	x->out->v = nv;
	if (str_copy(nv[x->out->n].addr, addr, sizeof(nv[0].addr)) == -1)
		return -1;
	nv[x->out->n].local = local;
	x->out->n++;
	return 0;
}

/* Split "local@domain" into lowercased base local part and domain. */
static int
split(const struct conf *c, const char *addr, char *local, char *base,
    char *domain)
{
	struct addr a;
	const char *at = strrchr(addr, '@');
	size_t i;

	if (at == NULL) {
		/* <postmaster> alone means this host's postmaster */
		if (strcasecmp(addr, "postmaster") != 0)
			return -1;
		str_copy_trunc(local, "postmaster", ADDR_LOCAL_MAX + 1);
		if (str_copy(domain, c->hostname, ADDR_DOMAIN_MAX + 1) == -1)
			return -1;
	} else {
		if (addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1)
			return -1;
		if (addr_local_canon(a.local, local, ADDR_LOCAL_MAX + 1) == -1)
			return -1;
		if (str_copy(domain, a.domain, ADDR_DOMAIN_MAX + 1) == -1)
			return -1;
		str_lower(domain);
	}
	if (str_copy(base, local, ADDR_LOCAL_MAX + 1) == -1)
		return -1;
	/* user+tag: the tag is dropped for lookups (recipient_delimiter) */
	for (i = 0; c->recipient_delimiter[i]; i++) {
		char *d = strchr(base, c->recipient_delimiter[i]);
		if (d && d != base)
			*d = '\0';
	}
	return 0;
}

static int is_user(const struct expand *x, const char *local,
    const char *domain);

/* Names every local domain has, whether or not anyone was given them. */
static int
is_reserved(const char *base)
{
	return strcmp(base, "root") == 0 || strcmp(base, "abuse") == 0 ||
	    strcmp(base, "mailer-daemon") == 0;
}

/*
 * Where "local@domain", which is no user or alias there, may still go: the
 * user of that name in the one local domain that has it. Only for a
 * bare name (the hostname's names, an alias's target). 0 if found.
 */
static int
bare_user(const struct expand *x, const char *local, const char *base,
    char *out, size_t len)
{
	const struct user *u;
	char quoted[ADDR_LOCAL_MAX + 3];

	if ((u = users_find_bare(x->u, x->c, local)) == NULL &&
	    (strcmp(local, base) == 0 ||
	    (u = users_find_bare(x->u, x->c, base)) == NULL))
		return -1;
	/* the tag stays: bob+news means bob+news@example.org; local is
	 * unquoted, "bob+x y" quoted again to be an address */
	if (addr_local_quote(local, quoted, sizeof(quoted)) == -1)
		return -1;
	return str_fmt(out, len, "%s@%s", quoted, u->domain) == -1 ? -1 : 0;
}

/* Whether base@domain is an alias being expanded (a self-reference). */
static int
on_path(const struct expand *x, const char *base, const char *domain)
{
	char key[ADDR_MAX + 1];
	int i;

	if (str_fmt(key, sizeof(key), "%s@%s", base, domain) == -1)
		return 0;
	for (i = 0; i < x->depth; i++)
		if (strcasecmp(x->path[i], key) == 0)
			return 1;
	return 0;
}

/*
 * A bare alias target: the name in the alias's domain if it is somebody
 * there; else, for an alias at the hostname or one of the admin's names
 * (a bare "postmaster:", "root:"...: the host's, whatever the domain),
 * the one user of that name anywhere, so that "postmaster: alice"
 * reaches alice@example.org from every domain; else the name in the
 * alias's domain again (unknown: it bounces). Other domains' aliases
 * never reach a user of another domain by a bare name, which on a
 * shared host would be somebody else's customer.
 */
static int
qualify(const struct expand *x, const char *name, const char *domain,
    int host_wide, char *out, size_t len)
{
	char local[ADDR_LOCAL_MAX + 1], base[ADDR_LOCAL_MAX + 1];
	char dom[ADDR_DOMAIN_MAX + 1], addr[ADDR_MAX + 1];

	if (str_fmt(out, len, "%s@%s", name, domain) == -1)
		return -1;
	if (!host_wide && strcasecmp(domain, x->c->hostname) != 0)
		return 0;
	if (split(x->c, out, local, base, dom) == -1 ||
	    is_user(x, local, dom) || is_user(x, base, dom) ||
	    (aliases_find(x->a, base, dom) != NULL && !on_path(x, base, dom)))
		return 0;
	/*
	 * Nobody there, or only the alias being expanded: "bob: bob,
	 * alice" (bob's mail kept and copied), bare and so in every domain,
	 * names from bob@hostname the user bob, as it does from
	 * bob@example.org, rather than bob@hostname again, a loop.
	 */
	if (bare_user(x, local, base, addr, sizeof(addr)) == 0)
		return str_copy(out, addr, len) == -1 ? -1 : 0;
	return 0;
}

static int
expand(struct expand *x, const char *addr)
{
	char local[ADDR_LOCAL_MAX + 1], base[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1], key[ADDR_MAX + 1];
	char target[ADDR_MAX + 1];
	const struct alias *al;
	int i, r, user, admin;
	size_t t;

	if (split(x->c, addr, local, base, domain) == -1)
		return 0;	/* cannot be local: not ours to judge */
	if (!conf_is_local_domain(x->c, domain))
		return emit(x, addr, 0);
	/* the whole local part may be a user even with a '+' in it */
	if (strcmp(local, base) != 0 && is_user(x, local, domain))
		str_copy_trunc(base, local, sizeof(base));	/* same size */
	if (str_fmt(key, sizeof(key), "%s@%s", base, domain) == -1)
		return -1;
	user = is_user(x, base, domain);
	admin = is_reserved(base) || strcmp(base, "postmaster") == 0;
	al = aliases_find(x->a, base, domain);
	for (i = 0; al && i < x->depth; i++)
		if (strcasecmp(x->path[i], key) == 0) {
			if (!user) {
				x->loop = 1;
				return -1;
			}
			al = NULL;	/* "bob: bob, ...": bob himself */
		}
	if (al != NULL) {
		if (x->depth >= RESOLVE_MAX_DEPTH) {
			x->loop = 1;
			return -1;
		}
		x->path[x->depth++] = key;
		for (t = 0; t < al->ntargets; t++) {
			if (strchr(al->targets[t], '@'))
				r = str_copy(target, al->targets[t],
				    sizeof(target));
			else
				r = qualify(x, al->targets[t], domain,
				    admin && strchr(al->name, '@') == NULL,
				    target, sizeof(target));
			if (r == -1 || expand(x, target) == -1)
				return -1;
		}
		x->depth--;
		return 0;
	}
	if (user) {
		char quoted[ADDR_LOCAL_MAX + 3];
		/* local is unquoted: "bob+x y" must be quoted again to be
		 * an address (it was refused with a 451) */
		if (addr_local_quote(local, quoted, sizeof(quoted)) == -1)
			return 0;
		if (str_fmt(target, sizeof(target), "%s@%s", quoted,
		    domain) == -1)
			return 0;	/* as above: no address to deliver to */
		return emit(x, target, 1);
	}
	/* the hostname's names are the bare names of local programs */
	if (strcasecmp(domain, x->c->hostname) == 0 &&
	    bare_user(x, local, base, target, sizeof(target)) == 0)
		return expand(x, target);
	if (is_reserved(base)) {
		if (str_fmt(target, sizeof(target), "postmaster@%s",
		    domain) == -1)
			return -1;
		return expand(x, target);
	}
	if (strcmp(base, "postmaster") == 0) {
		/* every local domain's postmaster is this host's */
		if (strcasecmp(domain, x->c->hostname) != 0) {
			if (str_fmt(target, sizeof(target), "postmaster@%s",
			    x->c->hostname) == -1)
				return -1;
			return expand(x, target);
		}
		return emit(x, key, 1);
	}
	/* unknown: refused at RCPT, but an alias's target bounces later */
	return x->depth > 0 ? emit(x, key, 1) : 0;
}

static int
is_user(const struct expand *x, const char *local, const char *domain)
{
	char key[ADDR_MAX + 1];

	if (str_fmt(key, sizeof(key), "%s@%s", local, domain) == -1)
		return 0;
	return users_find(x->u, key) != NULL;
}

enum resolve_result
resolve(const struct conf *c, const struct users *u, const struct aliases *a,
    const char *addr, struct resolve_out *out)
{
	struct expand x;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.u = u;
	x.a = a;
	x.out = out;
	out->v = NULL;
	out->n = 0;
	if (expand(&x, addr) == -1 || x.loop) {
		resolve_free(out);
		return RESOLVE_LOOP;
	}
	return out->n ? RESOLVE_OK : RESOLVE_UNKNOWN;
}

int
resolve_maildir(const struct conf *c, const struct users *u, const char *addr,
    char *path, size_t len)
{
	char local[ADDR_LOCAL_MAX + 1], base[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1], key[ADDR_MAX + 1];
	const struct user *usr;

	if (split(c, addr, local, base, domain) == -1)
		return -1;
	if (str_fmt(key, sizeof(key), "%s@%s", local, domain) == -1)
		return -1;
	if ((usr = users_find(u, key)) == NULL) {
		if (str_fmt(key, sizeof(key), "%s@%s", base, domain) == -1)
			return -1;
		usr = users_find(u, key);
	}
	if (usr != NULL)
		return maildir_path(path, len, c->mail_root, usr->domain,
		    usr->local);
	if (strcmp(base, "postmaster") == 0 &&
	    strcasecmp(domain, c->hostname) == 0)
		return maildir_path(path, len, c->mail_root, c->hostname,
		    "postmaster");
	return -1;
}

static const struct conf *rc_conf;
static struct users rc_users;
static struct aliases rc_aliases;
static struct timespec rc_users_mtime, rc_aliases_mtime;
static time_t rc_checked;

static int
mtime_of(const char *path, struct timespec *ts)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		memset(ts, 0, sizeof(*ts));
		return -1;
	}
	*ts = st.st_mtim;
	return 0;
}

int
recipients_load(const struct conf *c, char *err, size_t errlen)
{
	rc_conf = c;
	mtime_of(c->users_file, &rc_users_mtime);
	mtime_of(c->aliases_file, &rc_aliases_mtime);
	if (users_load(&rc_users, c->users_file, err, errlen) == -1)
		return -1;
	if (aliases_load(&rc_aliases, c->aliases_file, err, errlen) == -1) {
		users_free(&rc_users);
		return -1;
	}
	rc_checked = time(NULL);
	return 0;
}

/*
 * Called before each lookup; looks at the files at most once a second.
 * A file that fails to parse keeps the old table in use, and says why.
 * So does a file that is empty or missing while the old table was not:
 * that is most often a file caught while an editor rewrites it, and
 * taking it would bounce local mail for good meanwhile.
 */
void
recipients_refresh(void)
{
	struct timespec ts;
	struct users nu;
	struct aliases na;
	char err[512];
	time_t now = time(NULL);

	if (rc_conf == NULL || now == rc_checked)
		return;
	rc_checked = now;
	mtime_of(rc_conf->users_file, &ts);
	if (memcmp(&ts, &rc_users_mtime, sizeof(ts)) != 0) {
		rc_users_mtime = ts;
		if (users_load(&nu, rc_conf->users_file, err, sizeof(err)) == -1)
			log_warnx("%s (keeping the old users)", err);
		else if (nu.n == 0 && rc_users.n > 0) {
			users_free(&nu);
			log_warnx("%s has no users now (keeping the %zu old "
			    "ones; restart queued to take an empty list)",
			    rc_conf->users_file, rc_users.n);
		} else {
			users_free(&rc_users);
			rc_users = nu;
			log_info("reloaded %s: %zu users", rc_conf->users_file,
			    nu.n);
		}
	}
	mtime_of(rc_conf->aliases_file, &ts);
	if (memcmp(&ts, &rc_aliases_mtime, sizeof(ts)) != 0) {
		rc_aliases_mtime = ts;
		if (aliases_load(&na, rc_conf->aliases_file, err,
		    sizeof(err)) == -1)
			log_warnx("%s (keeping the old aliases)", err);
		else if (na.n == 0 && rc_aliases.n > 0) {
			aliases_free(&na);
			log_warnx("%s has no aliases now (keeping the %zu old "
			    "ones; restart queued to take an empty list)",
			    rc_conf->aliases_file, rc_aliases.n);
		} else {
			aliases_free(&rc_aliases);
			rc_aliases = na;
			log_info("reloaded %s: %zu aliases",
			    rc_conf->aliases_file, na.n);
		}
	}
}

const struct users *
recipients_users(void)
{
	return &rc_users;
}

const struct aliases *
recipients_aliases(void)
{
	return &rc_aliases;
}
