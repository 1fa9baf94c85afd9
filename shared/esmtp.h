/*
 * esmtp: the arguments of MAIL and RCPT (RFC 5321 4.1.1.2-3) with their
 * ESMTP parameters: SIZE (1870), BODY (6152), SMTPUTF8 (6531), RET, ENVID,
 * NOTIFY, ORCPT (3461), AUTH (4954). Used by smtpd and again by queued,
 * which trusts nothing smtpd sends. Pure functions.
 */
#ifndef POMBO_ESMTP_H
#define POMBO_ESMTP_H

#include <stdint.h>

#include "addr.h"

#define ESMTP_ENVID_MAX	100	/* RFC 3461 4.4 */
#define ESMTP_ORCPT_MAX	500	/* RFC 3461 4.2 */
#define ESMTP_MAX_HOPS	100	/* Received: lines: a loop, RFC 5321 6.3 */

enum esmtp_body { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME };
enum esmtp_ret { RET_NONE = 0, RET_FULL, RET_HDRS };

enum {
	NOTIFY_NEVER	= 1 << 0,
	NOTIFY_SUCCESS	= 1 << 1,
	NOTIFY_FAILURE	= 1 << 2,
	NOTIFY_DELAY	= 1 << 3,
};

struct mail_args {
	struct addr	from;
	uint64_t	size;		/* 0: not given */
	enum esmtp_body	body;
	enum esmtp_ret	ret;
	int		smtputf8;
	char		envid[ESMTP_ENVID_MAX + 1];
};

struct rcpt_args {
	struct addr	to;
	unsigned	notify;		/* 0: not given */
	char		orcpt[ESMTP_ORCPT_MAX + 1];
};

/* A parse failure: the reply code and "x.y.z text" to send. */
struct esmtp_err {
	int		code;
	const char	*msg;
};

/*
 * arg is what follows the verb: "FROM:<a@b> SIZE=10". With esmtp == 0
 * (HELO session) any parameter is refused.
 */
int esmtp_parse_mail(const char *arg, int esmtp, struct mail_args *out,
    struct esmtp_err *err);
int esmtp_parse_rcpt(const char *arg, int esmtp, int smtputf8,
    struct rcpt_args *out, struct esmtp_err *err);

/* Print back the parameters, as the queue protocol carries them. */
int esmtp_format_mail(const struct mail_args *m, char *buf, size_t len);
int esmtp_format_rcpt(const struct rcpt_args *r, char *buf, size_t len);
int esmtp_xtext_valid(const char *s);
/* One esmtp-value (RFC 5321 4.1.2): no blank, no '=', no control. */
int esmtp_value_valid(const char *v);
/* RFC 3461 4: xtext of an address; -1 if it does not fit. */
int esmtp_xtext_encode(const char *in, char *out, size_t len);
const char *esmtp_notify_str(unsigned notify, char *buf, size_t len);

#endif
