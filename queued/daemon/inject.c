/*
 * inject: bounces are rare, so they are written on the loop's thread
 * rather than through the commit thread.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "inject.h"
#include "fileio.h"
#include "log.h"
#include "qproto.h"
#include "recipients.h"

/*
 * A notification to a local address goes where mail to it from outside
 * goes: through users and aliases, as at RCPT, each target remembering
 * the address it came from (ORCPT, RFC 3461 4.2). An address that does
 * not resolve is kept as it is: the local agent fails it, and the
 * failure reaches the postmaster.
 */
static int
add_rcpts(struct envelope *e, const struct conf *c, const char *rcpt)
{
	char arg[QPROTO_LINE_MAX], enc[ADDR_ENC_MAX + 1];
	struct resolve_out out;
	enum resolve_result rr;
	size_t i;
	int rc = 0;

	recipients_refresh();
	rr = resolve(c, recipients_users(), recipients_aliases(), rcpt, &out);
	if (rr != RESOLVE_OK) {
		addr_encode(rcpt, enc, sizeof(enc));	/* no fake fields */
		log_warnx("%s: notification to <%s>, which is %s", e->qid, enc,
		    rr == RESOLVE_LOOP ? "an alias loop" : "nobody here");
		if (str_fmt(arg, sizeof(arg), "<%s>", rcpt) == -1)
			return -1;
		return envelope_add_rcpt(e, arg);
	}
	for (i = 0; rc == 0 && i < out.n; i++)
		rc = envelope_add_expanded(e, out.v[i].addr, rcpt, NULL);
	resolve_free(&out);
	return rc;
}

struct qmsg *
inject_message(struct spool *sp, const struct conf *c, const char *rcpt,
    unsigned flags, const char *content, size_t len)
{
	struct envelope e;
	struct buf hdr;
	char arg[QPROTO_LINE_MAX], enc[ADDR_ENC_MAX + 1];
	struct qmsg *m = NULL;
	int fd = -1, reused = 0, closed;

	envelope_init(&e);
	addr_encode(rcpt, enc, sizeof(enc));	/* logged: no fake fields */
	buf_init(&hdr, 1024 * 1024);
	qid_new(e.qid);
	e.time = time(NULL);
	e.flags = flags & ENV_DOUBLE;
	e.size = len;		/* the header's length line */
	e.sum = crc32c(0, content, len);	/* and its sum line */
	e.flags |= ENV_SUM;
	if (envelope_set_from(&e, "<>") == -1 ||
	    add_rcpts(&e, c, rcpt) == -1 ||
	    str_fmt(arg, sizeof(arg), "LOCAL local %s", c->hostname) == -1 ||
	    (e.client = strdup(arg)) == NULL ||
	    envelope_format(&e, &hdr) == -1) {
		log_warnx("cannot make a notification to <%s>", enc);
		goto out;
	}
	e.data_off = hdr.len;
	if ((fd = spool_create(sp, e.qid, &reused)) == -1 ||
	    fileio_write_all(fd, hdr.data, hdr.len) == -1 ||
	    fileio_write_all(fd, content, len) == -1 ||
	    (reused && spool_set_length(fd, hdr.len + len) == -1) ||
	    fdatasync(fd) == -1)
		goto fail;
	/* the descriptor is gone even when close fails: never twice (another
	 * thread may have it by then) */
	closed = close(fd);
	fd = -1;
	if (closed == -1 || spool_publish(sp, e.qid) == -1 ||
	    spool_sync_queue(sp) == -1)
		goto fail;
	log_info("%s: from=<> size=%zu nrcpt=%zu (%s to <%s>)", e.qid, len,
	    e.nrcpt, (e.flags & ENV_DOUBLE) ? "double bounce" : "notification",
	    enc);
	m = queue_add(&e);
	goto out;
fail:
	log_warn("%s: cannot queue a notification to <%s>", e.qid, enc);
	spool_discard(sp, e.qid, fd);
	spool_unpublish(sp, e.qid);
out:
	buf_free(&hdr);
	envelope_free(&e);
	return m;
}
