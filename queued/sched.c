/*
 * sched: one heap of messages by next attempt (unix seconds, a
 * CLOCK_REALTIME timer), one ready list for local delivery. A message is
 * with at most one agent at a time (busy); results are applied as they
 * arrive, and the message is finished (state file or removal, DSNs) when
 * its agent is done. The retry schedule is sched_next_attempt().
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bounce.h"
#include "inject.h"
#include "job.h"
#include "log.h"
#include "recipients.h"
#include "retry.h"
#include "sched.h"

#define LOCAL_AGENTS_MAX	4
#define LOCAL_BATCH		64
#define LOCAL_TIMEOUT		600	/* seconds */
#define BOUNCE_ORIGINAL_MAX	(64 * 1024)

static struct queued_ctx *ctx;
static struct qmsg **heap;
static size_t heap_n, heap_cap;
static TAILQ_HEAD(, qmsg) ready_local = TAILQ_HEAD_INITIALIZER(ready_local);
static unsigned local_agents;
static sd_event_source *timer;
static char local_prog[PATH_MAX];

struct batch {
	struct qmsg	**msgs;
	size_t		  n;
};

static void dispatch(void);
static void finish(struct qmsg *m);

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

/* ---- deciding what is due ---- */

int
sched_is_local(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at == NULL || conf_is_local_domain(ctx->conf, at + 1);
}

/* Look at m again: ready it for an agent, or wait for its next attempt. */
static void
consider(struct qmsg *m)
{
	int64_t now = time(NULL);
	struct envelope *e = &m->env;
	int local_due = 0;
	size_t i;

	if (m->busy)
		return;
	m->due = INT64_MAX;
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		if (r->state != RS_QUEUED || (e->flags & ENV_HOLD) ||
		    ctx->conf->hold_deliveries)
			continue;
		if (r->next <= now && sched_is_local(r->addr))
			local_due = 1;
		else if (r->next > now && r->next < m->due)
			m->due = r->next;
		/* remote recipients wait for the remote agent (issue 4) */
	}
	if (local_due && !m->in_ready) {
		TAILQ_INSERT_TAIL(&ready_local, m, ready);
		m->in_ready = 1;
	}
	heap_set(m);
}

void
sched_add(struct qmsg *m)
{
	consider(m);
	dispatch();
	timer_arm();
}

void
sched_flush(struct qmsg *m)
{
	struct qmsg *q;
	size_t i;

	TAILQ_FOREACH(q, queue_all(), entry) {
		if (m != NULL && q != m)
			continue;
		for (i = 0; i < q->env.nrcpt; i++)
			if (q->env.rcpts[i].state == RS_QUEUED)
				q->env.rcpts[i].next = 0;
		consider(q);
	}
	dispatch();
	timer_arm();
}

