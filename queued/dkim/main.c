/*
 * pombo-dkim: the DKIM set-up of a domain in one command. keygen writes
 * an Ed25519 and an RSA-2048 key (mode 0640, never over an existing
 * file) and prints the DNS records to publish (the two DKIM keys, a
 * suggested SPF and DMARC record) and the dkim_keys entries; check looks
 * the published records up (dns_servers, else resolv.conf) and says
 * whether they match the configured keys.
 *
 * Runs as: the admin. May touch: the key files it creates; reads the
 * config and the keys. Trusts: nothing from DNS (records are parsed by
 * dkimrec, bounded).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "addr.h"
#include "conf.h"
#include "dkimkey.h"
#include "dkimrec.h"
#include "dns.h"
#include "dnswire.h"
#include "fileio.h"
#include "log.h"
#include "str.h"

#define TXT_STRING_MAX	255	/* one character-string (RFC 1035 3.3) */

static void
usage(void)
{
	fprintf(stderr, "usage: pombo-dkim [-c config] [-d dir] keygen DOMAIN "
	    "[SELECTOR]\n"
	    "       pombo-dkim [-c config] check DOMAIN\n");
	exit(EX_USAGE);
}

/* A new key of the type into path, PEM (PKCS#8), mode 0640. */
static int
write_key(const char *path, const char *type)
{
	EVP_PKEY *pk;
	BIO *bio;
	char *pem;
	long n;
	int fd, rc = -1;

	pk = strcmp(type, "RSA") == 0 ?
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIMKEY_RSA_MIN) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (pk == NULL) {
		fprintf(stderr, "pombo-dkim: cannot make a %s key\n", type);
		return -1;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(bio, &pem)) <= 0) {
		fprintf(stderr, "pombo-dkim: cannot write a %s key\n", type);
		goto out;
	}
	/* O_EXCL: a published key is never replaced by accident */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640)) == -1) {
		fprintf(stderr, "pombo-dkim: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) == -1 ||
	    fileio_write_all(fd, pem, (size_t)n) == -1 || fsync(fd) == -1) {
		fprintf(stderr, "pombo-dkim: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	rc = close(fd);
out:
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return rc;
}

/* name. IN TXT "..." "...": split into character-strings. */
static void
print_txt(const char *name, const char *text)
{
	size_t len = strlen(text), i;

	printf("%s. IN TXT", name);
	for (i = 0; i < len; i += TXT_STRING_MAX - 5)
		printf(" \"%.*s\"", (int)(len - i < TXT_STRING_MAX - 5 ?
		    len - i : TXT_STRING_MAX - 5), text + i);
	printf("\n");
}

static int
keygen(const struct conf *c, const char *confpath, const char *dir,
    const char *domain, const char *selector)
{
	static const char *types[] = { "ED25519", "RSA" };
	static const char *names[] = { "ed25519", "rsa" };
	char path[2][PATH_MAX], sel[2][ADDR_DOMAIN_MAX + 1], pub[DKIMKEY_PUB_MAX];
	char text[DKIMKEY_PUB_MAX + 64], name[2 * ADDR_DOMAIN_MAX + 16];
	char confdir[PATH_MAX], why[256];
	struct dkimkey k;
	size_t i;

	if (dir == NULL) {
		if (str_copy(confdir, confpath, sizeof(confdir)) == -1) {
			/* cut, its dirname would be another folder */
			fprintf(stderr, "pombo-dkim: %s: path too long\n",
			    confpath);
			return EX_USAGE;
		}
		dir = dirname(confdir);
	}
	for (i = 0; i < 2; i++) {
		if (str_fmt(sel[i], sizeof(sel[i]), "%s-%s", selector,
		    names[i]) == -1 || !addr_domain_valid(sel[i],
		    strlen(sel[i]), 0) || str_fmt(path[i], sizeof(path[i]),
		    "%s/%s.%s.pem", dir, domain, sel[i]) == -1 ||
		    path[i][0] != '/') {
			fprintf(stderr, "pombo-dkim: bad selector or folder "
			    "(an absolute path)\n");
			return EX_USAGE;
		}
	}
	/*
	 * Before a line is printed or a key made: an existing file stops
	 * it whole, not after the header and perhaps one new key.
	 */
	{
		struct stat st;
		const char *bad = NULL;

		if (stat(dir, &st) == -1 || (S_ISDIR(st.st_mode) &&
		    access(dir, W_OK) == -1))
			bad = strerror(errno);
		else if (!S_ISDIR(st.st_mode))
			bad = "not a folder";
		if (bad != NULL) {
			fprintf(stderr, "pombo-dkim: %s: %s\n", dir, bad);
			return EX_CANTCREAT;
		}
	}
	for (i = 0; i < 2; i++) {
		struct stat st;

		if (lstat(path[i], &st) == 0) {
			fprintf(stderr, "pombo-dkim: %s: File exists (a key "
			    "is never replaced: give another selector, such "
			    "as a date)\n", path[i]);
			return EX_CANTCREAT;
		}
	}
	printf("; DNS records to publish for %s (zone file syntax)\n;\n"
	    "; DKIM (RFC 6376, RFC 8463): receivers that do not know "
	    "Ed25519 use the RSA key\n", domain);
	for (i = 0; i < 2; i++) {
		if (write_key(path[i], types[i]) == -1)
			return EX_CANTCREAT;
		if (dkimkey_load(&k, path[i], why, sizeof(why)) == -1 ||
		    dkimkey_public(&k, pub, sizeof(pub)) == -1) {
			fprintf(stderr, "pombo-dkim: %s: %s\n", path[i], why);
			dkimkey_free(&k);
			return EX_SOFTWARE;
		}
		str_fmt_trunc(name, sizeof(name), "%s._domainkey.%s", sel[i], domain);
		str_fmt_trunc(text, sizeof(text), "v=DKIM1; k=%s; p=%s",
		    dkimkey_alg_name(k.alg), pub);
		print_txt(name, text);
		dkimkey_free(&k);
	}
	printf(";\n; SPF (RFC 7208), suggested: the domain's MX hosts send "
	    "its mail\n");
	print_txt(domain, "v=spf1 mx -all");
	printf(";\n; DMARC (RFC 7489), suggested: start with p=none and "
	    "read the reports,\n; then p=quarantine or p=reject\n");
	str_fmt_trunc(name, sizeof(name), "_dmarc.%s", domain);
	str_fmt_trunc(text, sizeof(text), "v=DMARC1; p=none; rua=mailto:postmaster@%s",
	    domain);
	print_txt(name, text);
	printf("\n# pombo.conf: add to dkim_keys (queued's user must be able "
	    "to read the files)\n"
	    "dkim_keys = %s:%s:%s, %s:%s:%s\n", domain, sel[0], path[0], domain,
	    sel[1], path[1]);
	if (c->n_dkim_keys)
		printf("# (with the %zu entries already there)\n",
		    c->n_dkim_keys);
	return EX_OK;
}

static const char *
find_record(char **txt, size_t n, const char *prefix)
{
	size_t i, pl = strlen(prefix);

	for (i = 0; i < n; i++)
		if (strncasecmp(txt[i], prefix, pl) == 0 &&
		    (txt[i][pl] == ';' || txt[i][pl] == ' ' ||
		    txt[i][pl] == '\0'))
			return txt[i];
	return NULL;
}

static void
free_txt(char **txt, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(txt[i]);
}

/* One key against its published record: 0 if they match. */
static int
check_key(const char *domain, const char *selector, const char *file)
{
	char name[2 * ADDR_DOMAIN_MAX + 16], pub[DKIMKEY_PUB_MAX], why[256];
	char *txt[DNS_MAX_TXT];
	struct dkimrec r;
	struct dkimkey k;
	enum dns_result res;
	size_t n = 0, i;
	int rc = 1;

	if (dkimkey_load(&k, file, why, sizeof(why)) == -1 ||
	    dkimkey_public(&k, pub, sizeof(pub)) == -1) {
		printf("%s: key %s: %s\n", selector, file, why);
		dkimkey_free(&k);
		return 1;
	}
	str_fmt_trunc(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	if ((res = dns_txt(name, txt, &n)) != DNS_OK) {
		printf(res == DNS_TEMP ? "%s: %s cannot be looked up (%s)\n" :
		    "%s: no DKIM record at %s (%s)\n", selector, name,
		    dns_result_text(res));
		dkimkey_free(&k);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (dkimrec_parse(txt[i], strlen(txt[i]), &r, why,
		    sizeof(why)) == -1) {
			printf("%s: %s: not a DKIM key record: %s\n", selector,
			    name, why);
			continue;
		}
		if (strcasecmp(r.k, dkimkey_alg_name(k.alg)) != 0)
			printf("%s: %s: k=%s, the key is %s\n", selector, name,
			    r.k, dkimkey_alg_name(k.alg));
		else if (r.p[0] == '\0')
			printf("%s: %s: the key is revoked (empty p=)\n",
			    selector, name);
		else if (strcmp(r.p, pub) != 0)
			printf("%s: %s: p= is not the public half of %s\n",
			    selector, name, file);
		else {
			printf("%s: %s: ok (%s, matches %s)%s\n", selector,
			    name, r.k, file, strchr(r.t, 'y') ?
			    " (t=y: testing)" : "");
			rc = 0;
		}
	}
	free_txt(txt, n);
	dkimkey_free(&k);
	return rc;
}

static int
check(const struct conf *c, const char *domain)
{
	char dom[ADDR_DOMAIN_MAX + 1], sel[ADDR_DOMAIN_MAX + 1];
	char name[ADDR_DOMAIN_MAX + 8], servers[1024] = "";
	char *txt[DNS_MAX_TXT];
	const char *file, *rec;
	enum dns_result res;
	size_t i, n, nkeys = 0, bad = 0;

	for (i = 0; i < c->n_dns_servers; i++)
		if (str_fmt(servers + strlen(servers), sizeof(servers) -
		    strlen(servers), "%s%s", i ? "," : "",
		    c->dns_servers[i]) == -1)
			break;
	if (dns_init(servers[0] ? servers : NULL) == -1) {
		fprintf(stderr, "pombo-dkim: cannot set up DNS\n");
		return EX_TEMPFAIL;
	}
	for (i = 0; i < c->n_dkim_keys; i++) {
		file = conf_dkim_key(c->dkim_keys[i], dom, sizeof(dom), sel,
		    sizeof(sel));
		if (strcasecmp(dom, domain) != 0)
			continue;
		nkeys++;
		bad += check_key(dom, sel, file) != 0;
	}
	if (nkeys == 0)
		printf("%s: no dkim_keys entry for this domain\n", domain);
	/*
	 * SPF and DMARC: present or not; their policy is the admin's. A
	 * lookup that failed says so: "no record" would send the admin to
	 * publish one that may well be there.
	 */
	n = 0;
	res = dns_txt(domain, txt, &n);
	if (res == DNS_OK && (rec = find_record(txt, n, "v=spf1")) != NULL)
		printf("spf: %s: %s\n", domain, rec);
	else if (res == DNS_TEMP)
		printf("spf: %s: cannot be looked up (%s)\n", domain,
		    dns_result_text(res));
	else
		printf("spf: %s: no SPF record\n", domain);
	free_txt(txt, n);
	n = 0;
	str_fmt_trunc(name, sizeof(name), "_dmarc.%s", domain);
	res = dns_txt(name, txt, &n);
	if (res == DNS_OK && (rec = find_record(txt, n, "v=DMARC1")) != NULL)
		printf("dmarc: %s: %s\n", name, rec);
	else if (res == DNS_TEMP)
		printf("dmarc: %s: cannot be looked up (%s)\n", name,
		    dns_result_text(res));
	else
		printf("dmarc: %s: no DMARC record\n", name);
	free_txt(txt, n);
	dns_done();
	return nkeys == 0 || bad ? 1 : EX_OK;
}

int
main(int argc, char *argv[])
{
	const char *confpath = NULL, *dir = NULL, *cmd, *domain, *selector;
	struct conf_error err;
	struct conf c;
	int ch, rc;

	log_init("pombo-dkim", 1);
	while ((ch = getopt(argc, argv, "c:d:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	cmd = argv[0];
	domain = argv[1];
	selector = argc > 2 ? argv[2] : "pombo";
	if (!addr_domain_valid(domain, strlen(domain), 0)) {
		fprintf(stderr, "pombo-dkim: %s is not a domain name\n", domain);
		return EX_USAGE;
	}
	confpath = conf_path(confpath);
	if (conf_load(&c, confpath, &err) == -1) {
		fprintf(stderr, "pombo-dkim: %s\n", err.msg);
		return EX_CONFIG;
	}
	if (strcmp(cmd, "keygen") == 0 && argc <= 3)
		rc = keygen(&c, confpath, dir, domain, selector);
	else if (strcmp(cmd, "check") == 0 && argc == 2)
		rc = check(&c, domain);
	else
		usage();
	conf_free(&c);
	return rc;
}
