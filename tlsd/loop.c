/*
 * loop: one worker's epoll loop. The listening socket is shared by the
 * workers (EPOLLEXCLUSIVE: one of them wakes per connection); each
 * session's two sockets are watched edge-triggered for both directions,
 * and any event pumps the whole session (session.c). Deadlines are
 * found by a scan of the sessions at each turn: a few hundred at most,
 * beside the handshakes that brought them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lineio.h"
#include "log.h"
#include "tlsd.h"

#define LOOP_EVENTS	64
#define LOOP_ACCEPTS	32	/* per wake, then the sessions' turn */

struct slot {
	struct slot	*prev, *next;
	struct session	*s;
	int		 hfd, cfd;	/* cfd: -1 until watched */
	int		 again, dead;
};

volatile sig_atomic_t tlsd_stop;

static struct slot *slots;
static size_t nslots;
static int ep = -1;
static int64_t now;
/* out of descriptors: the backlog is tried again each second, since
 * with EPOLLEXCLUSIVE no new event may come for the ones waiting */
static int accept_stuck;

static void
watch(struct slot *sl, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
	    EPOLLET, .data.ptr = sl };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
}

/*
 * Over: no more events for it (a descriptor another process still
 * holds would keep its registration alive past our close), freed at
 * the end of the turn, after the events already read.
 */
static void
kill_slot(struct slot *sl)
{
	if (sl->dead)
		return;
	sl->dead = 1;
	epoll_ctl(ep, EPOLL_CTL_DEL, sl->hfd, NULL);
	if (sl->cfd != -1)
		epoll_ctl(ep, EPOLL_CTL_DEL, sl->cfd, NULL);
}

static void
run(struct slot *sl)
{
	enum session_next r;
	int fd;

	if (sl->dead)
		return;
	sl->again = 0;
	if ((r = session_pump(sl->s, now)) == SESSION_DONE) {
		kill_slot(sl);
		return;
	}
	if (sl->cfd == -1 && (fd = session_client_fd(sl->s)) != -1) {
		sl->cfd = fd;
		watch(sl, fd);
		r = SESSION_AGAIN;
	}
	if (r == SESSION_AGAIN)
		sl->again = 1;
}

static int
allowed(int fd, const uid_t *uids, size_t nuids)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1) {
		log_warn("SO_PEERCRED");
		return 0;
	}
	if (cr.uid == 0 || cr.uid == geteuid())
		return 1;
	for (i = 0; i < nuids; i++)
		if (cr.uid == uids[i])
			return 1;
	/* it could have us sign with the key: an oracle */
	log_warnx("refused a connection from uid %u (pid %d): not a handler's "
	    "user (-u)", (unsigned)cr.uid, (int)cr.pid);
	return 0;
}

static void
accept_some(int lfd, const uid_t *uids, size_t nuids, size_t max)
{
	static const char busy[] = "ERR busy\n";
	struct slot *sl;
	int i, fd;

	for (i = 0; i < LOOP_ACCEPTS; i++) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				if (!accept_stuck)
					log_warn("accept (tried again each "
					    "second)");
				accept_stuck = 1;
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		accept_stuck = 0;
		if (!allowed(fd, uids, nuids)) {
			close(fd);
			continue;
		}
		/* the handler does its TLS itself then */
		if (nslots >= max ||
		    (sl = calloc(1, sizeof(*sl))) == NULL) {
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
			close(fd);
			continue;
		}
		if ((sl->s = session_new(fd, now)) == NULL) {
			free(sl);
			close(fd);
			continue;
		}
		sl->hfd = fd;
		sl->cfd = -1;
		sl->again = 1;
		sl->next = slots;
		if (slots)
			slots->prev = sl;
		slots = sl;
		nslots++;
		watch(sl, fd);
	}
}

/* Free the dead; run the ones with more to do; the next timeout. */
static int
turn_end(void)
{
	struct slot *sl, *next;
	int64_t dl, first = 0;
	int again = 0;

	for (sl = slots; sl; sl = next) {
		next = sl->next;
		if (!sl->dead && (dl = session_deadline(sl->s)) && dl <= now) {
			session_expire(sl->s);
			kill_slot(sl);
		}
		if (sl->dead) {
			if (sl->prev)
				sl->prev->next = sl->next;
			else
				slots = sl->next;
			if (sl->next)
				sl->next->prev = sl->prev;
			session_free(sl->s);
			free(sl);
			nslots--;
			continue;
		}
		if (sl->again)
			again = 1;
		if ((dl = session_deadline(sl->s)) && (!first || dl < first))
			first = dl;
	}
	if (again)
		return 0;
	if (!first)
		return -1;
	return first - now > 60000 ? 60000 : (int)(first - now + 1);
}

void
loop_run(int lfd, const uid_t *uids, size_t nuids, size_t max)
{
	struct epoll_event evs[LOOP_EVENTS], ev = { .events = EPOLLIN |
	    EPOLLEXCLUSIVE, .data.ptr = NULL };
	struct slot *sl;
	sigset_t waiting;
	int n, i, timeout = -1;

	/* SIGTERM (blocked by main) is let in only while waiting */
	sigprocmask(SIG_BLOCK, NULL, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		fatal("epoll_ctl");
	while (!tlsd_stop) {
		n = epoll_pwait(ep, evs, LOOP_EVENTS, timeout, &waiting);
		if (n == -1 && errno != EINTR)
			fatal("epoll_pwait");
		if (n == -1)
			n = 0;
		now = lineio_now();
		if (accept_stuck)
			accept_some(lfd, uids, nuids, max);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_some(lfd, uids, nuids, max);
			else
				run(evs[i].data.ptr);
		}
		/* a turn for each session that had more to do */
		for (sl = slots; sl; sl = sl->next)
			if (sl->again)
				run(sl);
		timeout = turn_end();
		if (accept_stuck && (timeout == -1 || timeout > 1000))
			timeout = 1000;
	}
	for (sl = slots; sl; sl = sl->next)
		kill_slot(sl);
	(void)turn_end();
	close(ep);
	ep = -1;
}
