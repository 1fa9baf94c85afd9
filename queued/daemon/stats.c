/*
 * stats: the counters are a ring of per-minute buckets, each knowing
 * its minute, so a bucket left from more than an hour ago is emptied
 * when its slot comes round again, and the last hour is the sum of the
 * buckets of its 60 minutes: constant memory, no timer. They live in
 * queued's memory only: a restart begins at zero (pombo-queue(8) says
 * so), which a monitor sees from the start time the reply carries.
 * The queue's numbers are counted from the messages in memory at each
 * request, as LIST reads them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "queue.h"
#include "stats.h"

#define STATS_MINUTES	60

static struct {
	int64_t			minute;		/* unix time / 60 */
	unsigned long long	n[STATS_NOUTCOMES];
} ring[STATS_MINUTES];
static int64_t started;

void
stats_init(int64_t now)
{
	memset(ring, 0, sizeof(ring));
	started = now;
}

static size_t
slot(int64_t minute)
{
	return (size_t)(((minute % STATS_MINUTES) + STATS_MINUTES) %
	    STATS_MINUTES);
}

void
stats_count(enum stats_outcome o, int64_t now)
{
	int64_t minute = now / 60;
	size_t i = slot(minute);

	if (ring[i].minute != minute) {
		memset(&ring[i], 0, sizeof(ring[i]));
		ring[i].minute = minute;
	}
	ring[i].n[o]++;
}

unsigned long long
stats_last_hour(enum stats_outcome o, int64_t now)
{
	int64_t minute = now / 60;
	unsigned long long sum = 0;
	size_t i;

	/* a bucket of the future (the clock was set back) is left out */
	for (i = 0; i < STATS_MINUTES; i++)
		if (ring[i].minute <= minute &&
		    ring[i].minute > minute - STATS_MINUTES)
			sum += ring[i].n[o];
	return sum;
}

/* One recipient waiting for a domain, in one message. */
struct waiting {
	const char	*domain;
	size_t		 msg;
};

struct dest_count {
	const char	*domain;
	size_t		 msgs, rcpts;
};

static int
waiting_cmp(const void *a, const void *b)
{
	const struct waiting *x = a, *y = b;
	int c = strcasecmp(x->domain, y->domain);

	if (c != 0)
		return c;
	return x->msg < y->msg ? -1 : x->msg > y->msg;
}

static int
dest_cmp(const void *a, const void *b)
{
	const struct dest_count *x = a, *y = b;

	if (x->rcpts != y->rcpts)
		return x->rcpts > y->rcpts ? -1 : 1;
	return strcasecmp(x->domain, y->domain);
}

/* A domain as a word of the reply: it came through the address parser,
 * but a blank or a control would make a line of its own. */
static int
domain_ok(const char *d)
{
	for (; *d; d++)
		if ((unsigned char)*d <= 0x20 || *d == 0x7f)
			return 0;
	return 1;
}

/*
 * "250-messages N", "250-state active|deferred|held|waiting N" (each
 * message in one: an agent has it; held; a recipient was deferred, or
 * a notification waits for its next try; none of these), "250-oldest
 * <arrival>" (0: empty), "250-since <start>", "250-hour
 * delivered|bounced|deferred N", then "250-dest <domain> <messages>
 * <recipients>" for the STATS_DESTS_MAX domains with the most recipients
 * waiting (held ones too).
 */
int
stats_format(struct buf *out, int64_t now)
{
	static const char *outcome[STATS_NOUTCOMES] = { "delivered",
	    "bounced", "deferred" };
	size_t active = 0, held = 0, deferred = 0, waiting_n = 0, nmsg = 0;
	size_t nw = 0, cap = 0, nd = 0, i, j;
	struct waiting *w = NULL, *nwp;
	struct dest_count *d = NULL;
	int64_t oldest = 0;
	struct qmsg *m;
	const char *at;
	int rc = 0, late;

	TAILQ_FOREACH(m, queue_all(), entry) {
		const struct envelope *e = &m->env;
		if (oldest == 0 || e->time < oldest)
			oldest = e->time;
		late = 0;
		for (i = 0; i < e->nrcpt; i++) {
			const struct rcpt *r = &e->rcpts[i];
			if (r->notify)
				late = 1;	/* its notification's next try */
			if (r->state != RS_QUEUED)
				continue;
			if (r->error != NULL || r->attempts > 0)
				late = 1;
			if ((at = strrchr(r->addr, '@')) == NULL ||
			    !domain_ok(at + 1))
				continue;
			if (nw == cap) {
				cap = cap ? cap * 2 : 256;
				if ((nwp = reallocarray(w, cap,
				    sizeof(*w))) == NULL)
					fatal("stats");
				w = nwp;
			}
			w[nw].domain = at + 1;
			w[nw++].msg = nmsg;
		}
		if (m->nagents)
			active++;
		else if (e->flags & ENV_HOLD)
			held++;
		else if (late)
			deferred++;
		else
			waiting_n++;
		nmsg++;
	}
	/* by domain (any case), then message: a domain's messages counted
	 * once each (qsort of nothing: NULL, which it must not get) */
	if (nw > 1)
		qsort(w, nw, sizeof(*w), waiting_cmp);
	if (nw && (d = calloc(nw, sizeof(*d))) == NULL)
		fatal("stats");
	for (i = 0; i < nw; i++) {
		if (nd == 0 || strcasecmp(d[nd - 1].domain, w[i].domain) != 0) {
			d[nd].domain = w[i].domain;
			d[nd++].msgs = 0;
		}
		if (d[nd - 1].rcpts++ == 0 || w[i - 1].msg != w[i].msg)
			d[nd - 1].msgs++;
	}
	if (nd > 1)
		qsort(d, nd, sizeof(*d), dest_cmp);
	if (buf_printf(out, "250-messages %zu\n250-state active %zu\n"
	    "250-state deferred %zu\n250-state held %zu\n"
	    "250-state waiting %zu\n250-oldest %lld\n250-since %lld\n",
	    nmsg, active, deferred, held, waiting_n, (long long)oldest,
	    (long long)started) == -1)
		rc = -1;
	for (j = 0; rc == 0 && j < STATS_NOUTCOMES; j++)
		if (buf_printf(out, "250-hour %s %llu\n", outcome[j],
		    stats_last_hour((enum stats_outcome)j, now)) == -1)
			rc = -1;
	for (j = 0; rc == 0 && j < nd && j < STATS_DESTS_MAX; j++) {
		char lower[ADDR_DOMAIN_MAX + 1];
		str_copy_trunc(lower, d[j].domain, sizeof(lower)); /* parsed */
		str_lower(lower);
		if (buf_printf(out, "250-dest %s %zu %zu\n", lower, d[j].msgs,
		    d[j].rcpts) == -1)
			rc = -1;
	}
	free(w);
	free(d);
	return rc;
}
