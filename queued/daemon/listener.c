/*
 * listener: every descriptor queued has is one of a bounded set (the
 * connections, the agents' pipes, the spool), and a connection takes
 * two of them while it sends a message (its socket and the queue file).
 * So connections stop at a ceiling that leaves the rest room to work:
 * a session under way can still open its queue file when the socket's
 * backlog is full of others. Beyond it, and whenever accept() fails for
 * want of descriptors or memory, the listening socket is not watched
 * until a connection closes (or, for a failure, a short timer runs out):
 * a socket left readable with accept() failing turned the loop into a
 * spin that logged millions of lines a second and starved the sessions
 * in progress. Connections beyond wait in the socket's backlog.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listener.h"
#include "log.h"
#include "str.h"

/* descriptors kept for all but connections and agents: the spool's
 * folders, the loop's, syslog, DNS, the prefetch threads, bounces */
#define LISTENER_FD_RESERVE	64
#define LISTENER_RETRY_USEC	(250 * 1000)		/* after a failure */
#define LISTENER_LOG_USEC	(60 * 1000 * 1000ULL)	/* one line a minute */

static sd_event		*event;
static sd_event_source	*listen_src, *retry_src;
static unsigned		 ceiling;
static int		 paused;

enum pause_why { PAUSE_CEILING, PAUSE_FAILURE };
static uint64_t		 last_log[2];
static unsigned		 unlogged[2];

/* Stop watching the socket; say why, at most once a minute each. */
static void
listener_pause(enum pause_why kind, const char *why)
{
	uint64_t now = 0;

	sd_event_now(event, CLOCK_MONOTONIC, &now);
	sd_event_source_set_enabled(listen_src, SD_EVENT_OFF);
	paused = 1;
	if (last_log[kind] == 0 || now - last_log[kind] >= LISTENER_LOG_USEC) {
		log_warnx("accept: %s: not accepting until a connection "
		    "closes (%u more times since the last such line)", why,
		    unlogged[kind]);
		last_log[kind] = now;
		unlogged[kind] = 0;
	} else
		unlogged[kind]++;
	sd_event_source_set_time(retry_src, now + LISTENER_RETRY_USEC);
	sd_event_source_set_enabled(retry_src, SD_EVENT_ONESHOT);
}

void
listener_resume(void)
{
	if (!paused || conn_count() >= ceiling)
		return;
	paused = 0;
	sd_event_source_set_enabled(retry_src, SD_EVENT_OFF);
	sd_event_source_set_enabled(listen_src, SD_EVENT_ON);
}

static int
on_retry(sd_event_source *s, uint64_t usec, void *ud)
{
	listener_resume();
	return 0;
}

static int
on_accept(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	char why[128];
	int cfd;

	for (;;) {
		if (conn_count() >= ceiling) {
			str_fmt_trunc(why, sizeof(why), "%u connections, the most "
			    "the descriptor limit allows", ceiling);
			listener_pause(PAUSE_CEILING, why);
			return 0;
		}
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd != -1) {
			conn_accept(cfd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
		case EINTR:
		case ECONNABORTED:
			return 0;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			listener_pause(PAUSE_FAILURE, strerror(errno));
			return 0;
		default:
			log_warn("accept");
			return 0;
		}
	}
}

int
listener_start(sd_event *e, int fd, const struct conf *c)
{
	struct rlimit rl;
	uint64_t nofile = 1024, reserve;

	event = e;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		nofile = rl.rlim_cur;
	if (nofile > 1024 * 1024)	/* RLIM_INFINITY too */
		nofile = 1024 * 1024;
	/* an agent holds two pipes */
	reserve = LISTENER_FD_RESERVE + 2 * (uint64_t)c->max_deliveries;
	ceiling = nofile > reserve + 2 ? (unsigned)((nofile - reserve) / 2) : 1;
	log_info("at most %u connections (descriptor limit %llu)", ceiling,
	    (unsigned long long)nofile);
	/* made now: at the limit, a new timer would need a descriptor */
	if (sd_event_add_time(e, &retry_src, CLOCK_MONOTONIC, 0, 0, on_retry,
	    NULL) < 0)
		return -1;
	sd_event_source_set_enabled(retry_src, SD_EVENT_OFF);
	return sd_event_add_io(e, &listen_src, fd, EPOLLIN, on_accept, NULL) <
	    0 ? -1 : 0;
}
