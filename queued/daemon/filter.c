/*
 * filter: a queue connection's milter session. The session steps go
 * to the chain as the handler sends them (connect and HELO together,
 * MAIL, each RCPT, DATA); at the end the content goes to one filter
 * after another (header fields, end of header, body, end of message),
 * and each one's changes are applied before the next sees the message,
 * as Postfix's cleanup does: the envelope changes in the envelope, a
 * quarantine as a hold, the header and body changes to the message in
 * memory (read once, at most max_message_size); the edited message
 * goes into incoming/<qid>.v (a new header, then the message), which
 * takes the message's place as the checks' file does (verify.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "filter.h"
#include "log.h"
#include "milter.h"

#define MAIL_ARGS	8	/* the sender and SIZE, BODY, RET, ENVID... */

enum phase { PH_IDLE, PH_CONNECT, PH_HELO, PH_MAIL, PH_RCPT, PH_DATA,
    PH_CONTENT };
enum step { ST_HEADER, ST_EOH, ST_BODY, ST_EOM };

struct filter {
	struct milter_chain	*chain;
	enum phase		 phase;
	int			 in_message;	/* MAIL sent, no end yet */
	struct qhelo		 helo;
	filter_step_fn		 step_cb;
	void			*step_arg;
	/* the content run */
	struct envelope		*env;
	int			 fd;
	char			*msg;		/* the message, len octets */
	size_t			 len;
	size_t			 hdr_end;	/* where the empty line is */
	size_t			 pos;		/* next header field / body */
	char			*colon;		/* cut by next_field */
	char			*lf;
	enum step		 step;
	size_t			 cur;		/* the filter it is with */
	int			 changed;	/* a new file is needed */
	filter_done_fn		 done;
	void			*arg;
};

static struct queued_ctx *ctx;

static const char filter_failed[] =
    "451 4.7.1 Service unavailable - try again later";

void
filter_init(struct queued_ctx *c)
{
	ctx = c;
	milter_resolve(c->conf);
}

int
filter_wanted(void)
{
	return ctx->conf->n_milters > 0;
}


/* The end of the header section (the empty line), or len if none. */
static size_t
header_end(const char *m, size_t len)
{
	size_t i;

	if (len > 0 && m[0] == '\n')
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (m[i] == '\n' && m[i + 1] == '\n')
			return i + 1;
	return len;
}

/*
 * The next header field from f->pos: its name and what follows the
 * colon (continuation lines included, the last LF not), cut in place.
 * 0 at the end of the header.
 */
static int
next_field(struct filter *f, char **name, char **value)
{
	char *p = f->msg + f->pos, *end = f->msg + f->hdr_end, *e, *colon;

	while (p < end) {
		e = p;
		do {
			e = memchr(e, '\n', (size_t)(end - e));
			if (e == NULL)
				e = end;
			else
				e++;
		} while (e < end && (*e == ' ' || *e == '\t'));
		f->pos = (size_t)(e - f->msg);
		colon = memchr(p, ':', (size_t)(e - p));
		if (colon == NULL || colon == p) {
			p = e;		/* not a field: the filter gets none */
			continue;
		}
		*colon = '\0';
		f->colon = colon;
		f->lf = e[-1] == '\n' ? e - 1 : NULL;
		if (f->lf)
			*f->lf = '\0';
		*name = p;
		*value = colon + 1;
		return 1;
	}
	return 0;
}

/* The index of the recipient a (alen octets), as queued compares them. */
static size_t
rcpt_index(const struct envelope *e, const char *a, size_t alen)
{
	size_t k;

	for (k = 0; k < e->nrcpt; k++)
		if (strlen(e->rcpts[k].addr) == alen &&
		    strncasecmp(e->rcpts[k].addr, a, alen) == 0)
			break;
	return k;
}

