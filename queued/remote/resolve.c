/*
 * resolve: one libunbound context, queries run asynchronously (its own
 * thread) and waited for with poll, so each ends by its deadline even
 * when a server never answers; what is left is cancelled.
 *
 * Without a trust anchor the validator is not loaded at all: answers
 * are what the servers say, as with c-ares before. With one, unbound
 * validates itself (RFC 4035 5) and does not take a forwarder's AD bit
 * on trust: a server on the path cannot make a forged answer secure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unbound.h>

#include "addr.h"
#include "lineio.h"
#include "log.h"
#include "resolve.h"
#include "str.h"

#define T_A	1
#define T_MX	15
#define T_TXT	16
#define T_AAAA	28
#define T_TLSA	52
#define C_IN	1

static struct ub_ctx *ctx;
static int validating;
static int query_ms = 10000;
static char why[256];

/*
 * "ip", "ip:port" or "[ip6]:port" (conf.c's host:port) as unbound
 * writes a forwarder: "ip@port".
 */
static int
fwd_text(const char *s, size_t n, char *out, size_t outlen)
{
	char item[128];
	const char *port = NULL;
	char *close;

	if (n == 0 || n >= sizeof(item))
		return -1;
	memcpy(item, s, n);
	item[n] = '\0';
	if (item[0] == '[') {
		if ((close = strchr(item, ']')) == NULL)
			return -1;
		*close = '\0';
		if (close[1] == ':')
			port = close + 2;
		return str_fmt(out, outlen, "%s%s%s", item + 1, port ? "@" : "",
		    port ? port : "");
	}
	/* one colon: a port; more: a bare IPv6 address */
	if ((close = strchr(item, ':')) != NULL && strchr(close + 1, ':') ==
	    NULL) {
		*close = '\0';
		port = close + 1;
	}
	return str_fmt(out, outlen, "%s%s%s", item, port ? "@" : "",
	    port ? port : "");
}

int
resolve_init(const char *servers, const char *anchor, int ms, char *err,
    size_t errlen)
{
	char fwd[160];
	const char *p;
	size_t n;
	int r;

	if ((ctx = ub_ctx_create()) == NULL) {
		str_copy_trunc(err, "libunbound: cannot create a context",
		    errlen);
		return -1;
	}
	if (ms > 0)
		query_ms = ms;
	/* its own thread: ub_fd tells when an answer is in */
	if ((r = ub_ctx_async(ctx, 1)) != 0)
		goto fail;
	/* a forwarder on loopback (a local resolver, a test's server) */
	if ((r = ub_ctx_set_option(ctx, "do-not-query-localhost:",
	    "no")) != 0)
		goto fail;
	if (anchor == NULL) {
		/* no validator: nothing to be bogus */
		if ((r = ub_ctx_set_option(ctx, "module-config:",
		    "iterator")) != 0)
			goto fail;
	} else if ((r = ub_ctx_add_ta_file(ctx, anchor)) != 0) {
		str_fmt_trunc(err, errlen, "trust anchor %s: %s", anchor,
		    ub_strerror(r));
		goto fail_quiet;
	}
	validating = anchor != NULL;
	/* no resolv.conf (or nothing in it): unbound recurses itself */
	if ((servers == NULL || *servers == '\0') &&
	    (r = ub_ctx_resolvconf(ctx, NULL)) != 0)
		log_info("DNS: no servers in /etc/resolv.conf (%s): asking "
		    "the root's", ub_strerror(r));
	for (p = servers ? servers : ""; *p; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		while (n > 0 && *p == ' ')
			p++, n--;
		if (n == 0)
			continue;
		if (fwd_text(p, n, fwd, sizeof(fwd)) == -1 ||
		    (r = ub_ctx_set_fwd(ctx, fwd)) != 0) {
			str_fmt_trunc(err, errlen, "bad dns_servers: %s",
			    servers);
			goto fail_quiet;
		}
	}
	/*
	 * unbound answers RFC 6761's special names test. and invalid.
	 * itself, NXDOMAIN; the servers are asked about them like about any
	 * other name, as c-ares did (tests serve test. zones). Last: a
	 * local zone finalizes the context's settings.
	 */
	if ((r = ub_ctx_zone_add(ctx, "test.", "transparent")) != 0 ||
	    (r = ub_ctx_zone_add(ctx, "invalid.", "transparent")) != 0)
		goto fail;
	return 0;
fail:
	str_fmt_trunc(err, errlen, "libunbound: %s", ub_strerror(r));
fail_quiet:
	ub_ctx_delete(ctx);
	ctx = NULL;
	return -1;
}

