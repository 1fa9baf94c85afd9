/*
 * milter: the client side of the milter protocol on queued's event
 * loop. Each step is a few packets (the stage's macros, the command)
 * written without blocking, then a wait for the reply under a timer;
 * the answer goes to the caller through a deferred event, so a callback
 * never runs inside the caller's own call. The protocol's reference is
 * libmilter (mfapi.h, mfdef.h) and what Postfix's milter8 does with it:
 * filters skip steps (the NO* flags) and leave steps unanswered (NR_*)
 * as they negotiated; modifications come only at end of message and
 * only those negotiated; a failing filter gets the default action.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"
#include "sockspec.h"

/* the output queue: a step's packets, or a body call's chunks */
#define OUT_MAX		(2 * MILTER_BODY_CALL_MAX + 65536)
#define SPEC_MAX	256

/* The macros we know, in the table milter_set_macro fills. */
static const char *const macro_names[] = {
	"j", "{daemon_name}", "i", "{auth_authen}", "{client_addr}",
	"{client_name}", "{mail_addr}", "{rcpt_addr}", "{tls_version}",
	"{cipher}",
};
#define NMACROS	(sizeof(macro_names) / sizeof(macro_names[0]))

/*
 * What each stage sends a filter that did not name its own list: the
 * macros Postfix's defaults give at that stage among ours.
 */
static const char *const stage_macros[MILTER_M_N] = {
	[MILTER_M_CONNECT] = "j {daemon_name} {client_addr} {client_name}",
	[MILTER_M_HELO] = "{tls_version} {cipher}",
	[MILTER_M_MAIL] = "i {auth_authen} {mail_addr}",
	[MILTER_M_RCPT] = "{rcpt_addr}",
	[MILTER_M_DATA] = "i",
	[MILTER_M_EOM] = "i",
	[MILTER_M_EOH] = "",
};

enum mstate {
	MS_NEW,		/* not connected */
	MS_CONNECTING,	/* waiting for the socket */
	MS_OPTNEG,	/* waiting for the negotiation's reply */
	MS_READY,	/* idle */
	MS_WAIT,	/* waiting for a step's reply */
	MS_DEAD,	/* failed or closed: the default action from now on */
};

struct milter {
	sd_event		*event;
	sd_event_source		*io, *timer, *post;
	int			 fd;
	char			 spec[SPEC_MAX];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct milter_opts	 o;
	milter_cb		*cb;
	void			*arg;
	enum mstate		 state;
	struct buf		 out, in;
	size_t			 out_off;
	uint32_t		 actions, protocol;
	char			*symlist[MILTER_M_N];
	char			*macros[NMACROS];
	char			 step;		/* the command waiting */
	int			 stale;		/* replies to drop: aborted */
	int			 session_done;	/* accepted/refused at
						 * CONNECT or HELO */
	int			 message_done;	/* accepted or discarded */
	struct milter_mods	 mods;
	struct buf		 pending;	/* CONNECT, until negotiated */
	/* a body call: its chunks, sent one per reply */
	struct buf		 body;
	size_t			 body_off;
	int			 body_skip;
	struct milter_result	 res;
	int			 posted;
};

void
milter_opts_conf(struct milter_opts *o, const struct conf *c)
{
	o->default_action = strcmp(c->milter_default_action, "accept") == 0 ?
	    MILTER_ACCEPT : strcmp(c->milter_default_action, "reject") == 0 ?
	    MILTER_REJECT : MILTER_TEMPFAIL;
	o->connect_usec = (uint64_t)c->milter_connect_timeout * 1000000;
	o->command_usec = (uint64_t)c->milter_command_timeout * 1000000;
	o->content_usec = (uint64_t)c->milter_content_timeout * 1000000;
	o->body_max = c->max_message_size > SIZE_MAX / 2 ? SIZE_MAX / 2 :
	    (size_t)c->max_message_size + 65536;
}

/*
 * The filters named by host name, looked up once (milter_resolve): a
 * session's connection never waits for DNS.
 */
static struct named {
	char			*spec;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
} *named;
static size_t nnamed;

void
milter_resolve(const struct conf *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	for (i = 0; i < nnamed; i++)
		free(named[i].spec);
	free(named);
	named = NULL;
	nnamed = 0;
	if (c->n_milters == 0 ||
	    (named = calloc(c->n_milters, sizeof(*named))) == NULL)
		return;
	for (i = 0; i < c->n_milters; i++) {
		if (sockspec_parse(c->milters[i], 0, &ss, &len) != 1)
			continue;
		if (sockspec_parse(c->milters[i], 1, &ss, &len) != 0) {
			log_warnx("milters: %s has no address: it counts as down "
			    "until queued restarts", c->milters[i]);
			continue;
		}
		if ((named[nnamed].spec = strdup(c->milters[i])) == NULL)
			return;
		named[nnamed].ss = ss;
		named[nnamed].len = len;
		nnamed++;
	}
}

int
milter_parse_spec(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len)
{
	size_t i;

	switch (sockspec_parse(spec, 0, ss, len)) {
	case 0:
		return 0;
	case 1:
		for (i = 0; i < nnamed; i++)
			if (strcmp(named[i].spec, spec) == 0) {
				*ss = named[i].ss;
				*len = named[i].len;
				return 0;
			}
		return -1;
	default:
		return -1;
	}
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *ud);

