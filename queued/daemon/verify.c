/*
 * verify: pombo-verify reads incoming/<qid> and writes the message as it
 * is to be queued (its Authentication-Results: on top, forged ones of
 * ours gone) into incoming/<qid>.v, which queued began with the same
 * envelope and a "junk" line. Its verdict decides: that file takes the
 * first one's place, with the length and the junk digit filled in, or
 * the message is refused. A check that fails (the agent died, timed out
 * or said nothing sensible) is a 451: never a message let in unchecked.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "policy.h"
#include "verify.h"

#define VERIFY_GRACE	10	/* seconds past its own budget */
#define AR_FIELD	"Authentication-Results:"

struct verify {
	struct envelope		*env;
	int			 msgfd, outfd;
	int			 lines;		/* verdict lines seen */
	struct job_verdict	 verdict;
	verify_done_fn		 done;
	void			*arg;
};

static struct queued_ctx *ctx;
static char prog[PATH_MAX];

static const char checks_failed[] =
    "451 4.7.0 Temporary failure checking the message, try again later";

void
verify_init(struct queued_ctx *c)
{
	ctx = c;
	if (c->conf->inbound_auth)
		agent_find(prog, sizeof(prog), c->conf->libexec_dir,
		    "pombo-verify");
}

int
verify_wanted(const char *client)
{
	return ctx->conf->inbound_auth && !policy_may_relay_client(ctx->conf,
	    client);
}

static void
on_line(struct agent *a, const char *line)
{
	struct verify *v = agent_ctx(a);
	char text[256];

	if (v->lines++ == 0 && job_verdict_parse(line, &v->verdict) == 0 &&
	    strcmp(v->verdict.qid, v->env->qid) == 0)
		return;
	log_warnx("%s: pombo-verify said: %.200s", v->env->qid,
	    log_text(line, text, sizeof(text)));
	v->lines++;	/* not a verdict to act on */
}

/* The agent's file in the message's place: 0, or -1 (logged). */
static int
adopt(struct verify *v)
{
	struct envelope *e = v->env;
	char digits[ENVELOPE_LENGTH_DIGITS + 1], head[sizeof(AR_FIELD) - 1];
	uint64_t off = e->data_off;
	struct stat st;

	if (fstat(v->outfd, &st) == -1 || (uint64_t)st.st_size <
	    off + sizeof(head)) {
		log_warnx("%s: pombo-verify wrote no message", e->qid);
		return -1;
	}
	/* what it wrote starts with its field, or it is not its message */
	if (pread(v->outfd, head, sizeof(head), (off_t)off) !=
	    (ssize_t)sizeof(head) || memcmp(head, AR_FIELD, sizeof(head))) {
		log_warnx("%s: pombo-verify wrote no %s field", e->qid,
		    AR_FIELD);
		return -1;
	}
	e->size = (uint64_t)st.st_size - off;
	envelope_length_digits(e->size, digits);
	if (v->verdict.verdict == VERDICT_JUNK)
		e->flags |= ENV_JUNK;
	if (pwrite(v->outfd, digits, ENVELOPE_LENGTH_DIGITS,
	    (off_t)envelope_length_offset(off)) != ENVELOPE_LENGTH_DIGITS ||
	    pwrite(v->outfd, e->flags & ENV_JUNK ? "1" : "0", 1,
	    (off_t)envelope_junk_offset(off, e->flags)) != 1 ||
	    spool_adopt_aside(ctx->spool, e->qid) == -1) {
		log_warn("%s: cannot finish the checked file", e->qid);
		return -1;
	}
	return 0;
}

static void
on_done(struct agent *a, int status)
{
	struct verify *v = agent_ctx(a);
	struct envelope *e = v->env;
	char text[JOB_REPLY_MAX * 3 + 1];
	const char *reply = checks_failed;
	int fd = -1;

	close(v->msgfd);
	if (status != 0 || v->lines != 1)
		log_warnx("%s: the checks failed (pombo-verify exit %d)", e->qid,
		    status);
	else if (v->verdict.verdict == VERDICT_REJECT) {
		log_info("%s: refused after the checks: %s", e->qid,
		    log_text(v->verdict.text, text, sizeof(text)));
		reply = v->verdict.text;
	} else if (adopt(v) == 0) {
		log_info("%s: checked%s: %s", e->qid, e->flags & ENV_JUNK ?
		    " (junk)" : "", log_text(v->verdict.text, text, sizeof(text)));
		fd = v->outfd;
	}
	if (fd == -1)
		spool_discard_aside(ctx->spool, e->qid, v->outfd);
	v->done(v->arg, fd, fd == -1 ? reply : NULL);
	free(v);
}

static const struct agent_ops verify_ops = { .line = on_line,
    .done = on_done };

static int
job_text(struct buf *job, const struct envelope *e)
{
	const struct conf *c = ctx->conf;
	struct qhelo h;

	if (qproto_parse_helo(e->client, &h) == -1)
		return -1;
	buf_printf(job, "%s\nhost %s\ntimeout %u\nclient %s %s\n"
	    "dmarc-reject %s\n", JOB_MAGIC, c->hostname,
	    c->inbound_auth_timeout, h.client, h.helo[0] ? h.helo : "-",
	    c->dmarc_reject ? "yes" : "no");
	job_format_dns(job, c->dns_servers, c->n_dns_servers);
	if (job_format_msg(job, e->qid, e->time, e->data_off, e->size, e->from,
	    "") == -1)
		return -1;
	return buf_addstr(job, "end\n");
}

int
verify_start(struct envelope *e, int msgfd, verify_done_fn done, void *arg)
{
	struct verify *v;
	struct envelope aside;
	struct buf hdr, job;
	int ok;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		close(msgfd);
		return -1;
	}
	v->env = e;
	v->msgfd = msgfd;
	v->done = done;
	v->arg = arg;
	/* the same envelope, a junk digit and a length to fill in later */
	aside = *e;
	aside.flags |= ENV_VERIFIED;
	aside.size = 0;
	buf_init(&hdr, 64 * 1024 * 1024);
	buf_init(&job, 64 * 1024);
	v->outfd = spool_create_aside(ctx->spool, e->qid);
	ok = v->outfd != -1 && envelope_format(&aside, &hdr) == 0 &&
	    write(v->outfd, hdr.data, hdr.len) == (ssize_t)hdr.len &&
	    job_text(&job, e) == 0;
	if (!ok)
		log_warn("%s: cannot prepare the checks", e->qid);
	else {
		/* the agent's file from here on */
		e->data_off = hdr.len;
		e->flags |= ENV_VERIFIED;
		ok = agent_spawn(ctx->event, prog, ctx->spool->incoming,
		    v->outfd, &job, ctx->conf->inbound_auth_timeout +
		    VERIFY_GRACE, &verify_ops, v) != NULL;
	}
	buf_free(&hdr);
	buf_free(&job);
	if (ok)
		return 0;
	close(msgfd);
	if (v->outfd != -1)
		spool_discard_aside(ctx->spool, e->qid, v->outfd);
	free(v);
	return -1;
}
