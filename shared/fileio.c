/*
 * fileio: the loops every caller would otherwise write again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

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

int
fileio_read_fd(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t r;

	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (buf_add(b, chunk, (size_t)r) == -1)
			return -2;
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
		str_fmt(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = fileio_read_fd(fd, b);
	e = errno;
	close(fd);
	if (rc < 0) {
		str_fmt(err, errlen, "%s: %s", path, rc == -2 ?
		    "file too large" : strerror(e));
		return -1;
	}
	return 0;
}
