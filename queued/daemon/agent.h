/*
 * agent: runs an agent (pombo-local, pombo-remote; pombo-verify) with a
 * job on its stdin and a spool folder on fd 3, reads its result lines,
 * and says when it is done. Used by the scheduler and the checks of
 * arriving mail. Trusts the agent's output only after parsing it.
 */
#ifndef POMBO_AGENT_H
#define POMBO_AGENT_H

#include <systemd/sd-event.h>

#include "job.h"
#include "str.h"

struct agent;

struct agent_ops {
	void	(*result)(struct agent *a, const struct job_result *r);
	/* instead of result: each line as it came (the verify agent's) */
	void	(*line)(struct agent *a, const char *line);
	/* a remote agent's "tls" line (RFC 8460 reporting), parsed */
	void	(*tls)(struct agent *a, const struct job_tls *t);
	/* a delivery agent's "damaged" line: a queue file failed its sum */
	void	(*damaged)(struct agent *a, const char *qid, const char *why);
	/* status: the exit code, or -1 if killed/failed to run */
	void	(*done)(struct agent *a, int status);
};

/*
 * Spawn prog with spoolfd on its fd 3 and outfd (or -1) on 4; job is
 * consumed. NULL if it could not start (logged).
 */
struct agent *agent_spawn(sd_event *e, const char *prog, int spoolfd,
    int outfd, struct buf *job, unsigned timeout_s,
    const struct agent_ops *ops, void *ctx);
void *agent_ctx(const struct agent *a);
/* dir/name into out, or queued stops: an agent it cannot run. */
void agent_find(char *out, size_t len, const char *dir, const char *name);
/* Kill every running agent (shutdown). */
void agent_kill_all(void);
unsigned agent_running(void);

#endif
