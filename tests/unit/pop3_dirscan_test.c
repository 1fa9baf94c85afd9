/*
 * pop3 dirscan: every name exactly once, whether one reader or several
 * read the directory; several only on a large ext4 directory; ranges
 * with no names in them; a callback's failure ends the scan.
 */
#define _GNU_SOURCE	/* nftw, mkdtemp */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "dirscan.h"

#define MANY	3000

static char dir[] = "/tmp/pombo-dirscan-test-XXXXXX";
static char sub[600];
static unsigned char seen[MANY];
static int others, dfd = -1;

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/d", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	dfd = open(sub, O_RDONLY | O_DIRECTORY);
	cr_assert(dfd != -1);
	memset(seen, 0, sizeof(seen));
	others = 0;
}

static int
rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	close(dfd);
	nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Long names fill directory blocks fast: 3000 make some 750 KB. */
static void
name_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "%05d.%0200d", i, i);
}

/* Hard links to one file: a directory entry each, no inode each. */
static void
make_names(int n)
{
	char path[1024], name[256];
	int i;

	snprintf(path, sizeof(path), "%s/file", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	for (i = 0; i < n; i++) {
		name_of(i, name, sizeof(name));
		cr_assert_eq(linkat(AT_FDCWD, path, dfd, name, 0), 0, "%d", i);
	}
}

static void
remove_all_but(int n, const int *keep, int nkeep)
{
	char name[256];
	int i, j, kept;

	for (i = 0; i < n; i++) {
		for (kept = 0, j = 0; j < nkeep; j++)
			kept |= keep[j] == i;
		name_of(i, name, sizeof(name));
		if (!kept)
			cr_assert_eq(unlinkat(dfd, name, 0), 0);
	}
}

static int
count(void *arg, const char *name, unsigned char type)
{
	char *end;
	long i = strtol(name, &end, 10);

	if (end != name + 5 || i < 0 || i >= MANY)
		others++;
	else if (seen[i] < 255)
		seen[i]++;
	return 0;
}

static int
on_ext4(void)
{
	struct statfs fs;

	cr_assert_eq(fstatfs(dfd, &fs), 0);
	return fs.f_type == EXT4_SUPER_MAGIC;
}

/* every one of names [0, n) once, or only those in keep */
static void
assert_seen(int n, const int *keep, int nkeep)
{
	int i, j, want;

	cr_assert_eq(others, 0);
	for (i = 0; i < n; i++) {
		for (want = keep == NULL, j = 0; j < nkeep; j++)
			want |= keep[j] == i;
		cr_assert_eq(seen[i], want, "name %d seen %d times", i,
		    seen[i]);
	}
}

Test(pop3_dirscan, empty_and_small, .init = setup, .fini = teardown)
{
	cr_assert_eq(dirscan(dfd, count, NULL), 1);
	assert_seen(0, NULL, 0);
	make_names(20);
	cr_assert_eq(dirscan(dfd, count, NULL), 1);
	assert_seen(20, NULL, 0);
}

Test(pop3_dirscan, large, .init = setup, .fini = teardown)
{
	int readers;

	make_names(MANY);
	readers = dirscan(dfd, count, NULL);
	assert_seen(MANY, NULL, 0);
	/* the split is the point on ext4, and never made elsewhere */
	if (on_ext4())
		cr_assert_gt(readers, 1);
	else
		cr_assert_eq(readers, 1);
	/* the descriptor given is left where it was: a second scan */
	memset(seen, 0, sizeof(seen));
	cr_assert_eq(dirscan(dfd, count, NULL), readers);
	assert_seen(MANY, NULL, 0);
}

/*
 * An ext4 directory keeps its blocks when names go: still split, but
 * most ranges now hold nothing, and a reader's lseek lands in a later
 * range (the entry it finds first belongs to the next reader).
 */
Test(pop3_dirscan, sparse, .init = setup, .fini = teardown)
{
	static const int keep[] = { 0, 1, 7, 1500, 2999 };
	char name[256];
	int i, readers;

	make_names(MANY);
	remove_all_but(MANY, keep, 5);
	readers = dirscan(dfd, count, NULL);
	assert_seen(MANY, keep, 5);
	if (on_ext4())
		cr_assert_gt(readers, 1);
	for (i = 0; i < 5; i++) {
		name_of(keep[i], name, sizeof(name));
		cr_assert_eq(unlinkat(dfd, name, 0), 0);
	}
	memset(seen, 0, sizeof(seen));
	cr_assert_geq(dirscan(dfd, count, NULL), 1);
	assert_seen(MANY, keep, 0);
}

static int calls;

static int
fail_third(void *arg, const char *name, unsigned char type)
{
	if (++calls == 3) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

Test(pop3_dirscan, callback_failure_ends_it, .init = setup,
    .fini = teardown)
{
	make_names(MANY);
	calls = 0;
	errno = 0;
	cr_assert_eq(dirscan(dfd, fail_third, NULL), -1);
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(calls, 3);
}
