/*
 * delegate: one connection per policy server, kept open and used for
 * one request after another (SMTPD_POLICY_README: the server may keep
 * it, Postfix does), opened again when the server closed it. Requests
 * to a server wait in its queue and go one at a time, each answered in
 * turn. Every request has a deadline (policy_timeout from the moment a
 * server is asked); a server that does not connect, answer or make
 * sense by then fails every request it holds with Postfix's default
 * (smtpd_policy_service_default_action): 451 4.3.5 Server configuration
 * problem, and a log line.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "delegate.h"
#include "log.h"
#include "policy_proto.h"
#include "sockspec.h"

#define DELEGATE_QUEUE_MAX	10000	/* requests waiting for one server */
#define DELEGATE_PREPEND_MAX	(16 * 1024)	/* prepended fields, in all */

static const char config_problem[] = "451 4.3.5 Server configuration problem";

struct delegate_req {
	TAILQ_ENTRY(delegate_req) entry;
	struct buf		 request;
	size_t			 svc;		/* the server asked now */
	uint64_t		 deadline;	/* CLOCK_MONOTONIC, usec */
	int			 retried;	/* sent again on a new connection */
	delegate_done_fn	 done;		/* NULL once cancelled */
	void			*arg;
	char			 who[ADDR_MAX + 3];	/* "<rcpt>" */
	const char		*what;
	struct policy_chain	 chain;
	struct delegate_result	 result;
};
TAILQ_HEAD(reqlist, delegate_req);

enum svc_state { SV_DOWN, SV_CONNECTING, SV_UP };

struct service {
	const char		*name;		/* as configured */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	int			 fd;
	enum svc_state		 st;
	int			 answered;	/* a reply came on this connection */
	int			 sent;		/* the head's request is written */
	size_t			 nq;
	struct reqlist		 q;		/* the head is the one asked */
	sd_event_source		*io, *timer, *kick;
	struct buf		 out;
	char			 in[POLICY_REPLY_MAX + 1];
	size_t			 inlen;
};

static struct queued_ctx *ctx;
static struct service *svcs;
static size_t nsvcs;

static void svc_kick(struct service *s);

static uint64_t
now_usec(void)
{
	uint64_t now;

	sd_event_now(ctx->event, CLOCK_MONOTONIC, &now);
	return now;
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *ud);
static int on_timer(sd_event_source *src, uint64_t usec, void *ud);
static int on_kick(sd_event_source *src, void *ud);

void
delegate_init(struct queued_ctx *c)
{
	size_t i;

	ctx = c;
	nsvcs = c->conf->n_policy_services;
	if (nsvcs == 0)
		return;
	if ((svcs = calloc(nsvcs, sizeof(*svcs))) == NULL)
		fatal("policy services");
	for (i = 0; i < nsvcs; i++) {
		struct service *s = &svcs[i];
		s->name = c->conf->policy_services[i];
		s->fd = -1;
		TAILQ_INIT(&s->q);
		buf_init(&s->out, POLICY_VALUE_MAX * 64);
		/* a name is looked up once, now: the loop never waits for
		 * DNS; one without an address is a server that is down */
		if (sockspec_parse(s->name, 1, &s->sa, &s->salen) != 0) {
			log_warnx("policy_services: %s has no address: it "
			    "counts as down until queued restarts", s->name);
			s->salen = 0;
		}
		if (sd_event_add_time(c->event, &s->timer, CLOCK_MONOTONIC,
		    UINT64_MAX, 0, on_timer, s) < 0 ||
		    sd_event_add_defer(c->event, &s->kick, on_kick, s) < 0)
			fatalx("policy services: cannot make timers");
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		sd_event_source_set_enabled(s->kick, SD_EVENT_OFF);
	}
}

int
delegate_wanted(const struct qhelo *h)
{
	return nsvcs > 0 && strcmp(h->client, "local") != 0;
}

static void
svc_close(struct service *s)
{
	if (s->io)
		s->io = sd_event_source_disable_unref(s->io);
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->st = SV_DOWN;
	s->answered = 0;
	s->sent = 0;
	s->inlen = 0;
	buf_reset(&s->out);
}

