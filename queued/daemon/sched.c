/*
 * sched: recipients wait in their destination's queue ("local", a remote
 * domain, or the relayhost), deferred ones in a heap of messages by next
 * attempt (unix seconds, a CLOCK_REALTIME timer). Each destination has
 * its own agent limit, so one slow or dead domain never holds back the
 * others; a destination where no server answered is left alone for a
 * retry interval (RFC 5321 4.5.4.1), its recipients deferred without a
 * connection each. Results are applied as they arrive; a message is
 * finished (state file or removal, DSNs) when its last agent is done.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bounce.h"
#include "crc32c.h"
#include "inject.h"
#include "intact.h"
#include "job.h"
#include "log.h"
#include "policy.h"
#include "recipients.h"
#include "retry.h"
#include "sched.h"
#include "stats.h"
#include "tlsrpt.h"

#define LOCAL_AGENTS_MAX	4
#define LOCAL_BATCH		64
#define LOCAL_TIMEOUT		600	/* seconds */
#define REMOTE_BATCH		100
#define REMOTE_TIMEOUT		3600
#define DEST_BUCKETS		4096
#define BOUNCE_ORIGINAL_MAX	(64 * 1024)
#define DESTS_MAX		1024	/* dead destinations kept on disk */
#define DESTS_MAGIC		"POMBO-DESTS 1"
/*
 * What an agent gave back untried (a remote one whose connections kept
 * dropping, RECONNECTS_MAX in remote.c) waits this long, no attempt
 * counted. Due again at once, a server that drops every connection
 * took one agent run, and a connection, per message at full speed.
 * A minute turns that into one agent's few connections a minute;
 * it is short beside the retry interval, since these messages were
 * never tried, and never longer than it (a retry_interval under a
 * minute takes its place).
 */
#define UNTRIED_PAUSE		60	/* seconds */

struct dentry {
	char			qid[QID_LEN + 1];
	TAILQ_ENTRY(dentry)	entry;
};

struct dest {
	char			 key[ADDR_DOMAIN_MAX + 3];
	int			 local;
	unsigned		 running;
	int			 alive;		/* a server of it answered */
	int64_t			 dead_until;
	/* why it is dead, as a recipient's error: "<mta> <reply>" */
	char			 dead_reply[ENVELOPE_ERROR_MAX];
	TAILQ_HEAD(, dentry)	 ready;
	int			 in_work;
	TAILQ_ENTRY(dest)	 work;		/* destinations with ready mail */
	struct dest		*hnext;
};

struct batch {
	unsigned	  serial;	/* in its recipients' inflight */
	struct dest	 *dest;
	struct qmsg	**msgs;
	size_t		  n;
	int		  spoke;	/* a server said something */
	int		  reported;	/* the agent gave a result */
	int		  final;	/* one was not temporary */
	char		  last[ENVELOPE_ERROR_MAX];	/* its first error */
};

static struct queued_ctx *ctx;
static unsigned batch_serial;
static struct qmsg **heap;
static size_t heap_n, heap_cap;
static struct dest *dests[DEST_BUCKETS];
static TAILQ_HEAD(, dest) work = TAILQ_HEAD_INITIALIZER(work);
static sd_event_source *timer;
static sd_event_source *soon;	/* dispatch after the current events */
static sd_event_source *record;	/* write the states results changed */
static char (*dirty)[QID_LEN + 1];
static size_t ndirty, dirty_cap;
static char local_prog[PATH_MAX], remote_prog[PATH_MAX];

static void dispatch(void);
static void finish(struct qmsg *m);
static int damaged(struct qmsg *m);
static void consider(struct qmsg *m);
static int notify_owed(const struct qmsg *m);
/* ---- the heap of deferred messages ---- */

static void
heap_swap(size_t i, size_t j)
{
	struct qmsg *t = heap[i];

	heap[i] = heap[j];
	heap[j] = t;
	heap[i]->heap_idx = i;
	heap[j]->heap_idx = j;
}

static void
heap_fix(size_t i)
{
	while (i > 0 && heap[(i - 1) / 2]->due > heap[i]->due) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		if (l < heap_n && heap[l]->due < heap[s]->due)
			s = l;
		if (r < heap_n && heap[r]->due < heap[s]->due)
			s = r;
		if (s == i)
			break;
		heap_swap(i, s);
		i = s;
	}
}

static void
heap_remove(struct qmsg *m)
{
	size_t i = m->heap_idx;

	if (i == SIZE_MAX)
		return;
	heap_n--;
	if (i != heap_n) {
		heap[i] = heap[heap_n];
		heap[i]->heap_idx = i;
		heap_fix(i);
	}
	m->heap_idx = SIZE_MAX;
}

static void
heap_set(struct qmsg *m)
{
	struct qmsg **nh;

	if (m->due == INT64_MAX) {
		heap_remove(m);
		return;
	}
	if (m->heap_idx == SIZE_MAX) {
		if (heap_n == heap_cap) {
			heap_cap = heap_cap ? heap_cap * 2 : 1024;
			if ((nh = realloc(heap, heap_cap * sizeof(*nh))) == NULL)
				fatal("scheduler heap");
			heap = nh;
		}
		heap[heap_n] = m;
		m->heap_idx = heap_n++;
	}
	heap_fix(m->heap_idx);
}

static void
timer_arm(void)
{
	uint64_t usec;

	if (heap_n == 0) {
		sd_event_source_set_enabled(timer, SD_EVENT_OFF);
		return;
	}
	usec = heap[0]->due <= 0 ? 1 : (uint64_t)heap[0]->due * 1000000;
	sd_event_source_set_time(timer, usec);
	sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
}

/* ---- destinations ---- */

int
sched_is_local(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at == NULL || conf_is_local_domain(ctx->conf, at + 1);
}

