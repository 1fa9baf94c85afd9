/*
 * filter: the milters see a message's whole transaction once its data
 * is in: connect, HELO, MAIL, each RCPT, DATA, the header fields, the
 * body, end of message, one step after another's answer. A refusal at
 * any step refuses the message with the filter's reply; a discard
 * drops it (250 to the client, as Postfix does); at the end the changes
 * are applied: the message into incoming/<qid>.v (a new header, then
 * milter_edit_apply), which takes the message's place as the checks'
 * file does (verify.c), the sender and recipients in the envelope, a
 * quarantine as a hold. The message is read once into memory (at most
 * max_message_size).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "filter.h"
#include "log.h"
#include "milter.h"

#define MAIL_ARGS	8	/* the sender and SIZE, BODY, RET, ENVID... */

enum step { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_HEADER,
    ST_EOH, ST_BODY, ST_EOM };

struct filter {
	struct envelope		*env;
	struct qhelo		 helo;
	int			 fd;
	char			*msg;		/* the message, size octets */
	size_t			 hdr_end;	/* where the empty line is */
	size_t			 pos;		/* next header field / body */
	size_t			 rcpt;		/* next recipient */
	char			*colon;		/* cut by next_field */
	char			*lf;
	enum step		 step;
	struct milter_chain	*chain;
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
}

int
filter_wanted(void)
{
	return ctx->conf->n_milters > 0;
}

