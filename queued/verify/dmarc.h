/*
 * dmarc: the DMARC check of RFC 7489 (libopendmarc: record parsing,
 * identifier alignment, the organizational domain from the public
 * suffix list), from the SPF and DKIM results already known; the
 * policy records are asked through the agent's c-ares channel. Used by
 * pombo-verify's main.
 */
#ifndef POMBO_VERIFY_DMARC_H
#define POMBO_VERIFY_DMARC_H

#include "addr.h"
#include "dkimv.h"
#include "result.h"
#include "spf.h"

#ifndef DMARC_PSL_FILE
#define DMARC_PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"
#endif

enum dmarc_action { DMARC_ACT_NONE, DMARC_ACT_QUARANTINE, DMARC_ACT_REJECT };

struct dmarc_result {
	enum result		 res;
	enum dmarc_action	 action;	/* the policy a failure calls for */
	char			 from[ADDR_DOMAIN_MAX + 1];	/* header.from */
	char			 policy[32];	/* "reject", "quarantine", "none" */
	char			 why[128];
};

/*
 * from: the From: domain ("" if the message has no single one). spf:
 * the MAIL FROM (or, for <>, HELO) result; helo_origin says which.
 */
void dmarc_check(const char *from, const struct spf_result *spf,
    int helo_origin, const struct dkimv *dkim, struct dmarc_result *out);

#endif
