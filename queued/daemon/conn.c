/*
 * conn: one state per connection (CS_*); every line gets exactly one
 * reply, in order. While a commit is under way the connection reads
 * nothing more, so pipelined input is answered after the 250, in order.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "conn.h"
#include "connpoll.h"
#include "crc32c.h"
#include "date.h"
#include "delegate.h"
#include "fileio.h"
#include "filter.h"
#include "listener.h"
#include "log.h"
#include "policy.h"
#include "qproto.h"
#include "queue.h"
#include "stats.h"
#include "verify.h"

/* chunk data streams through: the buffer needs to hold a line, not a chunk */
#define CONN_INSZ	(64 * 1024)
#define CONN_OUT_MAX	(256 * 1024 * 1024)
#define CONN_SLACK	(64 * 1024)	/* smtpd's Received: on top of the limit */
/*
 * Replies waiting for a peer that does not read them: beyond this much
 * nothing more is read from it until they are taken, so a local user
 * who sends commands and never reads cannot make queued hold their
 * replies (up to CONN_OUT_MAX on each of max_uid_connections).
 */
#define CONN_OUT_PAUSE	(64 * 1024)
/* a queue file this size or smaller is written whole at the end of data */
#define CONN_WBUFSZ	(32 * 1024)

enum conn_state {
	CS_VERSION,	/* expecting "POMBO 1" */
	CS_HELO,	/* expecting HELO, or an admin command */
	CS_READY,	/* between transactions */
	CS_MAIL,	/* MAIL accepted, RCPTs coming */
	CS_POLICY,	/* a RCPT waits for the policy servers (delegate) */
	CS_CHUNK,	/* in DATA, expecting a chunk header */
	CS_CHUNKDATA,	/* in DATA, inside a chunk */
	CS_VERIFY,	/* end of data seen, pombo-verify checks it */
	CS_FILTER,	/* the milters have a step (fwait says which) */
	CS_COMMIT,	/* checked if need be, the commit thread has it */
};

/* waiting for the message's fate: nothing more is read meanwhile */
#define WAITING(c)	((c)->state == CS_VERIFY || (c)->state == CS_COMMIT || \
			 (c)->state == CS_POLICY || (c)->state == CS_FILTER)

struct txn {
	struct envelope		 env;
	struct commit_job	 job;
	struct conn		*conn;	/* NULL once the client has gone */
	uid_t			 uid;	/* a local program's, for the log */
	int			 stamped;
	const char		*discard;	/* who said DISCARD, or NULL */
	int			 eod_asked;	/* END-OF-MESSAGE answered */
	struct buf		 prepend;	/* its PREPENDed fields */
};

/* A recipient queued accepted, while the policy servers are asked. */
struct pending_rcpt {
	struct delegate_req	*req;
	struct rcpt_args	 r;
	struct resolve_out	 out;
	char			 orig[ADDR_MAX + 1];
	char			 reply[512];
};

struct conn {
	struct conn		*prev, *next;	/* every open one: conns */
	int			 fd;
	uint32_t		 events;	/* watched for (connpoll) */
	uid_t			 uid;
	enum conn_state		 state;
	int			 closing;
	int			 processing;	/* in conn_process */
	struct qhelo		 helo;
	char			*helo_arg;
	struct mail_args	 mail;
	struct txn		*txn;
	struct pending_rcpt	*pend;		/* in CS_POLICY, FW_RCPT */
	struct filter		*filter;	/* the milter session */
	enum { FW_NONE, FW_HELO, FW_MAIL, FW_RCPT, FW_DATA, FW_CONTENT }
				 fwait;		/* in CS_FILTER */
	char			*refusal;	/* the filters' at HELO */
	char			 reply[512];	/* ours, once they agree */
	unsigned long		 instance;	/* of the transaction */
	int			 msgfd;
	int			 msg_reused;	/* msgfd: a file of free/ */
	int			 counted;	/* in its uid's connections */
	uint64_t		 last_read;	/* monotonic usec: idle since */
	int			 unread;	/* in its socket, at the last sweep */
	uint64_t		 size;
	int			 write_failed;
	int			 bare_cr;	/* a CR in the message's octets */
	char			*wbuf;		/* the queue file so far, */
	size_t			 wlen;		/* not yet written, */
	int			 wbuffering;	/* while this is set */
	long			 chunk_left;
	size_t			 inlen;
	struct buf		 out;
	char			*in;
};

static struct queued_ctx *ctx;
static unsigned nconns;
/* the open connections: only the kernel's epoll set names them else */
static struct conn *conns;
static unsigned long ntxns;	/* transactions begun: the policy instance */

/*
 * Connections per local user (max_uid_connections), the way Postfix's
 * anvil counts them per client: a user who opens the socket in a loop
 * gets a 421, not every descriptor queued has. The trusted uids are
 * bounded only by the listener's ceiling: smtpd opens one per session.
 */
struct uidcount {
	uid_t		uid;
	unsigned	n;
};
static struct uidcount	*uids;
static size_t		 nuids, uids_cap;

/*
 * A local user's connection (a counted one) that holds something, a
 * message under way (its file in incoming/) or replies it does not
 * read, and sends nothing for smtp_timeout is closed, as smtpd closes an
 * idle client: without it one could hold max_uid_connections such files
 * (up to max_message_size each) for ever. One between messages holds
 * only its descriptor, counted, and is left alone (sendmail -bs with a
 * client that only says NOOP). The handlers and the admin's tools keep
 * their own deadlines. Looked at once a second while there are counted
 * connections.
 */
#define CONN_SWEEP_USEC	1000000ULL
static sd_event_source	*sweep_src;
static unsigned		 ncounted;

static void conn_process(struct conn *c);
static void filter_step(void *arg, enum filter_verdict v, const char *reply);
static void commit_done(struct commit_job *job);
static void conn_io(void *ud, uint32_t revents);
static int on_sweep(sd_event_source *s, uint64_t usec, void *ud);

static uint64_t
mono_usec(void)
{
	uint64_t now = 0;

	sd_event_now(ctx->event, CLOCK_MONOTONIC, &now);
	return now;
}

void
conn_setup(struct queued_ctx *qc)
{
	ctx = qc;
	if (commit_init(qc->event, qc->spool, commit_done) == -1)
		fatal("commit thread");
	if (connpoll_init(qc->event, conn_io) == -1)
		fatal("connection poll");
	delegate_init(qc);
	filter_init(qc);
	if (sd_event_add_time(qc->event, &sweep_src, CLOCK_MONOTONIC, 0, 0,
	    on_sweep, NULL) < 0)
		fatalx("connection idle timer");
	sd_event_source_set_enabled(sweep_src, SD_EVENT_OFF);
}

