/*
 * login: the file is read at each check, so a changed password counts at
 * once and nothing of it stays in memory afterwards.
 */
#include "config.h"

#include <poll.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "cidr.h"
#include "lineio.h"
#include "log.h"
#include "login.h"
#include "maildir.h"
#include "password.h"
#include "str.h"

/* kinds of hash (scheme and cost) a check runs: see login_check_as */
#define LOGIN_KINDS_MAX	16

int
login_loopback(const char *client)
{
	struct cidr v4, v6;

	cidr_parse("127.0.0.0/8", &v4);
	cidr_parse("::1", &v6);
	return cidr_match(&v4, client) || cidr_match(&v6, client);
}

void
login_log_safe(char *dst, size_t len, const char *src)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; src[i] != '\0' && i < len - 1; i++)
		dst[i] = (unsigned char)src[i] > 0x20 &&
		    (unsigned char)src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

void
login_log_failure(const char *client, const char *user, unsigned n,
    unsigned max)
{
	char name[80];

	login_log_safe(name, sizeof(name), user);
	log_warnx("auth failed: client=%s user=%s (%u of %u)", client, name, n,
	    max);
}

const struct user *
login_resolve(const struct conf *conf, const struct users *u, const char *name)
{
	if (name[0] == '\0' || strlen(name) > ADDR_MAX)
		return NULL;
	if (strchr(name, '@') != NULL)
		return users_find(u, name);
	/* a bare name is a login only if it means one user, not a guess */
	return users_find_bare(u, conf, name);
}

enum login_result
login_check(const struct conf *conf, const char *name, const char *password,
    char *addr, size_t addrlen, char *path, size_t pathlen)
{
	return login_check_as(conf, "", name, password, addr, addrlen, path,
	    pathlen);
}

/* A hash a login can be checked against: not locked (password.c agrees). */
static int
usable(const char *hash)
{
	return hash[0] != '\0' && hash[0] != '*' && hash[0] != '!';
}

/* Hashes whose check costs the same crypt(3): see password_cost_prefix. */
static int
same_kind(const char *a, const char *b)
{
	size_t n = password_cost_prefix(a);

	return n == password_cost_prefix(b) && strncmp(a, b, n) == 0;
}

enum login_result
login_check_as(const struct conf *conf, const char *authzid,
    const char *name, const char *password, char *addr, size_t addrlen,
    char *path, size_t pathlen)
{
	const char *kind[LOGIN_KINDS_MAX];
	char err[512];
	const struct user *user, *as;
	struct users users;
	size_t i, k, nkind = 0;
	int ok = 0, r, same = 1, real = 0;

	if (users_load(&users, conf->users_file, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return LOGIN_TEMP;
	}
	user = login_resolve(conf, &users, name);
	/*
	 * Both names resolve as logins do, so "bob" may act for
	 * bob@example.test and the other way round (RFC 4616 2).
	 */
	if (user != NULL && authzid[0] != '\0') {
		as = login_resolve(conf, &users, authzid);
		same = as != NULL && strcasecmp(as->addr, user->addr) == 0;
	}
	if (user != NULL) {
		/* cut short, the address would name somebody else */
		if (str_copy(addr, user->addr, addrlen) == -1)
			user = NULL;
		/* the parts come from the validated users file, not the client */
		else if (path != NULL && maildir_path(path, pathlen, conf->mail_root,
		    user->domain, user->local) == -1) {
			log_warnx("Maildir path of %s too long", user->addr);
			user = NULL;
		}
	}
	/*
	 * Every check runs crypt(3) once for each kind of hash in the file
	 * (scheme and cost: "$6$rounds=N$", "$y$j9T$"): the user's own hash
	 * for its kind, the first hash of each other kind for the rest,
	 * their answers thrown away. So a known user, an unknown one and a
	 * locked one cost the same, whatever the schemes the file mixes:
	 * one dummy, of the first hash or of the costliest, still told
	 * apart the users whose hashes cost more or less than it. A file
	 * of one kind costs one crypt(3), as before; a file with no usable
	 * hash leaves password.c's own dummy. Past LOGIN_KINDS_MAX kinds
	 * (no file made by a few tools has them) the rest are not run.
	 */
	if (user != NULL && usable(user->hash)) {
		kind[nkind++] = user->hash;
		real = 1;
	}
	for (i = 0; i < users.n && nkind < LOGIN_KINDS_MAX; i++) {
		if (!usable(users.v[i].hash))
			continue;
		for (k = 0; k < nkind && !same_kind(kind[k], users.v[i].hash);
		    k++)
			;
		if (k == nkind)
			kind[nkind++] = users.v[i].hash;
	}
	if (nkind == 0)
		(void)password_check(NULL, password);
	for (k = 0; k < nkind; k++) {
		r = password_check(kind[k], password);
		if (k == 0 && real)
			ok = r;
	}
	users_free(&users);
	if (!ok || user == NULL)
		return LOGIN_FAIL;
	/* said only to who knows the password: it tells nothing new */
	return same ? LOGIN_OK : LOGIN_AUTHZ;
}

void
login_fail_wait(int64_t start, unsigned delay)
{
	int64_t end = start + (int64_t)delay * 1000, left;

	/* poll, not sleep(3) and SIGALRM; EINTR just goes round again */
	while ((left = end - lineio_now()) > 0)
		poll(NULL, 0, left > 60000 ? 60000 : (int)left);
}

int
login_sasl_plain(const char *b64, char *buf, size_t buflen,
    const char **authzid, const char **authcid, const char **password)
{
	const char *authz, *authc, *pass;
	size_t len;

	if (buflen == 0 || base64_decode(b64, (unsigned char *)buf, buflen - 1,
	    &len) == -1)
		return -1;
	buf[len] = '\0';
	/* RFC 4616: exactly two NULs, no empty authcid or password */
	authz = buf;
	if ((authc = memchr(buf, '\0', len)) == NULL)
		return -1;
	authc++;
	if ((pass = memchr(authc, '\0', len - (size_t)(authc - buf))) == NULL)
		return -1;
	pass++;
	if (memchr(pass, '\0', len - (size_t)(pass - buf)) != NULL ||
	    *authc == '\0' || *pass == '\0')
		return -1;
	*authzid = authz;
	*authcid = authc;
	*password = pass;
	return 0;
}