/* ---- results ---- */

static int
on_post(sd_event_source *s, uint64_t usec, void *ud)
{
	struct milter *m = ud;

	(void)s;
	(void)usec;
	m->posted = 0;
	m->cb(m->arg, &m->res);
	return 0;
}

/* The step is answered: tell the caller from the loop, not from here. */
static void
post(struct milter *m, enum milter_verdict v, const char *reply, int custom)
{
	memset(&m->res, 0, sizeof(m->res));
	m->res.verdict = v;
	m->res.custom = custom;
	if (reply != NULL)
		str_copy_trunc(m->res.reply, reply, sizeof(m->res.reply));
	else if (v == MILTER_REJECT)
		str_copy_trunc(m->res.reply, "550 5.7.1 Command rejected",
		    sizeof(m->res.reply));
	else if (v == MILTER_TEMPFAIL)
		str_copy_trunc(m->res.reply, "451 4.7.1 Service unavailable - try "
		    "again later", sizeof(m->res.reply));
	m->posted = 1;
	sd_event_source_set_time(m->post, 0);
	sd_event_source_set_enabled(m->post, SD_EVENT_ONESHOT);
}

static void
post_default(struct milter *m)
{
	post(m, m->o.default_action, NULL, 0);
	m->res.failed = 1;
}

static void
timer_off(struct milter *m)
{
	sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
}

static void
timer_arm(struct milter *m, uint64_t usec)
{
	uint64_t now;

	sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(m->timer, now + usec);
	sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

static void
close_fd(struct milter *m)
{
	if (m->io != NULL)
		m->io = sd_event_source_unref(m->io);
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	timer_off(m);
}

/* The filter is gone for this session; a step waiting gets the default. */
static void
fail(struct milter *m, const char *why)
{
	int waiting = m->state == MS_WAIT || m->state == MS_CONNECTING ||
	    m->state == MS_OPTNEG;

	log_warnx("milter %s: %s; %s from now on", m->spec, why,
	    m->o.default_action == MILTER_ACCEPT ? "accepting" :
	    m->o.default_action == MILTER_REJECT ? "rejecting" :
	    "tempfailing");
	close_fd(m);
	m->state = MS_DEAD;
	if (waiting)
		post_default(m);
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct milter *m = ud;

	(void)s;
	(void)usec;
	fail(m, m->state == MS_CONNECTING ? "connect timed out" :
	    "timed out waiting for a reply");
	return 0;
}

/* ---- output ---- */

static void
io_events(struct milter *m)
{
	if (m->io != NULL)
		sd_event_source_set_io_events(m->io, EPOLLIN |
		    (m->out_off < m->out.len ? EPOLLOUT : 0));
}

/* Write what the socket takes now; the rest when it says so. */
static int
flush(struct milter *m)
{
	while (m->out_off < m->out.len) {
		ssize_t n = send(m->fd, m->out.data + m->out_off,
		    m->out.len - m->out_off, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			fail(m, "cannot write");
			return -1;
		}
		m->out_off += (size_t)n;
	}
	if (m->out_off == m->out.len) {
		buf_reset(&m->out);
		m->out_off = 0;
	}
	io_events(m);
	return 0;
}

static const char *
macro_value(const struct milter *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NMACROS; i++) {
		const char *k = macro_names[i];
		size_t kl = strlen(k);

		/* "{name}" may be asked for as "name" */
		if ((kl == len && strncmp(k, name, len) == 0) ||
		    (k[0] == '{' && kl == len + 2 &&
		    strncmp(k + 1, name, len) == 0))
			return m->macros[i];
	}
	return NULL;
}

static const char *const stage_cmd = "CHMRTEN";

/* The macros of a stage, before its command (sent even when the
 * command itself is negotiated away: later stages may read them). */
static int
queue_macros(struct milter *m, enum milter_stage st)
{
	const char *names[NMACROS], *values[NMACROS];
	char namebuf[NMACROS][64];
	const char *list = m->symlist[st] ? m->symlist[st] : stage_macros[st];
	size_t n = 0;

	while (*list && n < NMACROS) {
		size_t len;

		list += strspn(list, " ,");
		len = strcspn(list, " ,");
		if (len == 0)
			break;
		if (len < sizeof(namebuf[0]) &&
		    (values[n] = macro_value(m, list, len)) != NULL) {
			memcpy(namebuf[n], list, len);
			namebuf[n][len] = '\0';
			names[n] = namebuf[n];
			n++;
		}
		list += len;
	}
	if (n == 0)
		return 0;
	return milter_proto_macros(&m->out, stage_cmd[st], names, values, n);
}

/* ---- steps ---- */

/*
 * Start a step. 1: the caller queues its packets and waits (or not:
 * noreply); 0: answered already (posted) without sending anything.
 */
static int
step_begin(struct milter *m, char cmd, enum milter_stage st, uint32_t no)
{
	if (m->state == MS_DEAD || m->state == MS_NEW) {
		post_default(m);
		return 0;
	}
	if (m->session_done || (m->message_done && cmd != MILTER_C_MAIL)) {
		post(m, MILTER_ACCEPT, NULL, 0);
		return 0;
	}
	if (cmd == MILTER_C_MAIL)
		m->message_done = 0;
	if (st != MILTER_M_N && queue_macros(m, st) == -1) {
		fail(m, "macros too long");
		post_default(m);
		return 0;
	}
	if (m->protocol & no) {
		post(m, MILTER_CONTINUE, NULL, 0);
		(void)flush(m);
		return 0;
	}
	return 1;
}

