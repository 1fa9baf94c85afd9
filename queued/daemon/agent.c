/*
 * agent: vfork and exec with the pipes wired to fds 0/1, a spool folder
 * to 3 (and the verify agent's output file to 4);
 * the job is written as the pipe takes it, results are read line by line,
 * and the agent is done when both its exit and its EOF have been seen.
 * An agent that outlives its timeout is killed; what it did not report
 * counts as a temporary failure for the scheduler. An agent never
 * outlives queued: nobody would record what it delivers, and the next
 * queued would send its whole batch again.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define AGENT_LINE_MAX	(JOB_LINE_MAX + 64)
/* what an agent gets: 0 job, 1 results, 3 a spool folder, 4 (verify) its
 * output file */
#define AGENT_NFDS	5

extern char **environ;

struct agent {
	pid_t			 pid;
	int			 in_fd, out_fd;
	struct buf		 job;
	size_t			 job_off;
	char			 line[AGENT_LINE_MAX];
	size_t			 linelen;
	int			 eof, exited, status;
	sd_event_source		*in_src, *out_src, *child_src, *timer_src;
	const struct agent_ops	*ops;
	void			*ctx;
	struct agent		*next;
};

static struct agent *agents;
static unsigned nagents;

void *
agent_ctx(const struct agent *a)
{
	return a->ctx;
}

unsigned
agent_running(void)
{
	return nagents;
}

static void
agent_finish(struct agent *a)
{
	struct agent **pp;

	if (!a->eof || !a->exited)
		return;
	sd_event_source_disable_unref(a->in_src);
	sd_event_source_disable_unref(a->out_src);
	sd_event_source_disable_unref(a->child_src);
	sd_event_source_disable_unref(a->timer_src);
	if (a->in_fd != -1)
		close(a->in_fd);
	close(a->out_fd);
	for (pp = &agents; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	nagents--;
	buf_free(&a->job);
	a->ops->done(a, a->status);
	free(a);
}

static int
on_stdin(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct agent *a = ud;
	ssize_t n;

	n = write(fd, a->job.data + a->job_off, a->job.len - a->job_off);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n > 0)
		a->job_off += (size_t)n;
	if (n <= 0 || a->job_off == a->job.len) {
		sd_event_source_disable_unref(a->in_src);
		a->in_src = NULL;
		close(a->in_fd);
		a->in_fd = -1;
	}
	return 0;
}

static void
agent_line(struct agent *a)
{
	struct job_result r;
	struct job_tls t;
	char qid[QID_LEN + 1], why[JOB_REPLY_MAX + 1];

	a->line[a->linelen] = '\0';
	if (a->ops->line != NULL)
		a->ops->line(a, a->line);
	else if (a->ops->tls != NULL && strncmp(a->line, "tls ", 4) == 0) {
		if (job_tls_parse(a->line, &t) == -1)
			log_warnx("agent %d: bad tls line: %.200s",
			    (int)a->pid, a->line);
		else
			a->ops->tls(a, &t);
	} else if (a->ops->damaged != NULL &&
	    strncmp(a->line, "damaged ", 8) == 0) {
		if (job_damaged_parse(a->line, qid, why) == -1)
			log_warnx("agent %d: bad damaged line: %.200s",
			    (int)a->pid, a->line);
		else
			a->ops->damaged(a, qid, why);
	} else if (job_result_parse(a->line, &r) == -1)
		log_warnx("agent %d: bad result line: %.200s", (int)a->pid,
		    a->line);
	else
		a->ops->result(a, &r);
}

static int
on_stdout(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct agent *a = ud;
	char buf[16384];
	ssize_t n, i;

	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		sd_event_source_set_enabled(a->out_src, SD_EVENT_OFF);
		a->eof = 1;
		agent_finish(a);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			agent_line(a);
			a->linelen = 0;
		} else if (a->linelen < sizeof(a->line) - 1)
			a->line[a->linelen++] = buf[i];
	}
	return 0;
}

static int
on_exit_(sd_event_source *s, const siginfo_t *si, void *ud)
{
	struct agent *a = ud;

	a->exited = 1;
	a->status = si->si_code == CLD_EXITED ? si->si_status : -1;
	if (a->status != 0)
		log_warnx("agent %d %s %d", (int)a->pid,
		    si->si_code == CLD_EXITED ? "exited with" : "killed by signal",
		    si->si_status);
	agent_finish(a);
	return 0;
}

static int
on_timeout(sd_event_source *s, uint64_t usec, void *ud)
{
	struct agent *a = ud;

	log_warnx("agent %d timed out, killing it", (int)a->pid);
	kill(a->pid, SIGKILL);
	return 0;
}

