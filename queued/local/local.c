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

#include "crc32c.h"
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
		s->crc = crc32c(s->crc, buf, (size_t)n);
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

/* One recipient's file, written to tmp/ and waiting for the syncs. */
struct pending {
	const struct job_msg	*m;
	const struct job_rcpt	*r;
	int			 fd;
	int			 err;	/* errno of a failed step, or 0 */
	size_t			 dir;	/* its new/ in the batch's list */
	char			 tmp[4096], dst[4096];
};

#define LOCAL_PENDING_MAX 256	/* open files at once */

struct batch {
	struct pending	 p[LOCAL_PENDING_MAX];
	size_t		 n;
	char		 dirs[LOCAL_PENDING_MAX][4096];
	size_t		 ndirs;
};

static void
temp_result(struct buf *out, const struct job_msg *m, const struct job_rcpt *r,
    int e)
{
	char reply[512];

	log_warnx("%s: delivery to %s failed: %s", m->qid, r->extra,
	    strerror(e));
	str_fmt_trunc(reply, sizeof(reply), "451 4.%s Cannot write the mailbox: %s",
	    e == ENOSPC || e == EDQUOT ? "2.2" : "3.0", strerror(e));
	result(out, m->qid, r->index, STATUS_TEMP, reply);
}

/*
 * Mail pombo-verify called junk (DMARC p=quarantine failed) goes into
 * the user's Maildir++ Junk folder (.Junk/, as Dovecot names it) if the
 * user has one; queued never makes one: no folder, the inbox.
 */
static const char *
junk_folder(const struct job_msg *m, const char *maildir, char *buf,
    size_t len)
{
	struct stat st;

	if (!job_has_flag(m, "junk") ||
	    str_fmt(buf, len, "%s/.Junk", maildir) == -1 ||
	    lstat(buf, &st) == -1 || !S_ISDIR(st.st_mode))
		return maildir;
	return buf;
}

/*
 * Write one recipient's file into tmp/, without syncing it: the syncs
 * come for the whole batch at once (batch_commit), so a journal commit
 * carries many files, not one.
 */
static void
stage_one(struct batch *b, int msgfd, const char *host,
    const struct job_msg *m, const struct job_rcpt *r,
    const struct local_scan *s, struct buf *out)
{
	char hdr[ADDR_MAX * 2 + 64], unique[MAILDIR_NAME_MAX + 1];
	char name[MAILDIR_NAME_MAX + 1], dir[4096], reply[512], junk[4096];
	const char *box;
	struct pending *p = &b->p[b->n];
	uint64_t size, wsize;
	size_t i;
	int hlen, e;

	if (s->hops >= ESMTP_MAX_HOPS) {
		result(out, m->qid, r->index, STATUS_PERM, "554 5.4.6 Too many "
		    "hops (Received: lines): mail loop");
		return;
	}
	for (i = 0; i < s->ndelivered_to; i++)
		if (strcasecmp(s->delivered_to[i], r->addr) == 0) {
			str_fmt_trunc(reply, sizeof(reply), "554 5.4.6 Mail loop: "
			    "already delivered to %.300s", r->addr);
			result(out, m->qid, r->index, STATUS_PERM, reply);
			return;
		}
	if (r->extra[0] != '/') {
		result(out, m->qid, r->index, STATUS_PERM,
		    "550 5.1.1 No such mailbox");
		return;
	}
	box = junk_folder(m, r->extra, junk, sizeof(junk));
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
	    str_fmt(p->tmp, sizeof(p->tmp), "%s/tmp/%s", box, name) == -1 ||
	    str_fmt(p->dst, sizeof(p->dst), "%s/new/%s", box, name) == -1 ||
	    str_fmt(dir, sizeof(dir), "%s/new", box) == -1) {
		result(out, m->qid, r->index, STATUS_PERM,
		    "554 5.3.5 Maildir path too long");
		return;
	}
	if (maildir_create(box) == -1) {
		temp_result(out, m, r, errno);
		return;
	}
	if (job_has_flag(m, "recovered") &&
	    (access(p->dst, F_OK) == 0 || already_in_cur(box, name))) {
		result(out, m->qid, r->index, STATUS_OK,
		    "250 2.0.0 Already delivered");
		return;
	}
	p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (p->fd == -1 && errno == EEXIST) {
		unlink(p->tmp);	/* left by an attempt that crashed */
		p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	}
	if (p->fd == -1) {
		temp_result(out, m, r, errno);
		return;
	}
	if (fileio_write_all(p->fd, hdr, (size_t)hlen) == -1 ||
	    copy_range(msgfd, m->data_off, s->size, p->fd) == -1) {
		e = errno;
		close(p->fd);
		unlink(p->tmp);
		temp_result(out, m, r, e);
		return;
	}
	for (p->dir = 0; p->dir < b->ndirs; p->dir++)
		if (strcmp(b->dirs[p->dir], dir) == 0)
			break;
	if (p->dir == b->ndirs)
		/* dir fitted its own 4096 octets above: the same size */
		str_copy_trunc(b->dirs[b->ndirs++], dir, sizeof(b->dirs[0]));
	p->m = m;
	p->r = r;
	p->err = 0;
	b->n++;
}

