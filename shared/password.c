/*
 * password: crypt_r with its 32 KiB struct crypt_data on the heap (not
 * the stack of a small handler), and a comparison that looks at every
 * byte whatever the first difference. libcrypt is loaded for each check
 * and unloaded after it: most SMTP sessions never log in, a handler is
 * exec'd per connection, and a POP3 session checks one password and then
 * reads a whole Maildir, better without libcrypt's pages still mapped.
 */
#include "config.h"

#include <crypt.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "password.h"

/*
 * The hash of a random password, for a caller that has no hash of the
 * users file to spend the time on (login.c passes one when it can): SHA-512
 * at its default 5000 rounds, what the README's "openssl passwd -6" makes.
 * A yescrypt dummy took 14 ms more than those, telling unknown users apart.
 */
static const char dummy_hash[] =
    "$6$pLUmGoLsUUUtaM.B$BmDxexFkmCuvyy/D5En7iBvvfkxfpAddUQx6txWDku81LNTHR"
    "rIRoU2vEX1mVzttMF3JD6OpBVOCPFPcgPB1h/";

static int
equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, n = la > lb ? la : lb;
	unsigned char d = la != lb;

	for (i = 0; i < n; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

/*
 * crypt(5): "$id$[params$]salt$checksum" for most schemes, the cost in
 * the params; bcrypt's salt and checksum share its last field, scrypt's
 * params are the 11 characters after "$7$", BSDi's count the 4 after
 * "_", and DES has one cost. A shape not known keeps its salt in the
 * prefix: a kind of its own, which costs a check more, never one less.
 */
size_t
password_cost_prefix(const char *hash)
{
	size_t len = strlen(hash);
	const char *id_end, *last, *p;

	if (hash[0] == '_')
		return len < 5 ? len : 5;
	if (hash[0] != '$')
		return 0;
	if (strncmp(hash, "$7$", 3) == 0)
		return len < 14 ? len : 14;
	if ((id_end = strchr(hash + 1, '$')) == NULL)
		return len;
	if (hash[1] == '2' && id_end - hash <= 3) {
		p = strchr(id_end + 1, '$');
		return p != NULL ? (size_t)(p - hash) + 1 : len;
	}
	/* all but the last two fields, salt and checksum */
	last = strrchr(hash, '$');
	for (p = last; p > id_end + 1 && p[-1] != '$'; p--)
		;
	return p > id_end ? (size_t)(p - hash) : (size_t)(id_end - hash) + 1;
}

int
password_check(const char *hash, const char *password)
{
	__typeof__(&crypt_r) p_crypt_r;
	struct crypt_data *cd;
	const char *h = hash, *out;
	void *lib;
	int ok = 0;

	if ((lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (p_crypt_r = (__typeof__(&crypt_r))dlsym(lib, "crypt_r")) == NULL) {
		log_warnx("cannot load libcrypt.so.1: %s", dlerror());
		if (lib != NULL)
			dlclose(lib);
		return 0;	/* no check is a failed check */
	}
	if (h == NULL || h[0] == '\0' || h[0] == '*' || h[0] == '!')
		h = dummy_hash;
	if ((cd = calloc(1, sizeof(*cd))) != NULL) {
		out = p_crypt_r(password, h, cd);
		ok = out != NULL && out[0] != '*' && equal_ct(out, h) &&
		    h == hash;
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	dlclose(lib);
	return ok;
}
