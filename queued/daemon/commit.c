/*
 * commit: one worker thread; while it syncs a batch the next one fills
 * up, so the number of syncs falls as the load rises. The thread
 * touches only the files of its jobs, queue/ and the journal;
 * everything else stays on the loop's thread. An eventfd wakes the
 * loop.
 *
 * The files' checksums are filled in first (unless the connection
 * wrote a small file whole, its sum in), the files renamed into queue/
 * and copied into the journal (journal.c); one fdatasync of the
 * journal then makes the whole batch durable: a cache flush of the
 * disk and the data, no metadata. A file the journal cannot take (too
 * big, the journal broken) is made durable by itself: its fdatasync
 * on a helper thread while another fsyncs queue/, side by side (the
 * block layer merges flushes that wait at the same time). A crash of
 * the machine meanwhile may leave a file in queue/ whose data never
 * reached the disk (blocks of another file under the right size):
 * never acknowledged, and its sum keeps it from being delivered
 * (SPOOL.md, the order of operations).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "commit.h"
#include "crc32c.h"
#include "journal.h"
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
static struct commit_job *sync_next;	/* next job to fdatasync */
static int		 sync_dir;	/* queue/'s fsync not yet taken */
static int		 sync_dir_rc;	/* its result */
static int		 sync_left;	/* syncs of the batch not yet done */
static int		 sync_stop;
static int		 nsyncers;
static pthread_t	 syncers[COMMIT_SYNCERS];

/*
 * Take syncs of the current batch and do them: queue/'s fsync first if
 * take_dir (the helpers), then the published files' fdatasyncs. Called
 * with sync_lock held, returns with it held.
 */
static void
sync_some(int take_dir)
{
	struct commit_job *j;
	int rc;

	for (;;) {
		if (take_dir && sync_dir) {
			sync_dir = 0;
			pthread_mutex_unlock(&sync_lock);
			rc = spool_sync_queue(commit_spool);
			pthread_mutex_lock(&sync_lock);
			sync_dir_rc = rc;
		} else if ((j = sync_next) != NULL) {
			sync_next = j->next;
			pthread_mutex_unlock(&sync_lock);
			if (j->ok && !j->journaled && fdatasync(j->fd) == -1) {
				log_warn("%s: fdatasync", j->qid);
				j->ok = 0;
			}
			pthread_mutex_lock(&sync_lock);
		} else
			return;
		if (--sync_left == 0)
			pthread_cond_broadcast(&sync_end);
	}
}

static void *
syncer_main(void *arg)
{
	pthread_mutex_lock(&sync_lock);
	while (!sync_stop) {
		if (sync_next == NULL && !sync_dir) {
			pthread_cond_wait(&sync_start, &sync_lock);
			continue;
		}
		sync_some(1);
	}
	pthread_mutex_unlock(&sync_lock);
	return NULL;
}

/*
 * fdatasync every published file of the batch and fsync queue/ (if it
 * has to), all at once: a helper takes the fsync, this thread and the
 * other helpers the files (a message alone: this thread its file, as
 * before the two ran side by side). Back when all are done; returns
 * the fsync's result (0 if there was none).
 */
static int
sync_batch(struct commit_job *batch, int dir)
{
	struct commit_job *j;
	int i, n = dir ? 1 : 0, work = n;

	for (j = batch; j; j = j->next) {
		n++;
		work += j->ok && !j->journaled;
	}
	pthread_mutex_lock(&sync_lock);
	sync_next = batch;
	sync_dir = dir;
	sync_dir_rc = 0;
	sync_left = n;
	/* wake only the helpers that will find work: a woken helper
	 * that finds none costs two context switches for nothing */
	for (i = 1; i < work && i <= nsyncers; i++)
		pthread_cond_signal(&sync_start);
	sync_some(0);
	sync_some(1);	/* the fsync, if no helper took it */
	while (sync_left > 0)
		pthread_cond_wait(&sync_end, &sync_lock);
	pthread_mutex_unlock(&sync_lock);
	return sync_dir_rc;
}

/*
 * The message's CRC-32C into its header's "sum" line: read back from
 * the page cache the writes just filled (4 KB: a few microseconds).
 */
static int
fill_sum(struct commit_job *j)
{
	char buf[65536], digits[ENVELOPE_SUM_DIGITS + 1];
	uint64_t done = 0;
	uint32_t sum = 0;
	ssize_t n;

	while (done < j->size) {
		n = pread(j->fd, buf, j->size - done < sizeof(buf) ?
		    (size_t)(j->size - done) : sizeof(buf),
		    (off_t)(j->data_off + done));
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shorter than its length */
			return -1;
		}
		sum = crc32c(sum, buf, (size_t)n);
		done += (uint64_t)n;
	}
	envelope_sum_digits(sum, digits);
	if (pwrite(j->fd, digits, ENVELOPE_SUM_DIGITS,
	    (off_t)envelope_sum_offset(j->data_off)) != ENVELOPE_SUM_DIGITS)
		return -1;
	j->sum = sum;
	return 0;
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
 * Sums, renames, the journal's copies, then the flushes (above); the
 * 250 only when the message is on disk: in the journal, or its file
 * and queue/. A file that fails after its rename is taken out of
 * queue/ again (and of the journal): if a crash brings its name back,
 * its sum decides (SPOOL.md).
 */
static void
commit_batch(struct commit_job *batch)
{
	struct commit_job *j;
	int published = 0, journaled = 0, dir_rc = 0, journal_rc = 0;

	for (j = batch; j; j = j->next) {
		j->ok = j->published = j->journaled = 0;
		if (!j->summed && fill_sum(j) == -1)
			log_warn("%s: cannot fill in the queue file's sum",
			    j->qid);
		else if (spool_publish(commit_spool, j->qid) == -1)
			log_warn("%s: rename into queue", j->qid);
		else {
			j->ok = j->published = 1;
			/* after the rename: a checkpoint's sync covers it */
			j->journaled = journal_add(j->qid, j->fd,
			    j->data_off + j->size) == 0;
		}
		published += j->ok && !j->journaled;
		journaled += j->journaled;
	}
	/*
	 * Start every file's writeback before any fdatasync: the blocks of
	 * all of them are allocated first, so the inode table blocks they
	 * share are mostly written once for the batch, not once per file
	 * (measured at c=50: 3.1 -> 2.8 device writes a message). Only a
	 * head start: the fdatasyncs still decide.
	 */
	for (j = batch; j; j = j->next)
		if (j->ok && !j->journaled)
			(void)sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (published > 0 && (dir_rc = sync_batch(batch, 1)) == -1)
		log_warn("fsync of queue/ failed: refusing %d messages",
		    published);
	if (journaled > 0 && (journal_rc = journal_sync()) == -1)
		log_warnx("refusing %d messages", journaled);
	for (j = batch; j; j = j->next) {
		close(j->fd);
		j->fd = -1;
		if (j->ok && (j->journaled ? journal_rc : dir_rc) == 0)
			continue;
		/* not durable: take it back, the client will retry */
		if (j->published)
			spool_unpublish(commit_spool, j->qid);
		if (j->journaled)
			journal_gone(j->qid, JOURNAL_REMOVED);
		j->ok = 0;
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
