/*
 * inject: bounces are rare, so they are written on the loop's thread
 * rather than through the commit thread.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "fileio.h"
#include "log.h"
#include "qproto.h"

struct qmsg *
inject_message(struct spool *sp, const char *hostname, const char *rcpt,
    const char *content, size_t len)
{
	struct envelope e;
	struct buf hdr;
	char arg[QPROTO_LINE_MAX];
	struct qmsg *m = NULL;
	int fd = -1, reused = 0;

	envelope_init(&e);
	buf_init(&hdr, 1024 * 1024);
	qid_new(e.qid);
	e.time = time(NULL);
	if (str_fmt(arg, sizeof(arg), "<%s>", rcpt) == -1 ||
	    envelope_set_from(&e, "<>") == -1 ||
	    envelope_add_rcpt(&e, arg) == -1 ||
	    str_fmt(arg, sizeof(arg), "LOCAL local %s", hostname) == -1 ||
	    (e.client = strdup(arg)) == NULL ||
	    envelope_format(&e, &hdr) == -1) {
		log_warnx("cannot make a notification to <%s>", rcpt);
		goto out;
	}
	e.data_off = hdr.len;
	e.size = len;
	if ((fd = spool_create(sp, e.qid, &reused)) == -1 ||
	    fileio_write_all(fd, hdr.data, hdr.len) == -1 ||
	    fileio_write_all(fd, content, len) == -1 ||
	    (reused && spool_set_length(fd, hdr.len + len) == -1) ||
	    fdatasync(fd) == -1 ||
	    close(fd) == -1 || (fd = -1, spool_publish(sp, e.qid)) == -1 ||
	    spool_sync_queue(sp) == -1) {
		log_warn("%s: cannot queue a notification to <%s>", e.qid, rcpt);
		spool_discard(sp, e.qid, fd);
		spool_unpublish(sp, e.qid);
		goto out;
	}
	log_info("%s: from=<> size=%zu nrcpt=1 (notification to <%s>)",
	    e.qid, len, rcpt);
	m = queue_add(&e);
out:
	buf_free(&hdr);
	envelope_free(&e);
	return m;
}
