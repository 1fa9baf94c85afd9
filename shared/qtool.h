/*
 * qtool: sends one queue command (LIST, SHOW, STATS, FLUSH, DELETE,
 * HOLD, RELEASE) to queued and prints its answer, as text, JSON or (for
 * STATS) Prometheus's text format. Used by pombo-queue and
 * pombo-sendmail (-bp, -q). Trusts queued's replies.
 */
#ifndef POMBO_QTOOL_H
#define POMBO_QTOOL_H

#define QTOOL_TEXT		0
#define QTOOL_JSON		1
#define QTOOL_PROMETHEUS	2	/* STATS only */

/* format: QTOOL_*. Returns a sysexits.h code. */
int qtool_run(const char *confpath, const char *verb, const char *arg,
    int format);

#endif