/* The packets are queued: send them and wait, unless nr says not to. */
static void
step_send(struct milter *m, char cmd, uint32_t nr, uint64_t usec)
{
	if (flush(m) == -1) {
		post_default(m);
		return;
	}
	if (m->protocol & nr) {
		post(m, MILTER_CONTINUE, NULL, 0);
		return;
	}
	m->step = cmd;
	m->state = MS_WAIT;
	timer_arm(m, usec);
}

static int
busy(const struct milter *m)
{
	return m->posted || m->state == MS_WAIT || m->state == MS_OPTNEG ||
	    m->state == MS_CONNECTING;
}

static void
strip_brackets(char *out, size_t len, const char *path)
{
	size_t n = strlen(path);

	if (n >= 2 && path[0] == '<' && path[n - 1] == '>')
		str_fmt_trunc(out, len, "%.*s", (int)(n - 2), path + 1);
	else
		str_copy_trunc(out, path, len);	/* callers give a path room */
}

static void
send_connect_cmd(struct milter *m)
{
	m->state = MS_READY;
	if (step_begin(m, MILTER_C_CONNECT, MILTER_M_CONNECT,
	    MILTER_P_NOCONNECT)) {
		if (buf_add(&m->out, m->pending.data, m->pending.len) == -1) {
			fail(m, "output too long");
			post_default(m);
			return;
		}
		step_send(m, MILTER_C_CONNECT, MILTER_P_NR_CONN,
		    m->o.command_usec);
	}
	buf_reset(&m->pending);
}

int
milter_connect(struct milter *m, const char *host, const char *addr,
    unsigned port)
{
	int family = m->ss.ss_family;
	char fam = 'L';

	if (busy(m) || m->state != MS_NEW)
		return -1;
	milter_set_macro(m, "{client_addr}", *addr ? addr : NULL);
	milter_set_macro(m, "{client_name}", host);
	if (*addr)
		fam = strchr(addr, ':') ? '6' : '4';
	buf_reset(&m->pending);
	if (milter_proto_connect(&m->pending, host, fam, (uint16_t)port,
	    addr) == -1) {
		m->state = MS_DEAD;
		post_default(m);
		return 0;
	}
	m->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd == -1 || sd_event_add_io(m->event, &m->io, m->fd,
	    EPOLLOUT, on_io, m) < 0) {
		m->state = MS_CONNECTING;
		fail(m, "cannot make a socket");
		return 0;
	}
	m->state = MS_CONNECTING;
	if (connect(m->fd, (struct sockaddr *)&m->ss, m->sslen) == -1 &&
	    errno != EINPROGRESS) {
		fail(m, strerror(errno));
		return 0;
	}
	timer_arm(m, m->o.connect_usec);
	return 0;
}

static void
connected(struct milter *m)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		fail(m, strerror(err));
		return;
	}
	m->state = MS_OPTNEG;
	timer_arm(m, m->o.command_usec);
	if (milter_proto_optneg(&m->out, MILTER_VERSION, MILTER_F_ALL,
	    MILTER_P_OFFER) == -1) {
		fail(m, "cannot negotiate");
		return;
	}
	(void)flush(m);
}

int
milter_helo(struct milter *m, const char *helo)
{
	if (busy(m))
		return -1;
	if (step_begin(m, MILTER_C_HELO, MILTER_M_HELO, MILTER_P_NOHELO)) {
		if (milter_proto_strings(&m->out, MILTER_C_HELO, &helo, 1))
			goto toolong;
		step_send(m, MILTER_C_HELO, MILTER_P_NR_HELO,
		    m->o.command_usec);
	}
	return 0;
toolong:
	fail(m, "HELO too long");
	post_default(m);
	return 0;
}

static int
envelope(struct milter *m, char cmd, const char *const *args, size_t n)
{
	int mail = cmd == MILTER_C_MAIL;
	char addr[1024];

	if (busy(m) || n == 0)
		return -1;
	strip_brackets(addr, sizeof(addr), args[0]);
	milter_set_macro(m, mail ? "{mail_addr}" : "{rcpt_addr}", addr);
	if (step_begin(m, cmd, mail ? MILTER_M_MAIL : MILTER_M_RCPT,
	    mail ? MILTER_P_NOMAIL : MILTER_P_NORCPT)) {
		if (milter_proto_strings(&m->out, cmd, args, n) == -1) {
			fail(m, "command too long");
			post_default(m);
			return 0;
		}
		step_send(m, cmd, mail ? MILTER_P_NR_MAIL : MILTER_P_NR_RCPT,
		    m->o.command_usec);
	}
	return 0;
}

int
milter_mail(struct milter *m, const char *const *args, size_t n)
{
	return envelope(m, MILTER_C_MAIL, args, n);
}

int
milter_rcpt(struct milter *m, const char *const *args, size_t n)
{
	return envelope(m, MILTER_C_RCPT, args, n);
}

