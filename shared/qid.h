/*
 * qid: queue ids: 12 characters of lowercase Crockford base32 of the
 * microseconds since the epoch, so they are short, time-sortable as
 * strings and safe as file names. queued makes them (one process, so a
 * strictly increasing clock makes them unique); everyone validates them.
 */
#ifndef POMBO_QID_H
#define POMBO_QID_H

#include <stdint.h>

#define QID_LEN 12

/* A new id later than every earlier one of this process. */
void qid_new(char out[QID_LEN + 1]);
/* Ids are unique only if later than this one (queued seeds it at start). */
void qid_seed(const char *last);
int qid_valid(const char *s);
/* The time an id was made, in seconds. */
int64_t qid_time(const char *s);

#endif
