/*
 * prefetch: the threads share one directory stream, in the same order
 * as the scan's own (both read the folder from its start), so they stay
 * ahead of it as long as they read faster together than it does alone.
 * They only read: what a file says is the scan's business.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"

#define PREFETCH_THREADS	6	/* reads in flight on a cold disk */
#define PREFETCH_BYTES		4096	/* a queue file's head, as a rule */

struct prefetch {
	pthread_mutex_t	 lock;
	DIR		*d;
	int		 dfd;
	int		 stop;		/* under lock */
	int		 nthreads;
	pthread_t	 threads[PREFETCH_THREADS];
};

/* The next name, or 0 at the end or when told to stop. */
static int
next_name(struct prefetch *pf, char *name, size_t len)
{
	struct dirent *de;
	int more = 0;

	pthread_mutex_lock(&pf->lock);
	while (!pf->stop && (de = readdir(pf->d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= len)
			continue;
		strcpy(name, de->d_name);
		more = 1;
		break;
	}
	pthread_mutex_unlock(&pf->lock);
	return more;
}

static void *
prefetch_main(void *arg)
{
	struct prefetch *pf = arg;
	char name[256], buf[PREFETCH_BYTES];
	int fd;

	while (next_name(pf, name, sizeof(name))) {
		fd = openat(pf->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    O_NONBLOCK);
		if (fd == -1)
			continue;	/* gone already, or not a file */
		(void)pread(fd, buf, sizeof(buf), 0);
		close(fd);
	}
	return NULL;
}

struct prefetch *
prefetch_start(int folder)
{
	struct prefetch *pf;
	sigset_t all, old;
	int fd;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pthread_mutex_init(&pf->lock, NULL);
	if ((fd = openat(folder, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (pf->d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		free(pf);
		return NULL;
	}
	pf->dfd = dirfd(pf->d);
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
	closedir(pf->d);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}