/* A command without data. */
static int
bare(struct milter *m, char cmd, enum milter_stage st, uint32_t no,
    uint32_t nr, uint64_t usec)
{
	if (busy(m))
		return -1;
	if (step_begin(m, cmd, st, no)) {
		if (milter_proto_put(&m->out, cmd, NULL, 0) == -1) {
			fail(m, "output full");
			post_default(m);
			return 0;
		}
		step_send(m, cmd, nr, usec);
	}
	return 0;
}

int
milter_data(struct milter *m)
{
	return bare(m, MILTER_C_DATA, MILTER_M_DATA, MILTER_P_NODATA,
	    MILTER_P_NR_DATA, m->o.command_usec);
}

int
milter_eoh(struct milter *m)
{
	return bare(m, MILTER_C_EOH, MILTER_M_EOH, MILTER_P_NOEOH,
	    MILTER_P_NR_EOH, m->o.content_usec);
}

int
milter_header(struct milter *m, const char *name, const char *value)
{
	struct buf v;
	const char *s[2];
	int rc = 0;

	if (busy(m))
		return -1;
	if (!step_begin(m, MILTER_C_HEADER, MILTER_M_N, MILTER_P_NOHDRS))
		return 0;
	/* without HDR_LEADSPC a filter gets the value without the blanks
	 * after the colon, as Sendmail gives it; line ends as CRLF */
	if (!(m->protocol & MILTER_P_HDR_LEADSPC))
		value += strspn(value, " \t");
	buf_init(&v, MILTER_PACKET_MAX);
	for (; *value && rc == 0; value++) {
		if (*value == '\n' && (v.len == 0 || v.data[v.len - 1] != '\r'))
			rc = buf_addc(&v, '\r');
		if (rc == 0)
			rc = buf_addc(&v, *value);
	}
	s[0] = name;
	s[1] = buf_cstr(&v);
	if (rc != 0 || s[1] == NULL ||
	    milter_proto_strings(&m->out, MILTER_C_HEADER, s, 2) == -1) {
		buf_free(&v);
		fail(m, "header too long");
		post_default(m);
		return 0;
	}
	buf_free(&v);
	step_send(m, MILTER_C_HEADER, MILTER_P_NR_HDR, m->o.content_usec);
	return 0;
}

/* The next chunk of the body call; the call is answered after the last. */
static void
body_next(struct milter *m)
{
	size_t n = m->body.len - m->body_off;

	if (n == 0 || m->body_skip) {
		buf_reset(&m->body);
		m->body_off = 0;
		post(m, MILTER_CONTINUE, NULL, 0);
		return;
	}
	if (n > MILTER_CHUNK_MAX)
		n = MILTER_CHUNK_MAX;
	if (milter_proto_put(&m->out, MILTER_C_BODY, m->body.data +
	    m->body_off, n) == -1) {
		fail(m, "output full");
		post_default(m);
		return;
	}
	m->body_off += n;
	if (flush(m) == -1) {
		post_default(m);
		return;
	}
	if (m->protocol & MILTER_P_NR_BODY) {
		body_next(m);
		return;
	}
	m->step = MILTER_C_BODY;
	m->state = MS_WAIT;
	timer_arm(m, m->o.content_usec);
}

int
milter_body(struct milter *m, const void *data, size_t len)
{
	const char *p = data;
	size_t i;

	if (busy(m) || len > MILTER_BODY_CALL_MAX)
		return -1;
	if (m->body_skip) {
		post(m, MILTER_CONTINUE, NULL, 0);
		return 0;
	}
	if (!step_begin(m, MILTER_C_BODY, MILTER_M_N, MILTER_P_NOBODY))
		return 0;
	/* RFC 5321 2.3.8: the filter sees the message as SMTP carries it */
	buf_reset(&m->body);
	m->body_off = 0;
	for (i = 0; i < len; i++)
		if ((p[i] == '\n' && (i == 0 || p[i - 1] != '\r') &&
		    buf_addc(&m->body, '\r') == -1) ||
		    buf_addc(&m->body, p[i]) == -1) {
			fail(m, "body call too long");
			post_default(m);
			return 0;
		}
	body_next(m);
	return 0;
}

int
milter_eom(struct milter *m)
{
	if (busy(m))
		return -1;
	m->body_skip = 0;
	milter_mods_free(&m->mods);
	milter_mods_init(&m->mods, m->o.body_max);
	/* EOM is never negotiated away: it carries the verdict */
	return bare(m, MILTER_C_EOB, MILTER_M_EOM, 0, 0, m->o.content_usec);
}

void
milter_abort(struct milter *m)
{
	if (m->posted) {
		m->posted = 0;
		sd_event_source_set_enabled(m->post, SD_EVENT_OFF);
	}
	m->message_done = 0;
	m->body_skip = 0;
	buf_reset(&m->body);
	m->body_off = 0;
	if (m->state == MS_WAIT) {
		/* the reply to the step in flight is still to come */
		m->stale = 1;
		m->state = MS_READY;
		timer_arm(m, m->o.command_usec);
	}
	if (m->state != MS_READY || m->session_done)
		return;
	if (milter_proto_put(&m->out, MILTER_C_ABORT, NULL, 0) == -1)
		fail(m, "output full");
	else
		(void)flush(m);
}

/* ---- input ---- */