unsigned
conn_count(void)
{
	return nconns;
}

static void
txn_free(struct txn *t)
{
	envelope_free(&t->env);
	buf_free(&t->prepend);
	free(t);
}

static void
pending_free(struct conn *c)
{
	if (c->pend == NULL)
		return;
	if (c->pend->req)
		delegate_cancel(c->pend->req);
	resolve_free(&c->pend->out);
	free(c->pend);
	c->pend = NULL;
}

/* Drop the transaction: the file in incoming/ goes with it. */
static void
conn_txn_abort(struct conn *c)
{
	if (c->state == CS_POLICY) {
		pending_free(c);
		c->state = CS_MAIL;
	}
	if (c->state == CS_FILTER && c->fwait != FW_CONTENT) {
		/* a session step: cancelled, no answer comes */
		filter_abort(c->filter);
		pending_free(c);
		c->fwait = FW_NONE;
		c->state = c->txn ? CS_MAIL : CS_READY;
	}
	if (c->txn == NULL)
		return;
	if (WAITING(c)) {
		c->txn->conn = NULL;	/* verified or commit_done frees it */
	} else {
		filter_abort(c->filter);	/* the milters forget it */
		if (c->msgfd != -1)
			spool_discard(ctx->spool, c->txn->env.qid, c->msgfd);
		txn_free(c->txn);
	}
	c->msgfd = -1;
	c->wbuffering = 0;	/* its file is gone: nothing to write */
	c->txn = NULL;
}

static int uid_trusted(uid_t uid);

static struct uidcount *
uid_find(uid_t uid)
{
	size_t i;

	for (i = 0; i < nuids; i++)
		if (uids[i].uid == uid)
			return &uids[i];
	return NULL;
}

/* Count one more connection of uid; -1 if it has its share already. */
static int
uid_take(uid_t uid)
{
	struct uidcount *u, *nu;

	if ((u = uid_find(uid)) != NULL) {
		if (u->n >= ctx->conf->max_uid_connections)
			return -1;
		u->n++;
		return 0;
	}
	if (nuids == uids_cap) {
		uids_cap = uids_cap ? uids_cap * 2 : 16;
		if ((nu = realloc(uids, uids_cap * sizeof(*nu))) == NULL) {
			uids_cap = nuids;
			return -1;
		}
		uids = nu;
	}
	uids[nuids].uid = uid;
	uids[nuids++].n = 1;
	return 0;
}

static void
uid_release(uid_t uid)
{
	struct uidcount *u;

	if ((u = uid_find(uid)) != NULL && --u->n == 0)
		*u = uids[--nuids];
}

/* Over its share: told so at once (the client's first read), logged at
 * most once a minute however fast it tries again. */
static void
conn_refuse(int fd, uid_t uid)
{
	static time_t last_log;
	static unsigned unlogged;
	char line[128];
	time_t now = time(NULL);
	int n;

	n = str_fmt(line, sizeof(line), "421 4.7.0 Too many connections from "
	    "uid %u, try again later\n", (unsigned)uid);
	if (n > 0)
		(void)send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	if (last_log == 0 || now - last_log >= 60) {
		log_warnx("uid %u: more than %u connections "
		    "(max_uid_connections), refused (%u more refusals since "
		    "the last such line)", (unsigned)uid,
		    ctx->conf->max_uid_connections, unlogged);
		last_log = now;
		unlogged = 0;
	} else
		unlogged++;
}

static void
conn_free(struct conn *c)
{
	conn_txn_abort(c);
	/* a content run ends here: its transaction has no client now */
	filter_close(c->filter);
	free(c->refusal);
	connpoll_forget(c->fd, c, &c->events);
	close(c->fd);
	buf_free(&c->out);
	free(c->helo_arg);
	free(c->in);
	free(c->wbuf);
	if (c->counted) {
		uid_release(c->uid);
		ncounted--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	nconns--;
	listener_resume();
}

static void
conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (!WAITING(c) && !c->closing && c->out.len < CONN_OUT_PAUSE)
		ev |= EPOLLIN;
	if (c->out.len > 0)
		ev |= EPOLLOUT;
	/* epoll reports a hang-up whatever the mask: a connection left
	 * there while nothing may be read would run again and again (0
	 * takes it out) */
	if (connpoll_set(c->fd, c, ev, &c->events) == -1)
		log_warn("connection: epoll_ctl");
}

/* Returns -1 when the connection was freed. */
static int
conn_flush(struct conn *c)
{
	ssize_t n;
	size_t off = 0;

	while (off < c->out.len) {
		n = send(c->fd, c->out.data + off, c->out.len - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_free(c);
			return -1;
		}
		off += (size_t)n;
	}
	memmove(c->out.data, c->out.data + off, c->out.len - off);
	c->out.len -= off;
	/* a peer taking its replies is not idle, though nothing is read
	 * from it while they wait */
	if (off > 0)
		c->last_read = mono_usec();
	if (c->closing && c->out.len == 0) {
		conn_free(c);
		return -1;
	}
	conn_update_events(c);
	return 0;
}

static void PRINTF_LIKE(2, 3)
conn_reply(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (buf_add(&c->out, line, (size_t)n) == -1)
		c->closing = 1;
}

/* A peer that breaks the protocol is told why and disconnected. */
static void
conn_violation(struct conn *c, const char *why)
{
	log_warnx("queue protocol violation from uid %u: %s",
	    (unsigned)c->uid, why);
	conn_reply(c, "500 5.5.2 Queue protocol error: %s", why);
	conn_txn_abort(c);
	c->closing = 1;
}

static void
conn_reset(struct conn *c)
{
	conn_txn_abort(c);
	memset(&c->mail, 0, sizeof(c->mail));
	c->state = CS_READY;
}

static int
is_admin(const struct conn *c)
{
	return c->uid == 0 || c->uid == geteuid();
}

/*
 * Who may speak for a network client (its address, its AUTH, its TLS):
 * the admin's uids and the handlers' user (handler_user). Anyone else on
 * the socket is a local program: it may submit, as "local", and nothing
 * more. No handler user configured means nobody else: the socket is
 * open to every local user, so trust must fail closed.
 */
static int
uid_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid() ||
	    (ctx->handler_uid != (uid_t)-1 && uid == ctx->handler_uid);
}

static int
is_handler(const struct conn *c)
{
	return uid_trusted(c->uid);
}

