/*
 * envelope: a message's envelope in memory, and its two on-disk forms
 * (the queue file's header, the state file) as SPOOL.md describes them.
 * Used by queued's spool and scheduler; the parsers are pure and fuzzed,
 * and re-validate every address as if smtpd had never checked it.
 */
#ifndef POMBO_ENVELOPE_H
#define POMBO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "esmtp.h"
#include "qid.h"
#include "str.h"

#define ENVELOPE_MAGIC		"POMBO-QUEUE 1\n"
#define ENVELOPE_STATE_MAGIC	"POMBO-STATE 1\n"
#define ENVELOPE_ERROR_MAX	512
/* "length" in a queue file: the message's octets, zero-padded so that
 * the writer can fill it in once the message is in (one pwrite) */
#define ENVELOPE_LENGTH_DIGITS	18
/* "sum crc32c:<8 hex digits>": the message's CRC-32C, filled in like
 * the length, checked by the agents before they deliver (SPOOL.md) */
#define ENVELOPE_SUM_PREFIX	"sum crc32c:"
#define ENVELOPE_SUM_DIGITS	8

enum rcpt_state {
	RS_QUEUED	= 'q',
	RS_DELIVERED	= 'd',
	RS_FAILED	= 'f',
};

enum {
	ENV_HOLD	= 1 << 0,	/* an admin held it: no deliveries */
	ENV_WARNED	= 1 << 1,	/* the delay notice was sent */
	ENV_STATE	= 1 << 2,	/* state/<qid> exists (in memory only) */
	ENV_DOUBLE	= 1 << 3,	/* a double bounce: never bounced (queue
					   file, "flags double-bounce") */
	ENV_LENGTH	= 1 << 4,	/* size is the queue file's "length"
					   line, not what the file had (older
					   files have none) */
	ENV_VERIFIED	= 1 << 5,	/* checked by pombo-verify: the queue
					   file has a "junk" line */
	ENV_JUNK	= 1 << 6,	/* "junk 1": for the Junk folder */
	ENV_SUM		= 1 << 7,	/* the queue file has a "sum" line
					   (older files have none); sum is
					   its value once committed */
};

struct dest;

struct rcpt {
	char		*addr;		/* mailbox: "bob@example.com" */
	char		*params;	/* " NOTIFY=... ORCPT=..." or "" */
	char		 state;		/* enum rcpt_state */
	uint32_t	 attempts;
	int64_t		 next;		/* next attempt, unix seconds */
	char		*error;		/* last error, NULL if none */
	int		 notify;	/* a DSN is owed, not yet queued: 'f'ailed,
					   'd'elivered, 'r'elayed, 'w' delayed */
	/* in memory only */
	unsigned	 inflight;	/* its agent job's serial, 0 if none */
	int		 ready;		/* waiting in its destination's queue */
	struct dest	*dest;		/* where it goes (scheduler) */
};

struct envelope {
	char		 qid[QID_LEN + 1];
	int64_t		 time;
	char		*client;	/* queue protocol HELO argument */
	char		*from;		/* reverse-path, without brackets */
	char		*from_params;	/* " SIZE=... BODY=..." or "" */
	size_t		 nrcpt;
	struct rcpt	*rcpts;
	uint64_t	 data_off;	/* where the message starts */
	uint64_t	 size;		/* message octets (LF form) */
	uint32_t	 sum;		/* their CRC-32C (ENV_SUM) */
	unsigned	 flags;
};

void envelope_init(struct envelope *e);
void envelope_free(struct envelope *e);
/* Parse "<path> params" from MAIL/RCPT into the envelope. 0 or -1. */
int envelope_set_from(struct envelope *e, const char *arg);
int envelope_add_rcpt(struct envelope *e, const char *arg);
/*
 * Add addr, one address the recipient orig expanded to (aliases), with
 * the client's RCPT parameters r (NULL: none). An expanded address
 * remembers orig as its ORCPT (RFC 3461 4.2); a duplicate is added once.
 */
int envelope_add_expanded(struct envelope *e, const char *addr,
    const char *orig, const struct rcpt_args *r);

/*
 * The queue file header, through "data\n", with e->size as its length
 * (0 while the message is still to come: see envelope_length_digits).
 */
int envelope_format(const struct envelope *e, struct buf *out);
/*
 * The length line's digits for size, and where they are in a queue file
 * whose message starts at data_off (they come just before "data\n").
 */
void envelope_length_digits(uint64_t size,
    char out[ENVELOPE_LENGTH_DIGITS + 1]);
uint64_t envelope_length_offset(uint64_t data_off);
/*
 * The sum line's digits for sum, and where they are (the "sum" line is
 * just before "length"; with ENV_SUM only).
 */
void envelope_sum_digits(uint32_t sum, char out[ENVELOPE_SUM_DIGITS + 1]);
uint64_t envelope_sum_offset(uint64_t data_off);
/* Where the digit of the "junk" line is (just before "sum", or before
 * "length" in a file without it: flags, ENV_SUM or not). */
uint64_t envelope_junk_offset(uint64_t data_off, unsigned flags);
/*
 * Parse a header from text; len may extend into the message. Sets
 * e->data_off. Returns 0, -1 on a malformed header (err says why), or 1
 * when "data\n" was not found within len (read more).
 */
int envelope_parse(struct envelope *e, const char *text, size_t len,
    char *err, size_t errlen);

int envelope_format_state(const struct envelope *e, struct buf *out);
/* Apply a state file to a parsed envelope. */
int envelope_parse_state(struct envelope *e, const char *text, size_t len,
    char *err, size_t errlen);

/* A recipient's NOTIFY bits (0: not given). */
unsigned rcpt_notify(const struct rcpt *r);
/* Its ORCPT as "rfc822; addr" (xtext decoded); -1 if none. */
int rcpt_orcpt(const struct rcpt *r, char *buf, size_t len);

/* Recipients still to deliver. */
size_t envelope_pending(const struct envelope *e);

#endif