static int
negotiated(struct milter *m, const struct milter_reply *r)
{
	size_t i;

	if (r->cmd != MILTER_R_OPTNEG) {
		fail(m, "no negotiation");
		return -1;
	}
	if (r->version < 2 || r->version > MILTER_VERSION) {
		fail(m, "unsupported protocol version");
		return -1;
	}
	/* what it asks beyond our offer it does not get */
	m->actions = r->actions & MILTER_F_ALL;
	m->protocol = r->protocol & MILTER_P_OFFER;
	for (i = 0; i < MILTER_M_N; i++)
		if (r->symlist[i] != NULL && (m->actions & MILTER_F_SETSYMLIST)
		    && (m->symlist[i] = strdup(r->symlist[i])) == NULL) {
			fail(m, "out of memory");
			return -1;
		}
	timer_off(m);
	send_connect_cmd(m);
	return 0;
}

/* A change at end of message, if negotiated. */
static int
modify(struct milter *m, const struct milter_reply *r)
{
	static const struct {
		char		 cmd;
		uint32_t	 flag;
	} need[] = {
		{ MILTER_R_ADDHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_INSHEADER, MILTER_F_ADDHDRS },
		{ MILTER_R_CHGHEADER, MILTER_F_CHGHDRS },
		{ MILTER_R_REPLBODY, MILTER_F_CHGBODY },
		{ MILTER_R_ADDRCPT, MILTER_F_ADDRCPT },
		{ MILTER_R_ADDRCPT_PAR, MILTER_F_ADDRCPT_PAR },
		{ MILTER_R_DELRCPT, MILTER_F_DELRCPT },
		{ MILTER_R_CHGFROM, MILTER_F_CHGFROM },
		{ MILTER_R_QUARANTINE, MILTER_F_QUARANTINE },
	};
	char *value = NULL;
	const char *v = r->s2;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].cmd == r->cmd)
			break;
	if (i == sizeof(need) / sizeof(need[0]) ||
	    m->step != MILTER_C_EOB || !(m->actions & need[i].flag))
		return -1;
	/* a value without HDR_LEADSPC lacks the blank after the colon */
	if ((r->cmd == MILTER_R_ADDHEADER || r->cmd == MILTER_R_INSHEADER ||
	    (r->cmd == MILTER_R_CHGHEADER && *r->s2 != '\0')) &&
	    !(m->protocol & MILTER_P_HDR_LEADSPC)) {
		size_t len = strlen(r->s2);

		if ((value = malloc(len + 2)) == NULL)
			return -1;
		value[0] = ' ';
		memcpy(value + 1, r->s2, len + 1);
		v = value;
	}
	switch (r->cmd) {
	case MILTER_R_ADDHEADER:
		rc = milter_mods_add(&m->mods, MILTER_MOD_ADDHDR, 0, r->s1, v);
		break;
	case MILTER_R_INSHEADER:
		rc = milter_mods_add(&m->mods, MILTER_MOD_INSHDR, r->index,
		    r->s1, v);
		break;
	case MILTER_R_CHGHEADER:
		rc = milter_mods_add(&m->mods, MILTER_MOD_CHGHDR, r->index,
		    r->s1, v);
		break;
	case MILTER_R_REPLBODY:
		rc = milter_mods_body(&m->mods, r->data, r->len);
		break;
	case MILTER_R_ADDRCPT:
	case MILTER_R_ADDRCPT_PAR:
		rc = milter_mods_add(&m->mods, MILTER_MOD_ADDRCPT, 0, r->s1,
		    r->s2);
		break;
	case MILTER_R_DELRCPT:
		rc = milter_mods_add(&m->mods, MILTER_MOD_DELRCPT, 0, r->s1,
		    NULL);
		break;
	case MILTER_R_CHGFROM:
		rc = milter_mods_add(&m->mods, MILTER_MOD_CHGFROM, 0, r->s1,
		    r->s2);
		break;
	default:
		rc = milter_mods_quarantine(&m->mods, r->s1);
		break;
	}
	free(value);
	return rc;
}

/* A verdict ends the step. */
static void
verdict(struct milter *m, const struct milter_reply *r)
{
	char step = m->step;
	int early = step == MILTER_C_CONNECT || step == MILTER_C_HELO;
	enum milter_verdict v;

	timer_off(m);
	m->state = MS_READY;
	switch (r->cmd) {
	case MILTER_R_CONTINUE:	v = MILTER_CONTINUE; break;
	case MILTER_R_ACCEPT:	v = MILTER_ACCEPT; break;
	case MILTER_R_DISCARD:	v = MILTER_DISCARD; break;
	case MILTER_R_REJECT:	v = MILTER_REJECT; break;
	case MILTER_R_REPLYCODE:
		v = r->code >= 500 ? MILTER_REJECT : MILTER_TEMPFAIL;
		break;
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		/* the filter wants the session over: 421 */
		post(m, MILTER_TEMPFAIL, "421 4.7.0 Service unavailable - "
		    "closing transmission channel", 0);
		m->session_done = 1;
		return;
	default:		v = MILTER_TEMPFAIL; break;
	}
	if (early && v != MILTER_CONTINUE)
		m->session_done = 1;
	else if (v == MILTER_ACCEPT || v == MILTER_DISCARD)
		m->message_done = step != MILTER_C_EOB;
	if (r->cmd == MILTER_R_REPLYCODE) {
		char reply[MILTER_REPLY_MAX + 1];
		size_t n;

		/* the last line's end is ours to write */
		str_copy_trunc(reply, r->s1, sizeof(reply));
		n = strlen(reply);
		while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
			reply[--n] = '\0';
		post(m, v, reply, 1);
	} else
		post(m, v, NULL, 0);
	if (step == MILTER_C_EOB) {
		milter_mods_body_end(&m->mods);
		if (v == MILTER_CONTINUE || v == MILTER_ACCEPT)
			m->res.mods = &m->mods;
	}
}

