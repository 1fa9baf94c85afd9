/*
 * agent: runs a delivery agent (pombo-local, pombo-remote) with a job on
 * its stdin and the spool's queue/ on fd 3, reads its result lines, and
 * says when it is done. Used by the scheduler. Trusts the agent's output
 * only after job_result_parse.
 */
#ifndef POMBO_AGENT_H
#define POMBO_AGENT_H

#include <systemd/sd-event.h>

#include "job.h"
#include "str.h"

struct agent;

struct agent_ops {
	void	(*result)(struct agent *a, const struct job_result *r);
	/* status: the exit code, or -1 if killed/failed to run */
	void	(*done)(struct agent *a, int status);
};

/* Spawn prog; job is consumed. NULL if it could not start (logged). */
struct agent *agent_spawn(sd_event *e, const char *prog, int spoolfd,
    struct buf *job, unsigned timeout_s, const struct agent_ops *ops,
    void *ctx);
void *agent_ctx(const struct agent *a);
/* Kill every running agent (shutdown). */
void agent_kill_all(void);
unsigned agent_running(void);

#endif