static void
do_mail(struct conn *c, const char *arg)
{
	char line[QPROTO_LINE_MAX + 8], reply[512];
	struct esmtp_err err;
	struct txn *t;
	int code;

	if (str_fmt(line, sizeof(line), "FROM:%s", arg) == -1 ||
	    esmtp_parse_mail(line, 1, &c->mail, &err) == -1) {
		conn_reply(c, "501 5.5.4 Bad MAIL argument");
		return;
	}
	if (c->refusal != NULL) {
		/* a filter refused the client at connect or HELO */
		conn_reply(c, "%s", c->refusal);
		return;
	}
	code = policy_mail(ctx->conf, ctx->spool, &c->helo, &c->mail, reply,
	    sizeof(reply));
	if (code >= 300) {
		conn_reply(c, "%s", reply);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		conn_reply(c, "451 4.3.0 Out of memory");
		return;
	}
	envelope_init(&t->env);
	buf_init(&t->prepend, 64 * 1024);
	/* unique in queued's life: policy servers cache their verdict by
	 * it (policyd-spf gave a sender the last session's) */
	c->instance = ++ntxns;
	if (envelope_set_from(&t->env, arg) == -1 ||
	    (t->env.client = strdup(c->helo_arg)) == NULL) {
		txn_free(t);
		conn_reply(c, "501 5.5.4 Bad MAIL argument");
		return;
	}
	t->conn = c;
	c->txn = t;
	c->state = CS_MAIL;
	if (c->filter != NULL) {
		/* the milters have the last word on the sender */
		str_copy_trunc(c->reply, reply, sizeof(c->reply));
		if (filter_mail(c->filter, t->env.from, t->env.from_params) == 0) {
			c->state = CS_FILTER;
			c->fwait = FW_MAIL;
			return;
		}
		conn_reset(c);
		str_copy_trunc(reply, "451 4.3.0 Error: cannot filter the "
		    "message", sizeof(reply));
	}
	conn_reply(c, "%s", reply);
}

/* The recipient accepted: its addresses in the envelope, and the reply. */
static void
rcpt_add(struct conn *c, const struct rcpt_args *r, struct resolve_out *out,
    const char *orig, char *reply, size_t len)
{
	char line[QPROTO_LINE_MAX + 8];
	struct envelope *e = &c->txn->env;
	struct esmtp_err err;
	size_t i;

	for (i = 0; i < out->n; i++)
		if (envelope_add_expanded(e, out->v[i].addr, orig, r) == -1) {
			struct rcpt_args tr;
			/* a target that is no address stays one: 5xx; only
			 * running out of memory may pass */
			if (str_fmt(line, sizeof(line), "TO:<%s>",
			    out->v[i].addr) == -1 ||
			    esmtp_parse_rcpt(line, 1, 1, &tr, &err) == -1)
				str_fmt_trunc(reply, len, "553 5.1.3 <%s>: "
				    "Cannot deliver to <%.300s>", orig,
				    out->v[i].addr);
			else
				str_copy_trunc(reply, "451 4.3.0 Cannot add the "
				    "recipient", len);
			break;
		}
	resolve_free(out);
	conn_reply(c, "%s", reply);
}

/*
 * The milters of the transaction's steps to come: none once a filter or
 * a policy server said DISCARD, as Postfix skips them then (the filters
 * after the one that discarded never saw the MAIL, and libmilter leaves
 * a RCPT without one unanswered).
 */
static struct filter *
txn_filter(const struct conn *c)
{
	return c->txn != NULL && c->txn->discard != NULL ? NULL : c->filter;
}

/*
 * The pending recipient (c->pend) passed queued and the policy
 * servers: the milters have the last word, or it is added now. 1: the
 * milters have it (CS_FILTER), 0: done (replied), c->pend is the
 * caller's to free.
 */
static int
rcpt_filter(struct conn *c)
{
	struct pending_rcpt *p = c->pend;

	if (txn_filter(c) == NULL) {
		rcpt_add(c, &p->r, &p->out, p->orig, p->reply,
		    sizeof(p->reply));
		return 0;
	}
	if (filter_rcpt(c->filter, p->orig) == -1) {
		conn_reply(c, "451 4.3.0 Error: cannot filter the recipient");
		return 0;
	}
	c->state = CS_FILTER;
	c->fwait = FW_RCPT;
	return 1;
}

/* The policy servers' verdict on the pending recipient. */
static void
rcpt_delegated(void *arg, struct delegate_result *res)
{
	struct conn *c = arg;
	struct pending_rcpt *p = c->pend;
	struct txn *t = c->txn;

	p->req = NULL;
	c->state = CS_MAIL;
	if (!res->accept)
		conn_reply(c, "%s", res->reply);
	else {
		/* what a server asked for applies once a recipient is in */
		if (res->discard)
			t->discard = "a policy server";
		if (res->hold)
			t->env.flags |= ENV_HOLD;
		if (res->prepend.len > 0 && buf_add(&t->prepend,
		    res->prepend.data, res->prepend.len) == -1)
			log_warnx("policy: too many PREPEND fields, some dropped");
		if (rcpt_filter(c)) {
			conn_process(c);
			return;
		}
	}
	pending_free(c);
	conn_process(c);
}

static void
do_rcpt(struct conn *c, const char *arg)
{
	char line[QPROTO_LINE_MAX + 8], reply[512], orig[ADDR_MAX + 1];
	struct envelope *e = &c->txn->env;
	struct resolve_out out;
	struct rcpt_args r;
	struct esmtp_err err;
	int code;

	if (str_fmt(line, sizeof(line), "TO:%s", arg) == -1 ||
	    esmtp_parse_rcpt(line, 1, c->mail.smtputf8, &r, &err) == -1) {
		conn_reply(c, "501 5.5.4 Bad RCPT argument");
		return;
	}
	if (e->nrcpt >= ctx->conf->max_recipients) {
		conn_reply(c, "452 4.5.3 Too many recipients");
		return;
	}
	code = policy_rcpt(ctx->conf, &c->helo, &r, &out, reply, sizeof(reply));
	addr_format(&r.to, orig, sizeof(orig));
	if (code < 300 && delegate_wanted(&c->helo)) {
		/* queued said yes; the policy servers have the last word */
		struct delegate_query q = { .state = "RCPT", .helo = &c->helo,
		    .sender = e->from, .recipient = orig, .qid = "",
		    .size = c->mail.size, .instance = c->instance };
		struct pending_rcpt *p = calloc(1, sizeof(*p));
		if (p != NULL && (p->req = delegate_ask(&q, rcpt_delegated,
		    c)) != NULL) {
			p->r = r;
			p->out = out;
			str_copy_trunc(p->orig, orig, sizeof(p->orig));
			str_copy_trunc(p->reply, reply, sizeof(p->reply));
			c->pend = p;
			c->state = CS_POLICY;
			return;
		}
		free(p);
		resolve_free(&out);
		log_warnx("policy: cannot ask the policy servers");
		conn_reply(c, "451 4.3.5 Server configuration problem");
		return;
	}
	if (code >= 300) {
		resolve_free(&out);
		conn_reply(c, "%s", reply);
		return;
	}
	if (txn_filter(c) == NULL) {
		rcpt_add(c, &r, &out, orig, reply, sizeof(reply));
		return;
	}
	if ((c->pend = calloc(1, sizeof(*c->pend))) == NULL) {
		resolve_free(&out);
		conn_reply(c, "451 4.3.0 Out of memory");
		return;
	}
	c->pend->r = r;
	c->pend->out = out;
	str_copy_trunc(c->pend->orig, orig, sizeof(c->pend->orig));
	str_copy_trunc(c->pend->reply, reply, sizeof(c->pend->reply));
	if (!rcpt_filter(c))
		pending_free(c);
}