void
sched_forget(struct qmsg *m)
{
	heap_remove(m);
	if (m->in_ready) {
		TAILQ_REMOVE(&ready_local, m, ready);
		m->in_ready = 0;
	}
	timer_arm();
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	int64_t now = time(NULL);

	while (heap_n > 0 && heap[0]->due <= now) {
		struct qmsg *m = heap[0];
		heap_remove(m);
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
	str_fmt(text, sizeof(text), "%s %s", mta && *mta ? mta : "-", reply);
	r->error = strdup(text);
}

/* Apply one recipient's outcome (status may come from an agent or not). */
static void
apply(struct qmsg *m, struct rcpt *r, enum status st, const char *mta,
    const char *reply, const char *relay)
{
	int64_t now = time(NULL);
	const char *what;

	r->inflight = 0;
	r->attempts++;
	set_error(r, mta, reply);
	switch (st) {
	case STATUS_OK:
		r->state = RS_DELIVERED;
		if (rcpt_notify(r) & NOTIFY_SUCCESS)
			r->notify = RS_DELIVERED;
		what = "sent";
		break;
	case STATUS_PERM:
		r->state = RS_FAILED;
		r->notify = RS_FAILED;
		what = "bounced";
		break;
	default:
		if (retry_expired(now, m->env.time, ctx->conf->queue_lifetime)) {
			r->state = RS_FAILED;
			r->notify = RS_FAILED;
			what = "expired";
		} else {
			r->next = retry_next(now, m->env.time,
			    ctx->conf->retry_interval,
			    ctx->conf->queue_lifetime);
			what = "deferred";
		}
		break;
	}
	log_info("%s: to=<%s>, relay=%s, delay=%llds, status=%s (%s)",
	    m->env.qid, r->addr, mta && *mta ? mta : relay,
	    (long long)(now - m->env.time), what, reply);
}

static void
on_result(struct agent *a, const struct job_result *res)
{
	struct batch *b = agent_ctx(a);
	struct qmsg *m = batch_find(b, res->qid);
	struct rcpt *r;

	if (m == NULL || res->index >= m->env.nrcpt ||
	    !m->env.rcpts[res->index].inflight) {
		log_warnx("agent reported on %s/%u, which it was not given",
		    res->qid, res->index);
		return;
	}
	r = &m->env.rcpts[res->index];
	apply(m, r, res->status, res->mta, res->reply, "local");
}

static void
on_done(struct agent *a, int status)
{
	struct batch *b = agent_ctx(a);
	size_t i, k;

	for (i = 0; i < b->n; i++) {
		struct qmsg *m = b->msgs[i];
		for (k = 0; k < m->env.nrcpt; k++)
			if (m->env.rcpts[k].inflight)
				apply(m, &m->env.rcpts[k], STATUS_TEMP, NULL,
				    "451 4.3.0 Delivery agent failed", "local");
		m->busy = 0;
		finish(m);
	}
	free(b->msgs);
	free(b);
	local_agents--;
	dispatch();
	timer_arm();
}

static const struct agent_ops local_ops = { on_result, on_done };

/* ---- DSNs ---- */

/* Read the original headers (or all of it, for RET=FULL). */
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
	r = pread(fd, buf, n, (off_t)m->env.data_off);
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

static void
notify(struct qmsg *m, enum bounce_kind kind, char state)
{
	struct envelope *e = &m->env;
	struct bounce_rcpt *br;
	struct bounce_info bi;
	struct buf msg;
	char envid[ESMTP_ENVID_MAX + 1] = "", to[ADDR_MAX + 1];
	char (*orcpt)[ESMTP_ORCPT_MAX + 16], (*mta)[ADDR_DOMAIN_MAX + 1];
	const char *p;
	size_t i, n = 0;
	int full;

	if ((br = calloc(e->nrcpt, sizeof(*br))) == NULL ||
	    (orcpt = calloc(e->nrcpt, sizeof(*orcpt))) == NULL ||
	    (mta = calloc(e->nrcpt, sizeof(*mta))) == NULL)
		fatal("notify");
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		if (r->notify != state)
			continue;
		r->notify = 0;
		if (state == RS_FAILED && !(rcpt_notify(r) == 0 ||
		    (rcpt_notify(r) & NOTIFY_FAILURE)))
			continue;	/* NOTIFY=NEVER or without FAILURE */
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
		goto out;
	if (e->from[0] == '\0') {
		/* a bounce that bounces goes to the postmaster, once */
		if (state != RS_FAILED)
			goto out;
		for (i = 0; i < e->nrcpt; i++)
			if (strncasecmp(e->rcpts[i].addr, "postmaster@", 11) == 0)
				break;
		if (i < e->nrcpt) {
			log_warnx("%s: undeliverable notification to the "
			    "postmaster, discarded", e->qid);
			goto out;
		}
		str_fmt(to, sizeof(to), "postmaster@%s", ctx->conf->hostname);
	} else
		str_copy(to, e->from, sizeof(to));
	memset(&bi, 0, sizeof(bi));
	bi.kind = kind;
	bi.hostname = ctx->conf->hostname;
	bi.qid = e->qid;
	bi.arrival = e->time;
	bi.retry_until = e->time + ctx->conf->queue_lifetime;
	if ((p = strstr(e->from_params, " ENVID=")) != NULL) {
		str_copy(envid, p + 7, sizeof(envid));
		envid[strcspn(envid, " ")] = '\0';
		bi.envid = envid;
	}
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
		struct qmsg *bm = inject_message(ctx->spool, ctx->conf->hostname,
		    to, msg.data, msg.len);
		if (bm != NULL) {
			log_info("%s: sender %s notification: %s", e->qid,
			    kind == BOUNCE_FAILED ? "non-delivery" :
			    kind == BOUNCE_DELAYED ? "delay" : "delivery",
			    bm->env.qid);
			consider(bm);
		}
	}
	buf_free(&msg);
	if (bi.original_len || bi.original[0])
		free((char *)bi.original);
out:
	free(br);
	free(orcpt);
	free(mta);
}

