/*
 * connpoll: the queue connections' readiness, from one epoll set of
 * their own that sd-event watches as a single source. sd-event runs
 * one callback per loop turn and polls again before each (an
 * epoll_wait and a gettid, and every ready socket polled once more),
 * so 50 busy connections cost that for every line; here one turn takes
 * every connection that is ready. Used by conn.c.
 */
#ifndef POMBO_CONNPOLL_H
#define POMBO_CONNPOLL_H

#include <stdint.h>
#include <systemd/sd-event.h>

typedef void (*connpoll_fn)(void *ud, uint32_t revents);

int connpoll_init(sd_event *e, connpoll_fn fn);
/* Watch fd for events (0: not at all; epoll reports a hang-up
 * whatever the mask, so nothing is left registered). *cur is the
 * mask in force, kept by the caller (0 at first): no system call
 * when it does not change. */
int connpoll_set(int fd, void *ud, uint32_t events, uint32_t *cur);
/* Before ud is freed: forget it, also in the events being handled. */
void connpoll_forget(int fd, void *ud, uint32_t *cur);

#endif