static void chunk_write(struct conn *c, const char *p, size_t n);

/*
 * A local program's message carries a trace line (RFC 5321 4.4) that
 * queued writes, naming the uid the kernel gave (SO_PEERCRED): whatever
 * the program wrote itself, the real sender can be found.
 */
static void
stamp_uid(struct conn *c)
{
	char date[64], line[512];
	int n;

	date_rfc5322(time(NULL), date, sizeof(date));
	n = str_fmt(line, sizeof(line), "Received: by %s (Pombo queued, from "
	    "uid %u)\n\tid %s;\n\t%s\n", ctx->conf->hostname,
	    (unsigned)c->uid, c->txn->env.qid, date);
	if (n > 0)
		chunk_write(c, line, (size_t)n);
}

/*
 * The queue file's header: kept in the connection's buffer with what
 * follows, so that a small message is written once, whole, its length
 * and sum in (wbuf_flush); one system call instead of five. A larger
 * one goes to the file as it comes, as before.
 */
static int
head_write(struct conn *c, const struct buf *hdr)
{
	c->wbuffering = 0;
	if (c->wbuf == NULL)
		c->wbuf = malloc(CONN_WBUFSZ);	/* kept for the connection */
	if (c->wbuf == NULL || hdr->len > CONN_WBUFSZ)
		return fileio_write_all(c->msgfd, hdr->data, hdr->len);
	memcpy(c->wbuf, hdr->data, hdr->len);
	c->wlen = hdr->len;
	c->wbuffering = 1;
	return 0;
}

/* What the buffer holds into the file; from now on writes go there. */
static int
wbuf_flush(struct conn *c)
{
	if (!c->wbuffering)
		return 0;
	c->wbuffering = 0;
	return fileio_write_all(c->msgfd, c->wbuf, c->wlen);
}

static void
do_data(struct conn *c)
{
	struct envelope *e = &c->txn->env;
	struct buf hdr;
	int i;

	if (e->nrcpt == 0) {
		conn_reply(c, "554 5.5.1 No valid recipients");
		return;
	}
	/* a clock gone backwards could hit an old id: try the next */
	for (i = 0; i < 5; i++) {
		qid_new(e->qid);
		c->msgfd = spool_create(ctx->spool, e->qid, &c->msg_reused);
		if (c->msgfd != -1 || errno != EEXIST)
			break;
	}
	if (c->msgfd == -1) {
		log_warn("cannot create a queue file");
		conn_reply(c, "451 4.3.0 Cannot create queue file");
		return;
	}
	e->time = time(NULL);
	e->flags |= ENV_SUM;	/* filled in at the end of data or by the commit */
	buf_init(&hdr, 64 * 1024 * 1024);
	if (envelope_format(e, &hdr) == -1 || head_write(c, &hdr) == -1) {
		log_warn("%s: cannot write the envelope", e->qid);
		buf_free(&hdr);
		spool_discard(ctx->spool, e->qid, c->msgfd);
		c->msgfd = -1;
		conn_reply(c, "451 4.3.0 Cannot write queue file");
		return;
	}
	e->data_off = hdr.len;
	buf_free(&hdr);
	c->size = 0;
	c->write_failed = 0;
	c->bare_cr = 0;
	c->txn->uid = c->uid;
	/* a policy server's PREPENDs go on top, above the Received: line,
	 * where Postfix puts them */
	if (c->txn->prepend.len > 0)
		chunk_write(c, c->txn->prepend.data, c->txn->prepend.len);
	c->txn->stamped = !is_handler(c);
	if (c->txn->stamped)
		stamp_uid(c);
	c->state = CS_CHUNK;
	str_fmt_trunc(c->reply, sizeof(c->reply), "354 %s Send the message "
	    "in chunks", e->qid);
	if (txn_filter(c) != NULL && filter_data(c->filter, e->qid) == 0) {
		c->state = CS_FILTER;
		c->fwait = FW_DATA;
		return;
	}
	if (txn_filter(c) != NULL) {
		spool_discard(ctx->spool, e->qid, c->msgfd);
		c->msgfd = -1;
		c->state = CS_MAIL;
		conn_reply(c, "451 4.3.0 Error: cannot filter the message");
		return;
	}
	conn_reply(c, "%s", c->reply);
}

static void verified(void *arg, int fd, const char *reply);
static void filtered(void *arg, int fd, const char *reply);
static void checked(struct txn *t, int fd);

/*
 * A policy server or a filter said DISCARD (before the content): the
 * client is told the message was taken (Postfix's 250 too), nothing is
 * delivered, the log says so.
 */
static void
txn_discarded(struct conn *c)
{
	struct txn *t = c->txn;
	char qid[QID_LEN + 1], from[ADDR_ENC_MAX + 1];

	str_copy_trunc(qid, t->env.qid, sizeof(qid));
	addr_encode(t->env.from, from, sizeof(from));
	log_info("%s: from=<%s> size=%llu nrcpt=%zu client=%s: discarded by "
	    "%s", qid, from, (unsigned long long)c->size,
	    t->env.nrcpt, t->env.client, t->discard);
	conn_reset(c);
	conn_reply(c, "250 2.0.0 Ok: queued as %s", qid);
}

static void do_end_of_data(struct conn *c);

/*
 * The servers' verdict on the whole message (policy_end_of_data): the
 * end of data goes on from where it stopped, or the message is dropped.
 * A PREPEND comes too late here, as in Postfix: logged and ignored.
 */
static void
eod_delegated(void *arg, struct delegate_result *res)
{
	struct conn *c = arg;
	struct txn *t = c->txn;

	c->pend->req = NULL;
	pending_free(c);
	c->state = CS_CHUNK;
	t->eod_asked = 1;
	if (!res->accept) {
		log_info("%s: refused at the end of data by a policy server: %s",
		    t->env.qid, res->reply);
		conn_reset(c);
		conn_reply(c, "%s", res->reply);
	} else {
		if (res->prepend.len > 0)
			log_warnx("%s: PREPEND at the end of data ignored (the "
			    "message is in already)", t->env.qid);
		if (res->discard)
			t->discard = "a policy server";
		if (res->hold)
			t->env.flags |= ENV_HOLD;
		do_end_of_data(c);
	}
	conn_process(c);
}

