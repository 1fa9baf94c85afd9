/*
 * status: the three outcomes of everything Pombo does: OK, TEMP, PERM.
 * Used by the agents (exit codes), queued (scheduling) and the handlers
 * (reply codes); one table maps between the forms.
 */
#ifndef POMBO_STATUS_H
#define POMBO_STATUS_H

enum status {
	STATUS_OK = 0,
	STATUS_TEMP,
	STATUS_PERM,
};

enum status status_from_reply(int code);	/* 2xx/3xx, 4xx, 5xx */
enum status status_from_exit(int exitcode);
int status_to_exit(enum status);		/* sysexits.h */
const char *status_name(enum status);		/* "ok", "temp", "perm" */
int status_parse(const char *name, enum status *out);

#endif
