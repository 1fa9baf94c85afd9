/*
 * password: crypt_r with its 32 KiB struct crypt_data on the heap (not
 * the stack of a small handler), and a comparison that looks at every
 * byte whatever the first difference. libcrypt is loaded when the first
 * password is checked: most SMTP sessions never log in, and a handler
 * is exec'd per connection.
 */
#include "config.h"

#include <crypt.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "password.h"

/* A yescrypt hash of a random password: same cost as a real check. */
static const char dummy_hash[] =
    "$y$j9T$aiZL.OZg8V4jVucNPfPXT1$9t8bJnfGIlRiq5NTEdy1IOYpzanYlk23rqV6wqxsj80";

static int
equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, n = la > lb ? la : lb;
	unsigned char d = la != lb;

	for (i = 0; i < n; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

static __typeof__(&crypt_r) p_crypt_r;

int
password_check(const char *hash, const char *password)
{
	struct crypt_data *cd;
	const char *h = hash, *out;
	void *lib;
	int ok;

	if (p_crypt_r == NULL) {
		if ((lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL)) == NULL ||
		    (p_crypt_r = (__typeof__(&crypt_r))dlsym(lib, "crypt_r")) ==
		    NULL) {
			log_warnx("cannot load libcrypt.so.1: %s", dlerror());
			return 0;	/* no check is a failed check */
		}
	}
	if (h == NULL || h[0] == '\0' || h[0] == '*' || h[0] == '!')
		h = dummy_hash;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = p_crypt_r(password, h, cd);
	ok = out != NULL && out[0] != '*' && equal_ct(out, h) && h == hash;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
