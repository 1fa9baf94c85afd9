/* milter_edit: milters' changes applied to a message, byte for byte. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "milter_edit.h"

#define MSG "Received: from x\n\tby y\nFrom: a@b.test\nSubject: hi\n" \
	"To: c@d.test\nSubject: again\n\nline 1\nline 2\n"

struct change {
	enum milter_mod_type type;
	uint32_t index;
	const char *name, *value;
};

static char *
apply(const char *msg, const struct change *c, size_t n, const char *body)
{
	struct milter_mods m;
	static char out[4096];
	int fd = memfd_create("out", 0);
	ssize_t got;
	size_t i;

	cr_assert(fd != -1);
	milter_mods_init(&m, 1 << 20);
	for (i = 0; i < n; i++)
		cr_assert_eq(milter_mods_add(&m, c[i].type, c[i].index,
		    c[i].name, c[i].value), 0);
	if (body != NULL) {
		/* in two chunks split inside a CRLF */
		size_t half = strlen(body) / 2;
		cr_assert_eq(milter_mods_body(&m, body, half), 0);
		cr_assert_eq(milter_mods_body(&m, body + half,
		    strlen(body) - half), 0);
		milter_mods_body_end(&m);
	}
	cr_assert_eq(milter_edit_apply(msg, strlen(msg), &m, fd), 0);
	got = pread(fd, out, sizeof(out) - 1, 0);
	cr_assert(got >= 0);
	out[got] = '\0';
	close(fd);
	milter_mods_free(&m);
	return out;
}

Test(milter_edit, nothing)
{
	cr_expect_str_eq(apply(MSG, NULL, 0, NULL), MSG);
	cr_expect_str_eq(apply("", NULL, 0, NULL), "");
	cr_expect_str_eq(apply("A: b", NULL, 0, NULL), "A: b\n");
}

Test(milter_edit, add_and_insert)
{
	static const struct change c[] = {
		{ MILTER_MOD_ADDHDR, 0, "X-Spam", " yes" },
		{ MILTER_MOD_INSHDR, 0, "DKIM-Signature", " v=1;\r\n\tb=xyz" },
		{ MILTER_MOD_INSHDR, 2, "X-Two", " 2" },
		{ MILTER_MOD_INSHDR, 99, "X-Last", "" },
	};

	cr_expect_str_eq(apply(MSG, c, 4, NULL),
	    "DKIM-Signature: v=1;\n\tb=xyz\n"
	    "Received: from x\n\tby y\n"
	    "X-Two: 2\n"
	    "From: a@b.test\nSubject: hi\nTo: c@d.test\nSubject: again\n"
	    "X-Spam: yes\n"
	    "X-Last:\n"
	    "\nline 1\nline 2\n");
}

Test(milter_edit, change_and_delete)
{
	static const struct change c[] = {
		{ MILTER_MOD_CHGHDR, 2, "subject", " changed" },
		{ MILTER_MOD_CHGHDR, 1, "Received", "" },
		{ MILTER_MOD_CHGHDR, 3, "Subject", " new third" },
		{ MILTER_MOD_CHGHDR, 1, "X-None", "" },
		{ MILTER_MOD_ADDRCPT, 0, "<e@f.test>", NULL },
	};

	cr_expect_str_eq(apply(MSG, c, 5, NULL),
	    "From: a@b.test\nSubject: hi\nTo: c@d.test\n"
	    "subject: changed\n"
	    "Subject: new third\n"
	    "\nline 1\nline 2\n");
}

Test(milter_edit, body)
{
	cr_expect_str_eq(apply(MSG, NULL, 0, "new\r\nbody\r\n"),
	    "Received: from x\n\tby y\nFrom: a@b.test\nSubject: hi\n"
	    "To: c@d.test\nSubject: again\n\nnew\nbody\n");
	cr_expect_str_eq(apply("A: b\n", NULL, 0, "x\r\n"), "A: b\n\nx\n");
	cr_expect_str_eq(apply("A: b\n\nold\n", NULL, 0, ""), "A: b\n\n");
	/* a bare CR is a line end (the spool holds none), also where a
	 * chunk ends on it */
	cr_expect_str_eq(apply("A: b\n\n", NULL, 0, "a\rb"), "A: b\n\na\nb");
	cr_expect_str_eq(apply("A: b\n\n", NULL, 0, "ab\r"), "A: b\n\nab\n");
}

Test(milter_edit, limits)
{
	struct milter_mods m;
	size_t i;

	milter_mods_init(&m, 4);
	cr_expect_eq(milter_mods_body(&m, "1234", 4), 0);
	cr_expect_eq(milter_mods_body(&m, "5", 1), -1);
	cr_expect_eq(milter_mods_body(&m, "\r", 1), 0);
	for (i = 0; i < MILTER_MODS_MAX; i++)
		cr_assert_eq(milter_mods_add(&m, MILTER_MOD_ADDHDR, 0, "A",
		    " b"), 0);
	cr_expect_eq(milter_mods_add(&m, MILTER_MOD_ADDHDR, 0, "A", " b"), -1);
	cr_expect(milter_mods_edit_message(&m));
	milter_mods_free(&m);
	milter_mods_init(&m, 4);
	cr_expect(!milter_mods_edit_message(&m));
	cr_assert_eq(milter_mods_add(&m, MILTER_MOD_DELRCPT, 0, "<a@b>", NULL),
	    0);
	cr_expect(!milter_mods_edit_message(&m));
	cr_expect_eq(milter_mods_quarantine(&m, "spam"), 0);
	cr_expect_str_eq(m.quarantine, "spam");
	milter_mods_free(&m);
}

Test(milter_edit, write_error)
{
	struct milter_mods m;

	milter_mods_init(&m, 4);
	cr_expect_eq(milter_edit_apply(MSG, strlen(MSG), &m, -1), -1);
	milter_mods_free(&m);
}