static void
finish(struct filter *f, int fd, const char *reply)
{
	filter_done_fn done = f->done;
	void *arg = f->arg;

	if (f->fd != -1 && f->fd != fd)
		close(f->fd);
	milter_chain_free(f->chain);
	free(f->msg);
	free(f);
	done(arg, fd, reply);
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
			for (k = 0; k < e->nrcpt; k++)
				if (strlen(e->rcpts[k].addr) == alen &&
				    strncasecmp(e->rcpts[k].addr, a, alen) == 0) {
					free(e->rcpts[k].addr);
					free(e->rcpts[k].params);
					free(e->rcpts[k].error);
					memmove(&e->rcpts[k], &e->rcpts[k + 1],
					    (e->nrcpt - k - 1) * sizeof(e->rcpts[0]));
					e->nrcpt--;
					k--;
				}
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The message with the changes into incoming/<qid>.v, in its place. */
static int
rewrite(struct filter *f, const struct milter_mods *m)
{
	struct envelope *e = f->env;
	char digits[ENVELOPE_LENGTH_DIGITS + 1];
	struct buf hdr;
	struct stat st;
	uint64_t size = e->size;
	int fd, ok;

	if ((fd = spool_create_aside(ctx->spool, e->qid)) == -1)
		return -1;
	buf_init(&hdr, 64 * 1024 * 1024);
	e->size = 0;
	ok = envelope_format(e, &hdr) == 0 &&
	    fileio_write_all(fd, hdr.data, hdr.len) == 0 &&
	    milter_edit_apply(f->msg, (size_t)size, m, fd) == 0 &&
	    fstat(fd, &st) == 0;
	if (ok) {
		e->data_off = hdr.len;
		e->size = (uint64_t)st.st_size - hdr.len;
		envelope_length_digits(e->size, digits);
		ok = pwrite(fd, digits, ENVELOPE_LENGTH_DIGITS,
		    (off_t)envelope_length_offset(e->data_off)) ==
		    ENVELOPE_LENGTH_DIGITS &&
		    spool_adopt_aside(ctx->spool, e->qid) == 0;
	}
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

static void
at_eom(struct filter *f, const struct milter_mods *m)
{
	struct envelope *e = f->env;
	char text[256];

	if (m == NULL) {
		finish(f, f->fd, NULL);
		return;
	}
	if (envelope_changes(f, m) == -1 || e->nrcpt == 0) {
		finish(f, -1, e->nrcpt == 0 ? "554 5.7.1 No recipients left "
		    "after the filters" : filter_failed);
		return;
	}
	if (m->quarantine != NULL) {
		log_info("%s: held: a filter quarantined it: %.200s", e->qid,
		    log_text(m->quarantine, text, sizeof(text)));
		e->flags |= ENV_HOLD;
	}
	/* a new envelope (sender, recipients) needs a new header too */
	if ((milter_mods_edit_message(m) || m->n > 0) && rewrite(f, m) == -1) {
		log_warn("%s: cannot apply the filters' changes", e->qid);
		finish(f, -1, filter_failed);
		return;
	}
	finish(f, f->fd, NULL);
}

/* The next step; -1 when the chain would not take it (a bug). */
static int
next_step(struct filter *f)
{
	struct envelope *e = f->env;
	char *name, *value, from[QPROTO_LINE_MAX], to[QPROTO_LINE_MAX], *p;
	const char *args[MAIL_ARGS];
	size_t n;

	switch (f->step) {
	case ST_CONNECT:
		f->step = ST_HELO;
		return milter_chain_connect(f->chain, strcmp(f->helo.client,
		    "local") == 0 ? "localhost" : "unknown",
		    strcmp(f->helo.client, "local") == 0 ? "" : f->helo.client,
		    0);
	case ST_HELO:
		f->step = ST_MAIL;
		return milter_chain_helo(f->chain, f->helo.helo);
	case ST_MAIL:
		/* "<sender>", then its ESMTP arguments, one each (they fit:
		 * the MAIL line they came in was no longer) */
		f->step = e->nrcpt > 0 ? ST_RCPT : ST_DATA;
		str_fmt_trunc(from, sizeof(from), "<%s>%s", e->from, e->from_params);
		args[0] = from;
		for (n = 1, p = from; n < MAIL_ARGS && (p = strchr(p, ' '));
		    n++) {
			*p++ = '\0';
			args[n] = p;
		}
		return milter_chain_mail(f->chain, args, n);
	case ST_RCPT:
		str_fmt_trunc(to, sizeof(to), "<%s>", e->rcpts[f->rcpt].addr);
		if (++f->rcpt == e->nrcpt)
			f->step = ST_DATA;
		args[0] = to;
		return milter_chain_rcpt(f->chain, args, 1);
	case ST_DATA:
		f->step = ST_HEADER;
		f->pos = 0;
		return milter_chain_data(f->chain);
	case ST_HEADER:
		if (next_field(f, &name, &value)) {
			/* the chain has its copy: back as it was, for
			 * milter_edit_apply */
			int rc = milter_chain_header(f->chain, name, value);
			*f->colon = ':';
			if (f->lf)
				*f->lf = '\n';
			return rc;
		}
		/* FALLTHROUGH */
	case ST_EOH:
		f->step = ST_BODY;
		f->pos = f->hdr_end < e->size ? f->hdr_end + 1 : e->size;
		return milter_chain_eoh(f->chain);
	case ST_BODY:
		n = (size_t)e->size - f->pos;
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

static void
on_result(void *arg, const struct milter_result *r)
{
	struct filter *f = arg;
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
	f->hdr_end = header_end(f->msg, got);
	return 0;
}

static void
set_macros(struct filter *f)
{
	char tls[QPROTO_TLS_MAX + 1], *slash;

	milter_chain_set_macro(f->chain, "j", ctx->conf->hostname);
	milter_chain_set_macro(f->chain, "{daemon_name}", "pombo");
	milter_chain_set_macro(f->chain, "i", f->env->qid);
	if (f->helo.auth[0])
		milter_chain_set_macro(f->chain, "{auth_authen}", f->helo.auth);
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

int
filter_start(struct envelope *e, const struct qhelo *h, int fd,
    filter_done_fn done, void *arg)
{
	struct filter *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		close(fd);
		return -1;
	}
	f->env = e;
	f->helo = *h;
	f->fd = fd;
	f->done = done;
	f->arg = arg;
	if (load(f) == -1 || (f->chain = milter_chain_new(ctx->event,
	    ctx->conf, on_result, f)) == NULL) {
		log_warn("%s: cannot hand the message to the filters", e->qid);
		milter_chain_free(f->chain);
		free(f->msg);
		free(f);
		close(fd);
		return -1;
	}
	set_macros(f);
	if (next_step(f) == -1) {
		milter_chain_free(f->chain);
		free(f->msg);
		free(f);
		close(fd);
		return -1;
	}
	return 0;
}
