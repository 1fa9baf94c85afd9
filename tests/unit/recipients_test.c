/* recipients: users, aliases, sub-addressing, postmaster, loops. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recipients.h"

static struct conf c;
static struct users u;
static struct aliases a;

static void
setup(void)
{
	static const char users[] =
	    "bob@example.test:x\nalice@example.test:x\n"
	    "a+b@example.test:x\ncarol@other.test:x\n"
	    "dup@example.test:x\ndup@other.test:x\n";
	static const char aliases[] =
	    "staff: bob, alice@example.test, ghost, far@remote.test\n"
	    "bob-and-me: bob, bob-and-me\n"
	    "loop1: loop2\nloop2: loop1\n"
	    "self: self\n"
	    "bob2: bob\n"
	    "postmaster@other.test: carol@other.test\n"
	    "team@mx.test: carol, dup, bob+team, nobody\n"
	    "nest: l1\nl1: l2\nl2: l3\nl3: l4\nl4: l5\nl5: l6\nl6: l7\n"
	    "l7: l8\nl8: l9\nl9: l10\nl10: l11\nl11: bob\n";
	struct conf_error ce;
	char err[256];

	conf_defaults(&c);
	{
	static const char text[] = "hostname = mx.test\n"
	    "local_domains = example.test, other.test\n"
	    "mail_root = /srv/mail\n";

	cr_assert_eq(conf_parse(&c, text, strlen(text), "t", &ce), 0, "%s",
	    ce.msg);
	}
	cr_assert_eq(users_parse(&u, users, strlen(users), "u", err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(aliases_parse(&a, aliases, strlen(aliases), "a", err,
	    sizeof(err)), 0, "%s", err);
}

static void
teardown(void)
{
	conf_free(&c);
	users_free(&u);
	aliases_free(&a);
}

/* The aliases of a test in place of setup's. */
static void
use_aliases(const char *text)
{
	char err[256];

	aliases_free(&a);
	cr_assert_eq(aliases_parse(&a, text, strlen(text), "a", err,
	    sizeof(err)), 0, "%s", err);
}

/* The resolution of addr as "addr/l addr/r ..." (l local, r remote). */
static const char *
res(const char *addr, enum resolve_result *rr)
{
	static char out[2048];
	struct resolve_out o;
	size_t i;

	*rr = resolve(&c, &u, &a, addr, &o);
	out[0] = '\0';
	for (i = 0; i < o.n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, o.v[i].addr);
		strcat(out, o.v[i].local ? "/l" : "/r");
	}
	resolve_free(&o);
	return out;
}

Test(recipients, table, .init = setup, .fini = teardown)
{
	static const struct {
		const char *in;
		enum resolve_result rr;
		const char *out;
	} t[] = {
		{ "bob@example.test", RESOLVE_OK, "bob@example.test/l" },
		{ "Bob@EXAMPLE.test", RESOLVE_OK, "bob@example.test/l" },
		{ "bob+news@example.test", RESOLVE_OK, "bob+news@example.test/l" },
		{ "a+b@example.test", RESOLVE_OK, "a+b@example.test/l" },
		{ "nobody@example.test", RESOLVE_UNKNOWN, "" },
		{ "bob@other.test", RESOLVE_UNKNOWN, "" },
		{ "someone@remote.test", RESOLVE_OK, "someone@remote.test/r" },
		{ "staff@example.test", RESOLVE_OK, "bob@example.test/l "
		  "alice@example.test/l ghost@example.test/l far@remote.test/r" },
		{ "staff+x@example.test", RESOLVE_OK, "bob@example.test/l "
		  "alice@example.test/l ghost@example.test/l far@remote.test/r" },
		{ "bob2@other.test", RESOLVE_OK, "bob@other.test/l" },
		{ "bob-and-me@example.test", RESOLVE_LOOP, "" },
		{ "loop1@example.test", RESOLVE_LOOP, "" },
		{ "self@example.test", RESOLVE_LOOP, "" },
		{ "nest@example.test", RESOLVE_LOOP, "" },
		{ "postmaster", RESOLVE_OK, "postmaster@mx.test/l" },
		{ "postmaster@example.test", RESOLVE_OK, "postmaster@mx.test/l" },
		{ "PostMaster@mx.test", RESOLVE_OK, "postmaster@mx.test/l" },
		{ "postmaster@other.test", RESOLVE_OK, "carol@other.test/l" },
		/* the hostname's names: the one user of that name */
		{ "bob@mx.test", RESOLVE_OK, "bob@example.test/l" },
		{ "Carol+x@MX.test", RESOLVE_OK, "carol+x@other.test/l" },
		{ "dup@mx.test", RESOLVE_UNKNOWN, "" },
		{ "nobody@mx.test", RESOLVE_UNKNOWN, "" },
		{ "bob@other.test", RESOLVE_UNKNOWN, "" },
		/* bare targets of an alias at the hostname */
		{ "team@mx.test", RESOLVE_OK, "carol@other.test/l "
		  "dup@mx.test/l bob+team@example.test/l nobody@mx.test/l" },
		/* reserved names go to their domain's postmaster */
		{ "root@mx.test", RESOLVE_OK, "postmaster@mx.test/l" },
		{ "abuse@example.test", RESOLVE_OK, "postmaster@mx.test/l" },
		{ "MAILER-DAEMON@other.test", RESOLVE_OK, "carol@other.test/l" },
		{ "root+cron@other.test", RESOLVE_OK, "carol@other.test/l" },
	};
	enum resolve_result rr;
	const char *out;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		out = res(t[i].in, &rr);
		cr_expect_eq(rr, t[i].rr, "%s: result %d", t[i].in, rr);
		cr_expect_str_eq(out, t[i].out, "%s", t[i].in);
	}
}

