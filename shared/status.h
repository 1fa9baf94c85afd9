/*
 * status: the three outcomes of everything Pombo does: OK, TEMP, PERM.
 * Used by the agents (result lines, a server's reply class) and queued
 * (scheduling). An agent's exit status says nothing of a recipient: one
 * it did not report on, because it died or for any other reason, is a
 * temporary failure (queued/daemon/sched.c).
 */
#ifndef POMBO_STATUS_H
#define POMBO_STATUS_H

enum status {
	STATUS_OK = 0,
	STATUS_TEMP,
	STATUS_PERM,
};

enum status status_from_reply(int code);	/* 2xx/3xx, 4xx, 5xx */
const char *status_name(enum status);		/* "ok", "temp", "perm" */
int status_parse(const char *name, enum status *out);

#endif
