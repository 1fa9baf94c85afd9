/*
 * dns: one c-ares channel, driven by poll until the query's callback has
 * run. c-ares' own timeouts and retries bound each query.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "dns.h"
#include "dnswire.h"
#include "log.h"
#include "str.h"

static ares_channel channel;
static long long deadline;	/* CLOCK_MONOTONIC ms, 0: none */

int
dns_init(const char *servers)
{
	return dns_init_timeout(servers, 3000, 3);
}

int
dns_init_timeout(const char *servers, int try_ms, int tries)
{
	struct ares_options opt;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return -1;
	memset(&opt, 0, sizeof(opt));
	opt.timeout = try_ms;	/* ms per try */
	opt.tries = tries;
	if (ares_init_options(&channel, &opt, ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES) != ARES_SUCCESS)
		return -1;
	if (servers && *servers &&
	    ares_set_servers_ports_csv(channel, servers) != ARES_SUCCESS) {
		log_warnx("bad dns_servers: %s", servers);
		return -1;
	}
	return 0;
}

void
dns_done(void)
{
	ares_destroy(channel);
	ares_library_cleanup();
}

long long
dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dns_set_deadline(long long deadline_ms)
{
	deadline = deadline_ms;
}

static void
wait_for(const int *done)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tvp;
	int bits, i, n, ms;

	while (!*done) {
		bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
		for (i = n = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* c-ares' own macros shift a signed 1 by up to 31 */
			unsigned rd = (unsigned)bits & (1u << i);
			unsigned wr = (unsigned)bits &
			    (1u << (i + ARES_GETSOCK_MAXNUM));
			if (!rd && !wr)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = (rd ? POLLIN : 0) | (wr ? POLLOUT : 0);
			pfd[n].revents = 0;
			n++;
		}
		tvp = ares_timeout(channel, NULL, &tv);
		ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
		if (deadline > 0) {
			long long left = deadline - dns_now_ms();
			if (left <= 0) {
				/* every pending query's callback runs, ECANCELLED */
				ares_cancel(channel);
				continue;
			}
			if (left < ms)
				ms = (int)left;
		}
		if (poll(pfd, (nfds_t)n, ms) <= 0) {
			ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++)
			ares_process_fd(channel,
			    pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ?
			    pfd[i].fd : ARES_SOCKET_BAD,
			    pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

static enum dns_result
from_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:	return DNS_OK;
	case ARES_ENOTFOUND:	return DNS_NXDOMAIN;
	case ARES_ENODATA:	return DNS_NODATA;
	default:		return DNS_TEMP;
	}
}

struct mx_query {
	int			done;
	enum dns_result		result;
	struct dns_mx		*out;
	size_t			n;
};

static void
mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct mx_query *q = arg;
	struct ares_mx_reply *mx = NULL, *m;

	q->done = 1;
	q->result = from_status(status);
	if (status != ARES_SUCCESS)
		return;
	if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS) {
		q->result = status == ARES_SUCCESS ? DNS_NODATA : DNS_TEMP;
		if (mx)
			ares_free_data(mx);
		return;
	}
	for (m = mx; m && q->n < DNS_MAX_MX; m = m->next) {
		/* the root name is the null MX; anything else must be a name */
		if (m->host[0] != '\0' && strcmp(m->host, ".") != 0 &&
		    !addr_domain_valid(m->host, strlen(m->host), 0))
			continue;
		str_copy_trunc(q->out[q->n].host, strcmp(m->host, ".") == 0 ? "" :
		    m->host, sizeof(q->out[0].host));
		q->out[q->n].pref = m->priority;
		q->n++;
	}
	ares_free_data(mx);
	if (q->n == 0)
		q->result = DNS_NODATA;
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
dns_mx(const char *domain, struct dns_mx *out, size_t *n)
{
	struct mx_query q;

	memset(&q, 0, sizeof(q));
	q.out = out;
	ares_query(channel, domain, 1 /* C_IN */, 15 /* T_MX */, mx_cb, &q);
	wait_for(&q.done);
	*n = q.n;
	if (q.result == DNS_OK)
		dns_sort_mx(out, q.n, random_u);
	return q.result;
}

struct txt_query {
	int			done;
	enum dns_result		result;
	char			**out;
	size_t			n;
};

static void
txt_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct txt_query *q = arg;
	struct ares_txt_ext *txt = NULL, *t;
	struct buf b;
	int skip = 0;

	q->done = 1;
	q->result = from_status(status);
	if (status != ARES_SUCCESS)
		return;
	if (ares_parse_txt_reply_ext(abuf, alen, &txt) != ARES_SUCCESS) {
		q->result = DNS_TEMP;
		return;
	}
	buf_init(&b, DNS_TXT_MAX);
	for (t = txt; ; t = t->next) {
		/* a record ends where the next starts, or at the list's end */
		if ((t == NULL || t->record_start) && b.len > 0 && !skip &&
		    q->n < DNS_MAX_TXT && buf_addc(&b, '\0') == 0 &&
		    (q->out[q->n] = strdup(b.data)) != NULL)
			q->n++;
		if (t == NULL)
			break;
		if (t->record_start) {
			skip = 0;
			buf_reset(&b);
		}
		if (memchr(t->txt, '\0', t->length) != NULL ||
		    buf_add(&b, t->txt, t->length) == -1)
			skip = 1;
	}
	buf_free(&b);
	ares_free_data(txt);
	if (q->n == 0)
		q->result = DNS_NODATA;
}

