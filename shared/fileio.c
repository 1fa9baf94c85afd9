/*
 * fileio: the loops every caller would otherwise write again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

/*
 * Only regular files of the caller's own user (queued's: the agents
 * run as it) are ever read or reused from the spool: a FIFO would block
 * open() and read() for good (queued's loop and SIGTERM with them, or an
 * agent and its whole batch until its timeout), a device or a link would
 * read something else. The fstatat refuses them before any open;
 * O_NONBLOCK and O_NOFOLLOW make the open harmless if the name changed
 * meanwhile (between queued's check and an agent's open, too), and
 * fstat checks what was opened.
 */
int
fileio_own(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid();
}

int
fileio_open_own(int dirfd, const char *name, int flags)
{
	struct stat st;

	return fileio_open_own_st(dirfd, name, flags, &st);
}

int
fileio_open_own_st(int dirfd, const char *name, int flags, struct stat *st)
{
	int fd;

	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !fileio_own(st))
		return -2;
	fd = openat(dirfd, name, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ELOOP || errno == ENXIO || errno == EISDIR ||
		    errno == ENODEV ? -2 : -1;
	if (fstat(fd, st) == -1 || !fileio_own(st)) {
		close(fd);
		return -2;
	}
	/*
	 * O_NONBLOCK stays: only a regular file gets here, and reads and
	 * writes of one ignore it (two fcntl calls a file saved, 100,000
	 * of them when queued loads its queue).
	 */
	return fd;
}

int
fileio_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Straight into b, growing it as it fills: a 64 KB chunk on the stack
 * made every program that read its config fault two more stack pages
 * (issue 19).
 */
int
fileio_read_fd(int fd, struct buf *b)
{
	size_t room;
	ssize_t r;
	char probe;

	for (;;) {
		room = b->max - b->len;
		if (room > 0) {
			/* what the buffer has, else as much again (1 KB
			 * first: a config file takes one page of heap) */
			size_t want = b->cap > b->len + 1 ?
			    b->cap - b->len - 1 : b->len < 1024 ? 1024 :
			    b->len < 65536 ? b->len : 65536;
			if (room > want)
				room = want;
			if (buf_reserve(b, room) == -1)
				return -2;
			r = read(fd, b->data + b->len, room);
		} else	/* full: is there more? */
			r = read(fd, &probe, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (room == 0)
			return -2;
		b->len += (size_t)r;
	}
}

int
fileio_read(const char *path, int missing_ok, struct buf *b, char *err,
    size_t errlen)
{
	int fd, rc, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && missing_ok)
			return 1;
		str_fmt_trunc(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = fileio_read_fd(fd, b);
	e = errno;
	close(fd);
	if (rc < 0) {
		str_fmt_trunc(err, errlen, "%s: %s", path, rc == -2 ?
		    "file too large" : strerror(e));
		return -1;
	}
	return 0;
}