static void
eod_ask(struct conn *c)
{
	struct envelope *e = &c->txn->env;
	struct delegate_query q = { .state = "END-OF-MESSAGE",
	    .helo = &c->helo, .sender = e->from, .recipient = "",
	    .rcpt_count = e->nrcpt, .size = c->size, .qid = e->qid,
	    .instance = c->instance };
	struct pending_rcpt *p = calloc(1, sizeof(*p));

	if (p != NULL && (p->req = delegate_ask(&q, eod_delegated, c)) !=
	    NULL) {
		c->pend = p;
		c->state = CS_POLICY;
		return;
	}
	free(p);
	log_warnx("%s: cannot ask the policy servers", e->qid);
	conn_reset(c);
	conn_reply(c, "451 4.3.5 Server configuration problem");
}

/*
 * A message whole in the buffer goes to the file in one write; with its
 * sum filled in first when nothing will change it (no checks, no
 * filters), so the commit need not read it back (SPOOL.md).
 */
static int
wbuf_write(struct conn *c, int sum_it)
{
	struct txn *t = c->txn;
	char digits[ENVELOPE_SUM_DIGITS + 1];
	uint32_t sum;

	t->job.summed = 0;
	if (!c->wbuffering)
		return 0;
	if (sum_it) {
		sum = crc32c(0, c->wbuf + t->env.data_off,
		    c->wlen - t->env.data_off);
		envelope_sum_digits(sum, digits);
		memcpy(c->wbuf + envelope_sum_offset(t->env.data_off), digits,
		    ENVELOPE_SUM_DIGITS);
		t->job.sum = sum;
		t->job.summed = 1;
	}
	return wbuf_flush(c);
}

static void
do_end_of_data(struct conn *c)
{
	struct txn *t = c->txn;
	char digits[ENVELOPE_LENGTH_DIGITS + 1];
	int fd, checks;

	if (t->discard) {
		txn_discarded(c);
		return;
	}
	if (c->bare_cr) {
		/*
		 * The spool holds LF line ends only (SPOOL.md): smtpd and
		 * pombo-sendmail never send a CR. One from another local
		 * program would leave here as it is, a bare CR on the
		 * wire ("\r.\r" ends the data for some servers: SMTP
		 * smuggling from this host, RFC 5321 2.3.8).
		 */
		log_warnx("%s: bare CR in the message from uid %u, refused",
		    t->env.qid, (unsigned)c->uid);
		conn_reset(c);
		conn_reply(c, "554 5.6.0 Message refused: bare CR in data "
		    "(RFC 5321 2.3.8)");
		return;
	}
	if (c->write_failed || c->size > ctx->conf->max_message_size +
	    CONN_SLACK) {
		int big = !c->write_failed;
		log_warnx("%s: %s", t->env.qid, big ? "message too big" :
		    "write error, message refused");
		conn_reset(c);
		if (big)
			conn_reply(c, "552 5.3.4 Message size exceeds fixed "
			    "limit");
		else
			conn_reply(c, "451 4.3.0 Error writing the queue file");
		return;
	}
	t->env.size = c->size;
	/* a reused file may be longer than this message; the envelope's
	 * length, written before the message came, is filled in now (one
	 * pwrite into a page the header's write left in the cache) */
	envelope_length_digits(c->size, digits);
	if (c->wbuffering)
		memcpy(c->wbuf + envelope_length_offset(t->env.data_off),
		    digits, ENVELOPE_LENGTH_DIGITS);
	if ((c->msg_reused &&
	    spool_set_length(c->msgfd, t->env.data_off + c->size) == -1) ||
	    (!c->wbuffering && pwrite(c->msgfd, digits, ENVELOPE_LENGTH_DIGITS,
	    (off_t)envelope_length_offset(t->env.data_off)) !=
	    ENVELOPE_LENGTH_DIGITS)) {
		log_warn("%s: cannot set the queue file's length", t->env.qid);
		conn_reset(c);
		conn_reply(c, "451 4.3.0 Error writing the queue file");
		return;
	}
	if (ctx->conf->policy_end_of_data && !t->eod_asked &&
	    delegate_wanted(&c->helo)) {
		eod_ask(c);
		return;
	}
	str_copy_trunc(t->job.qid, t->env.qid, sizeof(t->job.qid));
	t->job.ctx = t;
	checks = verify_wanted(t->env.client) || c->filter != NULL;
	if (wbuf_write(c, !checks) == -1) {
		log_warn("%s: cannot write the queue file", t->env.qid);
		conn_reset(c);
		conn_reply(c, "451 4.3.0 Error writing the queue file");
		return;
	}
	fd = c->msgfd;
	c->msgfd = -1;
	if (!verify_wanted(t->env.client)) {
		checked(t, fd);
		return;
	}
	c->state = CS_VERIFY;
	if (verify_start(&t->env, fd, verified, t) == -1)
		verified(t, -1, "451 4.3.0 Error: cannot check the message");
}

/*
 * The message will not be queued: reply (NULL: discarded, and the
 * client told 250 as if it were), and the transaction is over.
 */
/*
 * The transaction is over, the message queued or not: the connection (if
 * the client is still there) is ready for the next one, and told reply.
 */
static void
txn_end(struct txn *t, const char *reply)
{
	struct conn *c = t->conn;

	txn_free(t);
	if (c == NULL)
		return;
	filter_abort(c->filter);	/* if it ended before the content */
	c->txn = NULL;
	c->state = CS_READY;
	memset(&c->mail, 0, sizeof(c->mail));
	conn_reply(c, "%s", reply);
	conn_process(c);
}

/*
 * The message will not be queued: reply (NULL: discarded, and the
 * client told 250 as if it were), and the transaction is over.
 */
static void
txn_drop(struct txn *t, int fd, const char *reply)
{
	char ok[64];

	str_fmt_trunc(ok, sizeof(ok), "250 2.0.0 Ok: queued as %s", t->env.qid);
	spool_discard(ctx->spool, t->env.qid, fd);
	txn_end(t, reply != NULL ? reply : ok);
}

/* To the group commit. */
static void
txn_commit(struct txn *t, int fd)
{
	t->job.fd = fd;
	t->job.data_off = t->env.data_off;	/* the checks may have moved it */
	t->job.size = t->env.size;
	t->conn->state = CS_COMMIT;
	commit_submit(&t->job);
}

