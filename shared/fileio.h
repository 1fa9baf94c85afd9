/*
 * fileio: whole-file reads into a bounded buffer and writes that finish
 * or fail, for the config, users and aliases files, the spool and the
 * agents, and the one way spool files are opened (queued and its
 * agents). Used everywhere files are read or written whole.
 */
#ifndef POMBO_FILEIO_H
#define POMBO_FILEIO_H

#include <stddef.h>
#include <sys/stat.h>

#include "str.h"

/* Write all n octets (retrying short writes); 0 or -1 with errno. */
int fileio_write_all(int fd, const void *p, size_t n);
/* Read fd to its end into b (bounded by b->max); 0, -1 (errno), -2 full. */
int fileio_read_fd(int fd, struct buf *b);
/*
 * Read a whole file into b. 0 ok, 1 when it does not exist (and
 * missing_ok), -1 with err ("path: reason").
 */
int fileio_read(const char *path, int missing_ok, struct buf *b, char *err,
    size_t errlen);
/* st is a regular file of this process's effective user. */
int fileio_own(const struct stat *st);
/*
 * openat(dirfd, name, flags) for a spool file, only if it is a regular
 * file of this process's effective user: never blocks on a FIFO, never
 * follows a link (see fileio.c). The fd (close-on-exec; O_NONBLOCK, which
 * a regular file ignores), -1 with errno (e.g. ENOENT), or -2 for a file
 * that is something else.
 */
int fileio_open_own(int dirfd, const char *name, int flags);
/* The same, and what fstat said of the file opened into *st. */
int fileio_open_own_st(int dirfd, const char *name, int flags,
    struct stat *st);

#endif
