/*
 * spf: the SPF checks of RFC 7208 (libspf2) of the MAIL FROM and HELO
 * identities, every lookup through the agent's c-ares channel. Used by
 * pombo-verify's main. Trusts nothing from DNS; the client's address
 * and HELO name come from queued.
 */
#ifndef POMBO_VERIFY_SPF_H
#define POMBO_VERIFY_SPF_H

#include "addr.h"
#include "result.h"

struct spf_result {
	enum result	 res;
	char		 domain[ADDR_DOMAIN_MAX + 1];	/* the checked domain */
	char		 why[160];			/* a comment */
};

/*
 * Check ip (text) for the HELO identity helo and for the MAIL FROM
 * identity from ("" for <>: RFC 7208 2.4, postmaster@helo). 0, or -1
 * if libspf2 cannot start (both results temperror then).
 */
int spf_check(const char *ip, const char *helo, const char *from,
    struct spf_result *mfrom, struct spf_result *hres);

#endif