static void
req_free(struct delegate_req *r)
{
	buf_free(&r->request);
	buf_free(&r->result.prepend);
	free(r);
}

/* The end of a request: its asker learns, unless it went away. */
static void
req_finish(struct delegate_req *r)
{
	if (r->done)
		r->done(r->arg, &r->result);
	req_free(r);
}

static void
svc_later(struct service *s)
{
	sd_event_source_set_enabled(s->kick, SD_EVENT_ONESHOT);
}

static void
svc_enqueue(struct service *s, struct delegate_req *r)
{
	r->svc = (size_t)(s - svcs);
	r->deadline = now_usec() + (uint64_t)ctx->conf->policy_timeout *
	    1000000;
	r->retried = 0;
	TAILQ_INSERT_TAIL(&s->q, r, entry);
	s->nq++;
	svc_later(s);
}

/*
 * The server failed: every request it holds gets the 451, and the
 * connection goes; the next request opens a new one.
 */
static void
svc_fail(struct service *s, const char *why)
{
	struct reqlist failed;
	struct delegate_req *r;
	size_t n = 0;

	TAILQ_INIT(&failed);
	TAILQ_CONCAT(&failed, &s->q, entry);
	s->nq = 0;
	svc_close(s);
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	TAILQ_FOREACH(r, &failed, entry)
		n += r->done != NULL;
	log_warnx("policy service %s: %s (%zu request%s answered %s)",
	    s->name, why, n, n == 1 ? "" : "s", config_problem);
	while ((r = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, r, entry);
		r->result.accept = 0;
		str_copy_trunc(r->result.reply, config_problem,
		    sizeof(r->result.reply));
		req_finish(r);
	}
}

/* One server's action on a request: on to the next, or the end. */
static void
req_answer(struct service *s, struct delegate_req *r, const char *action)
{
	struct policy_action a;
	int last = r->svc + 1 == nsvcs;

	if (r->done == NULL) {		/* cancelled while asked */
		req_free(r);
		return;
	}
	policy_proto_action(action, &a);
	switch (a.kind) {
	case PA_IGNORED:
		log_warnx("policy service %s: action %s is not supported, taken "
		    "as DUNNO", s->name, a.name);
		break;
	case PA_BAD:
		log_warnx("policy service %s: bad action \"%.200s\"", s->name,
		    action);
		break;
	case PA_PREPEND:
		if (buf_printf(&r->result.prepend, "%s\n", a.text) == -1)
			log_warnx("policy service %s: too many PREPEND fields, "
			    "%.100s dropped", s->name, a.text);
		break;
	default:
		break;
	}
	if (!policy_chain_step(&r->chain, &a, r->who, r->what) && !last) {
		svc_enqueue(&svcs[r->svc + 1], r);
		return;
	}
	policy_chain_finish(&r->chain, r->who, r->what);
	r->result.accept = r->chain.accept;
	r->result.hold = r->chain.hold;
	r->result.discard = r->chain.discard;
	if (!r->chain.accept) {
		str_copy_trunc(r->result.reply, r->chain.reply,
		    sizeof(r->result.reply));
		if (r->done)
			log_info("policy: %s refused by %s: %s", r->who,
			    s->name, r->result.reply);
	}
	req_finish(r);
}

