/*
 * spool: every file operation on the spool, relative to directory fds.
 * Durability (SPOOL.md): before anyone hears 250 a queue file is in the
 * synced journal (journal.c), or itself fdatasync'd and queue/ fsync'd.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "prefetch.h"
#include "spool.h"

#define SPOOL_HEADER_MAX	(8 * 1024 * 1024)
#define SPOOL_STATE_MAX		(4 * 1024 * 1024)

static int write_state(struct spool *sp, struct envelope *e, int sync_dir);

static int
open_subdir(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/*
 * Set a file aside in quarantine/: a queue file keeps its name, others
 * are named after their folder ("state.<qid>", "free.<name>") so they
 * do not take the place of the message's own.
 */
static int
quarantine_from(struct spool *sp, int dirfd, const char *folder,
    const char *name, const char *why)
{
	char to[QID_LEN + 64];

	if (dirfd == sp->queue) {
		if (str_copy(to, name, sizeof(to)) == -1) {
			/* cut, it could take another file's place there */
			log_warnx("spool: %s: %s; its name is too long to "
			    "quarantine it", name, why);
			return -1;
		}
		log_warnx("spool: quarantined %s: %s", name, why);
	} else {
		str_fmt_trunc(to, sizeof(to), "%s.%.*s", folder, (int)QID_LEN + 16,
		    name);
		log_warnx("spool: quarantined %s/%s: %s", folder, name, why);
	}
	if (renameat(dirfd, name, sp->quarantine, to) == -1) {
		log_warn("spool: cannot quarantine %s/%s", folder, name);
		return -1;
	}
	if (dirfd == sp->queue)
		journal_gone(name, JOURNAL_QUARANTINED);
	return 0;
}

#define NOT_OWN	"not a regular file of queued's user"

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

/*
 * free/: files of removed messages, renamed there instead of unlinked.
 * Creating a file costs a millisecond of system time on some file
 * systems (ext4 without a journal scans for recently deleted inodes);
 * renaming an old one back costs a twentieth of that.
 */
static pthread_mutex_t	 free_lock = PTHREAD_MUTEX_INITIALIZER;
static char		(*free_names)[QID_LEN + 1];
static size_t		 nfree;

static int
free_push(const char *name)
{
	pthread_mutex_lock(&free_lock);
	if (free_names == NULL &&
	    (free_names = calloc(SPOOL_FREE_MAX, sizeof(*free_names))) == NULL) {
		pthread_mutex_unlock(&free_lock);
		return -1;
	}
	if (nfree == SPOOL_FREE_MAX) {
		pthread_mutex_unlock(&free_lock);
		return -1;
	}
	memcpy(free_names[nfree++], name, QID_LEN + 1);
	pthread_mutex_unlock(&free_lock);
	return 0;
}

static int
free_pop(char name[QID_LEN + 1])
{
	int ok = 0;

	pthread_mutex_lock(&free_lock);
	if (nfree > 0) {
		memcpy(name, free_names[--nfree], QID_LEN + 1);
		ok = 1;
	}
	pthread_mutex_unlock(&free_lock);
	return ok;
}

/*
 * A file goes to free/ empty: the text of a delivered or deleted message
 * must not stay readable there, nor its blocks counted against
 * min_free_space. Anything that cannot be emptied is removed.
 */
static int
free_empty(struct spool *sp, const char *name)
{
	int fd, rc;

	if ((fd = fileio_open_own(sp->free, name, O_WRONLY)) < 0)
		rc = -1;
	else {
		rc = ftruncate(fd, 0);
		close(fd);
	}
	if (rc == -1) {
		log_warn("spool: cannot empty free/%s", name);
		unlinkat(sp->free, name, 0);
	}
	return rc;
}

