/*
 * policy_proto: Postfix's policy delegation protocol (SMTPD_POLICY_README):
 * the request queued writes, the reply a policy server sends back, its
 * action and how the actions of several servers add up. Used by queued's
 * policy client; pure functions: the server's bytes are trusted in nothing.
 */
#ifndef POMBO_POLICY_PROTO_H
#define POMBO_POLICY_PROTO_H

#include <stddef.h>

#include "str.h"

#define POLICY_VALUE_MAX	1024	/* octets of one request value */
#define POLICY_LINE_MAX		2048	/* a reply line (Postfix's line_limit) */
#define POLICY_REPLY_MAX	8192	/* a whole reply */
#define POLICY_ATTRS_MAX	64	/* lines of one reply */
#define POLICY_TEXT_MAX		400	/* text of a reply to the client */
#define POLICY_HEADER_MAX	998	/* a PREPENDed field (RFC 5322 2.1.1) */

struct policy_attr {
	const char	*name;
	const char	*value;		/* NULL: sent empty */
};

/*
 * "name=value\n" for each, then the empty line. A value is cut at
 * POLICY_VALUE_MAX and its control octets become '?': no value may end
 * the line or the request early. -1: out of room in out.
 */
int policy_proto_encode(struct buf *out, const struct policy_attr *a,
    size_t n);

struct policy_reply {
	char	action[POLICY_LINE_MAX + 1];
};

/*
 * A reply in buf[0..len): 1 and its length in *used once its empty line
 * is there; 0 while more is needed; -1 if it is no reply (a line without
 * '=', a NUL, no or two action attributes, too long, too many lines).
 * Other attributes are ignored, as Postfix does.
 */
int policy_proto_parse_reply(const char *buf, size_t len,
    struct policy_reply *out, size_t *used);

enum policy_kind {
	PA_OK,			/* accept, ask no further */
	PA_DUNNO,		/* no opinion: the next server */
	PA_REFUSE,		/* REJECT, DEFER, 4xx/5xx: code, dsn, text */
	PA_DEFER_IF_PERMIT,	/* 450 unless a later answer refuses */
	PA_DEFER_IF_REJECT,	/* a later 5xx becomes 450 */
	PA_PREPEND,		/* text is a header field; continue */
	PA_HOLD,		/* hold the message; continue */
	PA_DISCARD,		/* accept and drop the message */
	PA_IGNORED,		/* an action Pombo does not do: as DUNNO */
	PA_BAD,			/* not an action: 451 4.3.5 */
};

struct policy_action {
	enum policy_kind kind;
	int		 code;			/* PA_REFUSE, PA_DEFER_IF_* */
	char		 dsn[16];		/* "5.7.1" */
	char		 text[POLICY_HEADER_MAX + 1];	/* given, or empty */
	char		 name[32];		/* PA_IGNORED: the keyword */
	int		 numeric;	/* "4xx/5xx text": the text as given */
};

/* The action attribute's value: what it asks for. Always fills out. */
void policy_proto_action(const char *action, struct policy_action *out);

/*
 * What several servers' answers make, asked in order (Postfix's
 * restriction list): step takes each; 1 when the answer is final.
 */
struct policy_chain {
	int		 done;
	int		 accept;	/* once done: 1 accepted, 0 refused */
	int		 hold, discard;
	char		 reply[POLICY_TEXT_MAX + 128];	/* done && !accept */
	struct policy_action defer_if_permit, defer_if_reject;
	int		 dip, dir;
};

void policy_chain_init(struct policy_chain *ch);
/*
 * One server's action; what the reply refuses names who ("<rcpt>") and
 * what ("Recipient address"). A PREPEND is returned to the caller: it
 * keeps the field if the chain accepts.
 */
int policy_chain_step(struct policy_chain *ch, const struct policy_action *a,
    const char *who, const char *what);
/* No server had the last word: accepted, or the pending DEFER_IF_PERMIT. */
void policy_chain_finish(struct policy_chain *ch, const char *who,
    const char *what);

#endif
