/*
 * journal: spool_dir/journal, one file of blocks written once (zeros)
 * and then only overwritten, so that its fdatasync writes data and a
 * cache flush, never metadata: 0.31-0.34 ms where a new file and its
 * directory entry take 0.51-0.55 (SPOOL.md, the journal).
 *
 * Octets 0-4095 hold the header (magic, generation, CRC); records
 * follow from 4096, each a head (type, generation, queue id, length,
 * CRC-32C of head and payload) and, for a message, its whole queue
 * file. A replay reads records while they are whole and of the
 * header's generation; a checkpoint (everything the journal holds is in
 * queue/ and on disk: syncfs) starts a new generation at 4096, so older
 * records are never read again. The file grows from JOURNAL_START to
 * JOURNAL_MAX in steps written and synced once. A thread of its own
 * checkpoints, so no commit waits for a syncfs: while it runs, and
 * while the journal is full, messages take the file's path.
 *
 * A record may share a disk sector with one already synced: rewriting
 * that sector writes the same octets there again, so a torn write
 * cannot harm what was acknowledged (sector writes are atomic).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "fileio.h"
#include "journal.h"
#include "log.h"
#include "qid.h"

#define JOURNAL_DATA	4096	/* the first record's offset */
#define JOURNAL_MAGIC	"POMBO-JOURNAL 1\n"
#define RECORD_MAGIC	0x314e524aU	/* "JRN1" */
/*
 * Kept free for records of removal when messages no longer fit: one
 * for each message of the generation, and this much besides (a message
 * set aside gets two; a removal of one committed before the generation
 * began, but named within its range, gets one it does not need).
 */
#define JOURNAL_RESERVE	(64 * 1024)
#define GONE_SIZE	((sizeof(struct jrecord) + 7) & ~(uint64_t)7)

struct jheader {
	char		magic[16];
	uint64_t	gen;
	uint32_t	crc;	/* of the above */
	uint32_t	zero;
};

struct jrecord {
	uint32_t	magic;
	uint8_t		type;	/* 'M' message, 'R' removed, 'Q' set aside */
	uint8_t		zero[3];
	uint64_t	gen;
	char		qid[QID_LEN];
	uint32_t	len;	/* of the payload after the head */
	uint32_t	crc;	/* of the head (crc 0) and the payload */
};

static pthread_mutex_t	 j_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spool	*j_spool;
static int		 j_fd = -1;
static uint64_t		 j_gen, j_off, j_size;
static uint64_t		 j_nmsg;	/* M records of this generation */
/* the least and greatest queue ids among them: none is outside */
static char		 j_first[QID_LEN], j_last[QID_LEN];
static int		 j_broken;	/* an error: off until restart */
static int		 j_busy;	/* a checkpoint is under way */
static int		 j_started;	/* a generation begun: removals noted */
static int64_t		 j_last_add;	/* CLOCK_MONOTONIC milliseconds */
static pthread_cond_t	 j_cond;	/* wakes the checkpoint thread */
static pthread_t	 j_thread;
static int		 j_thread_on, j_stop;
static int		 j_full;	/* the checkpoint thread's turn */
static char		 j_buf[65536];	/* copies; under j_lock */

static uint64_t
record_size(uint64_t len)
{
	return (sizeof(struct jrecord) + len + 7) & ~(uint64_t)7;
}

static uint32_t
header_crc(const struct jheader *h)
{
	return crc32c(0, h, offsetof(struct jheader, crc));
}

/* Copy len octets at from in fd to at in out, summing them into *crc. */
static int
copy_range(int fd, uint64_t from, int out, uint64_t at, uint64_t len,
    uint32_t *crc)
{
	uint64_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, j_buf, len - done < sizeof(j_buf) ?
		    (size_t)(len - done) : sizeof(j_buf), (off_t)(from + done));
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shorter than it says */
			return -1;
		}
		if (crc != NULL)
			*crc = crc32c(*crc, j_buf, (size_t)n);
		if (out != -1 && pwrite(out, j_buf, (size_t)n,
		    (off_t)(at + done)) != n)
			return -1;
		done += (uint64_t)n;
	}
	return 0;
}

/* Fill [j_size, size) with zeros and sync it, size and all. */
static int
grow(uint64_t size)
{
	static const char zeros[65536];
	uint64_t at = j_size;
	size_t n;

	while (at < size) {
		n = size - at < sizeof(zeros) ? (size_t)(size - at) :
		    sizeof(zeros);
		if (pwrite(j_fd, zeros, n, (off_t)at) != (ssize_t)n)
			return -1;
		at += n;
	}
	if (fdatasync(j_fd) == -1)
		return -1;
	j_size = size;
	return 0;
}