/* The earliest deadline of what the server holds: the timer's. */
static void
svc_arm(struct service *s)
{
	struct delegate_req *r;
	uint64_t t = UINT64_MAX;

	TAILQ_FOREACH(r, &s->q, entry)
		if (r->deadline < t)
			t = r->deadline;
	if (t == UINT64_MAX) {
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(s->timer, t);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void
svc_events(struct service *s)
{
	uint32_t ev = EPOLLIN;

	if (s->st == SV_CONNECTING || s->out.len > 0)
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(s->io, ev);
}

static int
svc_connect(struct service *s)
{
	if (s->salen == 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	s->fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return -1;
	if (connect(s->fd, (struct sockaddr *)&s->sa, s->salen) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(s->fd);
		s->fd = -1;
		errno = e;
		return -1;
	}
	if (sd_event_add_io(ctx->event, &s->io, s->fd, EPOLLOUT, on_io,
	    s) < 0) {
		close(s->fd);
		s->fd = -1;
		errno = ENOMEM;
		return -1;
	}
	s->st = SV_CONNECTING;
	return 0;
}

/* Write what is pending; -1 if the connection broke. */
static int
svc_flush(struct service *s)
{
	ssize_t n;

	while (s->out.len > 0) {
		n = send(s->fd, s->out.data, s->out.len, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		memmove(s->out.data, s->out.data + n, s->out.len - (size_t)n);
		s->out.len -= (size_t)n;
	}
	return 0;
}

/* Move the server on: connect, send the head's request, arm the timer. */
static void
svc_kick(struct service *s)
{
	struct delegate_req *r;
	char why[160];

	/* cancelled requests nobody sent need no answer */
	while ((r = TAILQ_FIRST(&s->q)) != NULL && r->done == NULL &&
	    !s->sent) {
		TAILQ_REMOVE(&s->q, r, entry);
		s->nq--;
		req_free(r);
	}
	svc_arm(s);
	if (r == NULL)
		return;
	if (s->st == SV_DOWN && svc_connect(s) == -1) {
		str_fmt_trunc(why, sizeof(why), "cannot connect: %s", strerror(errno));
		svc_fail(s, why);
		return;
	}
	if (s->st != SV_UP)
		return;
	if (!s->sent) {
		if (buf_add(&s->out, r->request.data, r->request.len) == -1) {
			svc_fail(s, "request too long");
			return;
		}
		s->sent = 1;
	}
	if (svc_flush(s) == -1) {
		str_fmt_trunc(why, sizeof(why), "write: %s", strerror(errno));
		svc_fail(s, why);
		return;
	}
	svc_events(s);
}

static int
on_kick(sd_event_source *src, void *ud)
{
	(void)src;
	svc_kick(ud);
	return 0;
}

static int
on_timer(sd_event_source *src, uint64_t usec, void *ud)
{
	struct service *s = ud;

	(void)src;
	(void)usec;
	svc_fail(s, s->st == SV_CONNECTING ? "connect timed out" :
	    "no answer in time (policy_timeout)");
	return 0;
}

/*
 * The server closed the connection. Idle, that is its right; a server
 * that answered on it before and closed it as the next request went out
 * (an idle timeout racing the request) gets the request once more on a
 * new connection. Otherwise it failed.
 */
static void
svc_closed(struct service *s)
{
	struct delegate_req *r = TAILQ_FIRST(&s->q);

	if (r == NULL) {
		svc_close(s);
		return;
	}
	if (s->answered && s->inlen == 0 && !r->retried) {
		svc_close(s);
		r->retried = 1;
		svc_later(s);
		return;
	}
	svc_fail(s, "the server closed the connection");
}

static void
svc_read(struct service *s)
{
	struct policy_reply rep;
	struct delegate_req *r;
	size_t used;
	ssize_t n;
	int rc;

	n = read(s->fd, s->in + s->inlen, sizeof(s->in) - 1 - s->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		char why[160];
		str_fmt_trunc(why, sizeof(why), "read: %s", strerror(errno));
		svc_fail(s, why);
		return;
	}
	if (n == 0) {
		svc_closed(s);
		return;
	}
	s->inlen += (size_t)n;
	while ((rc = policy_proto_parse_reply(s->in, s->inlen, &rep,
	    &used)) == 1) {
		r = TAILQ_FIRST(&s->q);
		if (r == NULL || !s->sent) {
			svc_fail(s, "an answer nobody asked for");
			return;
		}
		TAILQ_REMOVE(&s->q, r, entry);
		s->nq--;
		s->sent = 0;
		s->answered = 1;
		memmove(s->in, s->in + used, s->inlen - used);
		s->inlen -= used;
		req_answer(s, r, rep.action);
	}
	if (rc == -1 || s->inlen >= sizeof(s->in) - 1) {
		svc_fail(s, "malformed reply");
		return;
	}
	svc_kick(s);
}

static int
on_io(sd_event_source *src, int fd, uint32_t revents, void *ud)
{
	struct service *s = ud;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)src;
	if (s->st == SV_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err == 0 && (revents & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err != 0) {
			char why[160];
			str_fmt_trunc(why, sizeof(why), "cannot connect: %s",
			    strerror(err));
			svc_fail(s, why);
		} else if (revents & EPOLLOUT) {
			s->st = SV_UP;
			svc_kick(s);
		}
		return 0;
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		svc_read(s);
		return 0;
	}
	if (revents & EPOLLOUT)
		svc_kick(s);
	return 0;
}

/* One part of smtpd's "protocol/cipher/bits" of the session's TLS. */
static const char *
tls_part(const char *tls, int i, char *buf, size_t len)
{
	const char *p = tls;

	while (i-- > 0 && p != NULL)
		if ((p = strchr(p, '/')) != NULL)
			p++;
	if (p == NULL || *tls == '\0')
		return "";
	if (str_fmt(buf, len, "%.*s", (int)strcspn(p, "/"), p) == -1)
		return "";	/* cut, it would name another cipher */
	return buf;
}

struct delegate_req *
delegate_ask(const struct delegate_query *q, delegate_done_fn done,
    void *arg)
{
	const struct qhelo *h = q->helo;
	struct delegate_req *r;
	char count[24], size[24], inst[32], tp[32], tc[64], tk[16];
	int eom = strcmp(q->state, "END-OF-MESSAGE") == 0;

	if (svcs[0].nq >= DELEGATE_QUEUE_MAX ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	str_fmt_trunc(count, sizeof(count), "%zu", q->rcpt_count);
	str_fmt_trunc(size, sizeof(size), "%llu", (unsigned long long)q->size);
	str_fmt_trunc(inst, sizeof(inst), "%lx.%lx", (unsigned long)getpid(),
	    q->instance);
	/* the attributes of SMTPD_POLICY_README that queued knows; the
	 * others go empty, as Postfix sends what it does not know */
	const struct policy_attr a[] = {
		{ "request", "smtpd_access_policy" },
		{ "protocol_state", q->state },
		{ "protocol_name", h->proto },
		{ "helo_name", h->helo },
		{ "queue_id", q->qid },
		{ "sender", q->sender },
		{ "recipient", q->recipient },
		{ "recipient_count", count },
		{ "client_address", h->client },
		{ "client_name", "unknown" },
		{ "reverse_client_name", "unknown" },
		{ "instance", inst },
		{ "sasl_method", h->auth[0] ? "unknown" : "" },
		{ "sasl_username", h->auth },
		{ "sasl_sender", "" },
		{ "size", size },
		{ "ccert_subject", "" },
		{ "ccert_issuer", "" },
		{ "ccert_fingerprint", "" },
		{ "ccert_pubkey_fingerprint", "" },
		{ "encryption_protocol", tls_part(h->tls, 0, tp, sizeof(tp)) },
		{ "encryption_cipher", tls_part(h->tls, 1, tc, sizeof(tc)) },
		{ "encryption_keysize", tls_part(h->tls, 2, tk, sizeof(tk)) },
		{ "etrn_domain", "" },
		{ "stress", "" },
		{ "server_address", "" },
		{ "server_port", "" },
		{ "mail_version", PACKAGE_VERSION },
	};
	buf_init(&r->request, POLICY_VALUE_MAX * 64);
	buf_init(&r->result.prepend, DELEGATE_PREPEND_MAX);
	if (policy_proto_encode(&r->request, a, sizeof(a) / sizeof(a[0])) ==
	    -1) {
		req_free(r);
		return NULL;
	}
	r->done = done;
	r->arg = arg;
	/* Postfix's words for what is refused */
	if (eom) {
		str_fmt_trunc(r->who, sizeof(r->who), "<%s>", q->sender);
		r->what = "Data command";
	} else {
		str_fmt_trunc(r->who, sizeof(r->who), "<%s>", q->recipient);
		r->what = "Recipient address";
	}
	policy_chain_init(&r->chain);
	svc_enqueue(&svcs[0], r);
	return r;
}

void
delegate_cancel(struct delegate_req *r)
{
	struct service *s = &svcs[r->svc];

	/* one written or being written is answered: its answer is dropped */
	r->done = NULL;
	if (r == TAILQ_FIRST(&s->q) && s->sent)
		return;
	TAILQ_REMOVE(&s->q, r, entry);
	s->nq--;
	req_free(r);
}
