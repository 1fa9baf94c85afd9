/*
 * prefetch: a few threads that read the head of queue files into the
 * page cache, ahead of a scan that reads them one by one. On a cold
 * start the scan then finds most files cached: the disk serves several
 * reads at a time instead of one. Used by the spool scan only.
 */
#ifndef POMBO_PREFETCH_H
#define POMBO_PREFETCH_H

#include <stddef.h>

#include "qid.h"

struct prefetch;

/*
 * Read the files names[0..n) of the folder, in that order (the scan's);
 * names must stay until prefetch_stop. NULL if there is nothing to do or
 * no thread starts, which only makes the scan slower.
 */
struct prefetch *prefetch_start(int folder, char (*names)[QID_LEN + 1],
    size_t n);
/* Stop the threads (whether done or not) and free it; NULL is fine. */
void prefetch_stop(struct prefetch *pf);

#endif
