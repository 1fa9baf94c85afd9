/*
 * commit: one worker thread; while it syncs a batch the next one fills
 * up, so the number of directory fsyncs falls as the load rises. The
 * thread touches only the files of its jobs and queue/; everything else
 * stays on the loop's thread. An eventfd wakes the loop.
 *
 * The fdatasyncs of a batch run side by side on a few helper threads:
 * each one ends in a cache flush of the disk, and the block layer merges
 * flushes that wait at the same time, so a batch of 20 costs about the
 * time of two flushes instead of twenty. The files are renamed into
 * queue/ first, and the fsync of queue/ runs beside their fdatasyncs,
 * one more job for the helpers: one wait for the disk per batch instead
 * of two in a row (alone, a message waited for two flushes in a row).
 * The 250s still wait for both. A machine crash meanwhile can leave an
 * unacknowledged file in queue/ that is not whole: it is never
 * delivered (SPOOL.md, the order of operations).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "commit.h"
#include "log.h"

static pthread_mutex_t	 commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 commit_cond = PTHREAD_COND_INITIALIZER;
static struct commit_job *commit_pending, *commit_done_list;
static struct spool	*commit_spool;
static commit_done_fn	 commit_done;
static int		 commit_efd = -1;
static int		 commit_stop;
static pthread_t	 commit_thread;

#define COMMIT_SYNCERS	7	/* helpers; the commit thread is the 8th */

static pthread_mutex_t	 sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 sync_start = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 sync_end = PTHREAD_COND_INITIALIZER;
static struct commit_job *sync_next;	/* next job without its fdatasync */
static struct commit_job sync_dir;	/* last of a batch: fsync queue/ */
static int		 sync_left;	/* jobs of the batch not yet synced */
static int		 sync_stop;
static int		 nsyncers;
static pthread_t	 syncers[COMMIT_SYNCERS];

/* Take jobs of the current batch and fdatasync them; called with
 * sync_lock held, returns with it held. */
static void
sync_some(void)
{
	struct commit_job *j;

	while ((j = sync_next) != NULL) {
		sync_next = j->next;
		pthread_mutex_unlock(&sync_lock);
		if (j == &sync_dir)
			j->ok = spool_sync_queue(commit_spool) == 0;
		/* not published: nothing to make durable */
		else if (j->ok && fdatasync(j->fd) == -1) {
			log_warn("%s: fdatasync", j->qid);
			j->ok = 0;
		}
		pthread_mutex_lock(&sync_lock);
		if (--sync_left == 0)
			pthread_cond_broadcast(&sync_end);
	}
}

static void *
syncer_main(void *arg)
{
	pthread_mutex_lock(&sync_lock);
	while (!sync_stop) {
		if (sync_next == NULL) {
			pthread_cond_wait(&sync_start, &sync_lock);
			continue;
		}
		sync_some();
	}
	pthread_mutex_unlock(&sync_lock);
	return NULL;
}

/*
 * fdatasync every file of the batch and fsync queue/, side by side (the
 * folder is one more job at the end of the list: this thread takes the
 * first file, a helper the folder); back when all are done. -1 if
 * queue/ could not be synced. Without helpers, one after the other.
 */
static int
sync_batch(struct commit_job *batch)
{
	struct commit_job *j, *last = NULL;
	int i, n = 0;

	for (j = batch; j; j = j->next) {
		last = j;
		n++;
	}
	sync_dir.next = NULL;
	sync_dir.ok = 0;
	last->next = &sync_dir;
	pthread_mutex_lock(&sync_lock);
	sync_next = batch;
	sync_left = n + 1;
	/* wake only the helpers that will find a job: a woken helper
	 * that finds none costs two context switches for nothing */
	for (i = 0; i < n && i < nsyncers; i++)
		pthread_cond_signal(&sync_start);
	sync_some();
	while (sync_left > 0)
		pthread_cond_wait(&sync_end, &sync_lock);
	pthread_mutex_unlock(&sync_lock);
	last->next = NULL;
	return sync_dir.ok ? 0 : -1;
}

