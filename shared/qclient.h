/*
 * qclient: the client end of the handler -> queue protocol, used by smtpd,
 * pombo-sendmail and pombo-queue. Lines are buffered so a group of
 * commands costs one round trip; every line gets one reply.
 */
#ifndef POMBO_QCLIENT_H
#define POMBO_QCLIENT_H

#include <stddef.h>

#include "lineio.h"
#include "log.h"

#define QCLIENT_REPLY_MAX 4096

struct qclient {
	int		fd;
	unsigned	pending;	/* lines sent whose reply is unread */
	int		timeout_ms;
	struct lineio	io;
};

/* Connect to queued and send the version line (its reply is pending). */
int qclient_open(struct qclient *q, const char *path, int timeout_ms);
void qclient_close(struct qclient *q);
/*
 * qclient_open and queued's greeting read: 0, or -1 with why (the
 * connect's error or queued's reply) in reply, the connection closed.
 */
int qclient_greeted(struct qclient *q, const char *path, int timeout_ms,
    char *reply, size_t len);
/* Queue one line (without LF). */
int qclient_send(struct qclient *q, const char *fmt, ...) PRINTF_LIKE(2, 3);
/*
 * Read every pending reply; returns the code of the first that is not
 * 2xx/3xx, else of the last, with its line in reply; -1 if queued is gone.
 */
int qclient_reply(struct qclient *q, char *reply, size_t len);
/*
 * Read the oldest pending reply a line at a time: fn gets each line
 * ("ddd-text", and final set on the last), so a reply longer than any
 * buffer is passed on whole. Returns its code, -1 if queued is gone.
 */
typedef void qclient_line_fn(void *arg, const char *line, int final);
int qclient_reply_each(struct qclient *q, qclient_line_fn *fn, void *arg);
/* One line and its reply. */
int qclient_cmd(struct qclient *q, char *reply, size_t len,
    const char *fmt, ...) PRINTF_LIKE(4, 5);
/* A chunk of message data (LF line ends), no reply. */
int qclient_chunk(struct qclient *q, const void *p, size_t n);
/* Read one raw line (LIST output); 0 ok, -1 gone. */
int qclient_line(struct qclient *q, char *line, size_t len);

#endif
