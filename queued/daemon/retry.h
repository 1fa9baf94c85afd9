/*
 * retry: the retry schedule, a pure function of the time, the message's
 * arrival and the configuration (retry_interval, queue_lifetime). Used
 * by the scheduler; tested with a table.
 */
#ifndef POMBO_RETRY_H
#define POMBO_RETRY_H

#include <stdint.h>

/*
 * When to try again after a temporary failure at now: every interval,
 * with one last attempt at the end of the lifetime rather than after it.
 */
int64_t retry_next(int64_t now, int64_t arrival, unsigned interval,
    unsigned lifetime);
/* Has the message outlived its lifetime (a failure now is final)? */
int retry_expired(int64_t now, int64_t arrival, unsigned lifetime);

#endif
