/*
 * result: the outcomes of RFC 8601 2.7 that the verify agent's checks
 * give (SPF, DKIM, DMARC alike), and their names in the header field.
 * Used by every file of pombo-verify.
 */
#ifndef POMBO_VERIFY_RESULT_H
#define POMBO_VERIFY_RESULT_H

enum result {
	RES_NONE, RES_PASS, RES_FAIL, RES_SOFTFAIL, RES_NEUTRAL,
	RES_TEMPERROR, RES_PERMERROR, RES_POLICY
};

static inline const char *
result_name(enum result r)
{
	static const char *const names[] = { "none", "pass", "fail",
	    "softfail", "neutral", "temperror", "permerror", "policy" };

	return names[r];
}

#endif