/* Owed a delay notice? Once per message, after delay_warning. */
static void
maybe_warn(struct qmsg *m)
{
	struct envelope *e = &m->env;
	int64_t now = time(NULL);
	size_t i;
	int any = 0;

	if (ctx->conf->delay_warning == 0 || (e->flags & ENV_WARNED) ||
	    now < e->time + (int64_t)ctx->conf->delay_warning ||
	    e->from[0] == '\0')
		return;
	for (i = 0; i < e->nrcpt; i++) {
		struct rcpt *r = &e->rcpts[i];
		unsigned nt = rcpt_notify(r);
		if (r->state == RS_QUEUED && r->attempts > 0 &&
		    (nt == 0 || (nt & NOTIFY_DELAY))) {
			r->notify = 'w';
			any = 1;
		}
	}
	e->flags |= ENV_WARNED;
	if (any)
		notify(m, BOUNCE_DELAYED, 'w');
}

/* After an agent: DSNs, then the state on disk, then what next. */
static void
finish(struct qmsg *m)
{
	notify(m, BOUNCE_FAILED, RS_FAILED);
	notify(m, BOUNCE_DELIVERED, RS_DELIVERED);
	maybe_warn(m);
	if (envelope_pending(&m->env) == 0) {
		if (spool_remove(ctx->spool, m->env.qid) == -1)
			log_warn("%s: cannot remove", m->env.qid);
		else
			log_info("%s: removed", m->env.qid);
		sched_forget(m);
		queue_remove(m);
		return;
	}
	spool_write_state(ctx->spool, &m->env);
	consider(m);
}

/* ---- running agents ---- */

static void
dispatch(void)
{
	struct batch *b;
	struct buf job;
	struct qmsg *m;
	size_t i;
	char path[PATH_MAX];

	while (!TAILQ_EMPTY(&ready_local) && local_agents < LOCAL_AGENTS_MAX &&
	    agent_running() < ctx->conf->max_deliveries) {
		if ((b = calloc(1, sizeof(*b))) == NULL ||
		    (b->msgs = calloc(LOCAL_BATCH, sizeof(*b->msgs))) == NULL)
			fatal("dispatch");
		buf_init(&job, 64 * 1024 * 1024);
		buf_printf(&job, "%s\nhost %s\n", JOB_MAGIC,
		    ctx->conf->hostname);
		recipients_refresh();
		while (b->n < LOCAL_BATCH && (m = TAILQ_FIRST(&ready_local))) {
			TAILQ_REMOVE(&ready_local, m, ready);
			m->in_ready = 0;
			m->busy = 1;
			heap_remove(m);
			b->msgs[b->n++] = m;
			buf_printf(&job, "msg %s %lld %llu %llu <%s>%s\n",
			    m->env.qid, (long long)m->env.time,
			    (unsigned long long)m->env.data_off,
			    (unsigned long long)m->env.size, m->env.from,
			    m->recovered ? " recovered" : "");
			for (i = 0; i < m->env.nrcpt; i++) {
				struct rcpt *r = &m->env.rcpts[i];
				if (r->state != RS_QUEUED ||
				    r->next > time(NULL) ||
				    !sched_is_local(r->addr))
					continue;
				if (resolve_maildir(ctx->conf,
				    recipients_users(), r->addr, path,
				    sizeof(path)) == -1)
					str_copy(path, "-", sizeof(path));
				r->inflight = 1;
				buf_printf(&job, "rcpt %zu %s %s\n", i, r->addr,
				    path);
			}
		}
		buf_addstr(&job, "end\n");
		local_agents++;
		if (agent_spawn(ctx->event, local_prog, ctx->spool->queue, &job,
		    LOCAL_TIMEOUT, &local_ops, b) == NULL) {
			buf_free(&job);
			for (i = 0; i < b->n; i++) {
				struct qmsg *q = b->msgs[i];
				size_t k;
				for (k = 0; k < q->env.nrcpt; k++)
					if (q->env.rcpts[k].inflight)
						apply(q, &q->env.rcpts[k],
						    STATUS_TEMP, NULL, "451 4.3.0 "
						    "Cannot run the local agent",
						    "local");
				q->busy = 0;
				finish(q);
			}
			free(b->msgs);
			free(b);
			local_agents--;
			break;
		}
	}
}

void
sched_init(struct queued_ctx *c)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	ctx = c;
	/* the agents live beside queued's own executable */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	if (str_fmt(local_prog, sizeof(local_prog), "%s/pombo-local", self) == -1)
		fatalx("path of pombo-local too long");
	if (access(local_prog, X_OK) == -1)
		fatal("%s", local_prog);
	if (sd_event_add_time(c->event, &timer, CLOCK_REALTIME, UINT64_MAX, 0,
	    on_timer, NULL) < 0)
		fatalx("scheduler timer");
	sd_event_source_set_enabled(timer, SD_EVENT_OFF);
}

void
sched_stop(void)
{
	agent_kill_all();
}
