/*
 * dirscan: ext4 reads a hash-indexed directory one 4 KB block at a time,
 * waiting for each, in hash order: a cold Maildir of 10,000 messages is
 * some 250 reads in a row, 30-50 ms here, most of a cold POP3 login.
 * The positions ext4 gives such a directory are hashes (for a 64-bit
 * process, (major >> 1) << 32 | minor), and a readdir started by lseek at
 * any hash goes on from there. So K readers, each on a descriptor of its
 * own, each take 1/K of the hash space, and the disk serves their reads
 * together: 16 readers read that cold Maildir 2-3x faster.
 *
 * That meaning of positions is checked, never assumed: a directory is
 * split only if it is on ext4, large, and its first read shows "." and
 * then the position of hash 2, where an indexed directory has ".." (an
 * unindexed one gives ".." its byte offset). Anything else is read
 * from start to end by one reader, like any directory.
 *
 * A reader takes an entry if its position lies in its range. The
 * position of an entry is the d_off of the one before it, so the first
 * entry after an lseek has none known: it is kept aside, and it belongs
 * to the range unless the next reader's first entry is the same one
 * (then this range was empty and the lseek landed in the next). That
 * is exact for a directory left alone; one that gains names during the
 * scan can make a reader's first entry differ from the next one's
 * though both lie in the next range, and then a name comes twice.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dirscan.h"

#define READERS_MAX	16
#define SPLIT_MIN	(64 * 1024)	/* directory size worth a split */
#define READER_SPAN	(32 * 1024)	/* at least this much a reader */
/* callbacks open and size foreign files (24 KB of buffers), and log */
#define READER_STACK	(256 * 1024)
#define BUF_SIZE	4096
#define POS_DOTDOT	(UINT64_C(1) << 32)	/* hash 2, minor 0 */
#define POS_SPACE	(UINT64_C(1) << 63)	/* all hash positions */

struct scan {
	dirscan_fn	 fn;
	void		*arg;
	pthread_mutex_t	 lock;
	int		 threaded;
	int		 err;		/* first failure: errno, or 0 */
};

struct reader {
	struct scan	*scan;
	int		 fd;
	int		 ranged;	/* else the whole directory */
	uint64_t	 start, end;	/* hash positions [start, end) */
	int		 has_first;
	unsigned char	 first_type;
	char		 first[256];	/* the entry after the lseek */
	pthread_t	 thread;
	void		*stack;		/* a thread's own, unmapped after */
	int		 started;
};

static void
scan_lock(struct scan *s)
{
	if (s->threaded)
		pthread_mutex_lock(&s->lock);
}

static void
scan_unlock(struct scan *s)
{
	if (s->threaded)
		pthread_mutex_unlock(&s->lock);
}

/*
 * Under the lock: hand one entry on, unless the scan failed already. The
 * lock also covers the callback's own work (sizing a foreign file): rare.
 */
static void
emit(struct scan *s, const char *name, unsigned char type)
{
	if (s->err != 0)
		return;
	if (name[0] == '.' && (name[1] == '\0' ||
	    (name[1] == '.' && name[2] == '\0')))
		return;
	if (s->fn(s->arg, name, type) != 0)
		s->err = errno != 0 ? errno : EIO;
}

static void
fail(struct scan *s, int err)
{
	scan_lock(s);
	if (s->err == 0)
		s->err = err;
	scan_unlock(s);
}

static void *
read_range(void *arg)
{
	struct reader *r = arg;
	struct scan *s = r->scan;
	char buf[BUF_SIZE] __attribute__((aligned(8)));
	struct dirent64 *d;
	uint64_t pos = r->start;	/* of the next entry */
	int first = r->ranged && r->start != 0;
	ssize_t n, off;
	size_t len;

	if (first && lseek(r->fd, (off_t)r->start, SEEK_SET) == -1) {
		fail(s, errno);
		return NULL;
	}
	while ((n = getdents64(r->fd, buf, sizeof(buf))) > 0) {
		scan_lock(s);
		for (off = 0; off < n && s->err == 0; off += d->d_reclen) {
			d = (struct dirent64 *)(buf + off);
			if (first) {
				first = 0;
				r->has_first = 1;
				r->first_type = d->d_type;
				len = strnlen(d->d_name, sizeof(r->first) - 1);
				memcpy(r->first, d->d_name, len);
				r->first[len] = '\0';
			} else if (r->ranged && pos >= r->end) {
				scan_unlock(s);
				return NULL;
			} else
				emit(s, d->d_name, d->d_type);
			pos = (uint64_t)d->d_off;
		}
		if (s->err != 0) {
			scan_unlock(s);
			return NULL;
		}
		scan_unlock(s);
	}
	if (n == -1)
		fail(s, errno);
	return NULL;
}

