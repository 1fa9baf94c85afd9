/*
 * spool: every file operation on the spool, relative to directory fds.
 * Durability (SPOOL.md): a queue file is fdatasync'd before it is renamed
 * into queue/, and queue/ is fsync'd before anyone hears 250.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "spool.h"

#define SPOOL_HEADER_MAX	(8 * 1024 * 1024)
#define SPOOL_STATE_MAX		(4 * 1024 * 1024)

static int
open_subdir(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/* Remove every entry of a folder for which keep() is false. */
static void
sweep(int dirfd, const char *what, int (*keep)(struct spool *, const char *),
    struct spool *sp)
{
	DIR *d;
	struct dirent *de;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("spool: cannot read %s", what);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (keep && keep(sp, de->d_name))
			continue;
		log_info("spool: removing leftover %s/%s", what, de->d_name);
		if (unlinkat(dirfd, de->d_name, 0) == -1)
			log_warn("spool: unlink %s/%s", what, de->d_name);
	}
	closedir(d);
}

/* A state file stays if its message does. */
static int
state_wanted(struct spool *sp, const char *name)
{
	struct stat st;

	return qid_valid(name) &&
	    fstatat(sp->queue, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
spool_open(struct spool *sp, const char *path)
{
	memset(sp, 0, sizeof(*sp));
	str_copy(sp->path, path, sizeof(sp->path));
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	sp->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1)
		return -1;
	if ((sp->incoming = open_subdir(sp->dirfd, "incoming")) == -1 ||
	    (sp->queue = open_subdir(sp->dirfd, "queue")) == -1 ||
	    (sp->state = open_subdir(sp->dirfd, "state")) == -1 ||
	    (sp->quarantine = open_subdir(sp->dirfd, "quarantine")) == -1)
		return -1;
	sweep(sp->incoming, "incoming", NULL, sp);
	sweep(sp->state, "state", state_wanted, sp);
	return 0;
}

void
spool_close(struct spool *sp)
{
	close(sp->incoming);
	close(sp->queue);
	close(sp->state);
	close(sp->quarantine);
	close(sp->dirfd);
}

int
spool_create(struct spool *sp, const char *qid)
{
	return openat(sp->incoming, qid,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

void
spool_discard(struct spool *sp, const char *qid, int fd)
{
	if (fd != -1)
		close(fd);
	if (unlinkat(sp->incoming, qid, 0) == -1 && errno != ENOENT)
		log_warn("%s: unlink incoming", qid);
}

int
spool_publish(struct spool *sp, const char *qid)
{
	return renameat(sp->incoming, qid, sp->queue, qid);
}

int
spool_unpublish(struct spool *sp, const char *qid)
{
	return unlinkat(sp->queue, qid, 0);
}

int
spool_sync_queue(struct spool *sp)
{
	return fsync(sp->queue);
}

int
spool_open_message(struct spool *sp, const char *qid)
{
	return openat(sp->queue, qid, O_RDONLY | O_CLOEXEC);
}

int
spool_write_state(struct spool *sp, const struct envelope *e)
{
	char tmp[QID_LEN + 8];
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, SPOOL_STATE_MAX);
	str_fmt(tmp, sizeof(tmp), "%s.tmp", e->qid);
	if (envelope_format_state(e, &b) == -1)
		goto out;
	fd = openat(sp->state, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd == -1)
		goto out;
	if (fileio_write_all(fd, b.data, b.len) == -1 || fdatasync(fd) == -1) {
		close(fd);
		unlinkat(sp->state, tmp, 0);
		goto out;
	}
	close(fd);
	if (renameat(sp->state, tmp, sp->state, e->qid) == -1 ||
	    fsync(sp->state) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_warn("%s: cannot write state", e->qid);
	buf_free(&b);
	return rc;
}

int
spool_remove(struct spool *sp, const char *qid)
{
	if (unlinkat(sp->queue, qid, 0) == -1 && errno != ENOENT)
		return -1;
	if (unlinkat(sp->state, qid, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
spool_quarantine(struct spool *sp, const char *name, const char *why)
{
	log_warnx("spool: quarantined %s: %s", name, why);
	if (renameat(sp->queue, name, sp->quarantine, name) == -1) {
		log_warn("spool: cannot quarantine %s", name);
		return -1;
	}
	return 0;
}

int
spool_free_space(struct spool *sp, uint64_t *bytes)
{
	struct statvfs sv;

	if (fstatvfs(sp->queue, &sv) == -1)
		return -1;
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

/* Read a file's first bytes until the parser is satisfied. */
static int
load_header(int fd, struct envelope *e, char *err, size_t errlen)
{
	struct buf b;
	char chunk[16384];
	ssize_t n;
	int rc = 1;

	buf_init(&b, SPOOL_HEADER_MAX);
	while (rc == 1) {
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0 || buf_add(&b, chunk, (size_t)n) == -1) {
			str_copy(err, n < 0 ? "read error" :
			    n == 0 ? "truncated header" : "header too large",
			    errlen);
			rc = -1;
			break;
		}
		rc = envelope_parse(e, b.data, b.len, err, errlen);
	}
	buf_free(&b);
	return rc;
}

static int
load_state(struct spool *sp, struct envelope *e, char *err, size_t errlen)
{
	char *text;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	if ((fd = openat(sp->state, e->qid, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((text = malloc(SPOOL_STATE_MAX)) == NULL) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, text + len, SPOOL_STATE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	rc = n < 0 ? -1 : envelope_parse_state(e, text, len, err, errlen);
	free(text);
	return rc;
}

int
spool_scan(struct spool *sp, void (*cb)(void *, struct envelope *), void *ctx)
{
	DIR *d;
	struct dirent *de;
	struct envelope *e;
	struct stat st;
	char err[128], last[QID_LEN + 1] = "";
	int fd, dfd;

	if ((dfd = dup(sp->queue)) == -1 || (d = fdopendir(dfd)) == NULL)
		return -1;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!qid_valid(de->d_name)) {
			spool_quarantine(sp, de->d_name, "not a queue id");
			continue;
		}
		if ((e = malloc(sizeof(*e))) == NULL)
			fatal("spool scan");
		fd = openat(sp->queue, de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1) {
			log_warn("spool: %s", de->d_name);
			if (fd != -1)
				close(fd);
			free(e);
			continue;
		}
		err[0] = '\0';
		if (load_header(fd, e, err, sizeof(err)) != 0 ||
		    strcmp(e->qid, de->d_name) != 0) {
			close(fd);
			envelope_free(e);
			spool_quarantine(sp, de->d_name, err[0] ? err :
			    "id does not match its file name");
			free(e);
			continue;
		}
		close(fd);
		e->size = (uint64_t)st.st_size - e->data_off;
		err[0] = '\0';
		if (load_state(sp, e, err, sizeof(err)) == -1)
			log_warnx("%s: state file ignored: %s", e->qid,
			    err[0] ? err : "unreadable");
		if (strcmp(e->qid, last) > 0)
			memcpy(last, e->qid, sizeof(last));
		cb(ctx, e);
	}
	closedir(d);
	qid_seed(last);
	return 0;
}
