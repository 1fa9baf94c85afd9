/*
 * retry: fixed intervals, as the configuration says; the last attempt is
 * pulled in to the deadline so a message bounces at queue_lifetime, not
 * up to one interval later.
 */
#include "config.h"

#include "retry.h"

int64_t
retry_next(int64_t now, int64_t arrival, unsigned interval, unsigned lifetime)
{
	int64_t next = now + interval, deadline = arrival + lifetime;

	if (next > deadline)
		next = deadline > now ? deadline : now;
	return next;
}

int
retry_expired(int64_t now, int64_t arrival, unsigned lifetime)
{
	return now >= arrival + (int64_t)lifetime;
}
