/*
 * admin: pombo-sendmail's modes that send no mail: -bv and -bt (what
 * becomes of an address, asked of queued), -bi/newaliases (the aliases
 * file checked), -bd (is queued there). Used by pombo-sendmail; trusts
 * queued's replies and the configuration. Each returns a sysexits.h code
 * and writes its report on stdout, its errors on stderr.
 */
#ifndef POMBO_SENDMAIL_ADMIN_H
#define POMBO_SENDMAIL_ADMIN_H

#include <stdio.h>

#include "conf.h"

/* -bv: one line per address of addrs. */
int sm_verify(const struct conf *c, char *const addrs[], int n);
/* -bt: the same for each address read on in, one a line. */
int sm_test(const struct conf *c, FILE *in);
/* -bi: parse the aliases file (path, else aliases_file), say what it has. */
int sm_newaliases(const struct conf *c, const char *path);
/* -bd: 0 if queued answers on queue_socket. */
int sm_daemon(const struct conf *c);

#endif
