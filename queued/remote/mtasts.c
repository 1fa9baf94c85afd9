/*
 * mtasts: finding the MTA-STS policy of a domain (RFC 8461 3 and 5).
 *
 * The fetch (RFC 8461 3.3): https://mta-sts.<domain>/.well-known/
 * mta-sts.txt, the certificate checked for that name against the system's
 * CAs or tls_ca_file; no redirects; status 200 and text/plain only; at
 * most MTASTS_POLICY_MAX octets (a bigger body is cut off as it comes,
 * not read to its end); the whole exchange within the timeout. The name
 * is resolved by our resolver (dns_servers), handed to libcurl with
 * CURLOPT_RESOLVE, so the fetch sees the same DNS as the delivery.
 *
 * libcurl is loaded with dlopen at the first fetch, as shared/tls.c
 * loads libssl: linked, its thirty libraries would double the start of
 * every pombo-remote (measured: 90 to 190 ms on a loaded test box), and
 * most batches fetch nothing.
 *
 * The cache: mta-sts/<domain> in the spool, written whole (".tmp.<pid>.
 * <domain>", fdatasync, rename: a crash leaves the old one or the new
 * one; start-up removes the temporary names, which no domain can have).
 * Its header says which TXT id it came with and when; the policy text
 * follows as fetched, read again by the same parser.
 */
#include "config.h"

#define CURL_DISABLE_TYPECHECK	/* calls go through pointers */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "fileio.h"
#include "log.h"
#include "mtasts.h"
#include "resolve.h"
#include "str.h"

#define CACHE_MAGIC	"POMBO-MTA-STS 1"
#define CACHE_MAX	(MTASTS_POLICY_MAX + 256)

static int curl_ready;

#define CURL_FNS \
	F(curl_global_init) F(curl_global_cleanup) F(curl_easy_init) \
	F(curl_easy_setopt) F(curl_easy_perform) F(curl_easy_getinfo) \
	F(curl_easy_cleanup) F(curl_easy_strerror) F(curl_slist_append) \
	F(curl_slist_free_all)

#define F(name) static __typeof__(&name) p_##name;
CURL_FNS
#undef F

