/*
 * connpoll: one epoll set for the connections, one sd-event source for
 * it (connpoll.h says why). Level-triggered, as sd-event's own.
 */
#include "config.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "connpoll.h"
#include "log.h"

#define CONNPOLL_BATCH	64

static int			 ep = -1;
static connpoll_fn		 handler;
static struct epoll_event	 batch[CONNPOLL_BATCH];
static int			 nbatch, ibatch;	/* being handled */

static int
connpoll_ready(sd_event_source *s, int fd, uint32_t revents, void *unused)
{
	void *ud;

	nbatch = epoll_wait(ep, batch, CONNPOLL_BATCH, 0);
	if (nbatch == -1) {
		if (errno != EINTR)
			log_warn("connpoll: epoll_wait");
		nbatch = 0;
	}
	for (ibatch = 0; ibatch < nbatch; ibatch++) {
		/* NULL: forgotten by an earlier one of this batch */
		if ((ud = batch[ibatch].data.ptr) != NULL)
			handler(ud, batch[ibatch].events);
	}
	nbatch = ibatch = 0;
	return 0;
}

int
connpoll_init(sd_event *e, connpoll_fn fn)
{
	handler = fn;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (sd_event_add_io(e, NULL, ep, EPOLLIN, connpoll_ready, NULL) < 0) {
		close(ep);
		ep = -1;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
connpoll_set(int fd, void *ud, uint32_t events, uint32_t *cur)
{
	struct epoll_event ev = { .events = events, .data.ptr = ud };
	int op;

	if (events == *cur)
		return 0;
	op = *cur == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL :
	    EPOLL_CTL_MOD;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		return -1;
	*cur = events;
	return 0;
}

void
connpoll_forget(int fd, void *ud, uint32_t *cur)
{
	int i;

	connpoll_set(fd, ud, 0, cur);
	for (i = ibatch + 1; i < nbatch; i++)
		if (batch[i].data.ptr == ud)
			batch[i].data.ptr = NULL;
}
