/* intact: a queue file's length against its envelope; the notice. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "intact.h"

Test(intact, length_against_the_envelope)
{
	char dir[] = "/tmp/pombo-intact-XXXXXX", path[64], why[256];
	struct envelope e;
	int dfd, fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/01k177h582jc", dir);
	cr_assert((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	cr_assert_eq(write(fd, "headerMESSAGE\n", 14), 14);
	close(fd);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	envelope_init(&e);
	memcpy(e.qid, "01k177h582jc", QID_LEN + 1);
	e.data_off = 6;
	e.size = 8;
	cr_expect_eq(intact_check(dfd, &e, why, sizeof(why)), 1, "whole");
	e.size = 9;
	cr_expect_eq(intact_check(dfd, &e, why, sizeof(why)), 0, "cut short");
	cr_expect(strstr(why, "14 octets, 15 when it was committed") &&
	    strstr(why, "cut short"), "%s", why);
	e.size = 7;
	cr_expect_eq(intact_check(dfd, &e, why, sizeof(why)), 0, "longer");
	cr_expect(strstr(why, "longer"), "%s", why);
	memcpy(e.qid, "01k177h582jd", QID_LEN + 1);
	cr_expect_eq(intact_check(dfd, &e, why, sizeof(why)), 1,
	    "no file: the agent says");
	unlink(path);
	close(dfd);
	rmdir(dir);
}

Test(intact, notice_names_the_message_not_its_content)
{
	struct envelope e;
	struct buf b;
	char arg[64];
	int i;

	envelope_init(&e);
	memcpy(e.qid, "01k177h582jc", QID_LEN + 1);
	e.time = 1795751098;
	cr_assert_eq(envelope_set_from(&e, "<alice@example.test>"), 0);
	for (i = 0; i < 60; i++) {
		snprintf(arg, sizeof(arg), "<r%d@far.test>", i);
		cr_assert_eq(envelope_add_rcpt(&e, arg), 0);
	}
	e.rcpts[0].state = RS_DELIVERED;
	buf_init(&b, 1 << 20);
	cr_assert_eq(intact_notice(&e, "mx.test", "/var/spool/pombo",
	    "the queue file is 1 octets", 1795751099, &b), 0);
	cr_assert_eq(buf_addc(&b, '\0'), 0);
	cr_expect(strstr(b.data, "To: <postmaster@mx.test>\n"));
	cr_expect(strstr(b.data, "Subject: Damaged queue file set aside: "
	    "01k177h582jc\n"));
	cr_expect(strstr(b.data, "Auto-Submitted: auto-generated\n"));
	cr_expect(strstr(b.data, "/var/spool/pombo/quarantine/01k177h582jc\n"));
	cr_expect(strstr(b.data, "the queue file is 1 octets.\n"));
	cr_expect(strstr(b.data, "Sender:    <alice@example.test>\n"));
	cr_expect(strstr(b.data, "Not yet delivered to 59 of 60 recipients"));
	cr_expect(strstr(b.data, "<r0@far.test>") == NULL, "delivered: not listed");
	cr_expect(strstr(b.data, "  <r50@far.test>\n"), "50 listed");
	cr_expect(strstr(b.data, "<r51@far.test>") == NULL);
	cr_expect(strstr(b.data, "  and 9 more\n"));
	buf_free(&b);
	envelope_free(&e);
}
