/* maildir: names made for deliveries, parsed back, UIDLs. */
#include <criterion/criterion.h>
#include <string.h>

#include "maildir.h"

Test(maildir, names_round_trip)
{
	char u1[256], u2[256], u3[256], name[256];
	struct maildir_info mi;

	cr_assert_eq(maildir_unique(u1, sizeof(u1), 1795751098, "01k177h582jc",
	    "bob@example.test", "mx.test"), 0);
	cr_assert_eq(maildir_unique(u2, sizeof(u2), 1795751098, "01k177h582jc",
	    "BOB@Example.Test", "mx.test"), 0);
	cr_assert_eq(maildir_unique(u3, sizeof(u3), 1795751098, "01k177h582jc",
	    "carol@example.test", "mx.test"), 0);
	cr_expect_str_eq(u1, u2, "a function of the recipient, case aside");
	cr_expect_str_neq(u1, u3);
	cr_expect_eq(strncmp(u1, "1795751098.01k177h582jc_", 24), 0);
	cr_assert_eq(maildir_name(name, sizeof(name), u1, 1234, 1260), 0);
	cr_assert_eq(maildir_parse_name(name, &mi), 0);
	cr_expect(mi.has_size && mi.has_wsize);
	cr_expect(mi.ours, "our local agent's name");
	cr_expect_eq(mi.size, 1234);
	cr_expect_eq(mi.wsize, 1260);
	cr_expect_eq(mi.baselen, strlen(u1));
	cr_expect_str_eq(mi.flags, "");
}

Test(maildir, parse_table)
{
	static const struct {
		const char *name;
		int ok, has_s, has_w;
		unsigned long long s, w;
		const char *flags;
	} t[] = {
		{ "123.abc.host,S=10,W=12:2,S", 1, 1, 1, 10, 12, "S" },
		{ "123.abc.host,W=12,S=10", 1, 1, 1, 10, 12, "" },
		{ "123.abc.host:2,RS", 1, 0, 0, 0, 0, "RS" },
		{ "123.abc.host,X=y,S=5", 1, 1, 0, 5, 0, "" },
		{ "123.abc.host,S=abc", 1, 0, 0, 0, 0, "" },
		{ "123.abc.host,S=99999999999999999999999", 1, 0, 0, 0, 0, "" },
		{ "123.abc.host:1,x", 1, 0, 0, 0, 0, "" },
		{ "123.abc.host:3,x", 0, 0, 0, 0, 0, "" },
		{ ".hidden", 0, 0, 0, 0, 0, "" },
		{ "", 0, 0, 0, 0, 0, "" },
		{ ",S=1", 0, 0, 0, 0, 0, "" },
		{ "a/b", 0, 0, 0, 0, 0, "" },
	};
	struct maildir_info mi;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = maildir_parse_name(t[i].name, &mi);
		cr_expect_eq(rc == 0, t[i].ok, "%s", t[i].name);
		if (rc != 0 || !t[i].ok)
			continue;
		cr_expect_eq(mi.has_size, t[i].has_s, "%s S", t[i].name);
		cr_expect_eq(mi.has_wsize, t[i].has_w, "%s W", t[i].name);
		cr_expect_eq(mi.size, t[i].s, "%s", t[i].name);
		cr_expect_eq(mi.wsize, t[i].w, "%s", t[i].name);
		cr_expect_str_eq(mi.flags, t[i].flags, "%s", t[i].name);
	}
}

/*
 * Only names of maildir_unique's shape with S= and W= are the local
 * agent's, whose W= pop3d believes; renamed by a reader they still are.
 */
Test(maildir, ours)
{
	static const struct {
		const char *name;
		int ours;
	} t[] = {
		{ "1795751098.01k177h582jc_0123456789abcdef.mx.test,S=1,W=2", 1 },
		{ "1795751098.01k177h582jc_0123456789abcdef.mx.test,S=1,W=2:2,S",
		  1 },
		{ "1795751098.01k177h582jc_0123456789abcdef.m,W=2,S=1:2,FS", 1 },
		/* Dovecot's names, with its S= and W= */
		{ "1796174243.M668603P20284.vm,S=46,W=48:2,", 0 },
		{ "1796174243.M668603P20284.vm,S=46,W=48", 0 },
		{ "1795751098.01k177h582jc_0123456789abcdef.mx.test,W=2", 0 },
		{ "1795751098.01k177h582jc_0123456789abcdef.mx.test,S=1", 0 },
		{ "1795751098.01k177h582jc_0123456789abcdef.mx.test", 0 },
		{ "1795751098.01k177h582jc_0123456789abcdef.,S=1,W=2", 0 },
		{ "1795751098.01k177h582jc_0123456789ABCDEF.mx,S=1,W=2", 0 },
		{ "1795751098.01k177h582j_0123456789abcdef.mx,S=1,W=2", 0 },
		{ "1795751098.01k177h582jcc0123456789abcdef.mx,S=1,W=2", 0 },
		{ "1795751098.01k177h582ju_0123456789abcdef.mx,S=1,W=2", 0 },
		{ "x795751098.01k177h582jc_0123456789abcdef.mx,S=1,W=2", 0 },
		{ "1700000001.a.mx.test,S=14,W=17", 0 },
	};
	struct maildir_info mi;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_assert_eq(maildir_parse_name(t[i].name, &mi), 0, "%s",
		    t[i].name);
		cr_expect_eq(mi.ours, t[i].ours, "%s", t[i].name);
	}
}

Test(maildir, uidl)
{
	char a[MAILDIR_UIDL_MAX + 1], b[MAILDIR_UIDL_MAX + 1];
	char longname[200];

	maildir_uidl("1795751098.01k177h582jc_0123.mx,S=1,W=2", a);
	maildir_uidl("1795751098.01k177h582jc_0123.mx,S=1,W=2:2,S", b);
	cr_expect_str_eq(a, "1795751098.01k177h582jc_0123.mx");
	cr_expect_str_eq(a, b, "stable across the move to cur/");
	memset(longname, 'x', 150);
	strcpy(longname + 150, ",S=1");
	maildir_uidl(longname, a);
	cr_expect_leq(strlen(a), MAILDIR_UIDL_MAX);
	cr_expect_eq(a[0], 'h');
	maildir_uidl(longname, b);
	cr_expect_str_eq(a, b);
}
