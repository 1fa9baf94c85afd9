/*
 * prefetch: the threads take the names in the scan's order from one
 * shared index, so together they stay ahead of it as long as they read
 * faster than it does alone. They only read: what a file says is the
 * scan's business.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "prefetch.h"

#define PREFETCH_THREADS	6	/* reads in flight on a cold disk */
#define PREFETCH_BYTES		4096	/* a queue file's head, as a rule */

struct prefetch {
	pthread_mutex_t	  lock;
	char		(*names)[QID_LEN + 1];
	size_t		  n, next;	/* under lock */
	int		  stop;		/* under lock */
	int		  folder;
	int		  nthreads;
	pthread_t	  threads[PREFETCH_THREADS];
};

/* The next name, or NULL at the end or when told to stop. */
static const char *
next_name(struct prefetch *pf)
{
	const char *name = NULL;

	pthread_mutex_lock(&pf->lock);
	if (!pf->stop && pf->next < pf->n)
		name = pf->names[pf->next++];
	pthread_mutex_unlock(&pf->lock);
	return name;
}

static void *
prefetch_main(void *arg)
{
	struct prefetch *pf = arg;
	const char *name;
	char buf[PREFETCH_BYTES];
	int fd;

	while ((name = next_name(pf)) != NULL) {
		fd = openat(pf->folder, name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK);
		if (fd == -1)
			continue;	/* gone already, or not a file */
		(void)pread(fd, buf, sizeof(buf), 0);
		close(fd);
	}
	return NULL;
}

struct prefetch *
prefetch_start(int folder, char (*names)[QID_LEN + 1], size_t n)
{
	struct prefetch *pf;
	sigset_t all, old;

	if (n == 0 || (pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pthread_mutex_init(&pf->lock, NULL);
	pf->names = names;
	pf->n = n;
	pf->folder = folder;
	/* the threads take no signal: those are for the event loop */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (pf->nthreads < PREFETCH_THREADS &&
	    pthread_create(&pf->threads[pf->nthreads], NULL, prefetch_main,
	    pf) == 0)
		pf->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pf->nthreads == 0) {
		prefetch_stop(pf);
		return NULL;
	}
	return pf;
}

void
prefetch_stop(struct prefetch *pf)
{
	int i;

	if (pf == NULL)
		return;
	pthread_mutex_lock(&pf->lock);
	pf->stop = 1;
	pthread_mutex_unlock(&pf->lock);
	for (i = 0; i < pf->nthreads; i++)
		pthread_join(pf->threads[i], NULL);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}
