/*
 * pop3 dirscan: every name exactly once, whether one reader or several
 * read the directory; several only on a large indexed ext4 directory;
 * ranges with no names in them; none lost while names are added; a
 * callback's failure ends the scan.
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
#include <sys/wait.h>
#include <unistd.h>

#include "dirscan.h"

#define MANY	3000

static char dir[] = "/tmp/pombo-dirscan-test-XXXXXX";
static char sub[600];
static unsigned char seen[MANY];	/* names added meanwhile: not counted */
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

/* Hard links to one file (top/file): a directory entry each, no inode. */
static void
make_names_in(const char *top, int d, int from, int to)
{
	char path[1024], name[256];
	int i;

	snprintf(path, sizeof(path), "%s/file", top);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	for (i = from; i < to; i++) {
		name_of(i, name, sizeof(name));
		cr_assert_eq(linkat(AT_FDCWD, path, d, name, 0), 0, "%d", i);
	}
}

static void
make_names(int n)
{
	make_names_in(dir, dfd, 0, n);
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

	if (end != name + 5 || i < 0 || i >= MANY + 1000)
		others++;
	else if (i < MANY && seen[i] < 255)
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

/* Names added while the directory is read: none of the others is lost. */
Test(pop3_dirscan, names_added_meanwhile, .init = setup, .fini = teardown)
{
	static const int keep[] = { 3, 100, 1000, 2000, 2500, 2998 };
	pid_t pid;
	int i, status;

	make_names(MANY);
	remove_all_but(MANY, keep, 6);
	/* a process of its own adds them (the queued/ folder on the include
	 * path has a sched.h that hides the system's, and pthread.h's) */
	if ((pid = fork()) == 0) {
		make_names_in(dir, dfd, MANY, MANY + 1000);
		_exit(0);
	}
	cr_assert(pid != -1);
	for (i = 0; i < 20; i++) {
		memset(seen, 0, sizeof(seen));
		cr_assert_geq(dirscan(dfd, count, NULL), 1);
		cr_assert_eq(others, 0);
		for (int j = 0; j < 6; j++)
			cr_assert_geq(seen[keep[j]], 1, "name %d lost", keep[j]);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * A large ext4 directory with no hash index (a file system made without
 * dir_index): its positions are byte offsets, so one reader reads it,
 * all of it. Mounting a loop file system needs root: skipped otherwise.
 */
static char mnt[700];

static void
umount_teardown(void)
{
	char cmd[800];

	snprintf(cmd, sizeof(cmd), "umount %s 2>/dev/null", mnt);
	if (system(cmd) != 0)
		fprintf(stderr, "umount %s failed\n", mnt);
	teardown();
}

Test(pop3_dirscan, ext4_without_index, .init = setup,
    .fini = umount_teardown)
{
	char cmd[2400], img[700], sub2[800];
	int d, readers;

	if (geteuid() != 0)
		cr_skip_test("needs root to mount a loop file system");
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -O ^dir_index,^has_journal "
	    "%s 16M >/dev/null 2>&1 && mount -o loop %s %s 2>/dev/null",
	    img, img, mnt);
	if (system(cmd) != 0)
		cr_skip_test("cannot make and mount an ext4 loop file system");
	snprintf(sub2, sizeof(sub2), "%s/d", mnt);
	cr_assert_eq(mkdir(sub2, 0700), 0);
	d = open(sub2, O_RDONLY | O_DIRECTORY);
	cr_assert(d != -1);
	make_names_in(mnt, d, 0, MANY);
	readers = dirscan(d, count, NULL);
	close(d);
	cr_assert_eq(readers, 1, "not split: %d readers", readers);
	assert_seen(MANY, NULL, 0);
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