/* Checked if it had to be: the filters, if any, then the commit. */
static void
checked(struct txn *t, int fd)
{
	struct conn *c = t->conn;

	if (c->filter != NULL) {
		c->state = CS_FILTER;
		c->fwait = FW_CONTENT;
		if (filter_message(c->filter, &t->env, fd, filtered, t) == -1) {
			c->fwait = FW_NONE;
			txn_drop(t, -1, "451 4.3.0 Error: cannot filter the "
			    "message");
		}
		return;
	}
	txn_commit(t, fd);
}

/* The checks are done: fd is the message to go on with, or -1 and reply. */
static void
verified(void *arg, int fd, const char *reply)
{
	struct txn *t = arg;

	if (fd != -1 && t->conn != NULL)
		checked(t, fd);
	else
		txn_drop(t, fd, reply ? reply : "451 4.3.0 Error");
}

/* The filters are done: fd is the message to commit, or -1 and reply
 * (NULL: they discarded it). */
static void
filtered(void *arg, int fd, const char *reply)
{
	struct txn *t = arg;
	struct conn *c = t->conn;

	if (c != NULL)
		c->fwait = FW_NONE;
	if (fd == -1 || c == NULL)
		txn_drop(t, fd, reply);
	else
		txn_commit(t, fd);
}

static void
commit_done(struct commit_job *job)
{
	struct txn *t = job->ctx;
	char qid[QID_LEN + 1], reply[64];
	int ok = job->ok;

	str_copy_trunc(qid, t->env.qid, sizeof(qid));
	t->env.sum = job->sum;
	if (ok) {
		char from[ADDR_ENC_MAX + 1], uid[24] = "";
		addr_encode(t->env.from, from, sizeof(from));
		if (t->stamped)
			str_fmt_trunc(uid, sizeof(uid), " uid=%u", (unsigned)t->uid);
		log_info("%s: from=<%s> size=%llu nrcpt=%zu client=%s%s", qid,
		    from, (unsigned long long)t->env.size, t->env.nrcpt,
		    t->env.client, uid);
		struct qmsg *m = queue_add(&t->env);
		/* a policy server's HOLD, a filter's quarantine: recorded as
		 * the admin's hold is */
		if ((m->env.flags & ENV_HOLD) &&
		    spool_write_state(ctx->spool, &m->env) == -1)
			log_warn("%s: cannot record the hold", qid);
		else if (m->env.flags & ENV_HOLD)
			log_info("%s: held at arrival (policy server or filter)",
			    qid);
		if (ctx->on_commit)
			ctx->on_commit(ctx, m);
	}
	str_fmt_trunc(reply, sizeof(reply), "250 2.0.0 Ok: queued as %s", qid);
	txn_end(t, ok ? reply : "451 4.3.0 Error: could not commit the message");
}

/* LIST, or SHOW <id>: the messages as "250-" lines, then a count. */
static void
do_list(struct conn *c, const char *qid)
{
	struct qmsg *m;
	size_t n = 0;

	if (*qid && !qid_valid(qid)) {
		conn_reply(c, "501 5.5.4 Bad queue id");
		return;
	}
	TAILQ_FOREACH(m, queue_all(), entry) {
		if (*qid && strcmp(m->env.qid, qid) != 0)
			continue;
		n++;
		if (queue_format(m, &c->out) == -1) {
			c->closing = 1;
			return;
		}
	}
	if (*qid && n == 0)
		conn_reply(c, "550 5.1.0 No message %s in the queue", qid);
	else
		conn_reply(c, "250 2.0.0 %zu messages", n);
}

/*
 * VRFY and EXPN (RFC 5321 3.5), when the admin enabled them (or asks,
 * as root or queued's user: pombo-sendmail -bv): a local address is
 * checked against users and aliases; EXPN lists what it expands to.
 */
static void
do_verify(struct conn *c, const char *arg, int expand)
{
	char addr[ADDR_MAX + 1];
	struct resolve_out out;
	struct addr a;
	size_t i, n = strlen(arg);
	int fits;

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
		fits = str_fmt(addr, sizeof(addr), "%.*s", (int)n - 2, arg + 1);
	else if (strchr(arg, '@') == NULL)
		fits = str_fmt(addr, sizeof(addr), "%s@%s", arg,
		    ctx->conf->hostname);
	else
		fits = str_copy(addr, arg, sizeof(addr));
	if (fits == -1 || addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1) {
		conn_reply(c, "501 5.1.3 Bad address syntax");
		return;
	}
	if (!conf_is_local_domain(ctx->conf, a.domain)) {
		conn_reply(c, "252 2.1.5 Not a local address; will try to "
		    "deliver");
		return;
	}
	recipients_refresh();
	switch (resolve(ctx->conf, recipients_users(), recipients_aliases(),
	    addr, &out)) {
	case RESOLVE_UNKNOWN:
		conn_reply(c, "550 5.1.1 <%s>: User unknown", addr);
		return;
	case RESOLVE_LOOP:
		conn_reply(c, "554 5.4.6 <%s>: Alias loop", addr);
		return;
	case RESOLVE_OK:
		break;
	}
	if (!expand)
		conn_reply(c, "250 2.1.5 <%s>", addr);
	else
		for (i = 0; i < out.n; i++)
			conn_reply(c, "250%c2.1.5 <%s>", i + 1 < out.n ? '-' : ' ',
			    out.v[i].addr);
	resolve_free(&out);
}

/* The first line: the protocol's version. */
static void
do_version(struct conn *c, const char *line)
{
	if (strcmp(line, "POMBO 1") != 0) {
		conn_violation(c, "unsupported version, this is POMBO 1");
		return;
	}
	c->state = CS_HELO;
	conn_reply(c, "250 2.0.0 Pombo queue protocol 1");
}

/* A chunk's length line in DATA: its bytes follow; 0 ends, -2 drops. */
static void
do_chunk_header(struct conn *c, const char *line)
{
	long n = qproto_parse_chunk(line);

	if (n == -1) {
		conn_violation(c, "bad chunk header");
	} else if (n == -2) {
		conn_reset(c);
		conn_reply(c, "250 2.0.0 Message dropped");
	} else if (n == 0) {
		do_end_of_data(c);
	} else {
		c->chunk_left = n;
		c->state = CS_CHUNKDATA;
	}
}

