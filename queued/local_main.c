/*
 * pombo-local: the local delivery agent. queued runs it with a job on
 * stdin and its spool's queue/ directory on fd 3; it writes one result
 * line per recipient on stdout.
 *
 * Runs as: queued's user (or the Maildir owner, in a split setup).
 * May touch: the Maildirs under mail_root named in its job; reads queue/.
 * Trusts: the job from queued; nothing in the message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "job.h"
#include "local.h"
#include "log.h"

#define SPOOL_FD 3

static int
write_out(struct buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(1, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	buf_reset(b);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct buf in, out;
	struct job j;
	char chunk[65536], err[128];
	ssize_t n;
	size_t i;

	log_init("pombo/local", 0);
	buf_init(&in, 64 * 1024 * 1024);
	while ((n = read(0, chunk, sizeof(chunk))) > 0)
		if (buf_add(&in, chunk, (size_t)n) == -1)
			fatalx("job too large");
	if (n < 0)
		fatal("read job");
	if (job_parse(&j, in.data ? in.data : "", in.len, err, sizeof(err)) == -1) {
		log_warnx("bad job from queued: %s", err);
		buf_free(&in);
		return EX_SOFTWARE;
	}
	buf_free(&in);
	buf_init(&out, 64 * 1024 * 1024);
	/* results go out message by message, so queued can act on them */
	for (i = 0; i < j.nmsg; i++) {
		local_deliver(SPOOL_FD, j.host, &j.msgs[i], &out);
		if (write_out(&out) == -1)
			fatal("write results");
	}
	buf_free(&out);
	job_free(&j);
	return EX_OK;
}