static struct dest *
dest_get(const char *key, int local)
{
	char lower[sizeof(((struct dest *)0)->key)];
	size_t h = 5381;
	const char *p;
	struct dest *d;

	str_copy_trunc(lower, key, sizeof(lower));	/* a domain: fits */
	str_lower(lower);
	for (p = lower; *p; p++)
		h = h * 33 + (unsigned char)*p;
	h %= DEST_BUCKETS;
	for (d = dests[h]; d; d = d->hnext)
		if (strcmp(d->key, lower) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("dest");
	str_copy_trunc(d->key, lower, sizeof(d->key));
	d->local = local;
	TAILQ_INIT(&d->ready);
	d->hnext = dests[h];
	dests[h] = d;
	return d;
}

static struct dest *
dest_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (sched_is_local(addr))
		return dest_get("local", 1);
	if (ctx->conf->relayhost[0])
		return dest_get("relayhost", 0);
	return dest_get(at + 1, 0);
}

/*
 * A remote destination gets one agent until one of its servers has
 * answered: a dead one then costs one connection, not one per message
 * that arrived while the first attempt was under way.
 */
static unsigned
dest_limit(const struct dest *d)
{
	if (d->local)
		return LOCAL_AGENTS_MAX;
	return d->alive ? ctx->conf->max_domain_deliveries : 1;
}

static void
dest_push(struct dest *d, const char *qid)
{
	struct dentry *e;

	if ((e = malloc(sizeof(*e))) == NULL)
		fatal("dest_push");
	memcpy(e->qid, qid, sizeof(e->qid));
	TAILQ_INSERT_TAIL(&d->ready, e, entry);
	if (!d->in_work) {
		TAILQ_INSERT_TAIL(&work, d, work);
		d->in_work = 1;
	}
}

/*
 * Dead destinations are kept in the spool's dests file (SPOOL.md), so a
 * restart does not try at once, message by message, what was found dead
 * a moment before. Written whenever the set grows or a flush empties it:
 * that is rare, once per retry interval per dead destination at most.
 */
static void
dests_save(void)
{
	struct buf b;
	struct dest *d;
	int64_t now = time(NULL);
	size_t h, n = 0;
	char reply[ENVELOPE_ERROR_MAX];

	buf_init(&b, DESTS_MAX * (sizeof(d->key) + ENVELOPE_ERROR_MAX + 32));
	buf_printf(&b, "%s\n", DESTS_MAGIC);
	for (h = 0; h < DEST_BUCKETS && n < DESTS_MAX; h++)
		for (d = dests[h]; d && n < DESTS_MAX; d = d->hnext) {
			if (d->local || d->dead_until <= now)
				continue;
			str_copy_trunc(reply, d->dead_reply[0] ? d->dead_reply : "-",
			    sizeof(reply));
			str_unctrl(reply);
			buf_printf(&b, "dead %s %lld %s\n", d->key,
			    (long long)d->dead_until, reply);
			n++;
		}
	if (spool_write_dests(ctx->spool, &b) == -1)
		log_warn("cannot write the dead destinations");
	buf_free(&b);
}

/* One "dead <key> <until> <reply>" line; 0, or -1 if it is not one. */
static int
dests_line(char *line, int64_t now)
{
	char *key, *until, *reply, *end;
	long long t;
	struct dest *d;

	if (strncmp(line, "dead ", 5) != 0)
		return -1;
	key = line + 5;
	if ((until = strchr(key, ' ')) == NULL)
		return -1;
	*until++ = '\0';
	if ((reply = strchr(until, ' ')) == NULL)
		return -1;
	*reply++ = '\0';
	t = strtoll(until, &end, 10);
	if (*key == '\0' || strlen(key) >= sizeof(d->key) ||
	    strcmp(key, "local") == 0 || *until == '\0' || *end != '\0' ||
	    t < 0 || *reply == '\0' || strlen(reply) >= ENVELOPE_ERROR_MAX)
		return -1;
	if (t <= now)
		return 0;	/* alive again */
	d = dest_get(key, 0);
	/* a clock set back, a shorter retry_interval: never more than one */
	d->dead_until = t - now > ctx->conf->retry_interval ?
	    now + ctx->conf->retry_interval : t;
	d->alive = 0;
	str_copy_trunc(d->dead_reply, reply, sizeof(d->dead_reply));
	return 0;
}

/*
 * At start: a missing file means none is dead; one that does not parse
 * is ignored (logged): a dead destination then costs one connection.
 */
static void
dests_load(void)
{
	struct buf b;
	int64_t now = time(NULL);
	char *p, *nl;
	size_t n = 0, h;
	struct dest *d;
	int rc;

	buf_init(&b, DESTS_MAX * (sizeof(d->key) + ENVELOPE_ERROR_MAX + 32));
	if ((rc = spool_read_dests(ctx->spool, &b)) != 0) {
		if (rc == -1)
			log_warn("cannot read the dead destinations");
		buf_free(&b);
		return;
	}
	if ((p = (char *)buf_cstr(&b)) == NULL ||
	    strncmp(p, DESTS_MAGIC "\n", sizeof(DESTS_MAGIC)) != 0)
		goto bad;
	for (p += sizeof(DESTS_MAGIC); *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL || ++n > DESTS_MAX)
			goto bad;
		*nl = '\0';
		if (dests_line(p, now) == -1)
			goto bad;
	}
	buf_free(&b);
	return;
bad:
	log_warnx("%s/dests does not parse: ignored", ctx->spool->path);
	for (h = 0; h < DEST_BUCKETS; h++)
		for (d = dests[h]; d; d = d->hnext)
			d->dead_until = 0;
	buf_free(&b);
}

/* ---- deciding what is due ---- */

