/*
 * local: Maildir delivery (cr.yp.to/proto/maildir.html). The file name is
 * a function of (arrival, queue id, recipient, host) plus its sizes, so a
 * delivery repeated after a crash links onto an existing name and counts
 * as done: a crash never delivers twice locally. Every write failure is
 * temporary (the message stays queued); only loops are permanent.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "esmtp.h"
#include "local.h"
#include "fileio.h"
#include "log.h"
#include "maildir.h"

#define LOCAL_MAX_DELIVERED_TO	100

void
local_scan_free(struct local_scan *s)
{
	size_t i;

	for (i = 0; i < s->ndelivered_to; i++)
		free(s->delivered_to[i]);
	free(s->delivered_to);
	memset(s, 0, sizeof(*s));
}

/* One header line (unfolded start only): count hops, note Delivered-To. */
static void
scan_header_line(struct local_scan *s, const char *line, size_t n)
{
	char v[ADDR_MAX + 1], **nd;
	size_t i, o = 0;

	if (n >= 9 && strncasecmp(line, "received:", 9) == 0)
		s->hops++;
	if (n < 13 || strncasecmp(line, "delivered-to:", 13) != 0 ||
	    s->ndelivered_to >= LOCAL_MAX_DELIVERED_TO)
		return;
	for (i = 13; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (; i < n && o < sizeof(v) - 1 && line[i] != ' ' &&
	    line[i] != '\t' && line[i] != '\r'; i++)
		v[o++] = (char)tolower((unsigned char)line[i]);
	v[o] = '\0';
	nd = realloc(s->delivered_to, (s->ndelivered_to + 1) * sizeof(*nd));
	if (nd == NULL)
		return;
	s->delivered_to = nd;
	if ((nd[s->ndelivered_to] = strdup(v)) != NULL)
		s->ndelivered_to++;
}

int
local_scan(int fd, uint64_t off, struct local_scan *s)
{
	char buf[65536], line[256];
	size_t linelen = 0, i;
	int in_header = 1, last = -1;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	while ((n = pread(fd, buf, sizeof(buf), (off_t)(off + s->size))) > 0) {
		s->size += (uint64_t)n;
		for (i = 0; i < (size_t)n; i++) {
			char c = buf[i];
			if (c != '\n') {
				if (in_header && linelen < sizeof(line))
					line[linelen] = c;
				linelen++;
				continue;
			}
			s->lfs++;
			if (in_header) {
				if (linelen == 0)
					in_header = 0;
				else
					scan_header_line(s, line, linelen <
					    sizeof(line) ? linelen : sizeof(line));
			}
			linelen = 0;
		}
		last = (unsigned char)buf[n - 1];
	}
	if (n < 0)
		return -1;
	s->ends_lf = last == '\n' || s->size == 0;
	return 0;
}

static void
result(struct buf *out, const char *qid, unsigned index, enum status st,
    const char *reply)
{
	job_result_format(out, qid, index, st, NULL, reply);
}

/* Copy len octets of src from off to dst's end; kernel copy if it can. */
static int
copy_range(int src, uint64_t off, uint64_t len, int dst)
{
	char buf[65536];
	loff_t o = (loff_t)off;
	ssize_t n;

	while (len > 0) {
		n = copy_file_range(src, &o, dst, NULL, len, 0);
		if (n > 0) {
			len -= (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -1;	/* the file shrank */
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
		    errno != EOPNOTSUPP)
			return -1;
		break;
	}
	while (len > 0) {
		n = pread(src, buf, len < sizeof(buf) ? len : sizeof(buf), o);
		if (n <= 0 || fileio_write_all(dst, buf, (size_t)n) == -1)
			return -1;
		o += n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * After a crash the file may have been delivered and already read: look
 * for the name in cur/ too (with any flags). Only for recovered jobs.
 */
static int
already_in_cur(const char *maildir, const char *name)
{
	char path[4096];
	size_t n = strlen(name);
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (str_fmt(path, sizeof(path), "%s/cur", maildir) == -1 ||
	    (d = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, name, n) == 0 &&
		    (de->d_name[n] == ':' || de->d_name[n] == '\0');
	closedir(d);
	return found;
}

static void
deliver_one(int msgfd, const char *host, const struct job_msg *m,
    const struct job_rcpt *r, const struct local_scan *s, struct buf *out)
{
	char hdr[ADDR_MAX * 2 + 64], unique[MAILDIR_NAME_MAX + 1];
	char name[MAILDIR_NAME_MAX + 1], tmp[4096], dst[4096], dir[4096];
	char reply[512];
	uint64_t size, wsize;
	size_t i;
	int hlen, fd, dfd, e;

	if (s->hops >= ESMTP_MAX_HOPS) {
		result(out, m->qid, r->index, STATUS_PERM, "554 5.4.6 Too many "
		    "hops (Received: lines): mail loop");
		return;
	}
	for (i = 0; i < s->ndelivered_to; i++)
		if (strcasecmp(s->delivered_to[i], r->addr) == 0) {
			str_fmt(reply, sizeof(reply), "554 5.4.6 Mail loop: "
			    "already delivered to %.300s", r->addr);
			result(out, m->qid, r->index, STATUS_PERM, reply);
			return;
		}
	if (r->extra[0] != '/') {
		result(out, m->qid, r->index, STATUS_PERM,
		    "550 5.1.1 No such mailbox");
		return;
	}
	hlen = str_fmt(hdr, sizeof(hdr), "Return-Path: %s\nDelivered-To: %s\n",
	    m->from, r->addr);
	if (hlen == -1) {
		result(out, m->qid, r->index, STATUS_PERM,
		    "554 5.1.3 Address too long");
		return;
	}
	/* W= is the size in CRLF form: every LF counts twice, and a last
	 * line without one gets a CRLF from pop3d */
	size = (uint64_t)hlen + s->size;
	wsize = size + 2 + s->lfs + (s->ends_lf ? 0 : 2);
	if (maildir_unique(unique, sizeof(unique), m->time, m->qid, r->addr,
	    host) == -1 || maildir_name(name, sizeof(name), unique, size,
	    wsize) == -1 ||
	    str_fmt(tmp, sizeof(tmp), "%s/tmp/%s", r->extra, name) == -1 ||
	    str_fmt(dst, sizeof(dst), "%s/new/%s", r->extra, name) == -1 ||
	    str_fmt(dir, sizeof(dir), "%s/new", r->extra) == -1) {
		result(out, m->qid, r->index, STATUS_PERM,
		    "554 5.3.5 Maildir path too long");
		return;
	}
	if (maildir_create(r->extra) == -1)
		goto temp;
	if (job_has_flag(m, "recovered") &&
	    (access(dst, F_OK) == 0 || already_in_cur(r->extra, name))) {
		result(out, m->qid, r->index, STATUS_OK,
		    "250 2.0.0 Already delivered");
		return;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST) {
		unlink(tmp);	/* left by an attempt that crashed */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd == -1)
		goto temp;
	if (fileio_write_all(fd, hdr, (size_t)hlen) == -1 ||
	    copy_range(msgfd, m->data_off, s->size, fd) == -1 ||
	    fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		goto temp;
	}
	close(fd);
	if (link(tmp, dst) == -1 && errno != EEXIST) {
		e = errno;
		unlink(tmp);
		errno = e;
		goto temp;
	}
	unlink(tmp);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		e = errno;
		if (dfd != -1)
			close(dfd);
		errno = e;
		goto temp;
	}
	close(dfd);
	result(out, m->qid, r->index, STATUS_OK, "250 2.0.0 Delivered to "
	    "Maildir");
	return;
temp:
	e = errno;
	log_warnx("%s: delivery to %s failed: %s", m->qid, r->extra,
	    strerror(e));
	str_fmt(reply, sizeof(reply), "451 4.%s Cannot write the mailbox: %s",
	    e == ENOSPC || e == EDQUOT ? "2.2" : "3.0", strerror(e));
	result(out, m->qid, r->index, STATUS_TEMP, reply);
}

void
local_deliver(int spoolfd, const char *host, const struct job_msg *m,
    struct buf *out)
{
	struct local_scan s;
	size_t i;
	int fd;

	fd = openat(spoolfd, m->qid, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || local_scan(fd, m->data_off, &s) == -1) {
		log_warn("%s: cannot read the queue file", m->qid);
		for (i = 0; i < m->nrcpt; i++)
			result(out, m->qid, m->rcpts[i].index, STATUS_TEMP,
			    "451 4.3.0 Cannot read the queued message");
		if (fd != -1)
			close(fd);
		return;
	}
	for (i = 0; i < m->nrcpt; i++)
		deliver_one(fd, host, m, &m->rcpts[i], &s, out);
	local_scan_free(&s);
	close(fd);
}
