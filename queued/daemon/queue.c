/*
 * queue: a list in arrival order, and a hash by queue id for the
 * scheduler's and the admin commands' lookups.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"

#define QUEUE_BUCKETS 65536

static struct qmsg_list queue_list;
static size_t queue_n;
static struct qmsg **queue_hash;

static size_t
bucket(const char *qid)
{
	size_t h = 5381;

	for (; *qid; qid++)
		h = h * 33 + (unsigned char)*qid;
	return h % QUEUE_BUCKETS;
}

void
queue_init(void)
{
	TAILQ_INIT(&queue_list);
	if ((queue_hash = calloc(QUEUE_BUCKETS, sizeof(*queue_hash))) == NULL)
		fatal("queue_init");
}

struct qmsg *
queue_add(struct envelope *e)
{
	struct qmsg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("queue_add");
	m->env = *e;
	m->due = INT64_MAX;
	m->heap_idx = SIZE_MAX;
	envelope_init(e);
	TAILQ_INSERT_TAIL(&queue_list, m, entry);
	m->hnext = queue_hash[bucket(m->env.qid)];
	queue_hash[bucket(m->env.qid)] = m;
	queue_n++;
	return m;
}

void
queue_remove(struct qmsg *m)
{
	struct qmsg **pp;

	for (pp = &queue_hash[bucket(m->env.qid)]; *pp; pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	TAILQ_REMOVE(&queue_list, m, entry);
	queue_n--;
	envelope_free(&m->env);
	free(m->damaged);
	free(m);
}

struct qmsg *
queue_find(const char *qid)
{
	struct qmsg *m;

	for (m = queue_hash[bucket(qid)]; m; m = m->hnext)
		if (strcmp(m->env.qid, qid) == 0)
			return m;
	return NULL;
}

size_t
queue_count(void)
{
	return queue_n;
}

struct qmsg_list *
queue_all(void)
{
	return &queue_list;
}

int
queue_format(const struct qmsg *m, struct buf *out)
{
	const struct envelope *e = &m->env;
	char enc[ADDR_ENC_MAX + 1];
	size_t i;

	/* pombo-queue splits these lines at blanks: addresses encoded */
	if (addr_encode(e->from, enc, sizeof(enc)) == -1 ||
	    buf_printf(out, "250-msg %s %lld %llu %s <%s>\n", e->qid,
	    (long long)e->time, (unsigned long long)e->size,
	    m->deleted ? "deleting" : e->flags & ENV_HOLD ? "held" :
	    m->nagents ? "active" : "queued", enc) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct rcpt *r = &e->rcpts[i];
		if (addr_encode(r->addr, enc, sizeof(enc)) == -1 ||
		    buf_printf(out, "250-rcpt %c %u %lld <%s>%s%s\n", r->state,
		    r->attempts, (long long)r->next, enc,
		    r->error ? " " : "", r->error ? r->error : "") == -1)
			return -1;
		/* a notification owed, not yet queued (SPOOL.md's "notify"
		 * lines); a delay notice is moot once the recipient is done */
		if (r->notify && !(r->notify == 'w' && r->state != RS_QUEUED) &&
		    buf_printf(out, "250-notify %c\n", r->notify) == -1)
			return -1;
	}
	return 0;
}