/* Look at m again: queue its due recipients, or wait for the next one. */
static void
consider(struct qmsg *m)
{
	int64_t now = time(NULL);
	struct envelope *e = &m->env;
	size_t i, k;

	m->due = INT64_MAX;
	if (m->deleted) {
		/* nothing more of it is tried: it goes when its agents end */
		heap_set(m);
		return;
	}
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		if (r->state != RS_QUEUED || r->inflight || r->ready ||
		    (e->flags & ENV_HOLD) || ctx->conf->hold_deliveries)
			continue;
		if (r->dest == NULL)
			r->dest = dest_of(r->addr);
		if (r->next <= now && r->dest->dead_until > now) {
			/* no connection for a dead destination: defer */
			r->next = r->dest->dead_until;
			free(r->error);
			r->error = strdup(r->dest->dead_reply);
		}
		if (r->next > now) {
			if (r->next < m->due)
				m->due = r->next;
			continue;
		}
		/* one entry per message and destination */
		for (k = 0; k < e->nrcpt; k++)
			if (k != i && e->rcpts[k].ready &&
			    e->rcpts[k].dest == r->dest)
				break;
		if (k == e->nrcpt)
			dest_push(r->dest, e->qid);
		r->ready = 1;
	}
	/* a notification not yet queued: try again (while no agent has
	 * the message; the agent's end tries anyway) */
	if (m->nagents == 0 && notify_owed(m) && m->notify_next < m->due)
		m->due = m->notify_next;
	heap_set(m);
}

/*
 * Starting an agent (vfork) holds the loop until the child has
 * exec'd: never do it before the replies of this round are out, or every
 * 250 waits for a spawn. So new messages are dispatched from a deferred
 * event, after the commits' replies.
 */
static void
dispatch_soon(void)
{
	sd_event_source_set_enabled(soon, SD_EVENT_ONESHOT);
}

static int
on_soon(sd_event_source *s, void *ud)
{
	dispatch();
	timer_arm();
	return 0;
}

void
sched_add(struct qmsg *m)
{
	/* every recipient done before a crash (its results were recorded
	 * as they came): only the removal is left */
	if (m->nagents == 0 && envelope_pending(&m->env) == 0 &&
	    !notify_owed(m)) {
		finish(m);
		return;
	}
	consider(m);
	dispatch_soon();
}

void
sched_flush(struct qmsg *m)
{
	struct qmsg *q;
	size_t i, b;
	struct dest *d;

	int forgot = 0;

	/* a flush also forgets which destinations were dead */
	for (b = 0; m == NULL && b < DEST_BUCKETS; b++)
		for (d = dests[b]; d; d = d->hnext) {
			forgot |= d->dead_until != 0;
			d->dead_until = 0;
		}
	TAILQ_FOREACH(q, queue_all(), entry) {
		if (m != NULL && q != m)
			continue;
		q->notify_next = 0;	/* owed notifications too */
		for (i = 0; i < q->env.nrcpt; i++) {
			struct rcpt *r = &q->env.rcpts[i];
			if (r->state == RS_QUEUED && !r->inflight) {
				r->next = 0;
				if (r->dest && m != NULL) {
					forgot |= r->dest->dead_until != 0;
					r->dest->dead_until = 0;
				}
			}
		}
		consider(q);
	}
	if (forgot)
		dests_save();
	dispatch();
	timer_arm();
}

void
sched_forget(struct qmsg *m)
{
	size_t i;

	/* its entries in ready lists are skipped when they come up: no
	 * recipient is ready any more (take_batch takes only those) */
	for (i = 0; i < m->env.nrcpt; i++)
		m->env.rcpts[i].ready = 0;
	heap_remove(m);
	timer_arm();
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	int64_t now = time(NULL);

	while (heap_n > 0 && heap[0]->due <= now) {
		struct qmsg *m = heap[0];
		heap_remove(m);
		if (m->nagents == 0 && notify_owed(m) && m->notify_next <= now)
			finish(m);
		else
			consider(m);
	}
	dispatch();
	timer_arm();
	return 0;
}

/* ---- results ---- */

static struct qmsg *
batch_find(struct batch *b, const char *qid)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->msgs[i]->env.qid, qid) == 0)
			return b->msgs[i];
	return NULL;
}

static void
set_error(struct rcpt *r, const char *mta, const char *reply)
{
	char text[ENVELOPE_ERROR_MAX];

	free(r->error);
	str_fmt_trunc(text, sizeof(text), "%s %s", mta && *mta ? mta : "-", reply);
	r->error = strdup(text);
}

/* Apply one recipient's outcome. */
static void
apply(struct qmsg *m, struct rcpt *r, enum status st, const char *mta,
    const char *reply, int relayed)
{
	char from[ADDR_ENC_MAX + 1], to[ADDR_ENC_MAX + 1];
	char text[JOB_REPLY_MAX * 3 + 1];
	int64_t now = time(NULL);
	const char *what;

	r->inflight = 0;
	r->attempts++;
	set_error(r, mta, reply);
	switch (st) {
	case STATUS_OK:
		r->state = RS_DELIVERED;
		/* a remote server with DSN reports success itself */
		if ((rcpt_notify(r) & NOTIFY_SUCCESS) &&
		    (relayed || (r->dest && r->dest->local)))
			r->notify = relayed ? 'r' : RS_DELIVERED;
		what = "sent";
		stats_count(STATS_DELIVERED, now);
		break;
	case STATUS_PERM:
		r->state = RS_FAILED;
		r->notify = RS_FAILED;
		what = "bounced";
		stats_count(STATS_BOUNCED, now);
		break;
	default:
		if (retry_expired(now, m->env.time, ctx->conf->queue_lifetime)) {
			r->state = RS_FAILED;
			r->notify = RS_FAILED;
			what = "expired";
			stats_count(STATS_BOUNCED, now);
		} else {
			r->next = retry_next(now, m->env.time,
			    ctx->conf->retry_interval,
			    ctx->conf->queue_lifetime);
			what = "deferred";
			stats_count(STATS_DEFERRED, now);
		}
		break;
	}
	/* sender and recipient on one line: one grep answers "what
	 * happened to the mail from X to Y"; encoded, so that a quoted
	 * local part cannot write "<", ">" or blanks into it (fake fields) */
	addr_encode(m->env.from, from, sizeof(from));
	addr_encode(r->addr, to, sizeof(to));
	log_info("%s: from=<%s>, to=<%s>, relay=%s, delay=%llds, status=%s (%s)",
	    m->env.qid, from, to, mta && *mta ? mta :
	    r->dest && r->dest->local ? "local" : "none",
	    (long long)(now - m->env.time), what,
	    log_text(reply, text, sizeof(text)));
}