/*
 * Does this directory's first read show ext4's hash positions? The buffer
 * holds "." alone: its d_off is the position of "..". A larger one would
 * go on to the first name, and ext4 reads every block of a directory
 * whose names were all removed looking for one.
 */
static int
hash_positions(int fd)
{
	struct dirent64 d;
	ssize_t n;
	int ok;

	/* 24: the record of a 1-octet name (19 + 2, to a multiple of 8) */
	n = getdents64(fd, &d, 24);
	ok = n == 24 && strcmp(d.d_name, ".") == 0 &&
	    (uint64_t)d.d_off == POS_DOTDOT;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	return ok;
}

/* How many readers for this directory: 1 unless a split is safe. */
static int
readers_for(int fd)
{
	struct statfs fs;
	struct stat st;
	off_t k;
	int ok;

	if (sizeof(off_t) != 8 || sizeof(long) != 8)
		return 1;	/* a 32-bit process gets 31-bit positions */
	if (fstat(fd, &st) == -1 || st.st_size < SPLIT_MIN ||
	    fstatfs(fd, &fs) == -1 || fs.f_type != EXT4_SUPER_MAGIC)
		return 1;
	if ((ok = hash_positions(fd)) == -1)
		return -1;	/* the lseek back failed */
	if (ok == 0)
		return 1;	/* not indexed: byte offsets */
	k = st.st_size / READER_SPAN;
	return k > READERS_MAX ? READERS_MAX : (int)k;
}

/*
 * A thread on a stack of our own, unmapped when it ends: glibc would keep
 * the stacks of ended threads for reuse, and a session scans only once.
 */
static void
start_reader(struct reader *r)
{
	pthread_attr_t attr;
	sigset_t all, old;
	long page = sysconf(_SC_PAGESIZE);

	r->stack = mmap(NULL, READER_STACK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (r->stack == MAP_FAILED) {
		r->stack = NULL;
		return;
	}
	/* stacks grow down: the lowest page is the guard */
	if (page <= 0 || mprotect(r->stack, (size_t)page, PROT_NONE) == -1 ||
	    pthread_attr_init(&attr) != 0)
		goto fail;
	/* signals stay with the session's thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_attr_setstack(&attr, r->stack, READER_STACK) == 0)
		r->started = pthread_create(&r->thread, &attr, read_range,
		    r) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r->started)
		return;
fail:
	munmap(r->stack, READER_STACK);
	r->stack = NULL;
}

int
dirscan(int dfd, dirscan_fn fn, void *arg)
{
	struct scan s = { .fn = fn, .arg = arg };
	struct reader r[READERS_MAX];
	uint64_t span;
	int i, k, nfd;

	memset(r, 0, sizeof(r));
	for (i = 0; i < READERS_MAX; i++)
		r[i].fd = -1;
	if ((r[0].fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((k = readers_for(r[0].fd)) == -1) {
		s.err = errno;
		k = 0;
	}
	for (nfd = 1; nfd < k; nfd++)
		if ((r[nfd].fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			break;
	k = k == 0 ? 0 : nfd;
	span = POS_SPACE / (uint64_t)(k > 0 ? k : 1);
	for (i = 0; i < k; i++) {
		r[i].scan = &s;
		r[i].ranged = k > 1;
		r[i].start = span * (uint64_t)i;
		r[i].end = i == k - 1 ? UINT64_MAX : span * (uint64_t)(i + 1);
	}
	if (k > 1 && pthread_mutex_init(&s.lock, NULL) == 0) {
		s.threaded = 1;
		for (i = 1; i < k; i++)
			start_reader(&r[i]);
	}
	/* the caller's thread reads range 0, and any a thread could not */
	for (i = 0; i < k; i++)
		if (!r[i].started)
			read_range(&r[i]);
	for (i = 1; i < k; i++)
		if (r[i].started) {
			pthread_join(r[i].thread, NULL);
			munmap(r[i].stack, READER_STACK);
		}
	for (i = 1; i < k; i++)
		if (r[i].has_first && !(i + 1 < k && r[i + 1].has_first &&
		    strcmp(r[i].first, r[i + 1].first) == 0))
			emit(&s, r[i].first, r[i].first_type);
	if (s.threaded)
		pthread_mutex_destroy(&s.lock);
	for (i = 0; i < READERS_MAX; i++)
		if (r[i].fd != -1)
			close(r[i].fd);
	if (s.err != 0) {
		errno = s.err;
		return -1;
	}
	return k;
}
