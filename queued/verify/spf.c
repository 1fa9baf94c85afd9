/*
 * spf: libspf2 evaluates the records (macros, mechanisms, include and
 * redirect); this file gives it DNS through c-ares (a DNS layer of its
 * own kind, spf_dns.h) and keeps the limits of RFC 7208 4.6.4 over the
 * whole evaluation: libspf2 counts DNS terms per record only (a new
 * count in each include), so a tree of includes could ask thousands of
 * names. Here every term that asks DNS counts, across includes: past
 * 10, or past 2 void lookups, the answer is permerror.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>

#include "dns.h"
#include "log.h"
#include "spf.h"
#include "str.h"

#define SPF_TERMS_MAX	10	/* RFC 7208 4.6.4 */
#define SPF_VOIDS_MAX	2	/* RFC 7208 4.6.4 */
#define SPF_QUERIES_MAX	150	/* terms, and the addresses of mx and ptr */
#define SPF_FOLLOW_MAX	32
/*
 * The longest term of an SPF record handed to libspf2. Its compiler
 * (1.2.10, Debian 12) underflows a length when a term's compiled data
 * nears SPF_MAX_MECH_LEN (511 octets; CVE-2023-42118, fixed upstream
 * after that release): a term of 160 octets compiles to less than 400
 * whatever its macros. Real terms are far shorter (a domain-spec is
 * at most 253 octets once expanded, and seldom a tenth of it).
 */
#define SPF_TERM_MAX	160

/* One evaluation's count of DNS work. */
static struct {
	int	txt;		/* TXT queries: the first is the record itself */
	int	terms, voids, queries;
	int	over;		/* a limit was passed: permerror */
	int	temp;		/* a query failed for the moment */
	int	toolong;	/* a record had a term past SPF_TERM_MAX */
	/* names an mx or ptr term answered: their addresses are no term */
	char	follow[SPF_FOLLOW_MAX][ADDR_DOMAIN_MAX + 1];
	size_t	nfollow;
} count;

static int
is_follow(const char *name)
{
	size_t i;

	for (i = 0; i < count.nfollow; i++)
		if (strcasecmp(count.follow[i], name) == 0)
			return 1;
	return 0;
}

static void
add_follow(const char *name)
{
	if (count.nfollow < SPF_FOLLOW_MAX && !is_follow(name))
		str_copy_trunc(count.follow[count.nfollow++], name,	/* fits */
		    sizeof(count.follow[0]));
}

/* Whether txt is an SPF record with a term longer than SPF_TERM_MAX. */
static int
term_too_long(const char *txt)
{
	size_t n;

	if (strncasecmp(txt, "v=spf1", 6) != 0)
		return 0;
	while (*txt) {
		n = strcspn(txt, " ");
		if (n > SPF_TERM_MAX)
			return 1;
		txt += n;
		txt += strspn(txt, " ");
	}
	return 0;
}

static int
herrno_of(enum dns_result r)
{
	switch (r) {
	case DNS_OK:		return NETDB_SUCCESS;
	case DNS_NXDOMAIN:	return HOST_NOT_FOUND;
	case DNS_NODATA:	return NO_DATA;
	default:		return TRY_AGAIN;
	}
}