/*
 * Make the staged files durable and visible: fsync each file (the first
 * commits the journal for all of them), link each into new/ (an existing
 * name is a delivery already done), fsync each new/ once. Then report.
 */
static void
batch_commit(struct batch *b, struct buf *out)
{
	size_t i, d;
	int dfd, *dir_err;

	if ((dir_err = calloc(b->ndirs + 1, sizeof(*dir_err))) == NULL)
		fatal("batch_commit");
	for (i = 0; i < b->n; i++) {
		struct pending *p = &b->p[i];
		if (fsync(p->fd) == -1)
			p->err = errno;
		close(p->fd);
		if (p->err == 0 && link(p->tmp, p->dst) == -1 && errno != EEXIST)
			p->err = errno;
		unlink(p->tmp);
	}
	for (d = 0; d < b->ndirs; d++) {
		dfd = open(b->dirs[d], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd == -1 || fsync(dfd) == -1)
			dir_err[d] = errno ? errno : EIO;
		if (dfd != -1)
			close(dfd);
	}
	for (i = 0; i < b->n; i++) {
		struct pending *p = &b->p[i];
		int e = p->err ? p->err : dir_err[p->dir];
		if (e)
			temp_result(out, p->m, p->r, e);
		else
			result(out, p->m->qid, p->r->index, STATUS_OK,
			    "250 2.0.0 Delivered to Maildir");
	}
	free(dir_err);
	b->n = b->ndirs = 0;
}

void
local_deliver(int spoolfd, const struct job *j, struct buf *out)
{
	static struct batch b;
	struct local_scan s;
	char why[JOB_REPLY_MAX + 1];
	size_t mi, ri;
	int fd, cut;

	for (mi = 0; mi < j->nmsg; mi++) {
		const struct job_msg *m = &j->msgs[mi];

		/* queued checked it, but it may have been replaced since:
		 * a FIFO would block here, a link read something else;
		 * queued sets such a file aside at its next attempt */
		fd = fileio_open_own(spoolfd, m->qid, O_RDONLY);
		if (fd < 0 || local_scan(fd, m->data_off, &s) == -1) {
			if (fd == -2)
				log_warnx("%s: the queue file is no regular "
				    "file of queued's user", m->qid);
			else
				log_warn("%s: cannot read the queue file",
				    m->qid);
			for (ri = 0; ri < m->nrcpt; ri++)
				result(out, m->qid, m->rcpts[ri].index,
				    STATUS_TEMP, "451 4.3.0 Cannot read the "
				    "queued message");
			if (fd >= 0)
				close(fd);
			continue;
		}
		/*
		 * Another size: changed since queued looked (it looks
		 * again, and sets the file aside: never delivered cut
		 * short). Other bytes under the right size (a crash before
		 * they were on disk): never into a mailbox, queued is told
		 * to set the file aside.
		 */
		cut = s.size != m->size;
		if (cut || !job_sum_matches(m, s.crc, why, sizeof(why))) {
			if (cut)
				log_warnx("%s: the queued message is %llu "
				    "octets, not %llu", m->qid,
				    (unsigned long long)s.size,
				    (unsigned long long)m->size);
			else {
				log_warnx("%s: %s", m->qid, why);
				job_damaged_format(out, m->qid, why);
			}
			for (ri = 0; ri < m->nrcpt; ri++)
				result(out, m->qid, m->rcpts[ri].index,
				    STATUS_TEMP, "451 4.3.0 The queued message "
				    "is damaged");
			local_scan_free(&s);
			close(fd);
			continue;
		}
		for (ri = 0; ri < m->nrcpt; ri++) {
			if (b.n == LOCAL_PENDING_MAX || b.ndirs == LOCAL_PENDING_MAX)
				batch_commit(&b, out);
			stage_one(&b, fd, j->host, m, &m->rcpts[ri], &s, out);
		}
		local_scan_free(&s);
		close(fd);
	}
	batch_commit(&b, out);
}