/* Reverse a LIFO list into arrival order. */
static struct commit_job *
reverse(struct commit_job *j)
{
	struct commit_job *out = NULL, *next;

	for (; j; j = next) {
		next = j->next;
		j->next = out;
		out = j;
	}
	return out;
}

/*
 * Rename every file of the batch into queue/, then make files and folder
 * durable at once (sync_batch). Every file is whole in the page cache
 * before its rename (its length filled in), so a crash of queued alone
 * never shows a partial one.
 */
static void
commit_batch(struct commit_job *batch)
{
	struct commit_job *j;
	int published = 0;

	for (j = batch; j; j = j->next) {
		j->ok = j->published = spool_publish(commit_spool, j->qid) == 0;
		if (!j->ok)
			log_warn("%s: rename into queue", j->qid);
		published += j->ok;
	}
	if (published && sync_batch(batch) == -1) {
		log_warn("fsync of queue/ failed: refusing %d messages",
		    published);
		/* not durable: the clients hear 451 and will retry */
		for (j = batch; j; j = j->next)
			j->ok = 0;
	}
	for (j = batch; j; j = j->next) {
		close(j->fd);
		j->fd = -1;
		if (j->ok)
			continue;
		/* take back what was published (a rename refused left
		 * another message's file there); the rest is in incoming/ */
		if (j->published && spool_unpublish(commit_spool,
		    j->qid) == -1)
			log_warn("%s: unlink from queue", j->qid);
		spool_discard(commit_spool, j->qid, -1);
	}
}

static void *
commit_main(void *arg)
{
	struct commit_job *batch, *last;
	uint64_t one = 1;

	for (;;) {
		pthread_mutex_lock(&commit_lock);
		while (commit_pending == NULL && !commit_stop)
			pthread_cond_wait(&commit_cond, &commit_lock);
		batch = reverse(commit_pending);
		commit_pending = NULL;
		pthread_mutex_unlock(&commit_lock);
		if (batch == NULL)
			return NULL;	/* stopping, nothing left */
		commit_batch(batch);
		for (last = batch; last->next; last = last->next)
			;
		pthread_mutex_lock(&commit_lock);
		last->next = commit_done_list;
		commit_done_list = batch;
		pthread_mutex_unlock(&commit_lock);
		if (write(commit_efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_warn("commit: eventfd");
	}
}

static int
commit_wakeup(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct commit_job *list, *next;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("commit: eventfd read");
	pthread_mutex_lock(&commit_lock);
	list = commit_done_list;
	commit_done_list = NULL;
	pthread_mutex_unlock(&commit_lock);
	for (; list; list = next) {
		next = list->next;
		commit_done(list);
	}
	return 0;
}

int
commit_init(sd_event *e, struct spool *sp, commit_done_fn done)
{
	commit_spool = sp;
	commit_done = done;
	commit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (commit_efd == -1)
		return -1;
	if (sd_event_add_io(e, NULL, commit_efd, EPOLLIN, commit_wakeup,
	    NULL) < 0)
		return -1;
	for (nsyncers = 0; nsyncers < COMMIT_SYNCERS; nsyncers++)
		if (pthread_create(&syncers[nsyncers], NULL, syncer_main,
		    NULL) != 0)
			break;	/* fewer helpers: still correct, less parallel */
	if (pthread_create(&commit_thread, NULL, commit_main, NULL) != 0)
		return -1;
	return 0;
}

void
commit_submit(struct commit_job *job)
{
	pthread_mutex_lock(&commit_lock);
	job->next = commit_pending;
	commit_pending = job;
	pthread_cond_signal(&commit_cond);
	pthread_mutex_unlock(&commit_lock);
}

void
commit_shutdown(void)
{
	pthread_mutex_lock(&commit_lock);
	commit_stop = 1;
	pthread_cond_signal(&commit_cond);
	pthread_mutex_unlock(&commit_lock);
	pthread_join(commit_thread, NULL);
	pthread_mutex_lock(&sync_lock);
	sync_stop = 1;
	pthread_cond_broadcast(&sync_start);
	pthread_mutex_unlock(&sync_lock);
	while (nsyncers > 0)
		pthread_join(syncers[--nsyncers], NULL);
}
