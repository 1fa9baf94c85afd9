/*
 * qtool: sends one queue command (LIST, SHOW, FLUSH, DELETE, HOLD,
 * RELEASE) to queued and prints its answer, as text or JSON. Used by
 * pombo-queue and pombo-sendmail (-bp, -q). Trusts queued's replies.
 */
#ifndef POMBO_QTOOL_H
#define POMBO_QTOOL_H

/* Returns a sysexits.h code. */
int qtool_run(const char *confpath, const char *verb, const char *arg,
    int json);

#endif