void
resolve_done(void)
{
	if (ctx)
		ub_ctx_delete(ctx);
	ctx = NULL;
}

int
resolve_validating(void)
{
	return validating;
}

const char *
resolve_why(void)
{
	return why;
}

struct query {
	int			 done;
	int			 err;
	struct ub_result	*res;
};

static void
query_cb(void *arg, int err, struct ub_result *res)
{
	struct query *q = arg;

	q->done = 1;
	q->err = err;
	q->res = res;
}

/*
 * One lookup within query_ms. DNS_OK with *res (the caller frees it),
 * or DNS_NXDOMAIN / DNS_NODATA / DNS_TEMP; *sec says how far to
 * believe it.
 */
static enum dns_result
lookup(const char *name, int type, struct ub_result **res,
    enum resolve_sec *sec)
{
	struct query q;
	struct pollfd pfd;
	int64_t end = lineio_now() + query_ms, left;
	int id;

	*res = NULL;
	*sec = RESOLVE_INSECURE;
	memset(&q, 0, sizeof(q));
	if (ub_resolve_async(ctx, name, type, C_IN, &q, query_cb, &id) != 0)
		return DNS_TEMP;
	while (!q.done) {
		if ((left = end - lineio_now()) <= 0) {
			ub_cancel(ctx, id);
			log_info("DNS: no answer for %s (type %d) within %d ms",
			    name, type, query_ms);
			return DNS_TEMP;
		}
		pfd.fd = ub_fd(ctx);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) > 0)
			ub_process(ctx);
	}
	if (q.err != 0 || q.res == NULL) {
		if (q.res)
			ub_resolve_free(q.res);
		return DNS_TEMP;
	}
	if (q.res->bogus) {
		*sec = RESOLVE_BOGUS;
		str_copy_trunc(why, q.res->why_bogus ? q.res->why_bogus :
		    "validation failed", sizeof(why));
		log_info("DNS: answer for %s (type %d) is bogus: %s", name,
		    type, why);
		ub_resolve_free(q.res);
		return DNS_TEMP;
	}
	*sec = validating && q.res->secure ? RESOLVE_SECURE : RESOLVE_INSECURE;
	if (q.res->rcode == 3 /* NXDOMAIN */) {
		ub_resolve_free(q.res);
		return DNS_NXDOMAIN;
	}
	if (q.res->rcode != 0) {
		ub_resolve_free(q.res);
		return DNS_TEMP;
	}
	if (!q.res->havedata) {
		ub_resolve_free(q.res);
		return DNS_NODATA;
	}
	*res = q.res;
	return DNS_OK;
}

static unsigned
random_u(void)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)rand();
	return r;
}

enum dns_result
resolve_mx(const char *domain, struct dns_mx *out, size_t *n,
    enum resolve_sec *sec)
{
	struct ub_result *res;
	enum dns_result r;
	size_t i;

	*n = 0;
	if ((r = lookup(domain, T_MX, &res, sec)) != DNS_OK)
		return r;
	for (i = 0; res->data[i] && *n < DNS_MAX_MX; i++) {
		if (dnswire_mx((unsigned char *)res->data[i],
		    (size_t)res->len[i], &out[*n]) == -1)
			continue;
		/* the root name is the null MX; anything else must be a name */
		if (out[*n].host[0] != '\0' && !addr_domain_valid(out[*n].host,
		    strlen(out[*n].host), 0))
			continue;
		(*n)++;
	}
	ub_resolve_free(res);
	if (*n == 0)
		return DNS_NODATA;
	dns_sort_mx(out, *n, random_u);
	return DNS_OK;
}

static void
add_addr(struct dns_addr *d, int family, const void *ip, unsigned port)
{
	memset(d, 0, sizeof(*d));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&d->sa;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip, 4);
		d->len = sizeof(*sin);
		inet_ntop(AF_INET, ip, d->text, sizeof(d->text));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->sa;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip, 16);
		d->len = sizeof(*sin6);
		inet_ntop(AF_INET6, ip, d->text, sizeof(d->text));
	}
}

/* unbound writes the canonical name with its final dot */
static void
set_canon(char *canon, size_t canonlen, const char *name)
{
	char tmp[ADDR_DOMAIN_MAX + 2];
	size_t n;

	if (str_copy(tmp, name, sizeof(tmp)) == -1)
		return;
	if ((n = strlen(tmp)) > 1 && tmp[n - 1] == '.')
		tmp[--n] = '\0';
	if (addr_domain_valid(tmp, n, 0))
		str_copy_trunc(canon, tmp, canonlen);
}