/* in milliseconds: whole seconds would make a second's turn, however
 * soon after a message, look like a second of quiet */
static int64_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Zeros over [from, to): the text of finished messages goes. */
static void
erase(uint64_t from, uint64_t to)
{
	static const char zeros[65536];
	size_t n;

	for (; from < to; from += n) {
		n = to - from < sizeof(zeros) ? (size_t)(to - from) :
		    sizeof(zeros);
		if (pwrite(j_fd, zeros, n, (off_t)from) != (ssize_t)n) {
			log_warn("spool: cannot erase the journal");
			return;
		}
	}
}

/* A new generation: its header written and synced, records from 4096. */
static int
start_generation(uint64_t gen)
{
	struct jheader h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, JOURNAL_MAGIC, sizeof(h.magic));
	h.gen = gen;
	h.crc = header_crc(&h);
	if (pwrite(j_fd, &h, sizeof(h), 0) != sizeof(h) ||
	    fdatasync(j_fd) == -1)
		return -1;
	j_gen = gen;
	j_off = JOURNAL_DATA;
	j_nmsg = 0;
	return 0;
}

/*
 * Everything the journal holds is in queue/ (or gone from it): put it
 * on disk, then start afresh. Called with j_lock held: by its own
 * thread (full, or idle), the commit thread when that thread is not
 * there, or at a stop. Records of removal still go in meanwhile, of
 * the generation ending: if the checkpoint fails, that generation
 * stays the one a start-up replays, and they keep the messages they
 * name out of queue/.
 */
static int
checkpoint(void)
{
	uint64_t used;
	int rc;

	j_busy = 1;
	pthread_mutex_unlock(&j_lock);
	rc = syncfs(j_spool->dirfd);
	pthread_mutex_lock(&j_lock);
	j_busy = 0;
	used = j_off;	/* with the records of removal added meanwhile */
	if (rc == -1 || start_generation(j_gen + 1) == -1) {
		log_warn("spool: journal checkpoint failed; messages are made "
		    "durable file by file from now on");
		j_broken = 1;
		return -1;
	}
	/* no copy of a delivered message stays (SPOOL.md); the zeros
	 * need no sync: the header already says the records are old */
	erase(JOURNAL_DATA, used);
	return 0;
}

/* One record at j_off: a message's file (fd, len octets) or none. */
static int
append(int type, const char *qid, int fd, uint64_t len)
{
	struct jrecord r;
	uint32_t crc;

	memset(&r, 0, sizeof(r));
	r.magic = RECORD_MAGIC;
	r.type = (uint8_t)type;
	r.gen = j_gen;
	memcpy(r.qid, qid, QID_LEN);
	r.len = (uint32_t)len;
	crc = crc32c(0, &r, sizeof(r));
	if (fd != -1 && copy_range(fd, 0, j_fd, j_off + sizeof(r), len,
	    &crc) == -1)
		return -1;
	r.crc = crc;
	if (pwrite(j_fd, &r, sizeof(r), (off_t)j_off) != sizeof(r))
		return -1;
	j_off += record_size(len);
	return 0;
}

int
journal_add(const char *qid, int fd, uint64_t len)
{
	uint64_t need, size;
	int rc = -1;

	pthread_mutex_lock(&j_lock);
	/* busy: another thread's checkpoint, the file path is quicker */
	if (j_fd == -1 || j_broken || j_busy || len > JOURNAL_FILE_MAX)
		goto out;
	/* the record, its removal's, and those of the messages before it */
	need = record_size(len) + (j_nmsg + 1) * GONE_SIZE + JOURNAL_RESERVE;
	if (j_off + need > j_size) {
		size = j_size;
		while (size < JOURNAL_MAX && j_off + need > size)
			size = size * 2 < JOURNAL_MAX ? size * 2 : JOURNAL_MAX;
		if (size > j_size && grow(size) == -1) {
			log_warn("spool: cannot grow the journal");
			j_broken = 1;
			goto out;
		}
		if (j_off + need > j_size) {
			/* full: its thread checkpoints, the file path
			 * meanwhile (a syncfs can take long on a busy disk) */
			if (j_thread_on) {
				j_full = 1;
				pthread_cond_signal(&j_cond);
				goto out;
			}
			if (checkpoint() == -1)
				goto out;
		}
	}
	if (append('M', qid, fd, len) == -1)
		log_warn("%s: journal", qid);	/* the file path takes it */
	else {
		j_last_add = now_mono();
		if (j_nmsg == 0 || memcmp(qid, j_first, QID_LEN) < 0)
			memcpy(j_first, qid, QID_LEN);
		if (j_nmsg == 0 || memcmp(qid, j_last, QID_LEN) > 0)
			memcpy(j_last, qid, QID_LEN);
		j_nmsg++;
		rc = 0;
	}
out:
	pthread_mutex_unlock(&j_lock);
	return rc;
}