/* Envelope changes; 0, or -1 (logged). */
static int
envelope_changes(struct filter *f, const struct milter_mods *m)
{
	struct envelope *e = f->env;
	char arg[QPROTO_LINE_MAX], text[256];
	size_t i, k;

	for (i = 0; i < m->n; i++) {
		const struct milter_mod *d = &m->v[i];
		const char *a = d->name + (d->name[0] == '<');
		size_t alen = strcspn(a, ">");

		switch (d->type) {
		case MILTER_MOD_CHGFROM:
		case MILTER_MOD_ADDRCPT:
			/* a recipient already there is delivered once, as
			 * when a client gives it twice (two filters adding
			 * the same address, one adding the client's own) */
			if (d->type == MILTER_MOD_ADDRCPT &&
			    rcpt_index(e, a, alen) < e->nrcpt)
				break;
			if (str_fmt(arg, sizeof(arg), "<%.*s>%s%s", (int)alen, a,
			    d->value ? " " : "", d->value ? d->value : "") ==
			    -1 || (d->type == MILTER_MOD_CHGFROM ?
			    envelope_set_from(e, arg) :
			    envelope_add_rcpt(e, arg)) == -1) {
				log_warnx("%s: a filter's address: %.200s", e->qid,
				    log_text(d->name, text, sizeof(text)));
				return -1;
			}
			break;
		case MILTER_MOD_DELRCPT:
			/* one at most: additions never make a second */
			if ((k = rcpt_index(e, a, alen)) < e->nrcpt) {
				free(e->rcpts[k].addr);
				free(e->rcpts[k].params);
				free(e->rcpts[k].error);
				memmove(&e->rcpts[k], &e->rcpts[k + 1],
				    (e->nrcpt - k - 1) * sizeof(e->rcpts[0]));
				e->nrcpt--;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The content run is over: done is told, the session goes on. */
static void
finish(struct filter *f, int fd, const char *reply)
{
	filter_done_fn done = f->done;
	void *arg = f->arg;

	if (f->fd != -1 && f->fd != fd)
		close(f->fd);
	f->fd = -1;
	free(f->msg);
	f->msg = NULL;
	f->env = NULL;
	f->phase = PH_IDLE;
	if (f->in_message) {
		/* refused or discarded: those after it forget the message */
		milter_chain_abort(f->chain);
		f->in_message = 0;
	}
	milter_chain_only(f->chain, SIZE_MAX);
	done(arg, fd, reply);
}

/* The message (f->msg, edited) into incoming/<qid>.v, in its place. */
static int
rewrite(struct filter *f)
{
	struct envelope *e = f->env;
	char digits[ENVELOPE_LENGTH_DIGITS + 1];
	struct buf hdr;
	uint64_t size = e->size;
	int fd, ok;

	if ((fd = spool_create_aside(ctx->spool, e->qid)) == -1)
		return -1;
	buf_init(&hdr, 64 * 1024 * 1024);
	e->size = f->len;
	envelope_length_digits(e->size, digits);
	ok = envelope_format(e, &hdr) == 0 &&
	    fileio_write_all(fd, hdr.data, hdr.len) == 0 &&
	    fileio_write_all(fd, f->msg, f->len) == 0 &&
	    pwrite(fd, digits, ENVELOPE_LENGTH_DIGITS,
	    (off_t)envelope_length_offset(hdr.len)) == ENVELOPE_LENGTH_DIGITS &&
	    spool_adopt_aside(ctx->spool, e->qid) == 0;
	if (ok)
		e->data_off = hdr.len;
	buf_free(&hdr);
	if (!ok) {
		e->size = size;
		spool_discard_aside(ctx->spool, e->qid, fd);
		return -1;
	}
	close(f->fd);
	f->fd = fd;
	return 0;
}

/*
 * One filter's header and body changes applied to the message in
 * memory, for the next filter and the file: milter_edit_apply writes
 * into an anonymous file, read back. 0, or -1 (logged).
 */
static int
edit(struct filter *f, const struct milter_mods *m)
{
	struct stat st;
	char *msg = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = memfd_create("pombo-filter", MFD_CLOEXEC)) == -1)
		return -1;
	if (milter_edit_apply(f->msg, f->len, m, fd) == -1 ||
	    fstat(fd, &st) == -1 ||
	    /* bounded: the message, the filter's fields, its body */
	    (uint64_t)st.st_size > 2 * ctx->conf->max_message_size +
	    64 * 1024 * 1024 || (msg = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size) {
		n = pread(fd, msg + got, (size_t)st.st_size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	msg[got] = '\0';
	free(f->msg);
	f->msg = msg;
	f->len = got;
	f->hdr_end = header_end(msg, got);
	return 0;
fail:
	free(msg);
	close(fd);
	return -1;
}

static int content_begin(struct filter *f);

/* One filter's end of message: its changes; then the next filter. */
static void
at_eom(struct filter *f, const struct milter_mods *m)
{
	struct envelope *e = f->env;
	char text[256];

	if (m != NULL) {
		if (envelope_changes(f, m) == -1) {
			finish(f, -1, filter_failed);
			return;
		}
		if (m->quarantine != NULL) {
			log_info("%s: held: a filter quarantined it: %.200s",
			    e->qid, log_text(m->quarantine, text, sizeof(text)));
			e->flags |= ENV_HOLD;
		}
		if (milter_mods_edit_message(m) && edit(f, m) == -1) {
			log_warn("%s: cannot apply a filter's changes", e->qid);
			finish(f, -1, filter_failed);
			return;
		}
		/* a new envelope (sender, recipients) needs a new header */
		f->changed |= milter_mods_edit_message(m) || m->n > 0;
	}
	if (++f->cur < milter_chain_count(f->chain)) {
		if (content_begin(f) == -1) {
			log_warnx("%s: the filters lost their step", e->qid);
			finish(f, -1, filter_failed);
		}
		return;
	}
	f->in_message = 0;
	if (e->nrcpt == 0) {
		finish(f, -1, "554 5.7.1 No recipients left after the filters");
		return;
	}
	if (f->changed && rewrite(f) == -1) {
		log_warn("%s: cannot apply the filters' changes", e->qid);
		finish(f, -1, filter_failed);
		return;
	}
	finish(f, f->fd, NULL);
}

/* The next content step; -1 when the chain would not take it (a bug). */
static int
next_step(struct filter *f)
{
	char *name, *value;
	size_t n;
	int rc;

	switch (f->step) {
	case ST_HEADER:
		if (next_field(f, &name, &value)) {
			/* the chain has its copy: back as it was, for
			 * milter_edit_apply */
			rc = milter_chain_header(f->chain, name, value);
			*f->colon = ':';
			if (f->lf)
				*f->lf = '\n';
			return rc;
		}
		/* FALLTHROUGH */
	case ST_EOH:
		f->step = ST_BODY;
		f->pos = f->hdr_end < f->len ? f->hdr_end + 1 : f->len;
		return milter_chain_eoh(f->chain);
	case ST_BODY:
		n = f->len - f->pos;
		if (n > MILTER_BODY_CALL_MAX)
			n = MILTER_BODY_CALL_MAX;
		if (n == 0) {
			f->step = ST_EOM;
			return milter_chain_eom(f->chain);
		}
		f->pos += n;
		return milter_chain_body(f->chain, f->msg + f->pos - n, n);
	case ST_EOM:
		break;
	}
	return -1;
}

/* The content, from its first header field, to filter f->cur. */
static int
content_begin(struct filter *f)
{
	milter_chain_only(f->chain, f->cur);
	f->step = ST_HEADER;
	f->pos = 0;
	return next_step(f);
}

static void
content_result(struct filter *f, const struct milter_result *r)
{
	char reply[MILTER_REPLY_MAX + 1], text[MILTER_REPLY_MAX + 64];

	switch (r->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		/* one line to the client: the first of a filter's */
		str_copy_trunc(reply, r->reply, sizeof(reply));
		reply[strcspn(reply, "\r\n")] = '\0';
		log_info("%s: refused by a filter: %s", f->env->qid,
		    log_text(reply, text, sizeof(text)));
		finish(f, -1, reply);
		return;
	case MILTER_DISCARD:
		log_info("%s: discarded by a filter", f->env->qid);
		finish(f, -1, NULL);
		return;
	default:
		break;
	}
	if (f->step == ST_EOM) {
		at_eom(f, r->mods);
		return;
	}
	if (next_step(f) == -1) {
		log_warnx("%s: the filters lost their step", f->env->qid);
		finish(f, -1, filter_failed);
	}
}

static const char *const phase_name[] = {
	[PH_CONNECT] = "connect", [PH_HELO] = "HELO", [PH_MAIL] = "MAIL",
	[PH_RCPT] = "RCPT", [PH_DATA] = "DATA",
};

static void
on_result(void *arg, const struct milter_result *r)
{
	struct filter *f = arg;
	char reply[MILTER_REPLY_MAX + 1], text[MILTER_REPLY_MAX + 64];
	enum phase ph = f->phase;

	if (ph == PH_CONTENT) {
		content_result(f, r);
		return;
	}
	if (ph == PH_IDLE)
		return;		/* cancelled */
	if (ph == PH_CONNECT && r->verdict != MILTER_REJECT &&
	    r->verdict != MILTER_TEMPFAIL) {
		f->phase = PH_HELO;
		if (milter_chain_helo(f->chain, f->helo.helo) == 0)
			return;
		r = NULL;	/* cannot happen: the chain is idle */
	}
	f->phase = PH_IDLE;
	if (r == NULL) {
		f->step_cb(f->step_arg, FILTER_REFUSE, filter_failed);
		return;
	}
	switch (r->verdict) {
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		str_copy_trunc(reply, r->reply, sizeof(reply));
		reply[strcspn(reply, "\r\n")] = '\0';
		log_info("client %s: refused by a filter at %s: %s",
		    f->helo.client, phase_name[ph],
		    log_text(reply, text, sizeof(text)));
		f->step_cb(f->step_arg, FILTER_REFUSE, reply);
		return;
	case MILTER_DISCARD:
		f->step_cb(f->step_arg, FILTER_DISCARD, NULL);
		return;
	default:
		f->step_cb(f->step_arg, FILTER_GO, NULL);
		return;
	}
}

/* The whole message into memory; 0 or -1 (logged). */
static int
load(struct filter *f)
{
	struct envelope *e = f->env;
	size_t got = 0;
	ssize_t n;
	int fd;

	if (e->size > ctx->conf->max_message_size + 1024 * 1024 ||
	    (f->msg = malloc((size_t)e->size + 1)) == NULL)
		return -1;
	/* the descriptor it came with may be open for writing only */
	if ((fd = fileio_open_own(ctx->spool->incoming, e->qid, O_RDONLY)) < 0)
		return -1;
	while (got < e->size) {
		n = pread(fd, f->msg + got, (size_t)e->size - got,
		    (off_t)(e->data_off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != e->size)
		return -1;
	f->msg[got] = '\0';
	f->len = got;
	f->hdr_end = header_end(f->msg, got);
	return 0;
}

static void
set_macros(struct filter *f)
{
	char tls[QPROTO_TLS_MAX + 1], *slash;

	milter_chain_set_macro(f->chain, "j", ctx->conf->hostname);
	milter_chain_set_macro(f->chain, "{daemon_name}", "pombo");
	milter_chain_set_macro(f->chain, "{auth_authen}",
	    f->helo.auth[0] ? f->helo.auth : NULL);
	/* "tls=<version>/<cipher>" of the queue protocol's HELO */
	if (f->helo.tls[0]) {
		str_copy_trunc(tls, f->helo.tls, sizeof(tls));
		if ((slash = strchr(tls, '/')) != NULL) {
			*slash = '\0';
			milter_chain_set_macro(f->chain, "{cipher}", slash + 1);
		}
		milter_chain_set_macro(f->chain, "{tls_version}", tls);
	}
}

struct filter *
filter_open(filter_step_fn step, void *arg)
{
	struct filter *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->fd = -1;
	f->step_cb = step;
	f->step_arg = arg;
	if ((f->chain = milter_chain_new(ctx->event, ctx->conf, on_result,
	    f)) == NULL) {
		log_warnx("cannot set up the filters");
		free(f);
		return NULL;
	}
	return f;
}

void
filter_close(struct filter *f)
{
	if (f == NULL)
		return;
	if (f->phase == PH_CONTENT)
		finish(f, -1, filter_failed);
	milter_chain_free(f->chain);
	free(f);
}

int
filter_helo(struct filter *f, const struct qhelo *h)
{
	int local = strcmp(h->client, "local") == 0;

	if (f->phase != PH_IDLE)
		return -1;
	f->helo = *h;
	set_macros(f);
	f->phase = PH_CONNECT;
	if (milter_chain_connect(f->chain, local ? "localhost" : "unknown",
	    local ? "" : f->helo.client, 0) == -1) {
		f->phase = PH_IDLE;
		return -1;
	}
	return 0;
}

int
filter_mail(struct filter *f, const char *from, const char *params)
{
	char arg[QPROTO_LINE_MAX], *p;
	const char *args[MAIL_ARGS];
	size_t n;

	if (f->phase != PH_IDLE)
		return -1;
	/* "<sender>", then its ESMTP arguments, one each (they fit: the
	 * MAIL line they came in was no longer) */
	str_fmt_trunc(arg, sizeof(arg), "<%s>%s", from, params);
	args[0] = arg;
	for (n = 1, p = arg; n < MAIL_ARGS && (p = strchr(p, ' ')); n++) {
		*p++ = '\0';
		args[n] = p;
	}
	/* a new message: its id comes at DATA (queued names it then),
	 * not the last message's of the session */
	milter_chain_set_macro(f->chain, "i", NULL);
	f->phase = PH_MAIL;
	f->in_message = 1;
	if (milter_chain_mail(f->chain, args, n) == -1) {
		f->phase = PH_IDLE;
		return -1;
	}
	return 0;
}

int
filter_rcpt(struct filter *f, const char *rcpt)
{
	char to[QPROTO_LINE_MAX];
	const char *args[1] = { to };

	if (f->phase != PH_IDLE)
		return -1;
	str_fmt_trunc(to, sizeof(to), "<%s>", rcpt);
	f->phase = PH_RCPT;
	if (milter_chain_rcpt(f->chain, args, 1) == -1) {
		f->phase = PH_IDLE;
		return -1;
	}
	return 0;
}

int
filter_data(struct filter *f, const char *qid)
{
	if (f->phase != PH_IDLE)
		return -1;
	milter_chain_set_macro(f->chain, "i", qid);
	f->phase = PH_DATA;
	if (milter_chain_data(f->chain) == -1) {
		f->phase = PH_IDLE;
		return -1;
	}
	return 0;
}

void
filter_abort(struct filter *f)
{
	if (f == NULL || f->phase == PH_CONTENT)
		return;
	if (f->in_message || f->phase != PH_IDLE)
		milter_chain_abort(f->chain);
	f->in_message = 0;
	f->phase = PH_IDLE;
}

int
filter_message(struct filter *f, struct envelope *e, int fd,
    filter_done_fn done, void *arg)
{
	if (f->phase != PH_IDLE) {
		close(fd);
		return -1;
	}
	f->env = e;
	f->fd = fd;
	f->done = done;
	f->arg = arg;
	f->cur = 0;
	f->changed = 0;
	if (load(f) == -1) {
		log_warn("%s: cannot hand the message to the filters", e->qid);
		free(f->msg);
		f->msg = NULL;
		f->env = NULL;
		f->fd = -1;
		close(fd);
		return -1;
	}
	f->phase = PH_CONTENT;
	if (content_begin(f) == -1) {
		milter_chain_only(f->chain, SIZE_MAX);
		f->phase = PH_IDLE;
		free(f->msg);
		f->msg = NULL;
		f->env = NULL;
		f->fd = -1;
		close(fd);
		return -1;
	}
	return 0;
}