/* Append one answer of len octets to rr; 0 or -1. */
static int
rr_add(SPF_dns_rr_t *rr, const void *data, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, len) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[rr->num_rr], data, len);
	rr->num_rr++;
	return 0;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
    int should_cache)
{
	SPF_dns_rr_t *rr;
	struct dns_addr addrs[DNS_MAX_ADDRS];
	struct dns_mx mx[DNS_MAX_MX];
	char *txt[DNS_MAX_TXT];
	char ptr[DNS_MAX_PTR][ADDR_DOMAIN_MAX + 1];
	enum dns_result r;
	size_t i, n = 0;
	int term;

	/* RFC 7208 3.1: the SPF RR type is gone; TXT alone is asked */
	if (type != ns_t_txt && type != ns_t_a && type != ns_t_aaaa &&
	    type != ns_t_mx && type != ns_t_ptr)
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	switch (type) {
	case ns_t_txt:
		term = count.txt++ > 0;		/* include, redirect */
		break;
	case ns_t_a:
	case ns_t_aaaa:
		term = !is_follow(domain);	/* a, exists */
		break;
	default:
		term = 1;			/* mx, ptr */
		break;
	}
	if ((term && count.terms++ >= SPF_TERMS_MAX) ||
	    count.queries++ >= SPF_QUERIES_MAX || count.over) {
		count.over = 1;
		return SPF_dns_rr_new_init(srv, domain, type, 0,
		    HOST_NOT_FOUND);
	}
	switch (type) {
	case ns_t_txt:
		r = dns_txt(domain, txt, &n);
		break;
	case ns_t_a:
	case ns_t_aaaa:
		r = dns_ip(domain, type == ns_t_a ? AF_INET : AF_INET6, addrs,
		    &n);
		break;
	case ns_t_mx:
		r = dns_mx(domain, mx, &n);
		break;
	default:
		r = dns_ptr(domain, ptr, &n);
		break;
	}
	if (term && (r == DNS_NXDOMAIN || r == DNS_NODATA) &&
	    ++count.voids > SPF_VOIDS_MAX)
		count.over = 1;
	if (r == DNS_TEMP)
		count.temp = 1;
	rr = SPF_dns_rr_new_init(srv, domain, type, 0, herrno_of(r));
	for (i = 0; i < n; i++) {
		int bad = 0;
		if (rr == NULL)
			;
		else if (type == ns_t_txt && term_too_long(txt[i]))
			count.toolong = 1;	/* never reaches libspf2 */
		else if (type == ns_t_txt)
			bad = rr_add(rr, txt[i], strlen(txt[i]) + 1);
		else if (type == ns_t_a)
			bad = rr_add(rr, &((struct sockaddr_in *)&addrs[i].sa)->
			    sin_addr, sizeof(struct in_addr));
		else if (type == ns_t_aaaa)
			bad = rr_add(rr, &((struct sockaddr_in6 *)&addrs[i].sa)->
			    sin6_addr, sizeof(struct in6_addr));
		else if (type == ns_t_mx && mx[i].host[0] != '\0') {
			bad = rr_add(rr, mx[i].host, strlen(mx[i].host) + 1);
			add_follow(mx[i].host);
		} else if (type == ns_t_ptr) {
			bad = rr_add(rr, ptr[i], strlen(ptr[i]) + 1);
			add_follow(ptr[i]);
		}
		if (bad) {
			SPF_dns_rr_free(rr);
			rr = SPF_dns_rr_new_init(srv, domain, type, 0,
			    TRY_AGAIN);
		}
		if (type == ns_t_txt)
			free(txt[i]);
	}
	/* a null MX (RFC 7505) holds no host: no data for SPF */
	if (rr && r == DNS_OK && rr->num_rr == 0)
		rr->herrno = NO_DATA;
	return rr;
}

/*
 * exp= (RFC 7208 6.2): the explanation is for a refusal's text, which
 * Pombo never gives (DMARC decides): no lookup, so that it counts for
 * no term and costs no time. The buffer keeps what libspf2 put there.
 */
static SPF_errcode_t
layer_get_exp(SPF_server_t *srv, const char *domain, char **buf,
    size_t *buflen)
{
	return SPF_E_SUCCESS;
}

static SPF_dns_server_t layer = {
	.lookup = layer_lookup,
	.get_exp = layer_get_exp,
	.name = "pombo-c-ares",
};

/* libspf2's messages go to our log; an error of its own aborts */
static void
spf_log_warn(const char *file, int line, const char *msg)
{
	log_warnx("libspf2: %s", msg);
}

static void
spf_log_quiet(const char *file, int line, const char *msg)
{
}

static enum result
result_of(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:		return RES_PASS;
	case SPF_RESULT_FAIL:		return RES_FAIL;
	case SPF_RESULT_SOFTFAIL:	return RES_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return RES_NEUTRAL;
	case SPF_RESULT_NONE:		return RES_NONE;
	case SPF_RESULT_TEMPERROR:	return RES_TEMPERROR;
	default:			return RES_PERMERROR;
	}
}