int
journal_sync(void)
{
	int fd, rc;

	pthread_mutex_lock(&j_lock);
	fd = j_fd;
	pthread_mutex_unlock(&j_lock);
	if (fd == -1)
		return -1;
	/* after a failed fdatasync nothing says what reached the disk */
	if ((rc = fdatasync(fd)) == -1) {
		log_warn("spool: fdatasync of the journal; messages are made "
		    "durable file by file from now on");
		pthread_mutex_lock(&j_lock);
		j_broken = 1;
		pthread_mutex_unlock(&j_lock);
	}
	return rc;
}

/*
 * Also while the journal is off (broken) or a checkpoint runs: the
 * generation it holds is replayed at the next start, and without its
 * record a message removed since (delivered, deleted, refused after a
 * failed sync) would come back into queue/.
 */
void
journal_gone(const char *qid, enum journal_gone how)
{
	pthread_mutex_lock(&j_lock);
	/* none is owed for a message not of this generation (its queue id
	 * sorts outside those of its messages): they would take the room
	 * kept for those that are; nor for a name that is no queue id
	 * (cut to one, it could name another message) */
	if (j_fd != -1 && j_started && j_nmsg > 0 && qid_valid(qid) &&
	    memcmp(qid, j_first, QID_LEN) >= 0 &&
	    memcmp(qid, j_last, QID_LEN) <= 0 &&
	    j_off + sizeof(struct jrecord) <= j_size &&
	    append(how == JOURNAL_QUARANTINED ? 'Q' : 'R', qid, -1, 0) == -1)
		log_warn("%s: journal", qid);
	pthread_mutex_unlock(&j_lock);
}

static void *
checkpointer(void *arg)
{
	struct timespec ts;

	pthread_mutex_lock(&j_lock);
	while (!j_stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		if (!j_full)
			pthread_cond_timedwait(&j_cond, &j_lock, &ts);
		if (j_stop)
			break;
		/* records of removal alone are no reason: they hold no
		 * text, and no message of theirs is left to replay */
		if (j_fd != -1 && !j_broken && !j_busy && (j_full ||
		    (j_nmsg > 0 && now_mono() - j_last_add >=
		    JOURNAL_IDLE * 1000)))
			checkpoint();
		j_full = 0;
	}
	pthread_mutex_unlock(&j_lock);
	return NULL;
}

int
journal_start(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&j_lock);
	j_stop = j_full = 0;
	if (pthread_create(&j_thread, NULL, checkpointer, NULL) == 0)
		j_thread_on = 1;
	pthread_mutex_unlock(&j_lock);
	return j_thread_on ? 0 : -1;
}

void
journal_stop(void)
{
	if (!j_thread_on)
		return;
	pthread_mutex_lock(&j_lock);
	j_stop = 1;
	pthread_cond_signal(&j_cond);
	pthread_mutex_unlock(&j_lock);
	pthread_join(j_thread, NULL);
	pthread_mutex_lock(&j_lock);
	j_thread_on = 0;
	pthread_mutex_unlock(&j_lock);
	pthread_cond_destroy(&j_cond);
}

/* What a replay found: the records of each queue id. */
struct entry {
	char		qid[QID_LEN + 1];
	uint8_t		type;
	uint64_t	off;	/* of the record */
	uint32_t	len;
	size_t		seq;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->qid, y->qid);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The records of generation gen from 4096, while whole: NULL with *n 0
 * if there are none, NULL with *n (size_t)-1 if memory ran out.
 */
