/* retry: the schedule as a table (interval 30m, lifetime 4d). */
#include <criterion/criterion.h>

#include "retry.h"

Test(retry, table)
{
	static const struct {
		int64_t now, arrival, next;
		int expired;
	} t[] = {
		{ 1000, 1000, 1000 + 1800, 0 },			/* first try */
		{ 5000, 1000, 5000 + 1800, 0 },
		{ 1000 + 345600 - 100, 1000, 1000 + 345600, 0 },	/* pulled in */
		{ 1000 + 345600, 1000, 1000 + 345600, 1 },	/* at the end */
		{ 1000 + 400000, 1000, 1000 + 400000, 1 },	/* past it */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(retry_next(t[i].now, t[i].arrival, 1800, 345600),
		    t[i].next, "case %zu", i);
		cr_expect_eq(retry_expired(t[i].now, t[i].arrival, 345600),
		    t[i].expired, "case %zu", i);
	}
	/* retry_interval = 2s, as the tests use it */
	cr_expect_eq(retry_next(100, 90, 2, 60), 102);
}
