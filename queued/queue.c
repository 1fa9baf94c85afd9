/*
 * queue: a list in arrival order; admin lookups walk it, which is fine
 * for commands an admin types. Scheduling keeps its own index.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"

static struct qmsg_list queue_list;
static size_t queue_n;

void
queue_init(void)
{
	TAILQ_INIT(&queue_list);
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
	queue_n++;
	return m;
}

void
queue_remove(struct qmsg *m)
{
	TAILQ_REMOVE(&queue_list, m, entry);
	queue_n--;
	envelope_free(&m->env);
	free(m);
}

struct qmsg *
queue_find(const char *qid)
{
	struct qmsg *m;

	TAILQ_FOREACH(m, &queue_list, entry)
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
	size_t i;

	if (buf_printf(out, "250-msg %s %lld %llu %s <%s>\n", e->qid,
	    (long long)e->time, (unsigned long long)e->size,
	    e->flags & ENV_HOLD ? "held" : m->busy ? "active" : "queued",
	    e->from) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct rcpt *r = &e->rcpts[i];
		if (buf_printf(out, "250-rcpt %c %u %lld <%s>%s%s\n", r->state,
		    r->attempts, (long long)r->next, r->addr,
		    r->error ? " " : "", r->error ? r->error : "") == -1)
			return -1;
	}
	return 0;
}
