/*
 * date: RFC 5322 3.3 date-time strings for Received:, Date: and bounces.
 */
#ifndef POMBO_DATE_H
#define POMBO_DATE_H

#include <stddef.h>
#include <time.h>

/* "Fri, 27 Nov 2026 03:28:54 +0000"; buf needs 40 bytes. */
void date_rfc5322(time_t t, char *buf, size_t len);

#endif