enum dns_result
resolve_addrs(const char *host, unsigned port, struct dns_addr *out,
    size_t *n, enum resolve_sec *sec, char *canon, size_t canonlen)
{
	static const int types[] = { T_AAAA, T_A };
	unsigned char ip[16];
	struct ub_result *res;
	enum dns_result r, worst = DNS_NXDOMAIN;
	enum resolve_sec s;
	size_t t, i;

	*n = 0;
	*sec = RESOLVE_SECURE;
	str_copy_trunc(canon, host, canonlen);
	/* a literal needs no lookup, and has no DNSSEC status */
	if (inet_pton(AF_INET6, host, ip) == 1 ||
	    inet_pton(AF_INET, host, ip) == 1) {
		add_addr(&out[0], strchr(host, ':') ? AF_INET6 : AF_INET, ip,
		    port);
		*n = 1;
		*sec = RESOLVE_INSECURE;
		return DNS_OK;
	}
	for (t = 0; t < 2; t++) {
		r = lookup(host, types[t], &res, &s);
		/*
		 * The weakest answer decides: bogus, then insecure. No
		 * answer (a timeout) says nothing: dropping the AAAA query
		 * must not make the A records insecure, and so turn DANE
		 * off (RFC 7672 2.2.2).
		 */
		if (s == RESOLVE_BOGUS || (r != DNS_TEMP &&
		    s == RESOLVE_INSECURE && *sec != RESOLVE_BOGUS))
			*sec = s;
		if (r == DNS_TEMP)
			worst = DNS_TEMP;
		else if (r == DNS_NODATA && worst == DNS_NXDOMAIN)
			worst = DNS_NODATA;
		if (r != DNS_OK)
			continue;
		if (res->canonname)
			set_canon(canon, canonlen, res->canonname);
		for (i = 0; res->data[i] && *n < DNS_MAX_ADDRS; i++)
			if (res->len[i] == (types[t] == T_A ? 4 : 16))
				add_addr(&out[(*n)++], types[t] == T_A ?
				    AF_INET : AF_INET6, res->data[i], port);
		ub_resolve_free(res);
	}
	if (*n == 0 && *sec == RESOLVE_SECURE && worst == DNS_TEMP)
		*sec = RESOLVE_INSECURE;	/* nothing was answered */
	return *n > 0 ? DNS_OK : worst;
}

enum dns_result
resolve_tlsa(const char *name, int (*keep)(const struct dnswire_tlsa *),
    struct dnswire_tlsa *out, size_t max, size_t *n, size_t *nbad,
    size_t *nleft, enum resolve_sec *sec)
{
	struct dnswire_tlsa *head;
	struct ub_result *res;
	enum dns_result r;
	const unsigned char *rd;
	size_t i, len;

	*n = *nbad = *nleft = 0;
	if ((r = lookup(name, T_TLSA, &res, sec)) != DNS_OK)
		return r;
	/* the fields alone first: a record judged by what it is, not by
	 * whether it comes early enough or is short enough to keep */
	if ((head = malloc(sizeof(*head))) == NULL) {
		ub_resolve_free(res);
		return DNS_TEMP;
	}
	for (i = 0; res->data[i]; i++) {
		rd = (const unsigned char *)res->data[i];
		len = (size_t)res->len[i];
		if (len < 4) {
			(*nbad)++;
			continue;
		}
		head->usage = rd[0];
		head->selector = rd[1];
		head->mtype = rd[2];
		head->len = len - 3;
		if (!keep(head))
			(*nbad)++;
		else if (*n < max && dnswire_tlsa(rd, len, &out[*n]) == 0)
			(*n)++;
		else
			(*nleft)++;
	}
	free(head);
	ub_resolve_free(res);
	return DNS_OK;
}

enum dns_result
resolve_txt(const char *name, char **out, size_t *n)
{
	char text[DNS_TXT_MAX + 1];
	struct ub_result *res;
	enum resolve_sec sec;
	enum dns_result r;
	size_t i;

	*n = 0;
	if ((r = lookup(name, T_TXT, &res, &sec)) != DNS_OK)
		return r;
	for (i = 0; res->data[i] && *n < DNS_MAX_TXT; i++)
		if (dnswire_txt((unsigned char *)res->data[i],
		    (size_t)res->len[i], text, sizeof(text)) == 0 &&
		    text[0] != '\0' && (out[*n] = strdup(text)) != NULL)
			(*n)++;
	ub_resolve_free(res);
	return *n > 0 ? DNS_OK : DNS_NODATA;
}