/* HELO: who the client is, believed from the handlers alone. */
static void
do_helo(struct conn *c, const char *arg)
{
	if (qproto_parse_helo(arg, &c->helo) == -1) {
		conn_violation(c, "bad HELO");
		return;
	}
	if (!is_handler(c) && (strcmp(c->helo.client, "local") != 0 ||
	    c->helo.auth[0] || c->helo.tls[0])) {
		/*
		 * Not taken as local either: a handler under a user queued
		 * does not know would make every Internet client a local
		 * sender, who may relay. Temporary (RFC 3463 X.3.5): the
		 * admin can fix it.
		 */
		log_warnx("uid %u may not speak for network clients (not "
		    "handler_user, root or queued's own user): refused",
		    (unsigned)c->uid);
		conn_reply(c, "451 4.3.5 Only the mail handlers speak for "
		    "network clients");
		c->closing = 1;
		return;
	}
	free(c->helo_arg);
	if ((c->helo_arg = strdup(arg)) == NULL)
		fatal("strdup");
	c->state = CS_READY;
	if (filter_wanted()) {
		/* a new milter session: connect and HELO with who it is */
		filter_close(c->filter);
		free(c->refusal);
		c->refusal = NULL;
		if ((c->filter = filter_open(filter_step, c)) != NULL &&
		    filter_helo(c->filter, &c->helo) == 0) {
			c->state = CS_FILTER;
			c->fwait = FW_HELO;
			return;
		}
		if ((c->refusal = strdup("451 4.3.0 Error: cannot filter "
		    "the session")) == NULL)
			fatal("strdup");
	}
	conn_reply(c, "250 2.0.0 Ok");
}

/*
 * The milters' answer to a session step: the command waiting goes on
 * with queued's reply (c->reply) or theirs.
 */
static void
filter_step(void *arg, enum filter_verdict v, const char *reply)
{
	struct conn *c = arg;
	int fw = c->fwait;

	c->fwait = FW_NONE;
	c->state = c->txn ? CS_MAIL : CS_READY;
	if (v == FILTER_DISCARD && c->txn != NULL)
		c->txn->discard = "a filter";
	switch (fw) {
	case FW_HELO:
		/* the client hears it at each MAIL, as Postfix does */
		if (v == FILTER_REFUSE && (c->refusal = strdup(reply)) == NULL)
			fatal("strdup");
		conn_reply(c, "250 2.0.0 Ok");
		break;
	case FW_MAIL:
		if (v == FILTER_REFUSE) {
			conn_reset(c);
			conn_reply(c, "%s", reply);
		} else
			conn_reply(c, "%s", c->reply);
		break;
	case FW_RCPT:
		if (v == FILTER_REFUSE)
			conn_reply(c, "%s", reply);
		else
			rcpt_add(c, &c->pend->r, &c->pend->out, c->pend->orig,
			    c->pend->reply, sizeof(c->pend->reply));
		pending_free(c);
		break;
	case FW_DATA:
		if (v == FILTER_REFUSE) {
			spool_discard(ctx->spool, c->txn->env.qid, c->msgfd);
			c->msgfd = -1;
			conn_reply(c, "%s", reply);
		} else {
			c->state = CS_CHUNK;
			conn_reply(c, "%s", c->reply);
		}
		break;
	default:
		break;
	}
	conn_process(c);
}

/* STATS: the queue's numbers (pombo-queue stats). */
static void
do_stats(struct conn *c)
{
	if (stats_format(&c->out, time(NULL)) == -1) {
		c->closing = 1;
		return;
	}
	conn_reply(c, "250 2.0.0 Queue statistics");
}

/* The admin's commands (the queue shows who mails whom: LIST, SHOW,
 * STATS, FLUSH, DELETE...); is_admin holds. */
static void
do_admin(struct conn *c, const struct qcmd *cmd)
{
	char reply[512];

	if (cmd->verb == QCMD_LIST || cmd->verb == QCMD_SHOW)
		do_list(c, cmd->arg);
	else if (cmd->verb == QCMD_STATS)
		do_stats(c);
	else if (ctx->on_admin == NULL ||
	    ctx->on_admin(ctx, cmd->verb, cmd->arg, reply,
	    sizeof(reply)) == -1)
		conn_reply(c, "502 5.5.1 Not implemented");
	else
		conn_reply(c, "%s", reply);
}

static void
conn_line(struct conn *c, char *line)
{
	struct qcmd cmd;

	if (c->state == CS_VERSION) {
		do_version(c, line);
		return;
	}
	if (c->state == CS_CHUNK) {
		do_chunk_header(c, line);
		return;
	}
	if (qproto_parse_cmd(line, &cmd) == -1) {
		conn_violation(c, "unknown or malformed command");
		return;
	}
	switch (cmd.verb) {
	case QCMD_POMBO:
		conn_violation(c, "version sent twice");
		break;
	case QCMD_HELO:
		if (c->state != CS_HELO && c->state != CS_READY)
			conn_violation(c, "HELO inside a transaction");
		else
			do_helo(c, cmd.arg);
		break;
	case QCMD_MAIL:
		if (c->state != CS_READY)
			conn_violation(c, "MAIL out of sequence");
		else
			do_mail(c, cmd.arg);
		break;
	case QCMD_RCPT:
		if (c->state != CS_MAIL)
			conn_violation(c, "RCPT out of sequence");
		else
			do_rcpt(c, cmd.arg);
		break;
	case QCMD_DATA:
		if (c->state != CS_MAIL)
			conn_violation(c, "DATA out of sequence");
		else
			do_data(c);
		break;
	case QCMD_RSET:
		conn_reset(c);
		conn_reply(c, "250 2.0.0 Ok");
		break;
	case QCMD_QUIT:
		conn_reset(c);
		conn_reply(c, "221 2.0.0 Bye");
		c->closing = 1;
		break;
	case QCMD_VRFY:
	case QCMD_EXPN:
		if (c->state != CS_HELO && c->state != CS_READY &&
		    c->state != CS_MAIL)
			conn_violation(c, "command out of sequence");
		else if (!is_admin(c) && !(cmd.verb == QCMD_EXPN ?
		    ctx->conf->enable_expn : ctx->conf->enable_vrfy))
			/* smtpd asks only when they are on; a local user
			 * must not learn the aliases' members either */
			conn_reply(c, cmd.verb == QCMD_EXPN ?
			    "502 5.5.1 EXPN not available" :
			    "252 2.5.2 Cannot VRFY user, but will accept "
			    "message and attempt delivery");
		else
			do_verify(c, cmd.arg, cmd.verb == QCMD_EXPN);
		break;
	default:
		if (c->state != CS_HELO && c->state != CS_READY)
			conn_violation(c, "command out of sequence");
		else if (!is_admin(c))
			conn_reply(c, "550 5.7.1 Permission denied");
		else
			do_admin(c, &cmd);
		break;
	}
}

