/*
 * tlsrpt: SMTP TLS reporting (RFC 8460) on queued's side. The remote
 * agents report each TLS session of a domain that wants reports; queued
 * appends them to spool_dir/tlsrpt/<YYYY-MM-DD> (UTC), and once a day
 * turns each finished day into one aggregate report per domain, mailed
 * to the domain's rua addresses through the queue. Used by the scheduler
 * and the admin's "pombo-queue tls-reports". The agents' lines are
 * parsed again (job_tls_parse) before they are kept or counted.
 */
#ifndef POMBO_TLSRPT_H
#define POMBO_TLSRPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "conn.h"
#include "job.h"
#include "spool.h"
#include "str.h"

#define TLSRPT_DOMAINS_MAX	10000	/* per day; more are not counted */
#define TLSRPT_DETAILS_MAX	100	/* failure groups per policy */

struct tlsrpt_fail {
	char		 result[32];
	char		 mx[ADDR_DOMAIN_MAX + 1];
	char		 ip[64];
	unsigned long	 n;
};

struct tlsrpt_pol {
	int		 used;
	unsigned long	 ok, failed;
	struct tlsrpt_fail *fails;	/* up to TLSRPT_DETAILS_MAX groups */
	size_t		 nfail;
};

struct tlsrpt_dom {
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 rua[JOB_TLS_RUA_MAX + 1];	/* the last seen */
	struct tlsrpt_pol pol[JOB_TLS_NPOLICY];	/* by enum job_tls_policy */
};

struct tlsrpt_day {
	struct tlsrpt_dom *doms;
	size_t		 ndom;
};

/* The lines of a day file into d (bad lines are skipped): 0, -1 (memory). */
int tlsrpt_day_parse(const char *text, size_t len, struct tlsrpt_day *d);
void tlsrpt_day_free(struct tlsrpt_day *d);
/*
 * RFC 8460 4's JSON for one domain of the day, from start to end (unix
 * seconds); policy: the domain's MTA-STS policy text, for its sts
 * entry (NULL: not known). 0, or -1 if out's limit was reached.
 */
int tlsrpt_json(const struct tlsrpt_dom *d, const char *submitter,
    int64_t start, int64_t end, const char *policy, size_t policylen,
    int64_t now, struct buf *out);
/* The report mail (RFC 8460 5.3) to one rua address, its JSON gzip'd. */
int tlsrpt_message(const struct tlsrpt_dom *d, const char *submitter,
    int64_t start, int64_t end, int64_t now, const char *to,
    const struct buf *json, struct buf *out);

/* Count one session (an agent's line) in today's file. */
void tlsrpt_record(struct spool *sp, const struct job_tls *t, int64_t now);
/*
 * Mail the reports of every finished day (all: today's so far too), and
 * remove their files. Returns how many reports were queued.
 */
int tlsrpt_send(struct queued_ctx *ctx, int64_t now, int all);
/* An hourly look for finished days (the first a minute after start). */
void tlsrpt_init(struct queued_ctx *ctx);

#endif
