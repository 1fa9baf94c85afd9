/* stats: the per-minute ring of the last hour, and the STATS lines. */
#include <criterion/criterion.h>
#include <string.h>

#include "queue.h"
#include "stats.h"

#define T0	1800000000LL	/* a minute's start */

Test(stats, last_hour)
{
	int i;

	stats_init(T0);
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0), 0);
	stats_count(STATS_DELIVERED, T0);
	stats_count(STATS_DELIVERED, T0 + 59);
	stats_count(STATS_BOUNCED, T0 + 60);
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0 + 60), 2);
	cr_expect_eq(stats_last_hour(STATS_BOUNCED, T0 + 60), 1);
	cr_expect_eq(stats_last_hour(STATS_DEFERRED, T0 + 60), 0);
	/* T0's minute is in the hour up to T0 + 59m59s, out after */
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0 + 3599), 2);
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0 + 3600), 0);
	cr_expect_eq(stats_last_hour(STATS_BOUNCED, T0 + 3600), 1);
	/* its slot comes round again: emptied, then counted anew */
	stats_count(STATS_DELIVERED, T0 + 3600);
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0 + 3600), 1);
	/* a clock set back: a bucket of the future is not counted */
	cr_expect_eq(stats_last_hour(STATS_DELIVERED, T0 + 100), 0);
	/* one a minute for two hours: the last 60 count */
	stats_init(T0);
	for (i = 0; i < 120; i++)
		stats_count(STATS_DEFERRED, T0 + 60 * i + 30);
	cr_expect_eq(stats_last_hour(STATS_DEFERRED, T0 + 60 * 119 + 59), 60);
	cr_expect_eq(stats_last_hour(STATS_DEFERRED, T0 + 60 * 200), 0);
}

static struct qmsg *
add(const char *from, const char *const *rcpts, int64_t t)
{
	struct envelope e;
	char arg[300];

	envelope_init(&e);
	cr_assert_eq(envelope_set_from(&e, from), 0);
	for (; *rcpts; rcpts++) {
		snprintf(arg, sizeof(arg), "<%s>", *rcpts);
		cr_assert_eq(envelope_add_rcpt(&e, arg), 0);
	}
	snprintf(e.qid, sizeof(e.qid), "%012lld", (long long)t);
	e.time = t;
	return queue_add(&e);
}

Test(stats, format)
{
	static const char *const r1[] = { "a@far.test", "b@FAR.test",
	    "c@near.test", NULL };
	static const char *const r2[] = { "d@far.test", NULL };
	static const char *const r3[] = { "e@near.test", NULL };
	struct qmsg *m1, *m2, *m3;
	struct buf b;

	queue_init();
	stats_init(T0);
	m1 = add("<x@example.test>", r1, T0 + 10);
	m2 = add("<x@example.test>", r2, T0 + 5);
	m3 = add("<>", r3, T0 + 20);
	m1->env.rcpts[2].state = RS_DELIVERED;	/* near.test: done */
	m2->env.flags |= ENV_HOLD;
	m3->env.rcpts[0].attempts = 1;		/* deferred */
	stats_count(STATS_DELIVERED, T0 + 30);
	buf_init(&b, 1 << 20);
	cr_assert_eq(stats_format(&b, T0 + 60), 0);
	cr_assert_not_null(buf_cstr(&b));
	cr_expect_str_eq(buf_cstr(&b),
	    "250-messages 3\n"
	    "250-state active 0\n"
	    "250-state deferred 1\n"
	    "250-state held 1\n"
	    "250-state waiting 1\n"
	    "250-oldest 1800000005\n"
	    "250-since 1800000000\n"
	    "250-hour delivered 1\n"
	    "250-hour bounced 0\n"
	    "250-hour deferred 0\n"
	    "250-dest far.test 2 3\n"
	    "250-dest near.test 1 1\n");
	buf_free(&b);
}
