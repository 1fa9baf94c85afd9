/*
 * privdrop: a handler started as root becomes an unprivileged user before
 * it reads a byte from its client. Used by smtpd and pop3d.
 */
#ifndef POMBO_PRIVDROP_H
#define POMBO_PRIVDROP_H

#include <stddef.h>

/*
 * If running as root and user is set: drop to it (groups, gid, uid) and
 * check that root cannot be regained. 0, or -1 with err.
 */
int privdrop(const char *user, char *err, size_t errlen);

#endif