/*
 * The child of vfork: it shares queued's memory until execve, so it only
 * makes system calls and reports a failure through *err. The kernel kills
 * it when queued dies (PR_SET_PDEATHSIG, sent when the thread that
 * forked ends: the loop's, which ends only with queued; SIGKILL, which
 * no agent can block or delay); getppid closes the race with a queued
 * that died before the prctl.
 */
static void __attribute__((noreturn))
spawn_child(const char *prog, char *const argv[], pid_t parent,
    const int fds[AGENT_NFDS], const sigset_t *mask, volatile int *err)
{
	int moved[AGENT_NFDS], i;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto fail;
	if (getppid() != parent) {
		errno = ESRCH;
		goto fail;
	}
	/*
	 * Out of the way first: a queued started with fd 0 or 1 closed gets
	 * pipes numbered 0..4, and one dup2 would close what another needs.
	 * The copies close themselves at exec; dup2 clears that on the
	 * targets.
	 */
	for (i = 0; i < AGENT_NFDS; i++)
		if (fds[i] != -1 && (moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC,
		    AGENT_NFDS)) == -1)
			goto fail;
	for (i = 0; i < AGENT_NFDS; i++)
		if (fds[i] != -1 && dup2(moved[i], i) == -1)
			goto fail;
	/* the agent starts with no signal blocked: agent_kill_all's SIGTERM
	 * must reach it */
	sigprocmask(SIG_SETMASK, mask, NULL);
	execve(prog, argv, environ);
fail:
	*err = errno;
	_exit(127);
}

/*
 * Start prog; its pid, or -1 with errno set. vfork, not fork: copying the
 * page tables of a queued that holds a big queue would hold the loop. No
 * signal may run a handler in the child, which shares our memory.
 */
static pid_t
spawn(const char *prog, const int fds[AGENT_NFDS])
{
	/* queued -d: its agents log their debugging lines too */
	char *argv[] = { (char *)prog, log_debug_on() ? "-d" : NULL, NULL };
	sigset_t all, old, none;
	volatile int err = 0;
	pid_t parent = getpid(), pid;

	sigfillset(&all);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		spawn_child(prog, argv, parent, fds, &none, &err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		return -1;
	if (err != 0) {
		waitpid(pid, NULL, 0);
		errno = err;
		return -1;
	}
	return pid;
}

struct agent *
agent_spawn(sd_event *e, const char *prog, int spoolfd, int outfd,
    struct buf *job, unsigned timeout_s, const struct agent_ops *ops,
    void *ctx)
{
	struct agent *a;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, fds[AGENT_NFDS];
	uint64_t now;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		log_warn("agent pipes");
		goto fail;
	}
	fds[0] = in[0];
	fds[1] = out[1];
	fds[2] = -1;		/* queued's stderr stays the agent's */
	fds[3] = spoolfd;
	fds[4] = outfd;
	if ((a->pid = spawn(prog, fds)) == -1) {
		log_warn("cannot run %s", prog);
		goto fail;
	}
	log_debug("%s: started, pid %ld, a job of %zu octets", prog,
	    (long)a->pid, job->len);
	close(in[0]);
	close(out[1]);
	a->in_fd = in[1];
	a->out_fd = out[0];
	fcntl(a->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(a->out_fd, F_SETFL, O_NONBLOCK);
	a->job = *job;
	buf_init(job, job->max);
	a->ops = ops;
	a->ctx = ctx;
	sd_event_now(e, CLOCK_MONOTONIC, &now);
	if (sd_event_add_io(e, &a->in_src, a->in_fd, EPOLLOUT, on_stdin, a) < 0 ||
	    sd_event_add_io(e, &a->out_src, a->out_fd, EPOLLIN, on_stdout,
	    a) < 0 ||
	    sd_event_add_child(e, &a->child_src, a->pid, WEXITED, on_exit_,
	    a) < 0 ||
	    sd_event_add_time(e, &a->timer_src, CLOCK_MONOTONIC,
	    now + (uint64_t)timeout_s * 1000000, 0, on_timeout, a) < 0)
		fatalx("cannot watch an agent");
	a->next = agents;
	agents = a;
	nagents++;
	return a;
fail:
	if (in[0] != -1) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	free(a);
	return NULL;
}

void
agent_find(char *out, size_t len, const char *dir, const char *name)
{
	if (str_fmt(out, len, "%s/%s", dir, name) == -1)
		fatalx("path of %s too long", name);
	if (access(out, X_OK) == -1)
		fatal("%s", out);
}

void
agent_kill_all(void)
{
	struct agent *a;

	for (a = agents; a; a = a->next)
		kill(a->pid, SIGTERM);
}
