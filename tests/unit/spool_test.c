/* spool: files move through incoming/ and queue/; leftovers are swept. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char dir[] = "/tmp/pombo-spool-test-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static int
exists(const char *sub, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return stat(path, &st) == 0;
}

static void
write_file(const char *sub, const char *name, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd != -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int nloaded;
static char loaded_qid[QID_LEN + 1];
static uint64_t loaded_size;

static int loaded_late;	/* a message that came after the scan began */

static void
on_load(void *ctx, struct envelope *e)
{
	nloaded++;
	loaded_late |= strcmp(e->qid, "01k177h5zzzz") == 0;
	memcpy(loaded_qid, e->qid, sizeof(loaded_qid));
	loaded_size = e->size;
	envelope_free(e);
	free(e);
}

#define GOOD "POMBO-QUEUE 1\nid 01k177h582jc\ntime 1\n" \
	"client SMTP local x.test\nfrom <>\nrcpt <a@b.test>\ndata\nhello\n"

Test(spool, recovery_at_start, .init = setup)
{
	struct spool sp;
	char cmd[600];

	cr_assert_eq(spool_open(&sp, dir), 0);
	spool_close(&sp);
	write_file("incoming", "01k177h582jd", "half a message");
	write_file("queue", "01k177h582jc", GOOD);
	write_file("queue", "01k177h582je", "POMBO-QUEUE 1\ngarbage\n");
	write_file("queue", "not-an-id", "x");
	write_file("state", "01k177h582jc", "POMBO-STATE 1\nflags hold\n");
	write_file("state", "01k177h582jf", "POMBO-STATE 1\n");
	write_file("state", "01k177h582jc.tmp", "half");

	nloaded = 0;
	cr_assert_eq(spool_open(&sp, dir), 0);
	cr_expect_not(exists("incoming", "01k177h582jd"), "half message gone");
	cr_expect_not(exists("state", "01k177h582jf"), "lone state gone");
	cr_expect_not(exists("state", "01k177h582jc.tmp"), "tmp state gone");
	cr_expect(exists("state", "01k177h582jc"), "live state kept");
	cr_assert_eq(spool_scan(&sp, on_load, NULL), 0);
	cr_expect_eq(nloaded, 1);
	cr_expect_str_eq(loaded_qid, "01k177h582jc");
	cr_expect_eq(loaded_size, 6);
	cr_expect(exists("quarantine", "01k177h582je"), "corrupt file aside");
	cr_expect(exists("quarantine", "not-an-id"), "foreign file aside");
	cr_expect_not(exists("queue", "01k177h582je"));
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(spool, create_publish_remove, .init = setup)
{
	struct spool sp;
	struct envelope e;
	char cmd[600];
	int fd, reused;

	cr_assert_eq(spool_open(&sp, dir), 0);
	fd = spool_create(&sp, "01k177h582jc", &reused);
	cr_assert(fd != -1);
	cr_expect_eq(reused, 0, "a new file");
	cr_expect_eq(spool_create(&sp, "01k177h582jc", &reused), -1,
	    "exclusive");
	cr_assert_eq(write(fd, GOOD, strlen(GOOD)), (ssize_t)strlen(GOOD));
	close(fd);
	cr_expect(exists("incoming", "01k177h582jc"));
	cr_assert_eq(spool_publish(&sp, "01k177h582jc"), 0);
	cr_assert_eq(spool_sync_queue(&sp), 0);
	cr_expect_not(exists("incoming", "01k177h582jc"));
	cr_expect(exists("queue", "01k177h582jc"));

	envelope_init(&e);
	memcpy(e.qid, "01k177h582jc", QID_LEN + 1);
	cr_assert_eq(spool_write_state(&sp, &e), 0);
	cr_expect(exists("state", "01k177h582jc"));
	cr_assert_eq(spool_remove(&sp, "01k177h582jc"), 0);
	cr_expect_not(exists("queue", "01k177h582jc"));
	cr_expect_not(exists("state", "01k177h582jc"));
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(spool, removed_files_are_reused, .init = setup)
{
	struct spool sp;
	struct envelope e;
	char cmd[600], path[512], back[64];
	struct stat st1, st2;
	int fd, reused;

	cr_assert_eq(spool_open(&sp, dir), 0);
	cr_assert_eq(spool_janitor_start(&sp), 0);
	fd = spool_create(&sp, "01k177h582jc", &reused);
	cr_assert(fd != -1);
	cr_assert_eq(write(fd, "a long old message body\n", 24), 24);
	close(fd);
	cr_assert_eq(spool_publish(&sp, "01k177h582jc"), 0);
	snprintf(path, sizeof(path), "%s/queue/01k177h582jc", dir);
	cr_assert_eq(stat(path, &st1), 0);
	envelope_init(&e);
	memcpy(e.qid, "01k177h582jc", QID_LEN + 1);
	spool_remove_later(&sp, &e);
	/* stopping drains the janitor's list: the file is in free/ and in
	 * the free list (seeing it emptied on disk came before the list) */
	spool_janitor_stop();
	cr_expect(exists("free", "01k177h582jc"), "the file went to free/");
	cr_expect_not(exists("queue", "01k177h582jc"));
	/* emptied: nothing of the old message stays readable there */
	snprintf(path, sizeof(path), "%s/free/01k177h582jc", dir);
	cr_expect_eq(stat(path, &st2), 0);
	cr_expect_eq(st2.st_size, 0, "and emptied there");
	cr_expect_eq(st2.st_blocks, 0, "its blocks freed");

	fd = spool_create(&sp, "01k177h582jd", &reused);
	cr_assert(fd != -1);
	cr_expect_eq(reused, 1, "said to be reused");
	cr_expect_not(exists("free", "01k177h582jc"), "and was taken back");
	snprintf(path, sizeof(path), "%s/incoming/01k177h582jd", dir);
	cr_assert_eq(stat(path, &st2), 0);
	cr_expect_eq(st1.st_ino, st2.st_ino, "the same inode, not a new one");
	cr_assert_eq(write(fd, "short\n", 6), 6);
	cr_assert_eq(spool_set_length(fd, 6), 0);
	close(fd);
	fd = open(path, O_RDONLY);
	cr_assert_eq(read(fd, back, sizeof(back)), 6, "nothing old remains");
	close(fd);
	cr_expect(memcmp(back, "short\n", 6) == 0);
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* Many files: the prefetch threads race the scan through queue/, and
 * the scan still loads each message once, and quarantines what it must;
 * a scan ended early stops them too; a message published during a scan
 * is not the scan's. */
Test(spool, scan_many, .init = setup)
{
	struct spool sp;
	struct spool_scan *sc;
	char qid[QID_LEN + 1], text[256], cmd[600];
	int i;

	cr_assert_eq(spool_open(&sp, dir), 0);
	for (i = 0; i < 3000; i++) {
		snprintf(qid, sizeof(qid), "01k177h5%04d", i);
		snprintf(text, sizeof(text), "POMBO-QUEUE 1\nid %s\ntime 1\n"
		    "client SMTP local x.test\nfrom <>\nrcpt <a@b.test>\n"
		    "data\nhello\n", qid);
		write_file("queue", qid, i % 1000 == 7 ? "junk\n" : text);
	}
	nloaded = 0;
	cr_assert_eq(spool_scan(&sp, on_load, NULL), 0);
	cr_expect_eq(nloaded, 2997);
	cr_expect(exists("quarantine", "01k177h51007"));
	nloaded = 0;
	cr_assert_not_null(sc = spool_scan_start(&sp));
	cr_expect_eq(spool_scan_step(sc, 10, on_load, NULL), 1);
	spool_scan_end(sc);
	cr_expect_eq(nloaded, 10);

	/* what arrives while a scan loads in steps is not loaded again:
	 * the loop has it already */
	nloaded = 0;
	loaded_late = 0;
	cr_assert_not_null(sc = spool_scan_start(&sp));
	cr_expect_eq(spool_scan_step(sc, 100, on_load, NULL), 1);
	write_file("queue", "01k177h5zzzz", "POMBO-QUEUE 1\nid 01k177h5zzzz\n"
	    "time 1\nclient SMTP local x.test\nfrom <>\nrcpt <a@b.test>\n"
	    "data\nlate\n");
	while (spool_scan_step(sc, 100, on_load, NULL) == 1)
		;
	spool_scan_end(sc);
	cr_expect_eq(nloaded, 2997);
	cr_expect_not(loaded_late, "the late message was loaded by the scan");
	spool_close(&sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}