/* 0: go on reading; -1: stop (failed). */
static int
reply(struct milter *m, const struct milter_reply *r)
{
	if (m->state == MS_OPTNEG)
		return negotiated(m, r);
	if (m->stale) {
		/* the answer to an aborted step: its end frees the line */
		if (r->cmd != '\0' && strchr("acdrtsy4f", r->cmd) &&
		    --m->stale == 0 && m->state == MS_READY)
			timer_off(m);
		return 0;
	}
	if (m->state != MS_WAIT) {
		fail(m, "unexpected reply");
		return -1;
	}
	switch (r->cmd) {
	case MILTER_R_PROGRESS:
		timer_arm(m, m->o.content_usec);
		return 0;
	case MILTER_R_SKIP:
		if (m->step != MILTER_C_BODY ||
		    !(m->protocol & MILTER_P_SKIP)) {
			fail(m, "skip out of place");
			return -1;
		}
		timer_off(m);
		m->state = MS_READY;
		m->body_skip = 1;
		body_next(m);
		return 0;
	case MILTER_R_CONTINUE:
		if (m->step == MILTER_C_BODY) {
			timer_off(m);
			m->state = MS_READY;
			body_next(m);
			return 0;
		}
		/* FALLTHROUGH */
	case MILTER_R_ACCEPT:
	case MILTER_R_DISCARD:
	case MILTER_R_REJECT:
	case MILTER_R_TEMPFAIL:
	case MILTER_R_REPLYCODE:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		if (m->step == MILTER_C_BODY) {
			buf_reset(&m->body);
			m->body_off = 0;
		}
		verdict(m, r);
		return 0;
	case MILTER_R_OPTNEG:
	case MILTER_R_SETSYMLIST:
		fail(m, "negotiation out of place");
		return -1;
	default:
		if (modify(m, r) == -1) {
			fail(m, "modification out of place, not negotiated "
			    "or too big");
			return -1;
		}
		return 0;
	}
}

static void
readable(struct milter *m)
{
	char chunk[65536];

	for (;;) {
		ssize_t n;
		size_t plen, off = 0;
		int rc;

		n = recv(m->fd, chunk, sizeof(chunk), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			fail(m, n == 0 ? "closed the connection" :
			    "cannot read");
			return;
		}
		/* never more than a whole packet and a read beyond it */
		if (buf_add(&m->in, chunk, (size_t)n) == -1) {
			fail(m, "too much input");
			return;
		}
		while ((rc = milter_proto_frame(m->in.data + off,
		    m->in.len - off, &plen)) == 1) {
			struct milter_reply r;
			char err[128];

			if (milter_proto_parse(m->in.data + off + 4, plen, &r,
			    err, sizeof(err)) == -1) {
				fail(m, err);
				return;
			}
			if (reply(m, &r) == -1 || m->fd == -1)
				return;
			off += 4 + plen;
		}
		if (rc == -1) {
			fail(m, "packet length out of bounds");
			return;
		}
		memmove(m->in.data, m->in.data + off, m->in.len - off);
		m->in.len -= off;
	}
}

static int
on_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct milter *m = ud;

	(void)s;
	(void)fd;
	if (m->state == MS_CONNECTING) {
		connected(m);
		return 0;
	}
	if ((revents & EPOLLOUT) && flush(m) == -1)
		return 0;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		readable(m);
	return 0;
}

/* ---- life ---- */

struct milter *
milter_new(sd_event *e, const char *spec, const struct milter_opts *o,
    milter_cb *cb, void *arg)
{
	struct milter *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->fd = -1;
	if (milter_parse_spec(spec, &m->ss, &m->sslen) == -1 ||
	    str_copy(m->spec, spec, sizeof(m->spec)) == -1) {
		free(m);
		return NULL;
	}
	m->event = e;
	m->o = *o;
	m->cb = cb;
	m->arg = arg;
	buf_init(&m->out, OUT_MAX);
	buf_init(&m->in, 4 + MILTER_PACKET_MAX + 65536);
	buf_init(&m->pending, MILTER_PACKET_MAX + 4);
	buf_init(&m->body, 2 * MILTER_BODY_CALL_MAX);
	milter_mods_init(&m->mods, o->body_max);
	if (sd_event_add_time(e, &m->timer, CLOCK_MONOTONIC, 0, 0, on_timer,
	    m) < 0 || sd_event_add_time(e, &m->post, CLOCK_MONOTONIC, 0, 0,
	    on_post, m) < 0) {
		milter_free(m);
		return NULL;
	}
	sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(m->post, SD_EVENT_OFF);
	return m;
}