enum dns_result
dns_txt(const char *name, char **out, size_t *n)
{
	struct txt_query q;

	memset(&q, 0, sizeof(q));
	q.out = out;
	ares_query(channel, name, 1 /* C_IN */, 16 /* T_TXT */, txt_cb, &q);
	wait_for(&q.done);
	*n = q.n;
	return q.result;
}

struct ip_query {
	int			done;
	enum dns_result		result;
	int			family;
	struct dns_addr		*out;
	size_t			n;
};

static void
ip_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct ip_query *q = arg;
	struct ares_addrttl a4[DNS_MAX_ADDRS];
	struct ares_addr6ttl a6[DNS_MAX_ADDRS];
	int i, na = DNS_MAX_ADDRS;

	q->done = 1;
	q->result = from_status(status);
	if (status != ARES_SUCCESS)
		return;
	if (q->family == AF_INET ?
	    ares_parse_a_reply(abuf, alen, NULL, a4, &na) != ARES_SUCCESS :
	    ares_parse_aaaa_reply(abuf, alen, NULL, a6, &na) != ARES_SUCCESS) {
		/* an answer without records of the type (a CNAME alone) */
		q->result = DNS_NODATA;
		return;
	}
	for (i = 0; i < na && q->n < DNS_MAX_ADDRS; i++) {
		struct dns_addr *d = &q->out[q->n++];
		memset(d, 0, sizeof(*d));
		if (q->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&d->sa;
			sin->sin_family = AF_INET;
			sin->sin_addr = a4[i].ipaddr;
			d->len = sizeof(*sin);
			inet_ntop(AF_INET, &sin->sin_addr, d->text,
			    sizeof(d->text));
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->sa;
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &a6[i].ip6addr,
			    sizeof(sin6->sin6_addr));
			d->len = sizeof(*sin6);
			inet_ntop(AF_INET6, &sin6->sin6_addr, d->text,
			    sizeof(d->text));
		}
	}
	if (q->n == 0)
		q->result = DNS_NODATA;
}

enum dns_result
dns_ip(const char *name, int family, struct dns_addr *out, size_t *n)
{
	struct ip_query q;

	memset(&q, 0, sizeof(q));
	q.out = out;
	q.family = family;
	ares_query(channel, name, 1 /* C_IN */, family == AF_INET ?
	    1 /* T_A */ : 28 /* T_AAAA */, ip_cb, &q);
	wait_for(&q.done);
	*n = q.n;
	return q.result;
}

struct ptr_query {
	int			done;
	enum dns_result		result;
	char			(*out)[ADDR_DOMAIN_MAX + 1];
	size_t			n;
};

static void
ptr_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct ptr_query *q = arg;
	struct hostent *he = NULL;
	unsigned char any[4] = { 0 };	/* copied into he, unused */
	size_t i;

	q->done = 1;
	q->result = from_status(status);
	if (status != ARES_SUCCESS)
		return;
	if (ares_parse_ptr_reply(abuf, alen, any, sizeof(any), AF_INET,
	    &he) !=
	    ARES_SUCCESS || he == NULL) {
		q->result = DNS_NODATA;
		return;
	}
	/* h_name is the first name, h_aliases the others */
	if (he->h_name && addr_domain_valid(he->h_name, strlen(he->h_name), 0))
		str_copy_trunc(q->out[q->n++], he->h_name, ADDR_DOMAIN_MAX + 1);
	for (i = 0; he->h_aliases && he->h_aliases[i] && q->n < DNS_MAX_PTR;
	    i++)
		if (addr_domain_valid(he->h_aliases[i],
		    strlen(he->h_aliases[i]), 0))
			str_copy_trunc(q->out[q->n++], he->h_aliases[i],
			    ADDR_DOMAIN_MAX + 1);
	ares_free_hostent(he);
	if (q->n == 0)
		q->result = DNS_NODATA;
}

enum dns_result
dns_ptr(const char *name, char out[][ADDR_DOMAIN_MAX + 1], size_t *n)
{
	struct ptr_query q;

	memset(&q, 0, sizeof(q));
	q.out = out;
	ares_query(channel, name, 1 /* C_IN */, 12 /* T_PTR */, ptr_cb, &q);
	wait_for(&q.done);
	*n = q.n;
	return q.result;
}
