/*
 * stats: what pombo-queue stats reports: the queue's messages by state
 * and destination, and the recipients delivered, bounced and deferred
 * in the last hour, counted in memory (zero again when queued starts).
 * Used by the scheduler (counting) and queued's connections (STATS).
 */
#ifndef POMBO_STATS_H
#define POMBO_STATS_H

#include <stdint.h>

#include "str.h"

enum stats_outcome {
	STATS_DELIVERED,
	STATS_BOUNCED,		/* failed for good: refused, or expired */
	STATS_DEFERRED,		/* failed for now, to be tried again */
	STATS_NOUTCOMES
};

/* The domains of the STATS reply: those with the most recipients. */
#define STATS_DESTS_MAX		100

/* Counting starts (queued's start). */
void stats_init(int64_t now);
void stats_count(enum stats_outcome o, int64_t now);
/* Outcomes in the last 60 minutes, by whole minutes (this one in). */
unsigned long long stats_last_hour(enum stats_outcome o, int64_t now);
/*
 * The STATS reply lines but the last ("250-<name> <value>...", see
 * stats.c) for the queue as it is now. 0, or -1 if out could not hold
 * them.
 */
int stats_format(struct buf *out, int64_t now);

#endif
