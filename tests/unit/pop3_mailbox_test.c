/* pop3 mailbox: scan, sizes from names, order, lock, marks, UPDATE. */
#define _GNU_SOURCE	/* nftw, mkdtemp, rand_r */
#include <criterion/criterion.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox.h"
#include "maildir.h"
#include "transfer.h"

static char dir[] = "/tmp/pombo-mbox-test-XXXXXX";
static char md[600];

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(md, sizeof(md), "%s/example.test/bob", dir);
}

static int
rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void
put(const char *sub, const char *name, const char *text)
{
	char path[1024];
	int fd;

	cr_assert_eq(maildir_create(md), 0);
	snprintf(path, sizeof(path), "%s/%s/%s", md, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd != -1, "%s", path);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int
exists(const char *sub, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", md, sub, name);
	return lstat(path, &st) == 0;
}

static size_t
count(const char *sub)
{
	char path[1024];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", md, sub);
	cr_assert_not_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(pop3_mailbox, missing_maildir_is_empty, .init = setup, .fini = teardown)
{
	struct mailbox mb;

	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_expect_eq(mb.n, 0);
	cr_expect_eq(mailbox_count(&mb), 0);
	cr_expect_eq(mailbox_size(&mb), 0);
	cr_expect_eq(mailbox_update(&mb), 0);
	mailbox_close(&mb);
	cr_expect(access(md, F_OK) == -1, "no Maildir was made");
}

#define OURS3	"1700000003.01k177h582jc_0123456789abcdef.mx.test,S=5,W=1000"

Test(pop3_mailbox, scan_sizes_and_order, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	/* our agent's W= is believed: the content is another size */
	put("new", OURS3, "short\n");
	put("cur", "1700000001.a.mx.test,S=2,W=3:2,S", "a\n");
	/* no W=: read, LF counted as CRLF, a final CRLF added */
	put("new", "1700000002.b.other", "x\ny");
	put("new", ".hidden", "not a message\n");
	put("cur", "1700000004.d:2,", "");
	/* a folder is no message */
	snprintf(path, sizeof(path), "%s/new/1700000005.folder", md);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 4);
	cr_expect_str_eq(mailbox_name(&mb, 0), "1700000001.a.mx.test,S=2,W=3:2,S");
	cr_expect_str_eq(mailbox_name(&mb, 1), "1700000002.b.other");
	cr_expect_str_eq(mailbox_name(&mb, 2), OURS3);
	cr_expect_str_eq(mailbox_name(&mb, 3), "1700000004.d:2,");
	cr_expect_eq(mb.msg[0].size, 3);
	cr_expect_eq(mb.msg[1].size, 6);
	cr_expect_eq(mb.msg[2].size, 1000);
	cr_expect_eq(mb.msg[3].size, 0);
	cr_expect(mb.msg[0].flags & MSG_CUR);
	cr_expect(!(mb.msg[1].flags & MSG_CUR));
	cr_expect_eq(mailbox_count(&mb), 4);
	cr_expect_eq(mailbox_size(&mb), 1009);
	mailbox_close(&mb);
}

/*
 * Repeats of a name are dropped (a parallel read can give one twice
 * while mail arrives), but one name in new/ and in cur/ is two files:
 * both are messages, new/'s first.
 */
Test(pop3_mailbox, same_name_in_new_and_cur, .init = setup,
    .fini = teardown)
{
	struct mailbox mb;

	put("new", "1700000001.a,S=1,W=2", "x\n");
	put("cur", "1700000001.a,S=1,W=2", "y\n");
	put("new", "1700000002.b,S=1,W=2", "z\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 3);
	cr_expect_eq(mailbox_size(&mb), 9, "not our names: read, 3 each");
	cr_expect(!(mb.msg[0].flags & MSG_CUR));
	cr_expect(mb.msg[1].flags & MSG_CUR);
	cr_expect_str_eq(mailbox_name(&mb, 2), "1700000002.b,S=1,W=2");
	mailbox_close(&mb);
}

Test(pop3_mailbox, one_session_at_a_time, .init = setup, .fini = teardown)
{
	struct mailbox a, b;

	put("new", "1.x,S=1,W=2", "x\n");
	cr_assert_eq(mailbox_open(&a, md), MAILBOX_OK);
	/* flock is per open file: a second open in this process conflicts */
	cr_expect_eq(mailbox_open(&b, md), MAILBOX_INUSE);
	mailbox_close(&a);
	cr_expect_eq(mailbox_open(&b, md), MAILBOX_OK);
	cr_expect_eq(b.n, 1);
	mailbox_close(&b);
}

Test(pop3_mailbox, unreadable, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/example.test", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	/* the Maildir is a file */
	fd = open(md, O_WRONLY | O_CREAT, 0600);
	cr_assert(fd != -1);
	close(fd);
	cr_expect_eq(mailbox_open(&mb, md), MAILBOX_ERROR);
	mailbox_close(&mb);
}

Test(pop3_mailbox, marks, .init = setup, .fini = teardown)
{
	struct mailbox mb;

	put("new", "1.a,S=1,W=2", "a\n");
	put("new", "2.b,S=2,W=4", "b\nc");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	mailbox_delete(&mb, 1);
	mailbox_delete(&mb, 1);
	cr_expect_eq(mailbox_count(&mb), 1);
	cr_expect_eq(mailbox_size(&mb), 3);
	mailbox_undelete_all(&mb);
	cr_expect_eq(mailbox_count(&mb), 2);
	cr_expect_eq(mailbox_size(&mb), 9);
	mailbox_close(&mb);
}

struct seen_case {
	const char	*name;
	const char	*want;	/* NULL: left alone */
};

Test(pop3_mailbox, seen_names)
{
	static const struct seen_case cases[] = {
		{ "1.a,S=1,W=2", "1.a,S=1,W=2:2,S" },
		{ "1.a:2,", "1.a:2,S" },
		{ "1.a:2,S", "1.a:2,S" },
		{ "1.a:2,F", "1.a:2,FS" },
		{ "1.a:2,RT", "1.a:2,RST" },
		{ "1.a:2,DFPRT", "1.a:2,DFPRST" },
		{ "1.a:2,T", "1.a:2,ST" },
		{ "1.a:2,a", "1.a:2,Sa" },	/* lowercase: after S in ASCII */
		{ "1.a:2,FS", "1.a:2,FS" },
		{ "1.a:1,x", NULL },		/* experimental semantics */
	};
	char out[MAILDIR_NAME_MAX + 1], longname[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mailbox_seen_name(cases[i].name, out, sizeof(out));
		if (cases[i].want == NULL) {
			cr_expect_eq(rc, -1, "%s", cases[i].name);
			continue;
		}
		cr_expect_eq(rc, 0, "%s", cases[i].name);
		cr_expect_str_eq(out, cases[i].want);
	}
	/* a name that would pass NAME_MAX stays where it is */
	memset(longname, 'n', 253);
	longname[253] = '\0';
	cr_expect_eq(mailbox_seen_name(longname, out, sizeof(out)), -1);
}

Test(pop3_mailbox, update, .init = setup, .fini = teardown)
{
	struct mailbox mb;

	put("new", "1.a,S=1,W=2", "a\n");		/* RETR -> cur/ :2,S */
	put("new", "2.b,S=1,W=2", "b\n");		/* DELE */
	put("new", "3.c,S=1,W=2", "c\n");		/* untouched */
	put("cur", "4.d,S=1,W=2:2,F", "d\n");	/* RETR -> :2,FS */
	put("cur", "5.e,S=1,W=2:2,S", "e\n");	/* DELE */
	put("new", "6.f,S=1,W=2", "f\n");		/* RETR and DELE */
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 6);
	mb.msg[0].flags |= MSG_RETRIEVED;
	mailbox_delete(&mb, 1);
	mb.msg[3].flags |= MSG_RETRIEVED;
	mailbox_delete(&mb, 4);
	mb.msg[5].flags |= MSG_RETRIEVED;
	mailbox_delete(&mb, 5);
	cr_expect_eq(mailbox_update(&mb), 0);
	mailbox_close(&mb);
	cr_expect_eq(count("new"), 1);
	cr_expect(exists("new", "3.c,S=1,W=2"));
	cr_expect_eq(count("cur"), 2);
	cr_expect(exists("cur", "1.a,S=1,W=2:2,S"));
	cr_expect(exists("cur", "4.d,S=1,W=2:2,FS"));
}

Test(pop3_mailbox, update_failures, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	put("new", "1.a,S=1,W=2", "a\n");
	put("new", "2.b,S=1,W=2", "b\n");
	put("new", "3.c,S=1,W=2", "c\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	mailbox_delete(&mb, 0);
	mailbox_delete(&mb, 1);
	mb.msg[2].flags |= MSG_RETRIEVED;
	/* 1 is gone already (another reader): that is no failure */
	snprintf(path, sizeof(path), "%s/new/1.a,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	/* 2 became something unlink cannot remove */
	snprintf(path, sizeof(path), "%s/new/2.b,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	/* 3's seen name is taken in cur/: it is not overwritten */
	put("cur", "3.c,S=1,W=2:2,S", "other\n");
	cr_expect_eq(mailbox_update(&mb), 1);
	mailbox_close(&mb);
	cr_expect(exists("new", "3.c,S=1,W=2"));
}

/* Renames by another reader (an IMAP server) between the scan and UPDATE. */
static void
rename_in(const char *from, const char *name, const char *to,
    const char *newname)
{
	char a[1024], b[1024];

	snprintf(a, sizeof(a), "%s/%s/%s", md, from, name);
	snprintf(b, sizeof(b), "%s/%s/%s", md, to, newname);
	cr_assert_eq(rename(a, b), 0, "%s", a);
}

Test(pop3_mailbox, update_renamed, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	put("new", "1.a,S=1,W=2", "a\n");		/* DELE, moved to cur/ */
	put("cur", "2.b,S=1,W=2:2,S", "b\n");	/* DELE, flags changed */
	put("cur", "3.c,S=1,W=2:2,S", "c\n");	/* DELE, back to new/ */
	put("new", "4.d,S=1,W=2", "d\n");		/* DELE, gone for good */
	put("new", "5.e,S=1,W=2", "e\n");		/* kept */
	put("new", "6.f,S=1,W=2", "f\n");		/* DELE, gone... */
	put("cur", "6.f,S=1,W=2:2,S", "f\n");	/* ...but kept listed */
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 7);
	mailbox_delete(&mb, 0);
	mailbox_delete(&mb, 1);
	mailbox_delete(&mb, 2);
	mailbox_delete(&mb, 3);
	mailbox_delete(&mb, 5);
	rename_in("new", "1.a,S=1,W=2", "cur", "1.a,S=1,W=2:2,S");
	rename_in("cur", "2.b,S=1,W=2:2,S", "cur", "2.b,S=1,W=2:2,RS");
	rename_in("cur", "3.c,S=1,W=2:2,S", "new", "3.c,S=1,W=2");
	snprintf(path, sizeof(path), "%s/new/4.d,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/new/6.f,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	/* same start, another unique name: not the message */
	put("cur", "1.a,S=1,W=22:2,S", "x\n");
	cr_expect_eq(mailbox_update(&mb), 0);
	mailbox_close(&mb);
	cr_expect(!exists("cur", "1.a,S=1,W=2:2,S"));
	cr_expect(!exists("cur", "2.b,S=1,W=2:2,RS"));
	cr_expect(!exists("new", "3.c,S=1,W=2"));
	cr_expect(exists("cur", "1.a,S=1,W=22:2,S"));
	cr_expect(exists("new", "5.e,S=1,W=2"));
	cr_expect(exists("cur", "6.f,S=1,W=2:2,S"));
	cr_expect_eq(count("new"), 1);
	cr_expect_eq(count("cur"), 2);
}

Test(pop3_mailbox, update_renamed_failure, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	put("new", "1.a,S=1,W=2", "a\n");
	put("new", "2.b,S=1,W=2", "b\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	mailbox_delete(&mb, 0);
	mailbox_delete(&mb, 1);
	/* 1 is found in cur/ as something unlink cannot remove */
	snprintf(path, sizeof(path), "%s/new/1.a,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/cur/1.a,S=1,W=2:2,S", md);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_expect_eq(mailbox_update(&mb), 1);
	mailbox_close(&mb);
	cr_expect_eq(count("new"), 0);
}

Test(pop3_mailbox, open_msg, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];
	int fd;

	put("new", "1.a,S=1,W=2", "a\n");
	put("new", "2.b,S=1,W=2", "b\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	fd = mailbox_open_msg(&mb, 0);
	cr_expect(fd != -1);
	close(fd);
	/* a symlink put in place of a message is not followed */
	snprintf(path, sizeof(path), "%s/new/2.b,S=1,W=2", md);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink("/etc/passwd", path), 0);
	cr_expect_eq(mailbox_open_msg(&mb, 1), -1);
	mailbox_close(&mb);
}

/*
 * Another writer's W= is not believed: Dovecot's APPEND of a message
 * without a final newline names it W=48 (its LFs as CRLF), but RETR
 * sends 50 (the CRLF a last line needs, RFC 1939 3). LIST must say what
 * RETR sends, so such a file is read like one without W=.
 */
Test(pop3_mailbox, foreign_wsize, .init = setup, .fini = teardown)
{
	const char *dove = "1796174243.M668603P20284.vm,S=46,W=48:2,";
	const char *liar = "1796174244.M1P2.vm,S=5,W=999";
	struct mailbox mb;
	uint64_t sent;
	int fd;

	put("cur", dove, "Subject: no newline\n\nlast line without newline");
	put("new", liar, "tiny\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 2);
	cr_expect_str_eq(mailbox_name(&mb, 0), dove);
	cr_expect_eq(mb.msg[0].size, 50, "LIST: %llu",
	    (unsigned long long)mb.msg[0].size);
	cr_expect_eq(mb.msg[1].size, 6, "a W= that lies is not believed");
	/* and RETR sends as much */
	cr_assert((fd = mailbox_open_msg(&mb, 0)) != -1);
	cr_assert_eq(transfer_size(fd, &sent), 0);
	close(fd);
	cr_expect_eq(sent, mb.msg[0].size);
	cr_expect_eq(mailbox_size(&mb), 56);
	mailbox_close(&mb);
}

/*
 * Dovecot's names size its files without a read: its W= (every LF not
 * after a CR counted twice) when the last octet is an LF. Each file
 * here says one octet more in its W= than a read counts: only a file
 * whose S= is not its size, whose W= is out of S..2S, or whose last
 * line has no LF (where Dovecot's W= and ours part) is read.
 */
Test(pop3_mailbox, foreign_wsize_unread, .init = setup, .fini = teardown)
{
	static const struct {
		const char *dir, *name, *text;
		uint64_t size;
	} t[] = {
		/* read: "a\nb\n" is 6, its W= 7 believed */
		{ "new", "1.M1P1.vm,S=4,W=7", "a\nb\n", 7 },
		/* no final LF: read, the CRLF RETR adds counted */
		{ "new", "2.M1P1.vm,S=3,W=5:2,", "a\nb", 6 },
		/* a final CR: read, the LF RETR adds counted */
		{ "cur", "3.M1P1.vm,S=4,W=6:2,S", "a\nb\r", 6 },
		/* CRLF already: W= is S, +0 after the LF */
		{ "cur", "4.M1P1.vm,S=6,W=7:2,", "a\r\nb\r\n", 7 },
		/* S= not the file's size (changed since): read */
		{ "new", "5.M1P1.vm,S=9,W=11", "a\nb\n", 6 },
		/* W= beyond 2S: read */
		{ "new", "6.M1P1.vm,S=4,W=9", "a\nb\n", 6 },
		/* W= below S: read */
		{ "new", "7.M1P1.vm,S=4,W=3", "a\nb\n", 6 },
		/* empty: 0 */
		{ "new", "8.M1P1.vm,S=0,W=0", "", 0 },
	};
	struct mailbox mb;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		put(t[i].dir, t[i].name, t[i].text);
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, sizeof(t) / sizeof(t[0]));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_str_eq(mailbox_name(&mb, i), t[i].name);
		cr_expect_eq(mb.msg[i].size, t[i].size, "%s: %llu, not %llu",
		    t[i].name, (unsigned long long)mb.msg[i].size,
		    (unsigned long long)t[i].size);
	}
	mailbox_close(&mb);
}

/*
 * RETR and TOP of a message another reader renamed during the session
 * (Dovecot moves new/ to cur/ at SELECT, renames when flags change): it
 * is found by its unique name, and the table takes the new name.
 */
Test(pop3_mailbox, open_renamed, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char buf[16];
	ssize_t n;
	int fd;

	put("new", "1.a,S=2,W=3", "a\n");
	put("new", "2.b,S=2,W=3", "b\n");
	put("new", "3.c,S=2,W=3", "c\n");
	put("cur", "4.d,S=2,W=3:2,", "d\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 4);
	rename_in("new", "2.b,S=2,W=3", "cur", "2.b,S=2,W=3:2,");
	rename_in("new", "3.c,S=2,W=3", "cur", "3.c,S=2,W=3:2,F");
	rename_in("cur", "4.d,S=2,W=3:2,", "cur", "4.d,S=2,W=3:2,RS");
	/* same start, another unique name: not the message */
	put("cur", "2.b,S=2,W=33:2,", "x\n");
	cr_assert((fd = mailbox_open_msg(&mb, 1)) != -1, "moved to cur/");
	n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_expect(n == 2 && memcmp(buf, "b\n", 2) == 0);
	cr_expect_str_eq(mailbox_name(&mb, 1), "2.b,S=2,W=3:2,");
	cr_expect(mb.msg[1].flags & MSG_CUR);
	/* one scan found the others too: no scan a message */
	cr_expect_str_eq(mailbox_name(&mb, 2), "3.c,S=2,W=3:2,F");
	cr_expect(mb.msg[2].flags & MSG_CUR);
	cr_expect_str_eq(mailbox_name(&mb, 0), "1.a,S=2,W=3");
	cr_assert((fd = mailbox_open_msg(&mb, 2)) != -1, "moved, flagged");
	close(fd);
	cr_assert((fd = mailbox_open_msg(&mb, 3)) != -1, "new flags in cur/");
	n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_expect(n == 2 && memcmp(buf, "d\n", 2) == 0);
	cr_expect_str_eq(mailbox_name(&mb, 3), "4.d,S=2,W=3:2,RS");
	/* the table has the new names: the next open goes straight there */
	rename_in("cur", "2.b,S=2,W=3:2,", "cur", "2.b,S=2,W=3:2,S");
	cr_assert((fd = mailbox_open_msg(&mb, 1)) != -1, "renamed twice");
	close(fd);
	cr_expect_str_eq(mailbox_name(&mb, 1), "2.b,S=2,W=3:2,S");
	mb.msg[2].flags |= MSG_RETRIEVED;
	mailbox_delete(&mb, 3);
	cr_expect_eq(mailbox_update(&mb), 0);
	mailbox_close(&mb);
	cr_expect(exists("cur", "3.c,S=2,W=3:2,FS"), "RETR'd: seen");
	cr_expect(!exists("cur", "4.d,S=2,W=3:2,RS"), "DELE'd: removed");
	cr_expect(exists("cur", "2.b,S=2,W=33:2,"));
	cr_expect(exists("new", "1.a,S=2,W=3"));
}

/* Gone for good (another reader expunged it): -1, nothing else opened. */
Test(pop3_mailbox, open_gone, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	put("new", "1.a,S=2,W=3", "a\n");
	put("cur", "1.ab,S=2,W=3:2,S", "x\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	snprintf(path, sizeof(path), "%s/new/1.a,S=2,W=3", md);
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(mailbox_open_msg(&mb, 0), -1);
	cr_expect_str_eq(mailbox_name(&mb, 0), "1.a,S=2,W=3");
	mailbox_close(&mb);
}

/*
 * Every message expunged by another reader: the first RETR scans once and
 * marks them all gone; the next ones scan no more (seen here by a file of
 * the same unique name that appears after the scan and is not found).
 */
Test(pop3_mailbox, gone_scanned_once, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char path[1024];

	put("new", "1.a,S=2,W=3", "a\n");
	put("new", "2.b,S=2,W=3", "b\n");
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	snprintf(path, sizeof(path), "%s/new/1.a,S=2,W=3", md);
	cr_assert_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/new/2.b,S=2,W=3", md);
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(mailbox_open_msg(&mb, 0), -1);
	put("cur", "2.b,S=2,W=3:2,S", "b\n");
	cr_expect_eq(mailbox_open_msg(&mb, 1), -1, "no second scan");
	cr_expect_eq(errno, ENOENT);
	mailbox_close(&mb);
}

/* A big mailbox: one arena and one table, every name kept in order. */
Test(pop3_mailbox, many, .init = setup, .fini = teardown)
{
	struct mailbox mb;
	char name[64];
	size_t i;

	for (i = 0; i < 3000; i++) {
		/* our agent's names: sized without opening a file */
		snprintf(name, sizeof(name),
		    "%zu.01k177h5%04zu_0123456789abcdef.mx,S=1,W=2",
		    1700000000 + (i * 7919) % 3000, i);
		put(i % 2 ? "new" : "cur", name, "x\n");
	}
	cr_assert_eq(mailbox_open(&mb, md), MAILBOX_OK);
	cr_assert_eq(mb.n, 3000);
	for (i = 1; i < mb.n; i++)
		cr_assert(strcmp(mailbox_name(&mb, i - 1),
		    mailbox_name(&mb, i)) < 0);
	cr_expect_eq(mailbox_size(&mb), 6000);
	mailbox_close(&mb);
}
