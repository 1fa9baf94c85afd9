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

int
main(int argc, char *argv[])
{
	struct buf out;
	struct job j;
	char err[128];

	log_init("pombo/local", 0);
	log_agent_args(argc, argv);
	if (job_read(0, &j, err, sizeof(err)) == -1) {
		log_warnx("bad job from queued: %s", err);
		return EX_SOFTWARE;
	}
	buf_init(&out, 64 * 1024 * 1024);
	/* a message whose lines it cannot read fails alone */
	if (job_reject_bad(&j, &out) > 0)
		log_warnx("bad message lines in the job from queued");
	local_deliver(SPOOL_FD, &j, &out);
	if (job_flush_results(1, &out) == -1)
		fatal("write results");
	buf_free(&out);
	job_free(&j);
	return EX_OK;
}