/* At start: keep the free files we can reuse, in the list. */
static int
free_wanted(struct spool *sp, const char *name)
{
	struct stat st;

	if (!qid_valid(name) ||
	    fstatat(sp->free, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (!fileio_own(&st)) {
		quarantine_from(sp, sp->free, "free", name, NOT_OWN);
		return 1;	/* gone from free/ already */
	}
	/* another name of the file (a queue file that took it again, as
	 * fsck counts links after a crash of ext4 without a journal):
	 * emptying it would empty that file; only this name goes */
	if (st.st_nlink > 1)
		return 0;
	/* a crash between the rename and the truncation, or an old spool */
	if (st.st_size > 0 && free_empty(sp, name) == -1)
		return 1;	/* removed */
	return free_push(name) == 0;
}

/*
 * mta-sts/: pombo-remote's copies of MTA-STS policies, one file per
 * domain; a name beginning ".tmp." is one an agent was writing when it
 * died (no domain begins with a dot): removed.
 */
static void
sweep_mtasts(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".tmp.", 5) == 0)
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

int
spool_open(struct spool *sp, const char *path)
{
	memset(sp, 0, sizeof(*sp));
	if (str_copy(sp->path, path, sizeof(sp->path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	sp->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1)
		return -1;
	if ((sp->incoming = open_subdir(sp->dirfd, "incoming")) == -1 ||
	    (sp->queue = open_subdir(sp->dirfd, "queue")) == -1 ||
	    (sp->state = open_subdir(sp->dirfd, "state")) == -1 ||
	    (sp->quarantine = open_subdir(sp->dirfd, "quarantine")) == -1 ||
	    (sp->free = open_subdir(sp->dirfd, "free")) == -1 ||
	    (sp->mtasts = open_subdir(sp->dirfd, "mta-sts")) == -1 ||
	    (sp->tlsrpt = open_subdir(sp->dirfd, "tlsrpt")) == -1)
		return -1;
	/* before the sweeps: it may put back files they would judge */
	if (journal_open(sp) == -1)
		return -1;
	/* a crash while writing dests: the old one stands */
	unlinkat(sp->dirfd, "dests.tmp", 0);
	sweep_mtasts(sp->mtasts);
	sweep(sp->incoming, "incoming", NULL, sp);
	sweep(sp->state, "state", state_wanted, sp);
	sweep(sp->free, "free", free_wanted, sp);
	return 0;
}

void
spool_close(struct spool *sp)
{
	journal_close();
	close(sp->incoming);
	close(sp->queue);
	close(sp->state);
	close(sp->quarantine);
	close(sp->free);
	close(sp->mtasts);
	close(sp->tlsrpt);
	close(sp->dirfd);
}

int
spool_create(struct spool *sp, const char *qid, int *reused)
{
	char name[QID_LEN + 1];
	struct stat st;
	int fd;

	while (free_pop(name)) {
		if (fstatat(sp->free, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !fileio_own(&st)) {
			quarantine_from(sp, sp->free, "free", name, NOT_OWN);
			continue;
		}
		/* NOREPLACE: an existing incoming/<qid> is a collision */
		if (renameat2(sp->free, name, sp->incoming, qid,
		    RENAME_NOREPLACE) == -1) {
			if (errno == EEXIST)
				return -1;
			continue;	/* gone meanwhile: take another */
		}
		/* read and write: the commit reads it back for its sum */
		fd = fileio_open_own(sp->incoming, qid, O_RDWR);
		if (fd >= 0) {
			*reused = 1;
			return fd;
		}
		/* replaced between the check and the rename */
		if (fd == -2 && quarantine_from(sp, sp->incoming, "incoming",
		    qid, NOT_OWN) == 0)
			continue;
		unlinkat(sp->incoming, qid, 0);
	}
	*reused = 0;
	return openat(sp->incoming, qid,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int
spool_set_length(int fd, uint64_t length)
{
	return ftruncate(fd, (off_t)length);
}

static void
aside_name(char out[QID_LEN + 3], const char *qid)
{
	memcpy(out, qid, QID_LEN);
	memcpy(out + QID_LEN, ".v", 3);
}

int
spool_create_aside(struct spool *sp, const char *qid)
{
	char name[QID_LEN + 3];

	aside_name(name, qid);
	return openat(sp->incoming, name,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int
spool_adopt_aside(struct spool *sp, const char *qid)
{
	char name[QID_LEN + 3];

	aside_name(name, qid);
	return renameat(sp->incoming, name, sp->incoming, qid);
}

void
spool_discard_aside(struct spool *sp, const char *qid, int fd)
{
	char name[QID_LEN + 3];

	aside_name(name, qid);
	if (fd != -1)
		close(fd);
	if (unlinkat(sp->incoming, name, 0) == -1 && errno != ENOENT)
		log_warn("%s: unlink incoming", name);
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
	/* never over an existing message: a clock gone back is no loss */
	return renameat2(sp->incoming, qid, sp->queue, qid, RENAME_NOREPLACE);
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
	int fd = fileio_open_own(sp->queue, qid, O_RDONLY);

	if (fd == -2) {
		fd = -1;
		errno = EINVAL;		/* replaced since it was loaded */
	}
	return fd;
}

int
spool_write_state(struct spool *sp, struct envelope *e)
{
	return write_state(sp, e, 1);
}

int
spool_write_progress(struct spool *sp, struct envelope *e)
{
	return write_state(sp, e, 0);
}

/* sync: fdatasync the file and fsync state/ (else the kernel writes them) */
static int
write_state(struct spool *sp, struct envelope *e, int sync)
{
	char tmp[QID_LEN + 8];
	struct buf b;
	int fd, rc = -1;

	buf_init(&b, SPOOL_STATE_MAX);
	str_fmt_trunc(tmp, sizeof(tmp), "%s.tmp", e->qid);
	if (envelope_format_state(e, &b) == -1)
		goto out;
	/* whatever has the name goes (a FIFO there would block the open) */
	if (unlinkat(sp->state, tmp, 0) == -1 && errno != ENOENT)
		goto out;
	fd = openat(sp->state, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	if (fileio_write_all(fd, b.data, b.len) == -1 ||
	    (sync && fdatasync(fd) == -1)) {
		close(fd);
		unlinkat(sp->state, tmp, 0);
		goto out;
	}
	close(fd);
	if (renameat(sp->state, tmp, sp->state, e->qid) == -1 ||
	    (sync && fsync(sp->state) == -1))
		goto out;
	e->flags |= ENV_STATE;
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
	journal_gone(qid, JOURNAL_REMOVED);
	if (unlinkat(sp->state, qid, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

struct doomed {
	char	qid[QID_LEN + 1];
	int	has_state;
};

static pthread_mutex_t	 janitor_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 janitor_cond = PTHREAD_COND_INITIALIZER;
static struct doomed	*doomed;
static size_t		 ndoomed, doomed_cap;
static int		 janitor_stop, janitor_running;
static pthread_t	 janitor;
static struct spool	*janitor_spool;

/* A removed message's file: into free/ for reuse, or gone. */
static void
recycle(struct spool *sp, const char *qid)
{
	struct stat st;

	if (fstatat(sp->queue, qid, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fileio_own(&st) && st.st_size <= SPOOL_FREE_SIZE_MAX &&
	    renameat2(sp->queue, qid, sp->free, qid, RENAME_NOREPLACE) == 0) {
		journal_gone(qid, JOURNAL_REMOVED);
		/* renamed first: a crash in between leaves it in free/,
		 * emptied at start, never a truncated queue file */
		if (free_empty(sp, qid) == -1)
			return;
		if (free_push(qid) == 0)
			return;
		unlinkat(sp->free, qid, 0);	/* the list is full */
		return;
	}
	if (unlinkat(sp->queue, qid, 0) == -1 && errno != ENOENT)
		log_warn("%s: unlink", qid);
	else
		journal_gone(qid, JOURNAL_REMOVED);
}

static void *
janitor_main(void *arg)
{
	struct doomed *work = NULL;
	size_t n, i;

	pthread_mutex_lock(&janitor_lock);
	for (;;) {
		while (ndoomed == 0 && !janitor_stop)
			pthread_cond_wait(&janitor_cond, &janitor_lock);
		if (ndoomed == 0)
			break;
		/* take the whole list; the loop fills a new one meanwhile */
		free(work);
		work = doomed;
		n = ndoomed;
		doomed = NULL;
		ndoomed = doomed_cap = 0;
		pthread_mutex_unlock(&janitor_lock);
		for (i = 0; i < n; i++) {
			/* queue/ first: a lone state file is swept at start */
			recycle(janitor_spool, work[i].qid);
			if (work[i].has_state &&
			    unlinkat(janitor_spool->state, work[i].qid, 0) == -1 &&
			    errno != ENOENT)
				log_warn("%s: unlink state", work[i].qid);
		}
		pthread_mutex_lock(&janitor_lock);
	}
	pthread_mutex_unlock(&janitor_lock);
	free(work);
	return NULL;
}

int
spool_janitor_start(struct spool *sp)
{
	janitor_spool = sp;
	janitor_stop = 0;
	if (pthread_create(&janitor, NULL, janitor_main, NULL) != 0)
		return -1;
	janitor_running = 1;
	return journal_start();
}

void
spool_janitor_stop(void)
{
	journal_stop();
	if (!janitor_running)
		return;
	pthread_mutex_lock(&janitor_lock);
	janitor_stop = 1;
	pthread_cond_signal(&janitor_cond);
	pthread_mutex_unlock(&janitor_lock);
	pthread_join(janitor, NULL);
	janitor_running = 0;
}

void
spool_remove_later(struct spool *sp, const struct envelope *e)
{
	struct doomed *nd;

	if (!janitor_running) {
		spool_remove(sp, e->qid);
		return;
	}
	pthread_mutex_lock(&janitor_lock);
	if (ndoomed == doomed_cap) {
		doomed_cap = doomed_cap ? doomed_cap * 2 : 256;
		if ((nd = realloc(doomed, doomed_cap * sizeof(*nd))) == NULL)
			fatal("spool_remove_later");
		doomed = nd;
	}
	memcpy(doomed[ndoomed].qid, e->qid, sizeof(doomed[0].qid));
	doomed[ndoomed].has_state = (e->flags & ENV_STATE) != 0;
	ndoomed++;
	pthread_cond_signal(&janitor_cond);
	pthread_mutex_unlock(&janitor_lock);
}

int
spool_quarantine(struct spool *sp, const char *name, const char *why)
{
	return quarantine_from(sp, sp->queue, "queue", name, why);
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
			str_copy_trunc(err, n < 0 ? "read error" :
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

	if ((fd = fileio_open_own(sp->state, e->qid, O_RDONLY)) == -2) {
		quarantine_from(sp, sp->state, "state", e->qid, NOT_OWN);
		str_copy_trunc(err, NOT_OWN, errlen);
		return -1;
	}
	if (fd == -1)
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

static int
qid_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The queue ids in one folder of the spool; anything else in queue/ is
 * set aside (quarantine), elsewhere skipped. NULL with *n 0 if empty.
 */
static char (*list_qids(struct spool *sp, int dirfd, int set_aside,
    size_t *n))[QID_LEN + 1]
{
	char (*v)[QID_LEN + 1] = NULL, (*nv)[QID_LEN + 1];
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int dfd;

	*n = 0;
	if ((dfd = dup(dirfd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!qid_valid(de->d_name)) {
			if (set_aside)
				spool_quarantine(sp, de->d_name,
				    "not a queue id");
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				fatal("spool: listing");
			v = nv;
		}
		memcpy(v[(*n)++], de->d_name, QID_LEN + 1);
	}
	closedir(d);
	return v;
}

/*
 * A scan works on the names queue/ had when it started: messages that
 * arrive (or are delivered and removed) while it loads in steps are the
 * loop's already, and must not be loaded a second time. The names in
 * state/ are read once too, sorted: a lookup instead of an openat per
 * message, most of which have no state (it matters on a cold start).
 */
struct spool_scan {
	struct spool	 *sp;
	char		(*names)[QID_LEN + 1];
	size_t		  nnames, next;
	char		(*states)[QID_LEN + 1];
	size_t		  nstates;
	struct prefetch	 *pf;		/* warms the files ahead of next */
};

struct spool_scan *
spool_scan_start(struct spool *sp)
{
	struct spool_scan *sc;
	size_t i;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	sc->sp = sp;
	sc->names = list_qids(sp, sp->queue, 1, &sc->nnames);
	sc->states = list_qids(sp, sp->state, 0, &sc->nstates);
	if (sc->nstates)
		qsort(sc->states, sc->nstates, sizeof(*sc->states), qid_cmp);
	/* new ids come after every queued one, even if the clock went back */
	for (i = 0; i < sc->nnames; i++)
		qid_seed(sc->names[i]);
	sc->pf = prefetch_start(sp->queue, sc->names, sc->nnames);
	return sc;
}

/* One queue file into an envelope; NULL if it is no message (logged). */
static struct envelope *
load_one(struct spool_scan *sc, const char *name)
{
	struct spool *sp = sc->sp;
	struct envelope *e;
	struct stat st;
	char err[128];
	int fd;

	if ((e = malloc(sizeof(*e))) == NULL)
		fatal("spool scan");
	/* freed below even if the header's first read fails (empty file) */
	envelope_init(e);
	if ((fd = fileio_open_own_st(sp->queue, name, O_RDONLY, &st)) == -2) {
		spool_quarantine(sp, name, NOT_OWN);
		free(e);
		return NULL;
	}
	if (fd == -1) {
		log_warn("spool: %s", name);
		free(e);
		return NULL;
	}
	err[0] = '\0';
	if (load_header(fd, e, err, sizeof(err)) != 0 ||
	    strcmp(e->qid, name) != 0) {
		close(fd);
		envelope_free(e);
		spool_quarantine(sp, name, err[0] ? err :
		    "id does not match its file name");
		free(e);
		return NULL;
	}
	close(fd);
	/* an older file has no length line: it is what the file holds */
	if (!(e->flags & ENV_LENGTH))
		e->size = (uint64_t)st.st_size - e->data_off;
	err[0] = '\0';
	if (sc->nstates && bsearch(e->qid, sc->states, sc->nstates,
	    sizeof(*sc->states), qid_cmp) != NULL) {
		if (load_state(sp, e, err, sizeof(err)) == -1)
			log_warnx("%s: state file ignored: %s", e->qid,
			    err[0] ? err : "unreadable");
		e->flags |= ENV_STATE;
	}
	return e;
}

int
spool_scan_step(struct spool_scan *sc, size_t n,
    void (*cb)(void *, struct envelope *), void *ctx)
{
	struct envelope *e;

	while (n > 0 && sc->next < sc->nnames) {
		if ((e = load_one(sc, sc->names[sc->next++])) == NULL)
			continue;
		cb(ctx, e);
		n--;
	}
	return sc->next < sc->nnames;
}

void
spool_scan_end(struct spool_scan *sc)
{
	prefetch_stop(sc->pf);
	free(sc->names);
	free(sc->states);
	free(sc);
}

int
spool_scan(struct spool *sp, void (*cb)(void *, struct envelope *), void *ctx)
{
	struct spool_scan *sc;

	if ((sc = spool_scan_start(sp)) == NULL)
		return -1;
	while (spool_scan_step(sc, 1000, cb, ctx) == 1)
		;
	spool_scan_end(sc);
	return 0;
}

/*
 * dests: the scheduler's memory of dead destinations (SPOOL.md), one
 * small file replaced whole: dests.tmp, fdatasync, rename, fsync.
 */
int
spool_write_dests(struct spool *sp, const struct buf *b)
{
	int fd;

	/* whatever has the name goes (a FIFO there would block the open),
	 * as for a state file */
	if (unlinkat(sp->dirfd, "dests.tmp", 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(sp->dirfd, "dests.tmp", O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	if (fileio_write_all(fd, b->data, b->len) == -1 || fdatasync(fd) == -1) {
		close(fd);
		unlinkat(sp->dirfd, "dests.tmp", 0);
		return -1;
	}
	close(fd);
	if (renameat(sp->dirfd, "dests.tmp", sp->dirfd, "dests") == -1 ||
	    fsync(sp->dirfd) == -1)
		return -1;
	return 0;
}

int
spool_read_dests(struct spool *sp, struct buf *b)
{
	struct stat st;
	int fd, rc;

	/* only a regular file of queued's user, as elsewhere in the spool:
	 * a FIFO must not hang the start, nor anyone else pause mail */
	fd = openat(sp->dirfd, "dests", O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) == -1 || !fileio_own(&st)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	rc = fileio_read_fd(fd, b);
	close(fd);
	return rc == 0 ? 0 : -1;
}