/* One identity: sender is "postmaster@helo" for HELO and for <>. */
static void
check_one(SPF_server_t *srv, const char *ip, const char *helo,
    const char *sender, struct spf_result *out)
{
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	const char *at = strrchr(sender, '@');
	SPF_errcode_t err;
	int bad;

	memset(out, 0, sizeof(*out));
	memset(&count, 0, sizeof(count));
	if (str_copy(out->domain, at ? at + 1 : sender,
	    sizeof(out->domain)) == -1)
		out->domain[0] = '\0';	/* cut, it is another domain: none */
	/* RFC 7208 4.3: a domain that is no domain name is none */
	if (!addr_domain_valid(out->domain, strlen(out->domain), 1) ||
	    strchr(out->domain, '.') == NULL) {
		out->res = RES_NONE;
		str_copy_trunc(out->why, "no domain to check", sizeof(out->why));
		return;
	}
	if ((req = SPF_request_new(srv)) == NULL) {
		out->res = RES_TEMPERROR;
		return;
	}
	bad = strchr(ip, ':') ? SPF_request_set_ipv6_str(req, ip) :
	    SPF_request_set_ipv4_str(req, ip);
	if (bad || SPF_request_set_helo_dom(req, helo) ||
	    SPF_request_set_env_from(req, sender)) {
		out->res = RES_PERMERROR;
		str_copy_trunc(out->why, "bad client address or identity",
		    sizeof(out->why));
		SPF_request_free(req);
		return;
	}
	err = SPF_request_query_mailfrom(req, &resp);
	out->res = resp ? result_of(SPF_response_result(resp)) :
	    RES_TEMPERROR;
	/*
	 * libspf2 1.2.10 leaves the result unset when the record itself
	 * could not be fetched (fixed upstream later): DNS tells which
	 */
	if (resp && SPF_response_result(resp) == SPF_RESULT_INVALID) {
		out->res = count.temp ? RES_TEMPERROR : RES_PERMERROR;
		str_copy_trunc(out->why, SPF_strerror(err), sizeof(out->why));
	}
	if (count.toolong) {
		out->res = RES_PERMERROR;
		str_copy_trunc(out->why, "an SPF term too long", sizeof(out->why));
	} else if (count.over) {
		out->res = RES_PERMERROR;
		str_copy_trunc(out->why, "too many DNS lookups, RFC 7208 4.6.4",
		    sizeof(out->why));
	} else if (resp && out->why[0] == '\0' && (out->res == RES_PERMERROR ||
	    out->res == RES_TEMPERROR))
		str_copy_trunc(out->why, SPF_strerror(SPF_response_errcode(resp)),
		    sizeof(out->why));
	if (resp)
		SPF_response_free(resp);
	SPF_request_free(req);
}

int
spf_check(const char *ip, const char *helo, const char *from,
    struct spf_result *mfrom, struct spf_result *hres)
{
	SPF_server_t *srv;
	char sender[ADDR_DOMAIN_MAX + 16];

	SPF_warning_handler = spf_log_warn;
	SPF_info_handler = spf_log_quiet;
	SPF_debug_handler = spf_log_quiet;
	if ((srv = SPF_server_new_dns(&layer, 0)) == NULL) {
		memset(mfrom, 0, sizeof(*mfrom));
		memset(hres, 0, sizeof(*hres));
		mfrom->res = hres->res = RES_TEMPERROR;
		return -1;
	}
	/* RFC 7208 2.3: HELO as postmaster@helo */
	str_fmt_trunc(sender, sizeof(sender), "postmaster@%s", helo);
	check_one(srv, ip, helo, sender, hres);
	if (*from == '\0')
		*mfrom = *hres;		/* RFC 7208 2.4 */
	else
		check_one(srv, ip, helo, from, mfrom);
	SPF_server_free(srv);
	return 0;
}
