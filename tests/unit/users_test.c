/* users: the users file, and password checks against crypt(3) hashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "password.h"
#include "users.h"

/* "secret", made with `openssl passwd -6 -salt pombotest secret` */
#define SHA512_SECRET "$6$pombotest$2DVGOOzjmOAwN5dty0euWLoN.JAYxQIl/eHZZtzlz" \
	"NjzuChjKJe1YYck94mjB7UObhQh6TUMNppfuGuorfoyA."

Test(users, parse_and_find)
{
	static const char text[] =
	    "# users\n"
	    "Bob@Example.Test:" SHA512_SECRET "\n"
	    "\n"
	    "  alice@example.test : $y$j9T$abc$def  \n"
	    "nologin@example.test:*\n";
	struct users u;
	char err[256];
	const struct user *b;

	cr_assert_eq(users_parse(&u, text, strlen(text), "users", err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(u.n, 3);
	b = users_find(&u, "BOB@example.TEST");
	cr_assert_not_null(b);
	cr_expect_str_eq(b->addr, "bob@example.test");
	cr_expect_str_eq(b->local, "bob");
	cr_expect_str_eq(b->domain, "example.test");
	cr_expect_not_null(users_find(&u, "alice@example.test"));
	cr_expect_str_eq(users_find(&u, "alice@example.test")->hash,
	    "$y$j9T$abc$def");
	cr_expect_null(users_find(&u, "carol@example.test"));
	users_free(&u);
}

Test(users, errors)
{
	static const struct { const char *text, *err; } t[] = {
		{ "bob\n", "users:1: expected address:hash" },
		{ "x\n\"a b\"@example.test:h\n", "users:1: expected address:hash" },
		{ "\"a b\"@example.test:h\n", "users:1: '\"a b\"@example.test' is "
		  "not a user address (local@domain, a dot-atom local part)" },
		{ "a@[127.0.0.1]:h\n", "users:1: 'a@[127.0.0.1]' is not a user "
		  "address (local@domain, a dot-atom local part)" },
		{ "a@b.test:has space\n", "users:1: bad password hash" },
		{ "a@b.test:x\nA@B.test:y\n", "users: a@b.test is listed twice" },
	};
	struct users u;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(users_parse(&u, t[i].text, strlen(t[i].text), "users",
		    err, sizeof(err)), -1, "%s", t[i].text);
		cr_expect_str_eq(err, t[i].err);
	}
	cr_expect_not(users_local_safe(".."));
	cr_expect_not(users_local_safe("a/b"));
	cr_expect_not(users_local_safe(".hidden"));
	cr_expect(users_local_safe("first.last"));
}

Test(password, sha512_and_unknown)
{
	cr_expect(password_check(SHA512_SECRET, "secret"));
	cr_expect_not(password_check(SHA512_SECRET, "Secret"));
	cr_expect_not(password_check(SHA512_SECRET, ""));
	cr_expect_not(password_check(NULL, "secret"), "unknown user");
	cr_expect_not(password_check("*", "secret"), "locked account");
	cr_expect_not(password_check("", ""), "empty hash never matches");
}