/*
 * A remote agent delivers a batch of up to REMOTE_BATCH messages and
 * reports each as it goes: its results reach the state files soon after
 * they are read (from a deferred event, once per read), not when the
 * agent is done. A queued that dies meanwhile (its agents die with it)
 * then sends again at most the message under way, not the batch (at
 * least once, SPOOL.md). No fsync: the kernel keeps them through a
 * crash of queued, and one per message cost two thirds of the outbound
 * rate; a crash of the machine may send those messages again. Only a
 * delivery or a failure needs it: a deferral lost to a crash is only
 * tried again. Local delivery does not: its repeats are no-ops.
 */
static void
record_later(struct qmsg *m)
{
	char (*nd)[QID_LEN + 1];

	if (m->state_dirty)
		return;
	if (ndirty == dirty_cap) {
		dirty_cap = dirty_cap ? dirty_cap * 2 : 256;
		if ((nd = realloc(dirty, dirty_cap * sizeof(*nd))) == NULL)
			fatal("record_later");
		dirty = nd;
	}
	memcpy(dirty[ndirty++], m->env.qid, sizeof(dirty[0]));
	m->state_dirty = 1;
	sd_event_source_set_enabled(record, SD_EVENT_ONESHOT);
}

static int
on_record(sd_event_source *s, void *ud)
{
	struct qmsg *m;
	size_t i;

	for (i = 0; i < ndirty; i++) {
		/* finished (state written, or removed) meanwhile: skip */
		if ((m = queue_find(dirty[i])) == NULL || !m->state_dirty)
			continue;
		m->state_dirty = 0;
		(void)spool_write_progress(ctx->spool, &m->env);
	}
	ndirty = 0;
	return 0;
}

static void
on_result(struct agent *a, const struct job_result *res)
{
	struct batch *b = agent_ctx(a);
	struct qmsg *m = batch_find(b, res->qid);

	if (m == NULL || res->index >= m->env.nrcpt ||
	    m->env.rcpts[res->index].inflight != b->serial) {
		log_warnx("agent reported on %s/%u, which it was not given",
		    res->qid, res->index);
		return;
	}
	if (res->mta[0])
		b->spoke = 1;
	apply(m, &m->env.rcpts[res->index], res->status, res->mta, res->reply,
	    res->relayed);
	b->reported = 1;
	if (res->status != STATUS_TEMP)
		b->final = 1;
	if (b->last[0] == '\0' && m->env.rcpts[res->index].error)
		str_copy_trunc(b->last, m->env.rcpts[res->index].error,
		    sizeof(b->last));
	/* a deferral not yet on disk costs only an attempt made again */
	if (!b->dest->local && res->status != STATUS_TEMP)
		record_later(m);
}

/*
 * No server answered for a whole batch: the destination is dead for a
 * retry interval, and what waits for it is deferred without a try.
 */
static void
dest_dead(struct dest *d, const char *error)
{
	struct dentry *e;
	struct qmsg *m;
	size_t i;

	d->dead_until = time(NULL) + ctx->conf->retry_interval;
	str_copy_trunc(d->dead_reply, error, sizeof(d->dead_reply));
	log_info("%s: no server answered; no attempts for %us", d->key,
	    ctx->conf->retry_interval);
	dests_save();
	while ((e = TAILQ_FIRST(&d->ready)) != NULL) {
		TAILQ_REMOVE(&d->ready, e, entry);
		if ((m = queue_find(e->qid)) != NULL) {
			for (i = 0; i < m->env.nrcpt; i++)
				if (m->env.rcpts[i].dest == d)
					m->env.rcpts[i].ready = 0;
			consider(m);
		}
		free(e);
	}
}

static void
on_done(struct agent *a, int status)
{
	struct batch *b = agent_ctx(a);
	unsigned pause = ctx->conf->retry_interval < UNTRIED_PAUSE ?
	    ctx->conf->retry_interval : UNTRIED_PAUSE;
	int64_t now = time(NULL);
	size_t i, k;

	/*
	 * only this job's recipients: another job of the same message and
	 * destination may still be running. An agent that ended well and
	 * reported on some of its batch did not try the rest (a remote one
	 * whose connections kept dropping): no attempt is counted, they
	 * are due again after a pause (UNTRIED_PAUSE). The batch got
	 * somewhere, so this ends.
	 */
	for (i = 0; i < b->n; i++) {
		struct qmsg *m = b->msgs[i];
		for (k = 0; k < m->env.nrcpt; k++) {
			struct rcpt *r = &m->env.rcpts[k];
			if (r->inflight != b->serial)
				continue;
			if (status == 0 && b->reported) {
				char to[ADDR_ENC_MAX + 1];
				r->inflight = 0;
				r->next = now + pause;
				addr_encode(r->addr, to, sizeof(to));
				log_info("%s: to=<%s>, not tried by its agent, "
				    "due again in %us", m->env.qid, to, pause);
			} else
				apply(m, r, STATUS_TEMP, NULL,
				    "451 4.3.0 Delivery agent failed", 0);
		}
	}
	/* dead: nobody answered, and for a reason that may pass (an
	 * NXDOMAIN or a null MX is an answer: what follows bounces too) */
	if (!b->dest->local && !b->spoke && b->reported && !b->final &&
	    status == 0) {
		b->dest->alive = 0;
		dest_dead(b->dest, b->last[0] ? b->last :
		    "- 451 4.4.1 No server answered");
	} else if (b->spoke)
		b->dest->alive = 1;
	for (i = 0; i < b->n; i++) {
		b->msgs[i]->nagents--;
		finish(b->msgs[i]);
	}
	b->dest->running--;
	free(b->msgs);
	free(b);
	dispatch();
	timer_arm();
}

