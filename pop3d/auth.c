/*
 * auth: USER/PASS logins (RFC 1939 7) against the virtual users file.
 * The file is read at each PASS, so a changed password counts at once
 * and nothing of it stays in memory after the check. Whether the user
 * exists or not, the same work is done and the same reply is given.
 */
#include "config.h"

#include <string.h>

#include "cidr.h"
#include "log.h"
#include "maildir.h"
#include "password.h"
#include "pop3d.h"
#include "str.h"

void
auth_log_safe(char *dst, size_t len, const char *src)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; src[i] != '\0' && i < len - 1; i++)
		dst[i] = (unsigned char)src[i] > 0x20 &&
		    (unsigned char)src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static int
loopback(const char *client)
{
	struct cidr v4, v6;

	cidr_parse("127.0.0.0/8", &v4);
	cidr_parse("::1", &v6);
	return cidr_match(&v4, client) || cidr_match(&v6, client);
}

int
auth_plaintext_ok(const struct pop3_session *s)
{
	return s->tls != NULL || s->local || loopback(s->client) ||
	    s->conf->allow_plaintext_auth;
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
auth_resolve(const struct conf *conf, const struct users *u, const char *name)
{
	const struct user *found = NULL;
	int matches = 0;
	size_t i;

	if (name[0] == '\0' || strlen(name) > ADDR_MAX)
		return NULL;
	if (strchr(name, '@') != NULL)
		return users_find(u, name);
	/*
	 * A bare name is tried in every local domain; it is only a login
	 * if it means one user, never a guess between two.
	 */
	for (i = 0; i < conf->n_local_domains; i++)
		found = try_domain(u, name, conf->local_domains[i], found,
		    &matches);
	found = try_domain(u, name, conf->hostname, found, &matches);
	return matches == 1 ? found : NULL;
}

enum auth_result
auth_check(const struct conf *conf, const char *name, const char *password,
    char *addr, size_t addrlen, char *path, size_t pathlen)
{
	char hash[USERS_HASH_MAX + 1], err[512];
	const struct user *user;
	struct users users;
	int ok;

	if (users_load(&users, conf->users_file, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return AUTH_TEMP;
	}
	user = auth_resolve(conf, &users, name);
	hash[0] = '\0';
	if (user != NULL) {
		str_copy(hash, user->hash, sizeof(hash));
		str_copy(addr, user->addr, addrlen);
		/* the parts come from the validated users file, not the client */
		if (maildir_path(path, pathlen, conf->mail_root, user->domain,
		    user->local) == -1) {
			log_warnx("Maildir path of %s too long", user->addr);
			user = NULL;
		}
	}
	users_free(&users);
	/* an unknown user is checked against a dummy hash of the same cost */
	ok = password_check(user != NULL ? hash : NULL, password);
	explicit_bzero(hash, sizeof(hash));
	return ok && user != NULL ? AUTH_OK : AUTH_FAIL;
}
