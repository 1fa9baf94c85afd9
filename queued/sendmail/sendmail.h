/*
 * sendmail: what pombo-sendmail does to a message from a local program
 * before it queues it: the header fields it may lack (Date:, Message-ID:,
 * From:), addresses without a domain in the header given the hostname,
 * recipients from To/Cc/Bcc for -t, Bcc: removed, and the
 * traditional "." line ending the input unless -i. Used by
 * pombo-sendmail; pure functions over a buffer, tested alone.
 */
#ifndef POMBO_SENDMAIL_H
#define POMBO_SENDMAIL_H

#include <stddef.h>

#include "str.h"

struct sendmail_opts {
	const char	*hostname;
	const char	*sender;	/* envelope sender, "" for <> */
	const char	*from;		/* From: to add, if it is missing */
	const char	*qid_hint;	/* unique part for Message-ID */
	long long	 now;
};

/*
 * Read a message from fd into msg with LF line ends (CRLF converted), up
 * to max octets; a line of one "." ends it unless ignore_dots. Returns 0,
 * -1 on read error, -2 over max.
 */
int sendmail_read(int fd, int ignore_dots, size_t max, struct buf *msg);
/*
 * Complete the header: add missing Date:, Message-ID:, From:; drop Bcc:
 * when drop_bcc; "@hostname" for the addresses without a domain in the
 * address fields (From, Sender, Reply-To, To, Cc and Resent-*). The header ends at the empty line or at the first line
 * that is not a field; the body is kept as it was, after an empty line.
 * The result goes to out.
 */
int sendmail_fix_header(const struct buf *msg, const struct sendmail_opts *o,
    int drop_bcc, struct buf *out);
/*
 * Recipients of To:, Cc: and Bcc: for -t; cb as in rfc5322_addresses.
 * An address without a domain ("To: root") gets domain, if not NULL.
 */
int sendmail_header_rcpts(const struct buf *msg, const char *domain,
    int (*cb)(const char *, void *), void *ctx, char *err, size_t errlen);
/*
 * A recipient or sender as given on the command line, into out: a user
 * name alone ("root", as cron and mail(1) pass it) becomes user@domain.
 * Returns -1 if it does not fit.
 */
int sendmail_qualify(const char *addr, const char *domain, char *out,
    size_t len);

#endif