/*
 * An agent found m's file is not what was queued (its data fail its
 * sum): it is set aside once its agents are done (finish, damaged).
 */
static void
on_damaged(struct agent *a, const char *qid, const char *why)
{
	struct qmsg *m = batch_find(agent_ctx(a), qid);
	char text[256];

	if (m == NULL) {
		log_warnx("agent reported %s damaged, which it was not given",
		    qid);
		return;
	}
	log_warnx("%s: the queue file is damaged: %s%s", qid, why,
	    m->recovered ? " (loaded at start: after a crash of the machine "
	    "it may be a message never acknowledged)" : "");
	if (m->damaged == NULL) {
		str_fmt_trunc(text, sizeof(text), "%s, found by its delivery "
		    "agent", why);
		if ((m->damaged = strdup(text)) == NULL)
			fatal("on_damaged");
	}
}

/* A TLS session of a remote agent: counted for its domain's report. */
static void
on_tls(struct agent *a, const struct job_tls *t)
{
	tlsrpt_record(ctx->spool, t, time(NULL));
}

static const struct agent_ops agent_ops = { .result = on_result,
    .tls = on_tls, .damaged = on_damaged, .done = on_done };

/* ---- DSNs ---- */

/*
 * Does m's file still hold the message its sum was taken of? Read whole
 * (a notice about it is rare); 1 if it does or has no sum. A file that
 * fails is set aside like one its agent found (finish, damaged).
 */
static int
original_intact(struct qmsg *m, int fd)
{
	char buf[65536], why[128];
	uint64_t done = 0;
	uint32_t crc = 0;
	ssize_t n;

	if (!(m->env.flags & ENV_SUM))
		return 1;
	while (done < m->env.size && (n = pread(fd, buf, m->env.size - done <
	    sizeof(buf) ? (size_t)(m->env.size - done) : sizeof(buf),
	    (off_t)(m->env.data_off + done))) > 0) {
		crc = crc32c(crc, buf, (size_t)n);
		done += (uint64_t)n;
	}
	if (done == m->env.size && crc == m->env.sum)
		return 1;
	str_fmt_trunc(why, sizeof(why), "its data does not match its checksum "
	    "(crc32c %08x, %08x when it was queued)", (unsigned)crc,
	    (unsigned)m->env.sum);
	log_warnx("%s: the queue file is damaged: %s; its notice goes "
	    "without it", m->env.qid, why);
	if (m->damaged == NULL && (m->damaged = strdup(why)) == NULL)
		fatal("original_intact");
	return 0;
}

/*
 * Read the original headers (or all of it, for RET=FULL), never bytes
 * that fail the message's sum: NULL then, and for any failure.
 */
static char *
read_original(struct qmsg *m, int full, size_t *len)
{
	uint64_t max = full ? ctx->conf->max_message_size : BOUNCE_ORIGINAL_MAX;
	size_t n = m->env.size < max ? (size_t)m->env.size : (size_t)max;
	char *buf, *end;
	ssize_t r;
	int fd;

	*len = 0;
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	if ((fd = spool_open_message(ctx->spool, m->env.qid)) == -1) {
		free(buf);
		return NULL;
	}
	r = original_intact(m, fd) ? pread(fd, buf, n,
	    (off_t)m->env.data_off) : -1;
	close(fd);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	buf[r] = '\0';
	*len = (size_t)r;
	if (!full && (end = strstr(buf, "\n\n")) != NULL)
		*len = (size_t)(end - buf) + 1;
	return buf;
}

/* Is the recipient's owed notice one of this kind? */
static int
notify_is(const struct rcpt *r, char state)
{
	if (state == RS_DELIVERED)
		return r->notify == RS_DELIVERED || r->notify == 'r';
	/* a delay notice is moot once the recipient is done */
	if (state == 'w' && r->notify == 'w' && r->state != RS_QUEUED)
		return 0;
	return r->notify == state;
}

/* A notice was queued or is not to be sent: nothing owed of this kind. */
static void
notify_done(struct qmsg *m, char state)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct rcpt *r = &m->env.rcpts[i];
		if (notify_is(r, state) || (state == 'w' && r->notify == 'w'))
			r->notify = 0;
	}
}

static int
notify_owed(const struct qmsg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].notify)
			return 1;
	return 0;
}

static const char *
notify_name(enum bounce_kind kind)
{
	return kind == BOUNCE_FAILED ? "non-delivery" :
	    kind == BOUNCE_DELAYED ? "delay" : "delivery";
}

/*
 * Queue the notice of one kind the recipients are owed. Returns -1 if it
 * could not be queued (a full spool, an I/O error): the recipients keep
 * owing it, so the message stays, and the state file says so.
 */