void
milter_free(struct milter *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->fd != -1 && (m->state == MS_READY || m->state == MS_WAIT)) {
		/* a polite goodbye if the socket takes it now; no waiting */
		buf_reset(&m->out);
		m->out_off = 0;
		if (milter_proto_put(&m->out, MILTER_C_QUIT, NULL, 0) == 0)
			(void)send(m->fd, m->out.data, m->out.len,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (m->io != NULL)
		sd_event_source_unref(m->io);
	if (m->fd != -1)
		close(m->fd);
	sd_event_source_unref(m->timer);
	sd_event_source_unref(m->post);
	for (i = 0; i < MILTER_M_N; i++)
		free(m->symlist[i]);
	for (i = 0; i < NMACROS; i++)
		free(m->macros[i]);
	buf_free(&m->out);
	buf_free(&m->in);
	buf_free(&m->pending);
	buf_free(&m->body);
	milter_mods_free(&m->mods);
	free(m);
}

void
milter_set_macro(struct milter *m, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < NMACROS; i++)
		if (strcmp(macro_names[i], name) == 0) {
			free(m->macros[i]);
			m->macros[i] = value ? strdup(value) : NULL;
			return;
		}
}

/* ---- the chain ---- */

enum chain_step {
	CH_CONNECT, CH_HELO, CH_MAIL, CH_RCPT, CH_DATA, CH_HEADER, CH_EOH,
	CH_BODY, CH_EOM,
};

#define CHAIN_ARGS	32

struct milter_chain {
	struct milter		**m;
	size_t			 n, cur;
	size_t			 lo, hi;	/* the filters a step goes to */
	milter_cb		*cb;
	void			*arg;
	int			 busy;
	/* the step being run, again for each filter */
	enum chain_step		 step;
	char			*args[CHAIN_ARGS];
	size_t			 nargs;
	unsigned		 port;
	struct buf		 data;
	/* what the filters said so far */
	int			 failed;
	int			 all_accept;
	size_t			 body_max;
	struct milter_mods	 mods;
	struct milter_result	 res;
};

static void chain_run(struct milter_chain *ch);

static void
chain_clear(struct milter_chain *ch)
{
	size_t i;

	for (i = 0; i < ch->nargs; i++)
		free(ch->args[i]);
	ch->nargs = 0;
	buf_reset(&ch->data);
}

/* Copy one filter's changes after those of the filters before it. */
static int
chain_merge(struct milter_chain *ch, const struct milter_mods *mm)
{
	size_t i;

	for (i = 0; i < mm->n; i++)
		if (milter_mods_add(&ch->mods, mm->v[i].type, mm->v[i].index,
		    mm->v[i].name, mm->v[i].value) == -1)
			return -1;
	if (mm->replbody) {
		/* a later filter's body replaces an earlier one's */
		buf_reset(&ch->mods.body);
		ch->mods.replbody = 1;
		if (mm->body.len > 0 && buf_add(&ch->mods.body, mm->body.data,
		    mm->body.len) == -1)
			return -1;
	}
	if (mm->quarantine != NULL &&
	    milter_mods_quarantine(&ch->mods, mm->quarantine) == -1)
		return -1;
	return 0;
}

static void
chain_done(struct milter_chain *ch, const struct milter_result *r)
{
	struct milter_result res;

	ch->busy = 0;
	if (r != NULL)
		res = *r;
	else {
		memset(&res, 0, sizeof(res));
		res.verdict = ch->all_accept ? MILTER_ACCEPT : MILTER_CONTINUE;
	}
	res.failed |= ch->failed;
	res.mods = NULL;
	if (ch->step == CH_EOM && (res.verdict == MILTER_CONTINUE ||
	    res.verdict == MILTER_ACCEPT))
		res.mods = &ch->mods;
	chain_clear(ch);
	ch->cb(ch->arg, &res);
}

static void
chain_cb(void *arg, const struct milter_result *r)
{
	struct milter_chain *ch = arg;

	ch->failed |= r->failed;
	switch (r->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
	case MILTER_DISCARD:
		/* the first refusal is the answer; the others are not asked */
		chain_done(ch, r);
		return;
	case MILTER_CONTINUE:
		ch->all_accept = 0;
		break;
	case MILTER_ACCEPT:
		break;
	}
	if (r->mods != NULL && chain_merge(ch, r->mods) == -1) {
		struct milter_result t;

		log_warnx("milters: too many changes to the message");
		memset(&t, 0, sizeof(t));
		t.verdict = MILTER_TEMPFAIL;
		t.failed = 1;
		str_copy_trunc(t.reply, "451 4.7.1 Service unavailable - try again "
		    "later", sizeof(t.reply));
		chain_done(ch, &t);
		return;
	}
	ch->cur++;
	chain_run(ch);
}

static void
chain_run(struct milter_chain *ch)
{
	const char *const *a = (const char *const *)ch->args;
	struct milter *m;

	if (ch->cur >= ch->hi) {
		chain_done(ch, NULL);
		return;
	}
	m = ch->m[ch->cur];
	switch (ch->step) {
	case CH_CONNECT:
		(void)milter_connect(m, a[0], a[1], ch->port);
		break;
	case CH_HELO:
		(void)milter_helo(m, a[0]);
		break;
	case CH_MAIL:
		(void)milter_mail(m, a, ch->nargs);
		break;
	case CH_RCPT:
		(void)milter_rcpt(m, a, ch->nargs);
		break;
	case CH_DATA:
		(void)milter_data(m);
		break;
	case CH_HEADER:
		(void)milter_header(m, a[0], a[1]);
		break;
	case CH_EOH:
		(void)milter_eoh(m);
		break;
	case CH_BODY:
		(void)milter_body(m, ch->data.data, ch->data.len);
		break;
	case CH_EOM:
		(void)milter_eom(m);
		break;
	}
}