static void
chunk_write(struct conn *c, const char *p, size_t n)
{
	ssize_t w;

	c->size += n;
	if (c->write_failed || c->size > ctx->conf->max_message_size +
	    CONN_SLACK)
		return;
	if (c->wbuffering && n <= CONN_WBUFSZ - c->wlen) {
		memcpy(c->wbuf + c->wlen, p, n);
		c->wlen += n;
		return;
	}
	if (wbuf_flush(c) == -1) {	/* too big for it: the file takes over */
		log_warn("%s: write to the spool", c->txn->env.qid);
		c->write_failed = 1;
		return;
	}
	while (n > 0) {
		w = write(c->msgfd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("%s: write to the spool", c->txn->env.qid);
			c->write_failed = 1;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Handle what is buffered, as far as the state allows. */
static void
conn_process(struct conn *c)
{
	size_t pos = 0, n;
	char *nl;
	int held;

	/*
	 * A transaction ended from inside a line (an agent or a filter that
	 * could not start) comes back here: the loop below goes on, it
	 * must not be run twice over the same input.
	 */
	if (c->processing)
		return;
again:
	pos = 0;
	c->processing = 1;
	/* replies the peer does not read hold the rest of its lines too:
	 * each line could add many (EXPN) */
	while (pos < c->inlen && !c->closing && !WAITING(c) &&
	    c->out.len < CONN_OUT_PAUSE) {
		if (c->state == CS_CHUNKDATA) {
			n = c->inlen - pos;
			if (n > (size_t)c->chunk_left)
				n = (size_t)c->chunk_left;
			if (memchr(c->in + pos, '\r', n) != NULL)
				c->bare_cr = 1;
			chunk_write(c, c->in + pos, n);
			pos += n;
			c->chunk_left -= (long)n;
			if (c->chunk_left == 0)
				c->state = CS_CHUNK;
			continue;
		}
		nl = memchr(c->in + pos, '\n', c->inlen - pos);
		if (nl == NULL) {
			if (c->inlen - pos > QPROTO_LINE_MAX)
				conn_violation(c, "line too long");
			break;
		}
		*nl = '\0';
		conn_line(c, c->in + pos);
		pos = (size_t)(nl - c->in) + 1;
	}
	/* lines left because replies wait (also when none was taken:
	 * a wait's end may have added the reply that filled them) */
	held = pos < c->inlen && c->out.len >= CONN_OUT_PAUSE;
	memmove(c->in, c->in + pos, c->inlen - pos);
	c->inlen -= pos;
	c->processing = 0;
	if (conn_flush(c) == -1)
		return;
	/* and they have gone: the lines left */
	if (held && c->out.len < CONN_OUT_PAUSE && !c->closing &&
	    !WAITING(c))
		goto again;
}

static void
conn_io(void *ud, uint32_t revents)
{
	struct conn *c = ud;
	ssize_t n;

	if (revents & EPOLLOUT) {
		if (conn_flush(c) == -1)
			return;
		/* lines held back while its replies waited (it may free c;
		 * epoll reports what is left to read again) */
		if (c->inlen > 0 && c->out.len < CONN_OUT_PAUSE &&
		    !c->closing && !WAITING(c)) {
			conn_process(c);
			return;
		}
	}
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (WAITING(c) || c->closing || c->inlen == CONN_INSZ ||
	    c->out.len >= CONN_OUT_PAUSE)
		return;
	n = read(c->fd, c->in + c->inlen, CONN_INSZ - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(c);
		return;
	}
	c->inlen += (size_t)n;
	c->last_read = mono_usec();
	conn_process(c);
}

static int
on_sweep(sd_event_source *s, uint64_t usec, void *ud)
{
	uint64_t limit = (uint64_t)ctx->conf->smtp_timeout * 1000000;
	/* usec is when it was due: it runs up to 250 ms later, and a read
	 * meanwhile is later than usec */
	uint64_t now = mono_usec();
	struct conn *c, *next;
	int q;

	for (c = conns; c != NULL; c = next) {
		next = c->next;
		if (!c->counted)
			continue;
		/* idle is counted from the last read, or from when queued
		 * last made it wait (a commit, a check) or it held nothing */
		if (WAITING(c) || (c->out.len == 0 && c->state != CS_CHUNK &&
		    c->state != CS_CHUNKDATA)) {
			c->last_read = now;
			continue;
		}
		/*
		 * Taking its replies is not idle, though nothing is read
		 * from it while they wait, and the kernel lets queued write
		 * again only once three quarters of its buffer are taken:
		 * what is in the socket, not yet read, went down. It goes
		 * down a kernel packet at a time (up to about 36 KB of
		 * queued's writes), so a peer must take that much per
		 * smtp_timeout.
		 */
		if (ioctl(c->fd, SIOCOUTQ, &q) == 0) {
			if (q < c->unread)
				c->last_read = now;
			c->unread = q;
		}
		if (c->last_read >= now || now - c->last_read < limit)
			continue;
		log_info("uid %u: nothing sent for %llus with a message under "
		    "way or replies unread: connection closed",
		    (unsigned)c->uid, (unsigned long long)ctx->conf->smtp_timeout);
		conn_free(c);
	}
	if (ncounted > 0) {
		sd_event_source_set_time(s, now + CONN_SWEEP_USEC);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

void
conn_accept(int fd)
{
	struct ucred cred = { 0, (uid_t)-1, (gid_t)-1 };
	socklen_t len = sizeof(cred);
	struct conn *c;
	uid_t uid = (uid_t)-1;
	int counted = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		uid = cred.uid;
	if (!uid_trusted(uid)) {
		if (uid_take(uid) == -1) {
			conn_refuse(fd, uid);
			return;
		}
		counted = 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = malloc(CONN_INSZ)) == NULL) {
		log_warn("accept: out of memory");
		free(c);
		goto fail;
	}
	c->fd = fd;
	c->msgfd = -1;
	c->state = CS_VERSION;
	c->uid = uid;
	c->counted = counted;
	c->last_read = mono_usec();
	buf_init(&c->out, CONN_OUT_MAX);
	if (connpoll_set(fd, c, EPOLLIN, &c->events) == -1) {
		log_warn("accept: cannot watch the connection");
		free(c->in);
		free(c);
		goto fail;
	}
	if ((c->next = conns) != NULL)
		conns->prev = c;
	conns = c;
	nconns++;
	log_debug("connection of uid %u, pid %ld", (unsigned)uid,
	    (long)cred.pid);
	if (counted && ncounted++ == 0) {
		sd_event_source_set_time(sweep_src, c->last_read +
		    CONN_SWEEP_USEC);
		sd_event_source_set_enabled(sweep_src, SD_EVENT_ONESHOT);
	}
	return;
fail:
	if (counted)
		uid_release(uid);
	close(fd);
}