static int
notify(struct qmsg *m, enum bounce_kind kind, char state)
{
	struct envelope *e = &m->env;
	struct bounce_rcpt *br;
	struct bounce_info bi;
	struct buf msg;
	char envid[ESMTP_ENVID_MAX + 1] = "", to[ADDR_MAX + 1];
	char enc[ADDR_ENC_MAX + 1];
	char (*orcpt)[ESMTP_ORCPT_MAX + 16], (*mta)[ADDR_DOMAIN_MAX + 1];
	const char *p;
	size_t i, n = 0;
	int full, rc = 0;
	unsigned flags = 0;

	if ((br = calloc(e->nrcpt, sizeof(*br))) == NULL ||
	    (orcpt = calloc(e->nrcpt, sizeof(*orcpt))) == NULL ||
	    (mta = calloc(e->nrcpt, sizeof(*mta))) == NULL)
		fatal("notify");
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		if (!notify_is(r, state))
			continue;
		if (state == RS_FAILED && !(rcpt_notify(r) == 0 ||
		    (rcpt_notify(r) & NOTIFY_FAILURE)))
			continue;	/* NOTIFY=NEVER or without FAILURE */
		br[n].relayed = r->notify == 'r';
		br[n].addr = r->addr;
		if (rcpt_orcpt(r, orcpt[i], sizeof(orcpt[i])) == 0)
			br[n].orcpt = orcpt[i];
		if (r->error && (p = strchr(r->error, ' ')) != NULL) {
			size_t ml = (size_t)(p - r->error);
			if (ml > 0 && ml < sizeof(mta[i]) && r->error[0] != '-') {
				memcpy(mta[i], r->error, ml);
				br[n].remote_mta = mta[i];
			}
			br[n].diagnostic = p + 1;
		}
		n++;
	}
	if (n == 0)
		goto done;
	if (e->from[0] == '\0') {
		/*
		 * A bounce that bounces goes to the postmaster, once. The
		 * double bounce is marked, not known by its address: the
		 * postmaster's aliases may send it anywhere.
		 */
		if (state != RS_FAILED)
			goto done;
		if (e->flags & ENV_DOUBLE) {
			log_warnx("%s: undeliverable double bounce, discarded",
			    e->qid);
			goto done;
		}
		str_fmt_trunc(to, sizeof(to), "postmaster@%s", ctx->conf->hostname);
		flags = ENV_DOUBLE;
	} else
		str_copy_trunc(to, e->from, sizeof(to));	/* parsed: fits */
	memset(&bi, 0, sizeof(bi));
	bi.kind = kind;
	bi.hostname = ctx->conf->hostname;
	bi.qid = e->qid;
	bi.arrival = e->time;
	bi.retry_until = e->time + ctx->conf->queue_lifetime;
	if ((p = strstr(e->from_params, " ENVID=")) != NULL) {
		str_copy_trunc(envid, p + 7, sizeof(envid));	/* to the blank */
		envid[strcspn(envid, " ")] = '\0';
		bi.envid = envid;
	}
	if (getrandom(&bi.nonce, sizeof(bi.nonce), 0) != sizeof(bi.nonce))
		bi.nonce = (uint64_t)random() << 32 ^ (uint64_t)random();
	bi.sender = to;
	bi.rcpts = br;
	bi.nrcpt = n;
	full = kind == BOUNCE_FAILED && strstr(e->from_params, " RET=FULL");
	bi.original = read_original(m, full, &bi.original_len);
	if (bi.original == NULL)
		bi.original = "";
	bi.full = full;
	buf_init(&msg, ctx->conf->max_message_size + 1024 * 1024);
	if (bounce_format(&bi, time(NULL), &msg) == 0) {
		struct qmsg *bm = inject_message(ctx->spool, ctx->conf, to,
		    flags, msg.data, msg.len);
		if (bm != NULL) {
			log_info("%s: sender %s notification: %s", e->qid,
			    notify_name(kind), bm->env.qid);
			consider(bm);
		} else
			rc = -1;
	} else {
		addr_encode(to, enc, sizeof(enc));
		log_warnx("%s: cannot make the %s notification to <%s>",
		    e->qid, notify_name(kind), enc);
		rc = -1;
	}
	buf_free(&msg);
	if (bi.original_len || bi.original[0])
		free((char *)bi.original);
	if (rc == -1) {
		addr_encode(to, enc, sizeof(enc));
		log_warnx("%s: %s notification to <%s> not queued; the message "
		    "is kept until it is", e->qid, notify_name(kind), enc);
		goto out;
	}
done:
	notify_done(m, state);
out:
	free(br);
	free(orcpt);
	free(mta);
	return rc;
}

/* Owed a delay notice? Once per message, after delay_warning. */
static void
maybe_warn(struct qmsg *m)
{
	struct envelope *e = &m->env;
	int64_t now = time(NULL);
	size_t i;

	if (ctx->conf->delay_warning == 0 || (e->flags & ENV_WARNED) ||
	    now < e->time + (int64_t)ctx->conf->delay_warning ||
	    e->from[0] == '\0')
		return;
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		unsigned nt = rcpt_notify(r);
		if (r->state == RS_QUEUED && r->attempts > 0 &&
		    (nt == 0 || (nt & NOTIFY_DELAY)) && r->notify == 0)
			r->notify = 'w';
	}
	e->flags |= ENV_WARNED;
}

/*
 * The admin deleted m while an agent had it (pombo-queue delete): what
 * its agents did stands, nothing more is tried (consider), and nobody is
 * told, a deleted message being never bounced; it goes when its last
 * agent is done. Until then its state file says it is held, so that a
 * restart meanwhile leaves it held, not delivered.
 */
static void
finish_deleted(struct qmsg *m)
{
	if (m->nagents > 0) {
		(void)spool_write_state(ctx->spool, &m->env);
		return;
	}
	spool_remove_later(ctx->spool, &m->env);
	log_info("%s: deleted by the administrator, its delivery over",
	    m->env.qid);
	sched_forget(m);
	queue_remove(m);
}

/*
 * After an agent, or when owed notifications are due: DSNs, then the
 * state on disk, then what next. A notification that cannot be queued
 * keeps the message (and the notice owed, in its state file) until a
 * later try, a retry interval on, queues it: mail is never lost to a
 * full spool.
 */
