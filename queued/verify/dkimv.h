/*
 * dkimv: verification of a message's DKIM signatures (RFC 6376, RFC
 * 8463) with libopendkim, keys asked through the agent's c-ares channel.
 * Used by pombo-verify's main. Trusts nothing of the message or of DNS:
 * of any number of signatures, DKIMV_EVAL_MAX are evaluated, the From:
 * domain's first (RFC 6376 6.1: a verifier may limit them).
 */
#ifndef POMBO_VERIFY_DKIMV_H
#define POMBO_VERIFY_DKIMV_H

#include <stddef.h>

#include "addr.h"
#include "result.h"

#define DKIMV_EVAL_MAX	8

struct dkimv_sig {
	enum result	 res;
	char		 domain[ADDR_DOMAIN_MAX + 1];	/* d= */
	char		 selector[ADDR_DOMAIN_MAX + 1];	/* s= */
	char		 b[16];		/* the start of b= (RFC 6008) */
	char		 why[64];
};

struct dkimv {
	struct dkimv_sig sig[DKIMV_EVAL_MAX];
	size_t		 n;
	size_t		 ignored;	/* signatures left unevaluated */
};

/*
 * Verify the signatures of msg (LF line ends); from_domain ("" if
 * none) is preferred when there are too many. out->n == 0: no
 * signature (dkim=none). Never fails: errors are results.
 */
void dkimv_check(const char *msg, size_t len, const char *from_domain,
    struct dkimv *out);

#endif
