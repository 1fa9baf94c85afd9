/*
 * mtasts_policy: the texts of MTA-STS (RFC 8461): the _mta-sts TXT record
 * (3.1), the policy file fetched over HTTPS (3.2), and the matching of an
 * MX host against the policy's mx patterns (4.1). Used by pombo-remote.
 * Pure functions; they trust nothing in their input (it comes from DNS
 * and from a web server).
 */
#ifndef POMBO_MTASTS_POLICY_H
#define POMBO_MTASTS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define MTASTS_ID_MAX		32		/* RFC 8461 3.1: 1*32 */
#define MTASTS_POLICY_MAX	(64 * 1024)	/* larger: refused */
#define MTASTS_MX_MAX		64
#define MTASTS_MAX_AGE_MAX	31557600	/* RFC 8461 3.2: a year */

enum mtasts_mode { MTASTS_NONE, MTASTS_TESTING, MTASTS_ENFORCE };

struct mtasts_policy {
	enum mtasts_mode mode;
	uint32_t	 max_age;	/* seconds */
	size_t		 nmx;
	/* lowercased, "*." kept for a wildcard */
	char		 mx[MTASTS_MX_MAX][ADDR_DOMAIN_MAX + 3];
};

/*
 * One TXT record of _mta-sts.<domain>: 0 if it is no STS record (it
 * does not begin with v=STSv1, RFC 8461 3.1: such records are
 * discarded), 1 with its id if it is a valid one, -1 if it begins so
 * but does not parse.
 */
int mtasts_txt_parse(const char *txt, char id[MTASTS_ID_MAX + 1]);
/*
 * The policy file (not NUL-terminated): 0, or -1 with why. Unknown
 * fields are ignored (RFC 8461 3.2); version, mode and max_age must be
 * there, and one mx at least unless the mode is none.
 */
int mtasts_policy_parse(const char *text, size_t len,
    struct mtasts_policy *p, char *why, size_t whylen);
/* Does host (an MX name, trailing dot or not) match one of p's mx? */
int mtasts_mx_match(const struct mtasts_policy *p, const char *host);
const char *mtasts_mode_name(enum mtasts_mode m);

#endif