Test(recipients, maildir, .init = setup, .fini = teardown)
{
	char path[256];

	cr_assert_eq(resolve_maildir(&c, &u, "bob+x@example.test", path,
	    sizeof(path)), 0);
	cr_expect_str_eq(path, "/srv/mail/example.test/bob");
	cr_assert_eq(resolve_maildir(&c, &u, "A+B@example.test", path,
	    sizeof(path)), 0);
	cr_expect_str_eq(path, "/srv/mail/example.test/a+b");
	cr_assert_eq(resolve_maildir(&c, &u, "postmaster@mx.test", path,
	    sizeof(path)), 0);
	cr_expect_str_eq(path, "/srv/mail/mx.test/postmaster");
	cr_expect_eq(resolve_maildir(&c, &u, "ghost@example.test", path,
	    sizeof(path)), -1);
}

/*
 * "postmaster: alice" with no alice at the hostname: the one alice there
 * is, for the postmaster of every domain and every reserved name (a
 * double bounce, cron's mail to root).
 */
Test(recipients, postmaster_alias_to_a_bare_user, .init = setup,
    .fini = teardown)
{
	static const char text[] = "postmaster: alice\nabuse: carol\n"
	    "sales: alice\n";
	static const char *const t[] = { "postmaster", "postmaster@mx.test",
	    "root@mx.test", "mailer-daemon@mx.test",
	    "postmaster@other.test", "root@other.test", "sales@mx.test" };
	enum resolve_result rr;
	size_t i;

	use_aliases(text);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_str_eq(res(t[i], &rr), "alice@example.test/l", "%s",
		    t[i]);
		cr_expect_eq(rr, RESOLVE_OK, "%s", t[i]);
	}
	/* the admin's names are the host's; another alias's bare target
	 * never leaves its domain */
	cr_expect_str_eq(res("abuse@example.test", &rr), "carol@other.test/l");
	cr_expect_str_eq(res("abuse@other.test", &rr), "carol@other.test/l");
	cr_expect_str_eq(res("sales@other.test", &rr), "alice@other.test/l");
}

/*
 * "bob: bob, alice": bob keeps his mail and alice gets a copy, from
 * bob@example.test and from bob@hostname (a bare name: cron, sendmail
 * bob) alike; it was an alias loop at the hostname.
 */
Test(recipients, alias_to_itself_and_more, .init = setup, .fini = teardown)
{
	static const char text[] = "bob: bob, alice@example.test\n"
	    "self: self, bob\n";
	static const char *const t[] = { "bob@example.test", "bob@mx.test",
	    "Bob+x@MX.test" };
	enum resolve_result rr;
	size_t i;

	use_aliases(text);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_str_eq(res(t[i], &rr),
		    "bob@example.test/l alice@example.test/l", "%s", t[i]);
		cr_expect_eq(rr, RESOLVE_OK, "%s", t[i]);
	}
	/* a name that is nobody's but the alias's own is still a loop */
	res("self@mx.test", &rr);
	cr_expect_eq(rr, RESOLVE_LOOP);
	res("self@example.test", &rr);
	cr_expect_eq(rr, RESOLVE_LOOP);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* recipients_refresh looks at the files at most once a second. */
static void
refresh_after_a_second(void)
{
	sleep(1);
	recipients_refresh();
}

/*
 * An editor rewriting the users or aliases file leaves it empty for a
 * moment: the old tables stay until it has entries again.
 */
Test(recipients, reload_keeps_tables_when_the_file_is_empty)
{
	char dir[] = "/tmp/pombo-recipients-XXXXXX", users[64], aliases[64];
	char text[256], err[256];
	struct conf rc;
	struct conf_error ce;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(users, sizeof(users), "%s/users", dir);
	snprintf(aliases, sizeof(aliases), "%s/aliases", dir);
	write_file(users, "bob@example.test:x\n");
	write_file(aliases, "root: bob\n");
	snprintf(text, sizeof(text), "hostname = mx.test\n"
	    "local_domains = example.test\nusers_file = %s\n"
	    "aliases_file = %s\n", users, aliases);
	conf_defaults(&rc);
	cr_assert_eq(conf_parse(&rc, text, strlen(text), "t", &ce), 0, "%s",
	    ce.msg);
	cr_assert_eq(recipients_load(&rc, err, sizeof(err)), 0, "%s", err);

	write_file(users, "");
	write_file(aliases, "");
	refresh_after_a_second();
	cr_expect_not_null(users_find(recipients_users(), "bob@example.test"),
	    "an emptied users file keeps the old users");
	cr_expect_not_null(aliases_find(recipients_aliases(), "root",
	    "example.test"), "an emptied aliases file keeps the old aliases");

	unlink(users);
	refresh_after_a_second();
	cr_expect_not_null(users_find(recipients_users(), "bob@example.test"),
	    "a removed users file keeps the old users");

	write_file(users, "alice@example.test:x\n");
	write_file(aliases, "root: alice\n");
	refresh_after_a_second();
	cr_expect_not_null(users_find(recipients_users(),
	    "alice@example.test"), "a file with users again is taken");
	cr_expect_null(users_find(recipients_users(), "bob@example.test"),
	    "and replaces the old users");
	{
	const struct alias *al = aliases_find(recipients_aliases(), "root",
	    "example.test");

	cr_assert_not_null(al);
	cr_expect_str_eq(al->targets[0], "alice", "aliases again are taken");
	}

	unlink(users);
	unlink(aliases);
	rmdir(dir);
	conf_free(&rc);
}
