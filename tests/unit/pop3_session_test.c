/*
 * pop3 session: the command table driven line by line, with the Maildir
 * changed between commands where a script cannot reach (an unlink that
 * fails at UPDATE), and the login's name resolution.
 */
#define _GNU_SOURCE	/* nftw, mkdtemp, rand_r */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "maildir.h"
#include "login.h"
#include "pop3d.h"
#include "users.h"

/* openssl passwd -6 -salt unittest secret */
#define HASH "$6$unittest$iTyJEhc/5iE0.bkk0x1X7dSr6S4n1ki1hdD96nnwABdGkrJlQUK" \
	"Td46zmCgwtRPria9bXeV7GYTWyK1gdkHL/."

static char dir[] = "/tmp/pombo-pop3s-test-XXXXXX";
static struct conf conf;
static struct pop3_session s;
static int sv[2];

static void
setup(void)
{
	struct conf_error err;
	char text[2048], path[1024];
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "bob@example.test:%s\ndave@example.test:%s\n"
	    "dave@other.test:%s\neve@mx.test:%s\n", HASH, HASH, HASH, HASH);
	fclose(f);
	snprintf(text, sizeof(text), "hostname = mx.test\n"
	    "local_domains = example.test, other.test\n"
	    "mail_root = %s/mail\nusers_file = %s/users\n"
	    "login_delay = 0\n", dir, dir);
	conf_defaults(&conf);
	cr_assert_eq(conf_parse(&conf, text, strlen(text), "test", &err), 0,
	    "%s", err.msg);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pop3d_session_init(&s, &conf, sv[0], sv[0], 1, "test");
}

static int
rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	pop3d_session_free(&s);
	conf_free(&conf);
	close(sv[0]);
	close(sv[1]);
	nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Send one command; return the first reply line. */
static const char *
cmd(const char *line)
{
	static char out[4096];
	char buf[512];
	ssize_t n;
	size_t len = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	pop3d_commands_dispatch(&s, buf);
	cr_assert_eq(lineio_flush(&s.io), 0);
	while ((n = recv(sv[1], out + len, sizeof(out) - 1 - len,
	    len ? MSG_DONTWAIT : 0)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	out[strcspn(out, "\r")] = '\0';
	return out;
}

static void
put(const char *name, const char *text)
{
	char md[1024], path[1200];
	int fd;

	snprintf(md, sizeof(md), "%s/mail/example.test/bob", dir);
	cr_assert_eq(maildir_create(md), 0);
	snprintf(path, sizeof(path), "%s/new/%s", md, name);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

Test(pop3_session, unlink_failure_at_update, .init = setup, .fini = teardown)
{
	char path[1200];

	put("1.a,S=2,W=3", "a\n");
	put("2.b,S=2,W=3", "b\n");
	cr_expect_str_eq(cmd("USER bob@example.test"), "+OK Send your password");
	cr_expect_str_eq(cmd("PASS secret"),
	    "+OK Logged in, 2 messages (6 octets)");
	cr_expect_str_eq(cmd("DELE 1"), "+OK Message 1 deleted");
	cr_expect_str_eq(cmd("DELE 2"), "+OK Message 2 deleted");
	/* message 2 turns into a folder: unlink(2) cannot remove that */
	snprintf(path, sizeof(path), "%s/mail/example.test/bob/new/2.b,S=2,W=3",
	    dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_expect_str_eq(cmd("QUIT"),
	    "-ERR [SYS/TEMP] some deleted messages not removed");
	cr_expect(s.quit);
}

Test(pop3_session, quit_unlocks_before_replying, .init = setup,
    .fini = teardown)
{
	struct mailbox other;
	char md[1024];

	put("1.a,S=2,W=3", "a\n");
	cmd("USER bob");
	cr_expect_str_eq(cmd("PASS secret"),
	    "+OK Logged in, 1 messages (3 octets)");
	snprintf(md, sizeof(md), "%s/mail/example.test/bob", dir);
	cr_expect_eq(mailbox_open(&other, md), MAILBOX_INUSE);
	cr_expect_str_eq(cmd("QUIT"),
	    "+OK Pombo POP3 server signing off (1 messages left)");
	/* by the time the client reads +OK, a new session may lock */
	cr_expect_eq(mailbox_open(&other, md), MAILBOX_OK);
	mailbox_close(&other);
}

Test(pop3_session, failures_close, .init = setup, .fini = teardown)
{
	cmd("USER bob");
	cr_expect_str_eq(cmd("PASS x"),
	    "-ERR [AUTH] Invalid user name or password");
	cr_expect_eq(s.failures, 1);
	cr_expect(!s.quit);
	cmd("USER bob");
	cmd("PASS y");
	cmd("USER bob");
	cmd("PASS z");
	cr_expect_eq(s.failures, 3);
	cr_expect(s.quit, "closed after max_login_failures");
	cr_expect_eq(s.state, ST_AUTHORIZATION);
}

Test(pop3_session, resolve, .init = setup, .fini = teardown)
{
	struct users u;
	char err[256];
	const struct user *p;

	cr_assert_eq(users_load(&u, conf.users_file, err, sizeof(err)), 0);
	p = login_resolve(&conf, &u, "bob");
	cr_assert_not_null(p);
	cr_expect_str_eq(p->addr, "bob@example.test");
	cr_expect_null(login_resolve(&conf, &u, "dave"), "two domains");
	cr_assert_not_null(p = login_resolve(&conf, &u, "DAVE@Other.Test"));
	cr_expect_str_eq(p->addr, "dave@other.test");
	cr_assert_not_null(p = login_resolve(&conf, &u, "eve"), "host name");
	cr_expect_str_eq(p->addr, "eve@mx.test");
	cr_expect_null(login_resolve(&conf, &u, "nobody"));
	cr_expect_null(login_resolve(&conf, &u, ""));
	cr_expect_null(login_resolve(&conf, &u, "bob@"));
	users_free(&u);
}

Test(pop3_session, log_safe)
{
	char out[8];

	login_log_safe(out, sizeof(out), "a b\n\x01\xffzzzz");
	cr_expect_str_eq(out, "a?b???z");
}