static void
finish(struct qmsg *m)
{
	int64_t now = time(NULL);
	int failed = 0;

	m->state_dirty = 0;	/* written or removed here */
	if (m->deleted) {
		finish_deleted(m);
		return;
	}
	if (m->damaged) {
		(void)damaged(m);	/* set aside, now or after its agents */
		return;
	}
	maybe_warn(m);
	if (notify_owed(m) && m->notify_next <= now) {
		if (notify(m, BOUNCE_FAILED, RS_FAILED) == -1)
			failed = 1;
		if (notify(m, BOUNCE_DELIVERED, RS_DELIVERED) == -1)
			failed = 1;
		if (notify(m, BOUNCE_DELAYED, 'w') == -1)
			failed = 1;
		if (failed) {
			m->notify_next = now + ctx->conf->retry_interval;
			log_warnx("%s: next try of its notifications in %us",
			    m->env.qid, ctx->conf->retry_interval);
		}
	}
	if (m->damaged) {
		(void)damaged(m);	/* its notice found it (read_original) */
		return;
	}
	if (m->nagents == 0 && envelope_pending(&m->env) == 0 &&
	    !notify_owed(m)) {
		spool_remove_later(ctx->spool, &m->env);
		log_info("%s: removed", m->env.qid);
		sched_forget(m);
		queue_remove(m);
		return;
	}
	spool_write_state(ctx->spool, &m->env);
	consider(m);
}

/* ---- running agents ---- */

/* The job lines that say where and how (remote destinations). */
static void
job_header(struct buf *job, const struct dest *d)
{
	const struct conf *c = ctx->conf;
	size_t i;

	buf_printf(job, "%s\nhost %s\n", JOB_MAGIC, c->hostname);
	if (d->local)
		return;
	buf_printf(job, "dest %s\nport %u\ntimeout %u\nconnect-timeout %u\n",
	    d->key, c->remote_port, c->remote_timeout,
	    c->remote_connect_timeout);
	if (c->relayhost[0])
		buf_printf(job, "relay %s\n", c->relayhost);
	buf_printf(job, "tls %s\n", conf_tls_policy_name(conf_tls_policy(c,
	    c->relayhost[0] ? "relayhost" : d->key)));
	if (c->tls_ca_file[0])
		buf_printf(job, "tls-ca %s\n", c->tls_ca_file);
	/* DANE needs validated answers; a domain's own tls_policy wins */
	if (c->dane && conf_dns_trust_anchor(c) && !conf_tls_policy_named(c,
	    c->relayhost[0] ? "relayhost" : d->key))
		buf_printf(job, "dane %s\n", conf_dns_trust_anchor(c));
	/* MTA-STS is the domain's word on its MX hosts: not for a
	 * relayhost, nor a domain the admin gave a tls_policy of its own */
	if (c->mta_sts && !c->relayhost[0] && d->key[0] != '[' &&
	    !conf_tls_policy_named(c, d->key))
		buf_printf(job, "mta-sts %u %u\n", c->mta_sts_timeout,
		    c->mta_sts_port);
	if (c->tls_reports && !c->relayhost[0] && d->key[0] != '[')
		buf_addstr(job, "tls-reports yes\n");
	/* the keys the agent signs with; queued checked them at start */
	for (i = 0; i < c->n_dkim_keys; i++) {
		char dom[ADDR_DOMAIN_MAX + 1], sel[ADDR_DOMAIN_MAX + 1];
		const char *file = conf_dkim_key(c->dkim_keys[i], dom,
		    sizeof(dom), sel, sizeof(sel));
		buf_printf(job, "dkim %s %s %s\n", dom, sel, file);
	}
	job_format_dns(job, c->dns_servers, c->n_dns_servers);
}

/*
 * A message whose file is not what was committed (cut short on disk, or
 * its data failed their sum in an agent) is never delivered: it goes to
 * quarantine/, queued forgets it, and the postmaster gets a notice
 * (SPOOL.md). 1 if m is not to be delivered now: set aside, or held by
 * another agent until that one is done.
 */
static int
damaged(struct qmsg *m)
{
	struct envelope *e = &m->env;
	struct qmsg *nm;
	struct buf msg;
	char why[256], to[ADDR_MAX + 1];
	int64_t now = time(NULL);
	size_t i;

	if (m->damaged != NULL)
		str_copy_trunc(why, m->damaged, sizeof(why));
	else if (intact_check(ctx->spool->queue, e, why, sizeof(why)))
		return 0;
	for (i = 0; i < e->nrcpt; i++)
		if (!e->rcpts[i].inflight)
			e->rcpts[i].ready = 0;
	if (m->nagents > 0)
		return 1;	/* its other agent's end looks again */
	if (spool_quarantine(ctx->spool, e->qid, why) == -1) {
		for (i = 0; i < e->nrcpt; i++)
			if (e->rcpts[i].state == RS_QUEUED)
				e->rcpts[i].next = now +
				    ctx->conf->retry_interval;
		consider(m);
		return 1;
	}
	spool_remove(ctx->spool, e->qid);	/* its state file */
	str_fmt_trunc(to, sizeof(to), "postmaster@%s", ctx->conf->hostname);
	buf_init(&msg, 1024 * 1024);
	if (intact_notice(e, ctx->conf->hostname, ctx->conf->spool_dir, why,
	    now, &msg) == 0 && (nm = inject_message(ctx->spool, ctx->conf, to,
	    0, msg.data, msg.len)) != NULL) {
		log_info("%s: postmaster notified: %s", e->qid, nm->env.qid);
		consider(nm);
		dispatch_soon();	/* dispatch may be past its queue */
	} else
		log_warnx("%s: set aside, but the postmaster could not be told",
		    e->qid);
	buf_free(&msg);
	sched_forget(m);
	queue_remove(m);
	return 1;
}