static struct entry *
read_records(int fd, uint64_t size, uint64_t gen, size_t *n)
{
	struct entry *v = NULL, *nv;
	struct jrecord r;
	uint64_t off = JOURNAL_DATA;
	uint32_t crc, want;
	size_t cap = 0;

	*n = 0;
	while (off + sizeof(r) <= size) {
		if (pread(fd, &r, sizeof(r), (off_t)off) != sizeof(r) ||
		    r.magic != RECORD_MAGIC || r.gen != gen ||
		    (r.type != 'M' && r.type != 'R' && r.type != 'Q') ||
		    (r.type != 'M' && r.len != 0) ||
		    r.len > size - off - sizeof(r))
			break;
		want = r.crc;
		r.crc = 0;
		crc = crc32c(0, &r, sizeof(r));
		if (copy_range(fd, off + sizeof(r), -1, 0, r.len, &crc) == -1 ||
		    crc != want)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				*n = (size_t)-1;
				return NULL;
			}
			v = nv;
		}
		memcpy(v[*n].qid, r.qid, QID_LEN);
		v[*n].qid[QID_LEN] = '\0';
		v[*n].type = r.type;
		v[*n].off = off;
		v[*n].len = r.len;
		v[*n].seq = *n;
		(*n)++;
		off += record_size(r.len);
	}
	return v;
}

/* 1 if fd holds exactly the len octets at off in the journal. */
static int
same_octets(int fd, uint64_t off, uint64_t len)
{
	char mine[16384];
	uint64_t done = 0;
	struct stat st;
	size_t want;

	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != len)
		return 0;
	while (done < len) {
		want = len - done < sizeof(mine) ? (size_t)(len - done) :
		    sizeof(mine);
		if (pread(fd, mine, want, (off_t)done) != (ssize_t)want ||
		    pread(j_fd, j_buf, want, (off_t)(off + done)) !=
		    (ssize_t)want || memcmp(mine, j_buf, want) != 0)
			return 0;
		done += want;
	}
	return 1;
}

/*
 * A message the journal holds: queue/<qid> as committed, or written
 * again from the journal (a crash of the machine lost its directory
 * entry or its data). 1 if written again, 0 if whole, -1 on error.
 */