/* Start a step with copies of its arguments (the caller's may go). */
static int
chain_start(struct milter_chain *ch, enum chain_step step,
    const char *const *args, size_t n)
{
	size_t i;

	if (ch->busy || n > CHAIN_ARGS)
		return -1;
	chain_clear(ch);
	for (i = 0; i < n; i++) {
		if ((ch->args[i] = strdup(args[i])) == NULL) {
			chain_clear(ch);
			return -1;
		}
		ch->nargs++;
	}
	ch->busy = 1;
	ch->step = step;
	ch->cur = ch->lo;
	ch->all_accept = 1;
	if (step == CH_EOM) {
		milter_mods_free(&ch->mods);
		milter_mods_init(&ch->mods, ch->body_max);
	}
	chain_run(ch);
	return 0;
}

struct milter_chain *
milter_chain_new(sd_event *e, const struct conf *c, milter_cb *cb, void *arg)
{
	struct milter_chain *ch = calloc(1, sizeof(*ch));
	struct milter_opts o;
	size_t i;

	if (ch == NULL)
		return NULL;
	milter_opts_conf(&o, c);
	ch->cb = cb;
	ch->arg = arg;
	ch->body_max = o.body_max;
	buf_init(&ch->data, MILTER_BODY_CALL_MAX);
	milter_mods_init(&ch->mods, o.body_max);
	if (c->n_milters > 0 &&
	    (ch->m = calloc(c->n_milters, sizeof(*ch->m))) == NULL) {
		milter_chain_free(ch);
		return NULL;
	}
	for (i = 0; i < c->n_milters; i++) {
		if ((ch->m[i] = milter_new(e, c->milters[i], &o, chain_cb,
		    ch)) == NULL) {
			milter_chain_free(ch);
			return NULL;
		}
		ch->n++;
	}
	ch->hi = ch->n;
	return ch;
}

void
milter_chain_free(struct milter_chain *ch)
{
	size_t i;

	if (ch == NULL)
		return;
	for (i = 0; i < ch->n; i++)
		milter_free(ch->m[i]);
	free(ch->m);
	chain_clear(ch);
	buf_free(&ch->data);
	milter_mods_free(&ch->mods);
	free(ch);
}

size_t
milter_chain_count(const struct milter_chain *ch)
{
	return ch->n;
}

void
milter_chain_only(struct milter_chain *ch, size_t i)
{
	if (i < ch->n) {
		ch->lo = i;
		ch->hi = i + 1;
	} else {
		ch->lo = 0;
		ch->hi = ch->n;
	}
}

void
milter_chain_set_macro(struct milter_chain *ch, const char *name,
    const char *value)
{
	size_t i;

	for (i = 0; i < ch->n; i++)
		milter_set_macro(ch->m[i], name, value);
}

int
milter_chain_connect(struct milter_chain *ch, const char *host,
    const char *addr, unsigned port)
{
	const char *a[2] = { host, addr };

	ch->port = port;
	return chain_start(ch, CH_CONNECT, a, 2);
}

int
milter_chain_helo(struct milter_chain *ch, const char *helo)
{
	return chain_start(ch, CH_HELO, &helo, 1);
}

int
milter_chain_mail(struct milter_chain *ch, const char *const *args, size_t n)
{
	return n == 0 ? -1 : chain_start(ch, CH_MAIL, args, n);
}

int
milter_chain_rcpt(struct milter_chain *ch, const char *const *args, size_t n)
{
	return n == 0 ? -1 : chain_start(ch, CH_RCPT, args, n);
}

int
milter_chain_data(struct milter_chain *ch)
{
	return chain_start(ch, CH_DATA, NULL, 0);
}

int
milter_chain_header(struct milter_chain *ch, const char *name,
    const char *value)
{
	const char *a[2] = { name, value };

	return chain_start(ch, CH_HEADER, a, 2);
}

int
milter_chain_eoh(struct milter_chain *ch)
{
	return chain_start(ch, CH_EOH, NULL, 0);
}

int
milter_chain_body(struct milter_chain *ch, const void *data, size_t len)
{
	if (ch->busy || len > MILTER_BODY_CALL_MAX)
		return -1;
	buf_reset(&ch->data);
	if (len > 0 && buf_add(&ch->data, data, len) == -1)
		return -1;
	/* chain_start clears data: set it again after */
	ch->busy = 1;
	ch->step = CH_BODY;
	ch->cur = ch->lo;
	ch->all_accept = 1;
	chain_run(ch);
	return 0;
}

int
milter_chain_eom(struct milter_chain *ch)
{
	return chain_start(ch, CH_EOM, NULL, 0);
}

void
milter_chain_abort(struct milter_chain *ch)
{
	size_t i;

	/* from the one with the content on: those before it are done */
	for (i = ch->lo; i < ch->n; i++)
		milter_abort(ch->m[i]);
	ch->busy = 0;
	chain_clear(ch);
}
