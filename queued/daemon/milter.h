/*
 * milter: queued's client of mail filters (the Sendmail/Postfix milter
 * protocol, version 6) on sd-event: one connection per filter per SMTP
 * session, driven step by step by the caller, each step answered
 * through a callback; a chain runs several filters in order. Used by
 * queued's connections (and its test driver); it trusts no filter:
 * one that is down, slow or speaks nonsense gets milter_default_action.
 */
#ifndef POMBO_MILTER_H
#define POMBO_MILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <systemd/sd-event.h>

#include "conf.h"
#include "milter_edit.h"
#include "milter_proto.h"

enum milter_verdict {
	MILTER_CONTINUE,	/* go on */
	MILTER_ACCEPT,		/* go on; the filter wants no more of this
				 * message (of the session, at CONNECT/HELO) */
	MILTER_REJECT,		/* refuse with reply (5xx) */
	MILTER_TEMPFAIL,	/* refuse with reply (4xx) */
	MILTER_DISCARD,		/* say 250, then drop the message */
};

/* What one step came to. */
struct milter_result {
	enum milter_verdict	 verdict;
	/* REJECT, TEMPFAIL: the SMTP reply to give, lines split by CRLF:
	 * the filter's own (custom = 1), checked well-formed, or ours */
	char			 reply[MILTER_REPLY_MAX + 1];
	int			 custom;
	/* the filter failed (down, timeout, garbage): the verdict is the
	 * default action, for this step and every later one */
	int			 failed;
	/* EOM with CONTINUE or ACCEPT: the changes asked for (the
	 * quarantine reason among them), valid until the next step or free;
	 * NULL at other steps */
	const struct milter_mods *mods;
};

typedef void milter_cb(void *arg, const struct milter_result *r);

struct milter_opts {
	enum milter_verdict	 default_action;	/* ACCEPT (go on),
							 * REJECT or TEMPFAIL */
	uint64_t		 connect_usec;	/* connecting */
	uint64_t		 command_usec;	/* OPTNEG .. DATA */
	uint64_t		 content_usec;	/* headers, body, EOM */
	size_t			 body_max;	/* a replacement body */
};

/* The options from pombo.conf (milter_* keys). */
void milter_opts_conf(struct milter_opts *o, const struct conf *c);

/*
 * unix:/path (or local:/path), inet:host:port, inet6:host:port,
 * inet:[v6]:port (sockspec.h); host a numeric address, localhost, or a
 * name milter_resolve looked up. 0, or -1 if malformed or unknown.
 */
int milter_parse_spec(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len);
/* Look up the filters' host names now (blocking: at start). */
void milter_resolve(const struct conf *c);

struct milter;

/* Nothing is connected until milter_connect. NULL: spec malformed. */
struct milter *milter_new(sd_event *e, const char *spec,
    const struct milter_opts *o, milter_cb *cb, void *arg);
/* Say QUIT and close; no callback comes after this. */
void milter_free(struct milter *m);
/*
 * The macros the filter gets (j, {daemon_name}, i, {auth_authen},
 * {client_addr}, {client_name}, {mail_addr}, {rcpt_addr},
 * {tls_version}, {cipher}); NULL unsets. The connect, MAIL and RCPT
 * steps set {client_*}, {mail_addr} and {rcpt_addr} themselves. Each
 * stage sends those the filter asked for in its negotiation, else a
 * fixed set (MILTER_M_* in milter.c).
 */
void milter_set_macro(struct milter *m, const char *name, const char *value);

/*
 * The steps, in the SMTP session's order; each returns 0 and its result
 * comes through the callback, later (never from inside the call), or -1
 * when called while another step waits for its answer. A step the
 * filter negotiated away, or asked not to answer, gets CONTINUE.
 * A REJECT or TEMPFAIL at CONNECT or HELO holds for the session: the
 * caller refuses what follows (the filter answers ACCEPT from then on);
 * one at MAIL, or a DISCARD, holds for the message; one at RCPT for
 * that recipient only.
 * connect opens the connection and negotiates first: addr is the
 * client's address text, "" for a local one (then port is ignored).
 */
int milter_connect(struct milter *m, const char *host, const char *addr,
    unsigned port);
int milter_helo(struct milter *m, const char *helo);
/* args[0]: "<sender>"; then the ESMTP arguments, one per string. */
int milter_mail(struct milter *m, const char *const *args, size_t n);
int milter_rcpt(struct milter *m, const char *const *args, size_t n);
int milter_data(struct milter *m);
/* value: what follows the colon, as in the message (LF line ends). */
int milter_header(struct milter *m, const char *name, const char *value);
int milter_eoh(struct milter *m);
/* LF line ends (sent as CRLF), in chunks of MILTER_CHUNK_MAX at most;
 * len at most MILTER_BODY_CALL_MAX. */
#define MILTER_BODY_CALL_MAX	(1024 * 1024)
int milter_body(struct milter *m, const void *data, size_t len);
int milter_eom(struct milter *m);
/* The message is over without EOM (RSET, refused, client gone): the
 * filter forgets it. No callback; a step waiting is cancelled. */
void milter_abort(struct milter *m);

/*
 * A chain: the milters of pombo.conf in order, like Postfix: a step
 * goes to each filter that still wants the message; a REJECT, TEMPFAIL
 * or DISCARD ends it; at EOM the changes of all are put together in
 * order (unless milter_chain_only gives the content to one filter at
 * a time). The same step functions and callback.
 */
struct milter_chain;
struct milter_chain *milter_chain_new(sd_event *e, const struct conf *c,
    milter_cb *cb, void *arg);
void milter_chain_free(struct milter_chain *ch);
size_t milter_chain_count(const struct milter_chain *ch);
/*
 * The steps from now on go to filter i alone (SIZE_MAX: to all again):
 * the content, filter after filter, each over the message as the ones
 * before it changed it, as Postfix does.
 */
void milter_chain_only(struct milter_chain *ch, size_t i);
void milter_chain_set_macro(struct milter_chain *ch, const char *name,
    const char *value);
int milter_chain_connect(struct milter_chain *ch, const char *host,
    const char *addr, unsigned port);
int milter_chain_helo(struct milter_chain *ch, const char *helo);
int milter_chain_mail(struct milter_chain *ch, const char *const *args,
    size_t n);
int milter_chain_rcpt(struct milter_chain *ch, const char *const *args,
    size_t n);
int milter_chain_data(struct milter_chain *ch);
int milter_chain_header(struct milter_chain *ch, const char *name,
    const char *value);
int milter_chain_eoh(struct milter_chain *ch);
int milter_chain_body(struct milter_chain *ch, const void *data, size_t len);
int milter_chain_eom(struct milter_chain *ch);
/* The filters from the one milter_chain_only chose on (all, if none). */
void milter_chain_abort(struct milter_chain *ch);

#endif