static int
restore(struct spool *sp, const struct entry *m)
{
	uint64_t at = m->off + sizeof(struct jrecord);
	int fd;

	fd = fileio_open_own(sp->queue, m->qid, O_RDONLY);
	if (fd == -2 && spool_quarantine(sp, m->qid,
	    "not a regular file of queued's user") == -1)
		return -1;
	if (fd >= 0) {
		int whole = same_octets(fd, at, m->len);

		close(fd);
		if (whole)
			return 0;
	}
	if (unlinkat(sp->incoming, m->qid, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(sp->incoming, m->qid, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (copy_range(j_fd, at, fd, 0, m->len, NULL) == -1) {
		close(fd);
		unlinkat(sp->incoming, m->qid, 0);
		return -1;
	}
	close(fd);
	if (renameat(sp->incoming, m->qid, sp->queue, m->qid) == -1)
		return -1;
	log_warnx("%s: queue file restored from the journal (a crash of the "
	    "machine lost it)", m->qid);
	return 1;
}

/* A message that left queue/ stays out of it. */
static void
forget(struct spool *sp, const char *qid, int quarantined)
{
	struct stat st;

	if (!qid_valid(qid))
		return;
	if (fstatat(sp->queue, qid, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (quarantined)
			spool_quarantine(sp, qid, "set aside before a crash");
		else if (unlinkat(sp->queue, qid, 0) == 0)
			log_info("%s: removed again (finished before a crash)",
			    qid);
	}
	if (unlinkat(sp->state, qid, 0) == -1 && errno != ENOENT)
		log_warn("%s: unlink state", qid);
}

/*
 * Replay generation gen: every message with no record of removal is
 * made whole in queue/ from its last copy, every one removed or set
 * aside since stays out (set aside if it ever was). Returns the number
 * written again, *live the number of messages the journal held (they
 * need a sync before the journal may forget them), -1 if one could not
 * be put back.
 */
static int
replay(struct spool *sp, uint64_t size, uint64_t gen, size_t *live)
{
	struct entry *v;
	size_t n, i, j, last;
	int restored = 0, failed = 0, rc, quarantined, removed;

	*live = 0;
	if ((v = read_records(j_fd, size, gen, &n)) == NULL) {
		if (n == 0)
			return 0;
		log_warn("spool: cannot replay the journal");
		return -1;
	}
	qsort(v, n, sizeof(*v), entry_cmp);
	for (i = 0; i < n; i = j) {
		quarantined = removed = 0;
		last = n;
		for (j = i; j < n && strcmp(v[j].qid, v[i].qid) == 0; j++) {
			if (v[j].type == 'Q')
				quarantined = 1;
			else if (v[j].type == 'R')
				removed = 1;
			else
				last = j;
		}
		if (quarantined || removed || last == n) {
			forget(sp, v[i].qid, quarantined);
			continue;
		}
		if (!qid_valid(v[last].qid))
			continue;
		(*live)++;
		if ((rc = restore(sp, &v[last])) == -1) {
			log_warn("%s: cannot restore it from the journal",
			    v[last].qid);
			failed = 1;
		} else
			restored += rc;
	}
	free(v);
	/* the journal must keep what is not in queue/ yet: no start */
	return failed ? -1 : restored;
}

/* A generation never used before: after the header's and every record's. */
static uint64_t
next_gen(uint64_t gen, int header_ok)
{
	struct jrecord r;
	struct timeval tv;
	uint64_t g = header_ok ? gen + 1 : 1;

	/* a torn header: the record at 4096 is the newest that was written */
	if (pread(j_fd, &r, sizeof(r), JOURNAL_DATA) == sizeof(r) &&
	    r.magic == RECORD_MAGIC && r.gen >= g)
		g = r.gen + 1;
	gettimeofday(&tv, NULL);
	if (!header_ok && (uint64_t)tv.tv_sec * 1000000 > g)
		g = (uint64_t)tv.tv_sec * 1000000;
	return g;
}

static int
open_file(struct spool *sp, int *created)
{
	int fd;

	*created = 0;
	fd = fileio_open_own(sp->dirfd, "journal", O_RDWR);
	if (fd == -2) {
		log_warnx("spool: journal: not a regular file of queued's "
		    "user; set aside");
		if (renameat(sp->dirfd, "journal", sp->quarantine,
		    "journal") == -1)
			return -1;
		fd = -1;
		errno = ENOENT;
	}
	if (fd == -1 && errno == ENOENT) {
		fd = openat(sp->dirfd, "journal", O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		*created = 1;
	}
	return fd;
}

int
journal_open(struct spool *sp)
{
	struct jheader h;
	struct stat st;
	size_t live = 0;
	int restored = 0, created, header_ok;

	journal_close();
	/*
	 * No other thread runs yet; j_started stays 0, keeping records of
	 * removal out while the replay sets files aside (none is owed for
	 * them) until the new generation has begun.
	 */
	pthread_mutex_lock(&j_lock);
	j_spool = sp;
	j_broken = 0;
	j_busy = 1;
	pthread_mutex_unlock(&j_lock);
	if ((j_fd = open_file(sp, &created)) == -1 && created) {
		/* none to replay: queued runs without one (no inode left) */
		log_warn("spool: cannot create the journal; messages are made "
		    "durable file by file");
		goto off;
	}
	if (j_fd == -1 || fstat(j_fd, &st) == -1)
		goto fail;
	j_size = (uint64_t)st.st_size;
	header_ok = pread(j_fd, &h, sizeof(h), 0) == sizeof(h) &&
	    memcmp(h.magic, JOURNAL_MAGIC, sizeof(h.magic)) == 0 &&
	    h.crc == header_crc(&h);
	if (header_ok && (restored = replay(sp, j_size, h.gen, &live)) == -1)
		goto fail;
	/* what it held must be on disk before the journal forgets it */
	if (live > 0 && syncfs(sp->dirfd) == -1)
		goto fail;
	if (live > 0)
		log_info("spool: journal replayed: %zu messages, %d written "
		    "again", live, restored);
	/* a bigger file (not one of ours) is used up to the most only */
	if (j_size > JOURNAL_MAX)
		j_size = JOURNAL_MAX;
	/* from here on a failure (a full disk) only turns the journal off */
	if ((j_size < JOURNAL_START && grow(JOURNAL_START) == -1) ||
	    start_generation(next_gen(header_ok ? h.gen : 0, header_ok)) ==
	    -1 || (created && fsync(sp->dirfd) == -1)) {
		log_warn("spool: cannot start the journal; messages are made "
		    "durable file by file");
		goto off;
	}
	/* what it held is on disk by itself, or delivered: no copy stays
	 * (older generations too, if a crash lost a checkpoint's zeros) */
	if (!created)
		erase(JOURNAL_DATA, j_size);
	pthread_mutex_lock(&j_lock);
	j_busy = 0;
	j_started = 1;
	pthread_mutex_unlock(&j_lock);
	return restored;
fail:
	restored = -1;
off:
	pthread_mutex_lock(&j_lock);
	if (j_fd != -1)
		close(j_fd);
	j_fd = -1;
	j_busy = 0;
	pthread_mutex_unlock(&j_lock);
	return restored;
}

void
journal_close(void)
{
	pthread_mutex_lock(&j_lock);
	if (j_fd != -1) {
		if (!j_broken && j_off > JOURNAL_DATA)
			checkpoint();
		close(j_fd);
		j_fd = -1;
	}
	j_started = 0;
	pthread_mutex_unlock(&j_lock);
}