/* libcurl, loaded and started once: 0, or -1 with why */
static int
curl_load(char *why, size_t whylen)
{
	static int tried;
	void *h;

	if (curl_ready)
		return 0;
	if (tried) {
		str_copy_trunc(why, "libcurl.so.4 is missing", whylen);
		return -1;
	}
	tried = 1;
	if ((h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		str_fmt_trunc(why, whylen, "cannot load libcurl.so.4: %s",
		    dlerror());
		return -1;
	}
#define F(name) \
	if ((p_##name = (__typeof__(&name))dlsym(h, #name)) == NULL) { \
		str_fmt_trunc(why, whylen, "libcurl.so.4 lacks %s", #name); \
		return -1; \
	}
	CURL_FNS
#undef F
	if (p_curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		str_copy_trunc(why, "libcurl did not start", whylen);
		return -1;
	}
	curl_ready = 1;
	return 0;
}

/* ---- the cache ---- */

struct cached {
	int			 have;
	char			 id[MTASTS_ID_MAX + 1];
	int64_t			 fetched;
	struct mtasts_policy	 pol;
};

/* A header line "<key> <value>" at *p: the value, or NULL. */
static const char *
head(char **p, const char *key)
{
	char *nl, *v;
	size_t n = strlen(key);

	if ((nl = strchr(*p, '\n')) == NULL || strncmp(*p, key, n) != 0 ||
	    (*p)[n] != ' ')
		return NULL;
	*nl = '\0';
	v = *p + n + 1;
	*p = nl + 1;
	return v;
}

static void
cache_load(const struct mtasts_conf *c, const char *name, struct cached *out)
{
	struct buf b;
	char *p, why[128];
	const char *id, *t;
	char *end;
	long long fetched;
	int fd;

	memset(out, 0, sizeof(*out));
	if (c->cachefd == -1)
		return;
	if ((fd = fileio_open_own(c->cachefd, name, O_RDONLY)) < 0) {
		if (fd == -2 || errno != ENOENT)
			log_warnx("MTA-STS: cannot read the cached policy of %s",
			    c->domain);
		return;
	}
	buf_init(&b, CACHE_MAX);
	if (fileio_read_fd(fd, &b) != 0) {
		log_warnx("MTA-STS: the cached policy of %s cannot be read",
		    c->domain);
		goto out;
	}
	p = (char *)buf_cstr(&b);
	if (strncmp(p, CACHE_MAGIC "\n", sizeof(CACHE_MAGIC)) == 0)
		p += sizeof(CACHE_MAGIC);
	else {
		log_warnx("MTA-STS: the cached policy of %s is no cache file",
		    c->domain);
		goto out;
	}
	if ((id = head(&p, "id")) == NULL || (t = head(&p, "fetched")) == NULL ||
	    str_copy(out->id, id, sizeof(out->id)) == -1 ||
	    (fetched = strtoll(t, &end, 10)) < 0 || *end != '\0' ||
	    mtasts_policy_parse(p, b.len - (size_t)(p - b.data), &out->pol,
	    why, sizeof(why)) == -1) {
		log_warnx("MTA-STS: the cached policy of %s does not parse",
		    c->domain);
		goto out;
	}
	out->fetched = fetched;
	out->have = 1;
out:
	buf_free(&b);
	close(fd);
}

static void
cache_store(const struct mtasts_conf *c, const char *name, const char *id,
    int64_t now, const struct buf *text)
{
	char tmp[ADDR_DOMAIN_MAX + 32], head_[128];
	int fd, n;

	if (c->cachefd == -1)
		return;
	str_fmt_trunc(tmp, sizeof(tmp), ".tmp.%ld.%s", (long)getpid(), name);
	n = snprintf(head_, sizeof(head_), CACHE_MAGIC "\nid %s\nfetched %lld\n",
	    id, (long long)now);
	unlinkat(c->cachefd, tmp, 0);
	if ((fd = openat(c->cachefd, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		log_warn("MTA-STS: cannot cache the policy of %s", c->domain);
		return;
	}
	if (fileio_write_all(fd, head_, (size_t)n) == -1 ||
	    fileio_write_all(fd, text->data, text->len) == -1 ||
	    fdatasync(fd) == -1 || close(fd) == -1) {
		log_warn("MTA-STS: cannot cache the policy of %s", c->domain);
		if (fd != -1)
			close(fd);
		unlinkat(c->cachefd, tmp, 0);
		return;
	}
	if (renameat(c->cachefd, tmp, c->cachefd, name) == -1) {
		log_warn("MTA-STS: cannot cache the policy of %s", c->domain);
		unlinkat(c->cachefd, tmp, 0);
		return;
	}
	fsync(c->cachefd);
}

/* ---- the fetch ---- */

struct body {
	struct buf	*b;
	int		 toolong;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct body *body = ud;

	/* past the limit: a short count makes libcurl stop at once */
	if (buf_add(body->b, p, n) == -1) {
		body->toolong = 1;
		return 0;
	}
	return n;
}

/* text/plain, with parameters or not (RFC 8461 3.3) */
static int
is_text_plain(const char *ct)
{
	if (ct == NULL || strncasecmp(ct, "text/plain", 10) != 0)
		return 0;
	ct += 10;
	return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t';
}

/* The policy text of c->domain into text: 0, or -1 with why. */
static int
fetch(const struct mtasts_conf *c, struct buf *text, char *why,
    size_t whylen)
{
	struct dns_addr addrs[DNS_MAX_ADDRS];
	char host[ADDR_DOMAIN_MAX + 16], url[ADDR_DOMAIN_MAX + 64];
	char canon[ADDR_DOMAIN_MAX + 1];
	enum resolve_sec sec;
	char resolve[ADDR_DOMAIN_MAX + 16 + DNS_MAX_ADDRS * 48];
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *rl = NULL;
	struct body body = { text, 0 };
	enum dns_result r;
	size_t n = 0, i;
	char *ct = NULL;
	long code = 0;
	CURL *h;
	CURLcode cc;
	int rc = -1;

	if (str_fmt(host, sizeof(host), "mta-sts.%s", c->domain) == -1) {
		str_copy_trunc(why, "the policy host's name is too long",
		    whylen);
		return -1;
	}
	if ((r = resolve_addrs(host, c->port, addrs, &n, &sec, canon,
	    sizeof(canon))) != DNS_OK || n == 0) {
		str_fmt_trunc(why, whylen, "%s: no address (DNS: %s)", host,
		    dns_result_text(r));
		return -1;
	}
	/* host:port:addr,addr,... (IPv6 in brackets) */
	str_fmt_trunc(resolve, sizeof(resolve), "%s:%u:", host, c->port);
	for (i = 0; i < n; i++)
		str_fmt_trunc(resolve + strlen(resolve), sizeof(resolve) -
		    strlen(resolve), "%s%s%s%s", i ? "," : "",
		    strchr(addrs[i].text, ':') ? "[" : "", addrs[i].text,
		    strchr(addrs[i].text, ':') ? "]" : "");
	if (c->port == 443)
		str_fmt_trunc(url, sizeof(url),
		    "https://%s/.well-known/mta-sts.txt", host);
	else
		str_fmt_trunc(url, sizeof(url),
		    "https://%s:%u/.well-known/mta-sts.txt", host, c->port);
	if (curl_load(why, whylen) == -1)
		return -1;
	if ((h = p_curl_easy_init()) == NULL ||
	    (rl = p_curl_slist_append(NULL, resolve)) == NULL) {
		str_copy_trunc(why, "libcurl did not start", whylen);
		goto out;
	}
	errbuf[0] = '\0';
	p_curl_easy_setopt(h, CURLOPT_URL, url);
	p_curl_easy_setopt(h, CURLOPT_RESOLVE, rl);
	p_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	/* RFC 8461 3.3: "HTTP 3xx redirects MUST NOT be followed" */
	p_curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	p_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* straight to the policy host, as the mail goes: no proxy from the
	 * environment (https_proxy) */
	p_curl_easy_setopt(h, CURLOPT_PROXY, "");
	p_curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	p_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	p_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	p_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->tls_ca != NULL) {
		/* tls_ca_file alone, as for the SMTP peers */
		p_curl_easy_setopt(h, CURLOPT_CAINFO, c->tls_ca);
		p_curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	/* a Content-Length over the limit is refused before the body */
	p_curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)MTASTS_POLICY_MAX);
	p_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	p_curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	p_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	p_curl_easy_setopt(h, CURLOPT_USERAGENT, "Pombo MTA-STS");
	cc = p_curl_easy_perform(h);
	if (body.toolong || cc == CURLE_FILESIZE_EXCEEDED) {
		str_fmt_trunc(why, whylen, "%s: policy longer than %d octets",
		    host, MTASTS_POLICY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		str_fmt_trunc(why, whylen, "%s: %s", host, errbuf[0] ? errbuf :
		    p_curl_easy_strerror(cc));
		goto out;
	}
	p_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	p_curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	if (code != 200) {
		str_fmt_trunc(why, whylen, "%s: HTTP status %ld", host, code);
		goto out;
	}
	if (!is_text_plain(ct)) {
		str_fmt_trunc(why, whylen, "%s: content type %.64s, not "
		    "text/plain", host, ct ? ct : "(none)");
		goto out;
	}
	rc = 0;
out:
	p_curl_slist_free_all(rl);
	if (h != NULL)
		p_curl_easy_cleanup(h);
	return rc;
}

/* ---- the TXT record ---- */

/*
 * The id of _mta-sts.<domain>: 1 with it, 0 when there is no usable
 * record (RFC 8461 3.1: none, or not exactly one STS record once the
 * others are discarded, or one that does not parse), -1 when the lookup
 * failed for now.
 */
static int
txt_id(const char *domain, char id[MTASTS_ID_MAX + 1], char *why,
    size_t whylen)
{
	char name[ADDR_DOMAIN_MAX + 16], one[MTASTS_ID_MAX + 1], *recs[DNS_MAX_TXT];
	enum dns_result r;
	size_t n = 0, i;
	int nsts = 0, bad = 0, k;

	if (str_fmt(name, sizeof(name), "_mta-sts.%s", domain) == -1)
		return 0;
	r = resolve_txt(name, recs, &n);
	if (r == DNS_TEMP) {
		str_fmt_trunc(why, whylen, "%s: DNS lookup failed", name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((k = mtasts_txt_parse(recs[i], one)) != 0) {
			nsts++;
			if (k == 1)
				memcpy(id, one, sizeof(one));
			else
				bad = 1;
		}
		free(recs[i]);
	}
	if (nsts > 1 || bad) {
		str_fmt_trunc(why, whylen, "%s: %s", name, bad ?
		    "an invalid STS record" : "more than one STS record");
		return 0;
	}
	return nsts == 1;
}

/* ---- the policy in force ---- */

void
mtasts_get(const struct mtasts_conf *c, struct mtasts *out)
{
	struct cached cached;
	struct buf text;
	char name[ADDR_DOMAIN_MAX + 1], id[MTASTS_ID_MAX + 1], why[256];
	int64_t now = time(NULL);
	int t;

	memset(out, 0, sizeof(*out));
	if (str_copy(name, c->domain, sizeof(name)) == -1 || name[0] == '[')
		return;
	str_lower(name);
	cache_load(c, name, &cached);
	/* RFC 8461 5.1: an expired policy is no policy */
	if (cached.have && now >= cached.fetched + (int64_t)cached.pol.max_age)
		cached.have = 0;
	why[0] = '\0';
	t = txt_id(name, id, why, sizeof(why));
	if (t == 1 && cached.have && strcmp(cached.id, id) == 0) {
		out->have = cached.pol.mode != MTASTS_NONE;
		out->pol = cached.pol;
		str_copy_trunc(out->id, cached.id, sizeof(out->id));
		return;
	}
	if (t == 1) {
		struct mtasts_policy pol;
		buf_init(&text, MTASTS_POLICY_MAX);
		if (fetch(c, &text, why, sizeof(why)) == 0) {
			if (mtasts_policy_parse(text.data, text.len, &pol, why,
			    sizeof(why)) == 0) {
				log_info("MTA-STS: policy of %s fetched: id %s, "
				    "mode %s, max_age %u", name, id,
				    mtasts_mode_name(pol.mode), pol.max_age);
				cache_store(c, name, id, now, &text);
				buf_free(&text);
				out->have = pol.mode != MTASTS_NONE;
				out->pol = pol;
				str_copy_trunc(out->id, id, sizeof(out->id));
				return;
			}
			out->invalid = 1;
			str_fmt_trunc(out->why, sizeof(out->why), "the policy "
			    "of %s is invalid: %s", name, why);
		} else {
			out->fetch_error = 1;
			str_fmt_trunc(out->why, sizeof(out->why), "the policy "
			    "of %s cannot be fetched: %s", name, why);
		}
		buf_free(&text);
		log_warnx("MTA-STS: %s%s", out->why, cached.have ?
		    "; the cached one stays in force" : "");
	} else if (why[0] != '\0')
		log_info("MTA-STS: %s%s", why, cached.have ?
		    "; the cached policy stays in force" : "");
	/* no record now, or no new policy: the cached one, if any (RFC
	 * 8461 5.1: it is used until it expires) */
	if (cached.have) {
		out->have = cached.pol.mode != MTASTS_NONE;
		out->pol = cached.pol;
		str_copy_trunc(out->id, cached.id, sizeof(out->id));
	}
}

void
mtasts_done(void)
{
	if (curl_ready)
		p_curl_global_cleanup();
	curl_ready = 0;
}
