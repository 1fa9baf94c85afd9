/*
 * prefetch: a few threads that read the head of every file of a folder
 * into the page cache, ahead of a scan that reads them one by one. On a
 * cold start the scan then finds most files cached: the disk serves
 * several reads at a time instead of one. Used by the spool scan only.
 */
#ifndef POMBO_PREFETCH_H
#define POMBO_PREFETCH_H

struct prefetch;

/* Start on the folder (not kept: it gets its own); NULL if the
 * threads cannot start, which only makes the scan slower. */
struct prefetch *prefetch_start(int folder);
/* Stop the threads (whether done or not) and free it; NULL is fine. */
void prefetch_stop(struct prefetch *pf);

#endif