/* Take up to a batch of messages from d's queue into a job. */
static struct batch *
take_batch(struct dest *d, struct buf *job)
{
	struct batch *b;
	struct dentry *e;
	struct qmsg *m;
	char path[PATH_MAX], flags[JOB_LINE_MAX], sum[32];
	size_t i, max = d->local ? LOCAL_BATCH : REMOTE_BATCH, nr;
	int msg_ok;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->msgs = calloc(max, sizeof(*b->msgs))) == NULL)
		fatal("take_batch");
	b->dest = d;
	/* never 0, which means "in no job" */
	if ((b->serial = ++batch_serial) == 0)
		b->serial = ++batch_serial;
	job_header(job, d);
	if (d->local)
		recipients_refresh();
	while (b->n < max && (e = TAILQ_FIRST(&d->ready)) != NULL) {
		TAILQ_REMOVE(&d->ready, e, entry);
		m = queue_find(e->qid);
		free(e);
		if (m == NULL)
			continue;	/* deleted meanwhile */
		for (nr = i = 0; i < m->env.nrcpt; i++)
			nr += m->env.rcpts[i].ready && m->env.rcpts[i].dest == d;
		if (nr == 0 || damaged(m))
			continue;
		/* the sum its agent checks; "dkim": our users' mail,
		 * signed as it leaves (job.h) */
		sum[0] = '\0';
		if (m->env.flags & ENV_SUM)
			str_fmt_trunc(sum, sizeof(sum), " crc32c=%08x",
			    (unsigned)m->env.sum);
		str_fmt_trunc(flags, sizeof(flags), "%s%s%s%s", m->env.from_params,
		    sum,
		    m->recovered ? " recovered" : "",
		    !d->local && policy_dkim_sign(ctx->conf, m->env.client) ?
		    " dkim" : d->local && (m->env.flags & ENV_JUNK) ? " junk" :
		    "");
		/* a line its agent would refuse fails here, alone (it
		 * would be the same at every retry) */
		msg_ok = job_format_msg(job, m->env.qid, m->env.time,
		    m->env.data_off, m->env.size, m->env.from,
		    flags + strspn(flags, " ")) == 0;
		for (i = 0; i < m->env.nrcpt; i++) {
			struct rcpt *r = &m->env.rcpts[i];
			const char *extra;
			if (!r->ready || r->dest != d)
				continue;
			r->ready = 0;
			r->inflight = b->serial;
			if (!d->local)
				extra = r->params + strspn(r->params, " ");
			else {
				if (resolve_maildir(ctx->conf,
				    recipients_users(), r->addr, path,
				    sizeof(path)) == -1)
					str_copy_trunc(path, "-", sizeof(path));
				extra = path;
			}
			if (!msg_ok || job_format_rcpt(job, (unsigned)i,
			    r->addr, extra) == -1)
				apply(m, r, STATUS_PERM, NULL, "554 5.3.0 "
				    "This message cannot be passed to the "
				    "delivery agent", 0);
		}
		m->nagents++;
		heap_remove(m);
		b->msgs[b->n++] = m;
	}
	buf_addstr(job, "end\n");
	return b;
}

static void
dispatch(void)
{
	struct batch *b;
	struct dest *d, *next;
	struct buf job;
	size_t i, k;

	for (d = TAILQ_FIRST(&work); d; d = next) {
		next = TAILQ_NEXT(d, work);
		if (TAILQ_EMPTY(&d->ready)) {
			TAILQ_REMOVE(&work, d, work);
			d->in_work = 0;
			continue;
		}
		if (agent_running() >= ctx->conf->max_deliveries)
			return;
		if (d->running >= dest_limit(d))
			continue;
		buf_init(&job, 64 * 1024 * 1024);
		b = take_batch(d, &job);
		if (b->n == 0) {
			buf_free(&job);
			free(b->msgs);
			free(b);
			continue;
		}
		d->running++;
		/* round robin: this destination goes to the back */
		TAILQ_REMOVE(&work, d, work);
		TAILQ_INSERT_TAIL(&work, d, work);
		if (next == NULL)
			next = TAILQ_FIRST(&work) != d ? TAILQ_FIRST(&work) : NULL;
		if (agent_spawn(ctx->event, d->local ? local_prog : remote_prog,
		    ctx->spool->queue, d->local ? -1 : ctx->spool->mtasts,
		    &job, d->local ? LOCAL_TIMEOUT :
		    REMOTE_TIMEOUT, &agent_ops, b) != NULL)
			continue;
		buf_free(&job);
		for (i = 0; i < b->n; i++) {
			struct qmsg *q = b->msgs[i];
			for (k = 0; k < q->env.nrcpt; k++)
				if (q->env.rcpts[k].inflight == b->serial)
					apply(q, &q->env.rcpts[k], STATUS_TEMP,
					    NULL, "451 4.3.0 Cannot run the "
					    "delivery agent", 0);
			q->nagents--;
			finish(q);
		}
		d->running--;
		free(b->msgs);
		free(b);
		return;
	}
}

void
sched_init(struct queued_ctx *c)
{
	ctx = c;
	/* in libexec_dir: configure's, or a test's folder of links */
	agent_find(local_prog, sizeof(local_prog), c->conf->libexec_dir,
	    "pombo-local");
	agent_find(remote_prog, sizeof(remote_prog), c->conf->libexec_dir,
	    "pombo-remote");
	if (sd_event_add_time(c->event, &timer, CLOCK_REALTIME, UINT64_MAX, 0,
	    on_timer, NULL) < 0 ||
	    sd_event_add_defer(c->event, &soon, on_soon, NULL) < 0 ||
	    sd_event_add_defer(c->event, &record, on_record, NULL) < 0)
		fatalx("scheduler timer");
	sd_event_source_set_enabled(timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(soon, SD_EVENT_OFF);
	sd_event_source_set_enabled(record, SD_EVENT_OFF);
	dests_load();
}

void
sched_stop(void)
{
	on_record(NULL, NULL);	/* results read, not yet on disk */
	agent_kill_all();
}
