/*
 * mailbox: a Maildir (cr.yp.to/proto/maildir.html) read as one POP3
 * maildrop. The scan only reads directories: the local agent put each
 * message's RFC 1939 size into its name (,W=), so 10,000 messages cost
 * two readdir loops and no open or stat. All names live in one arena
 * and the table is 16 octets a message, so a session stays small.
 * Another writer's file (an IMAP APPEND) is sized by its name too when
 * Dovecot named it (size_foreign), else read once to size it, the way
 * RETR would send it: LIST and RETR must agree (RFC 1939 5).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirscan.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "str.h"
#include "transfer.h"

void
mailbox_init(struct mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->dirfd = mb->newfd = mb->curfd = mb->lockfd = -1;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

void
mailbox_close(struct mailbox *mb)
{
	close_fd(&mb->newfd);
	close_fd(&mb->curfd);
	close_fd(&mb->dirfd);
	/* closing the last descriptor of the lock file releases the flock */
	close_fd(&mb->lockfd);
	free(mb->arena);
	free(mb->msg);
	mailbox_init(mb);
}

/* Grow a table by doubling: one allocation for all, never one a message. */
static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 4096 / elem;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(*p, ncap * elem)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static int
add_msg(struct mailbox *mb, const char *name, size_t len, uint64_t size,
    unsigned flags)
{
	struct mailbox_msg *m;
	void *p;

	if (mb->n >= MAILBOX_MAX_MESSAGES) {
		errno = EFBIG;
		return -1;
	}
	p = mb->arena;
	if (grow(&p, &mb->arena_cap, mb->arena_len + len + 1, 1) == -1)
		return -1;
	mb->arena = p;
	p = mb->msg;
	if (grow(&p, &mb->cap, mb->n + 1, sizeof(*mb->msg)) == -1)
		return -1;
	mb->msg = p;
	m = &mb->msg[mb->n++];
	m->name = (uint32_t)mb->arena_len;
	m->size = size;
	m->flags = flags;
	memcpy(mb->arena + mb->arena_len, name, len + 1);
	mb->arena_len += len + 1;
	mb->total_size += size;
	return 0;
}

/* Does the file end in an LF (or is it empty)? One octet read. */
static int
ends_in_lf(int fd, off_t len)
{
	char c;

	return len == 0 || (pread(fd, &c, 1, len - 1) == 1 && c == '\n');
}

/*
 * A file our local agent did not name: open it (never following a
 * symlink, never blocking on a FIFO) and size it as RETR sends it.
 * Dovecot's ,S= is the file's octets and its ,W= those with every LF
 * not after a CR made CRLF: what RETR sends, for a file that ends in an
 * LF. So when S= is the file's size, W= within what it allows (S to
 * 2S) and the last octet an LF, W= sizes it, and a mailbox Dovecot
 * APPENDs to costs an open and a one-octet pread a message at login,
 * not a read of every octet. A last line without an LF is read whole:
 * there the writers of W= part (Dovecot counts no CRLF for it, which
 * RETR adds: its W=48 for RETR's 50; our agent's W= and names of its
 * older shapes count it). A W= that lies within those bounds misstates
 * only its own mailbox's LIST. Renaming a file to cache its size is no
 * way out: the unique part is the message's identity for POP3's UIDL
 * and for IMAP servers alike.
 */
static int
size_foreign(int dfd, const char *name, const struct maildir_info *info,
    uint64_t *size)
{
	struct stat st;
	int fd, rc = -1;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (info->has_size && info->has_wsize &&
		    info->size == (uint64_t)st.st_size &&
		    info->wsize >= info->size &&
		    info->wsize - info->size <= info->size &&
		    ends_in_lf(fd, st.st_size)) {
			*size = info->wsize;
			rc = 0;
		} else
			rc = transfer_size(fd, size);
	}
	close(fd);
	return rc;
}

struct scan_ctx {
	struct mailbox	*mb;
	int		 dfd;
	unsigned	 flags;
};

/* One entry of new/ or cur/ (dirscan calls it one reader at a time). */
static int
scan_entry(void *arg, const char *name, unsigned char type)
{
	struct scan_ctx *c = arg;
	struct maildir_info info;
	uint64_t size;

	/* Maildir: names starting with '.' are not messages */
	if (name[0] == '.')
		return 0;
	if (type != DT_REG && type != DT_UNKNOWN)
		return 0;
	if (maildir_parse_name(name, &info) == -1) {
		log_debug("not a Maildir name, skipped: %.80s", name);
		return 0;
	}
	if (info.ours)
		size = info.wsize;
	else if (size_foreign(c->dfd, name, &info, &size) == -1) {
		/* gone since readdir, or unreadable: not a message */
		log_debug("cannot size %.80s, skipped", name);
		return 0;
	}
	return add_msg(c->mb, name, strlen(name), size, c->flags);
}

static int
scan_dir(struct mailbox *mb, int dfd, unsigned flags)
{
	struct scan_ctx c = { mb, dfd, flags };
	return dirscan(dfd, scan_entry, &c) == -1 ? -1 : 0;
}

static int
msg_cmp(const void *a, const void *b, void *arena)
{
	const struct mailbox_msg *ma = a, *mb = b;
	int c;

	c = strcmp((const char *)arena + ma->name,
	    (const char *)arena + mb->name);
	if (c == 0)
		c = (int)(ma->flags & MSG_CUR) - (int)(mb->flags & MSG_CUR);
	return c;
}

/* dirscan can give a name twice while mail arrives: keep one (sorted) */
static void
drop_repeats(struct mailbox *mb)
{
	size_t i, n = 0;

	for (i = 0; i < mb->n; i++) {
		if (n > 0 && msg_cmp(&mb->msg[n - 1], &mb->msg[i],
		    mb->arena) == 0) {
			mb->total_size -= mb->msg[i].size;
			continue;
		}
		mb->msg[n++] = mb->msg[i];
	}
	mb->n = n;
}

/* new/ or cur/; missing is empty (a Maildir being created). */
static int
open_sub(int dirfd, const char *sub, int *fd)
{
	*fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd == -1 && errno != ENOENT) {
		log_warn("open %s/", sub);
		return -1;
	}
	return 0;
}

enum mailbox_result
mailbox_open(struct mailbox *mb, const char *path)
{
	mailbox_init(mb);
	mb->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->dirfd == -1) {
		/* the local agent makes the Maildir at the first delivery */
		if (errno == ENOENT)
			return MAILBOX_OK;
		log_warn("open Maildir %s", path);
		return MAILBOX_ERROR;
	}
	mb->lockfd = openat(mb->dirfd, MAILBOX_LOCK,
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (mb->lockfd == -1) {
		log_warn("open %s/%s", path, MAILBOX_LOCK);
		goto fail;
	}
	/*
	 * RFC 1939 8: one session per maildrop. flock dies with the
	 * process, so a crashed session never leaves a stale lock.
	 */
	if (flock(mb->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			mailbox_close(mb);
			return MAILBOX_INUSE;
		}
		log_warn("flock %s/%s", path, MAILBOX_LOCK);
		goto fail;
	}
	if (open_sub(mb->dirfd, "new", &mb->newfd) == -1 ||
	    open_sub(mb->dirfd, "cur", &mb->curfd) == -1)
		goto fail;
	if ((mb->newfd != -1 && scan_dir(mb, mb->newfd, 0) == -1) ||
	    (mb->curfd != -1 && scan_dir(mb, mb->curfd, MSG_CUR) == -1)) {
		log_warn("scan Maildir %s", path);
		goto fail;
	}
	/* names begin with the delivery time: name order is arrival order */
	if (mb->n > 1) {
		qsort_r(mb->msg, mb->n, sizeof(*mb->msg), msg_cmp, mb->arena);
		drop_repeats(mb);
	}
	return MAILBOX_OK;
fail:
	mailbox_close(mb);
	return MAILBOX_ERROR;
}

size_t
mailbox_count(const struct mailbox *mb)
{
	return mb->n - mb->ndeleted;
}

uint64_t
mailbox_size(const struct mailbox *mb)
{
	return mb->total_size - mb->deleted_size;
}

void
mailbox_delete(struct mailbox *mb, size_t i)
{
	if (mb->msg[i].flags & MSG_DELETED)
		return;
	mb->msg[i].flags |= MSG_DELETED;
	mb->ndeleted++;
	mb->deleted_size += mb->msg[i].size;
}

void
mailbox_undelete_all(struct mailbox *mb)
{
	size_t i;

	for (i = 0; i < mb->n; i++)
		mb->msg[i].flags &= ~(uint32_t)MSG_DELETED;
	mb->ndeleted = 0;
	mb->deleted_size = 0;
}

int
mailbox_seen_name(const char *name, char *out, size_t len)
{
	const char *colon = strchr(name, ':'), *flags;
	size_t base, i, o;
	char f[MAILDIR_NAME_MAX + 1];
	int inserted = 0;

	if (colon == NULL) {
		base = strlen(name);
		flags = "";
	} else if (strncmp(colon, ":2,", 3) == 0) {
		base = (size_t)(colon - name);
		flags = colon + 3;
	} else
		return -1;	/* experimental info: not ours to change */
	/* flags stay in ASCII order (the Maildir spec); S goes in place */
	for (i = 0, o = 0; flags[i] != '\0'; i++) {
		if (flags[i] == 'S')
			continue;
		if (o + 2 >= sizeof(f))
			return -1;
		if (!inserted && flags[i] > 'S') {
			f[o++] = 'S';
			inserted = 1;
		}
		f[o++] = flags[i];
	}
	if (!inserted)
		f[o++] = 'S';
	f[o] = '\0';
	if (len > MAILDIR_NAME_MAX + 1)
		len = MAILDIR_NAME_MAX + 1;
	return str_fmt(out, len, "%.*s:2,%s", (int)base, name, f) == -1 ?
	    -1 : 0;
}

/* new/ -> cur/ without replacing a file already there. */
static int
move(int from, const char *name, int to, const char *newname)
{
	if (renameat2(from, name, to, newname, RENAME_NOREPLACE) == 0)
		return 0;
	/* NFS and some others cannot do RENAME_NOREPLACE */
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (faccessat(to, newname, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(from, name, to, newname);
}

/*
 * A message that is not under the name the scan saw: another reader (an
 * IMAP server) moved it from new/ to cur/ or changed its flags. The
 * Maildir spec makes the part before ':' its unique name; one lookup
 * finds messages by it, for RETR and TOP (relocate) and UPDATE (the
 * deleted ones, remove_renamed).
 */
struct gone {
	const char	*name;		/* as scanned (in the arena) */
	size_t		 ulen;		/* its unique part */
	size_t		 msg;		/* relocate: its index in the table */
	int		 settled;	/* found, or not to be looked for */
};

/* relocate: message msg is now name (at off in the names buffer) */
struct moved {
	size_t		 msg;
	size_t		 off;
	int		 cur;
};

struct gone_ctx {
	struct mailbox	*mb;
	struct gone	*g;		/* sorted by unique part */
	size_t		 n;
	int		 dfd;		/* the folder being scanned */
	/* what to do with a message found under name in dfd */
	void		(*found)(struct gone_ctx *, struct gone *,
			    const char *);
	size_t		 failed;	/* remove_renamed: not removed */
	struct moved	*moved;		/* relocate: the new names */
	size_t		 nmoved, moved_cap;
	char		*names;
	size_t		 names_len, names_cap;
	int		 nomem;
};

static int
gone_cmp(const void *a, const void *b)
{
	const struct gone *ga = a, *gb = b;
	int c;

	c = memcmp(ga->name, gb->name, ga->ulen < gb->ulen ? ga->ulen :
	    gb->ulen);
	if (c != 0)
		return c;
	return (ga->ulen > gb->ulen) - (ga->ulen < gb->ulen);
}

static struct gone *
gone_find(struct gone_ctx *c, const char *name)
{
	struct gone key;

	key.name = name;
	key.ulen = strcspn(name, ":");
	return bsearch(&key, c->g, c->n, sizeof(*c->g), gone_cmp);
}

/* One entry of new/ or cur/: a missing message under its new name? */
static int
gone_entry(void *arg, const char *name, unsigned char type)
{
	struct gone_ctx *c = arg;
	struct gone *g;

	if (name[0] == '.' || (g = gone_find(c, name)) == NULL || g->settled)
		return 0;
	g->settled = 1;
	c->found(c, g, name);
	return 0;
}

/*
 * Look for the messages of c (sorted) wherever they are now: one scan of
 * cur/ (moved there, or new flags) and, if also_new, one of new/ (moved
 * back, which readers hardly do). Calls c->found for each found; -1 if a
 * folder cannot be read.
 */
static int
gone_lookup(struct mailbox *mb, struct gone_ctx *c, int also_new)
{
	c->mb = mb;
	if ((c->dfd = mb->curfd) != -1 && dirscan(c->dfd, gone_entry, c) == -1)
		return -1;
	if (also_new && (c->dfd = mb->newfd) != -1 &&
	    dirscan(c->dfd, gone_entry, c) == -1)
		return -1;
	return 0;
}

/* relocate: note a message found under another name or in another folder */
static void
note_moved(struct gone_ctx *c, struct gone *g, const char *name)
{
	struct mailbox_msg *m = &c->mb->msg[g->msg];
	int cur = c->dfd == c->mb->curfd;
	size_t len = strlen(name);
	void *p;

	if (cur == ((m->flags & MSG_CUR) != 0) && strcmp(name, g->name) == 0)
		return;		/* where the table says */
	p = c->moved;
	if (grow(&p, &c->moved_cap, c->nmoved + 1, sizeof(*c->moved)) == -1) {
		c->nomem = 1;
		return;
	}
	c->moved = p;
	p = c->names;
	if (grow(&p, &c->names_cap, c->names_len + len + 1, 1) == -1) {
		c->nomem = 1;
		return;
	}
	c->names = p;
	memcpy(c->names + c->names_len, name, len + 1);
	c->moved[c->nmoved].msg = g->msg;
	c->moved[c->nmoved].off = c->names_len;
	c->moved[c->nmoved++].cur = cur;
	c->names_len += len + 1;
}

/*
 * Find every message of the table where it is now, once a RETR or TOP
 * found one gone: one scan of cur/ and new/ maps each file to its
 * message by unique name, and the table takes the new names. So the
 * next RETR, and UPDATE, go straight to the file, and a client reading
 * all of a mailbox an IMAP client just opened costs one scan, not one a
 * message. A unique name the table has twice (a file caught mid-move by
 * the scan) is left as it is: two entries must never name one file, or
 * UPDATE could remove what the other keeps. -1 if the scan failed.
 */
static int
relocate(struct mailbox *mb)
{
	struct gone_ctx c;
	struct gone *g;
	size_t i, len;
	int rc = -1;
	void *p;

	if ((g = calloc(mb->n, sizeof(*g))) == NULL)
		return -1;
	for (i = 0; i < mb->n; i++) {
		g[i].name = mailbox_name(mb, i);
		g[i].ulen = strcspn(g[i].name, ":");
		g[i].msg = i;
	}
	qsort(g, mb->n, sizeof(*g), gone_cmp);
	for (i = 1; i < mb->n; i++)
		if (gone_cmp(&g[i - 1], &g[i]) == 0)
			g[i - 1].settled = g[i].settled = 1;
	memset(&c, 0, sizeof(c));
	c.g = g;
	c.n = mb->n;
	c.found = note_moved;
	if (gone_lookup(mb, &c, 1) == -1 || c.nomem)
		goto done;
	/* found nowhere: expunged, and no later RETR scans for it again
	 * (a client fetching a mailbox IMAP emptied would scan per message) */
	for (i = 0; i < mb->n; i++)
		if (!g[i].settled)
			mb->msg[g[i].msg].flags |= MSG_GONE;
	/* the arena grows only now: the scan compared names in it */
	for (i = 0; i < c.nmoved; i++) {
		len = strlen(c.names + c.moved[i].off);
		if (mb->arena_len + len + 1 > UINT32_MAX)
			goto done;
		p = mb->arena;
		if (grow(&p, &mb->arena_cap, mb->arena_len + len + 1, 1) == -1)
			goto done;
		mb->arena = p;
		memcpy(mb->arena + mb->arena_len, c.names + c.moved[i].off,
		    len + 1);
		mb->msg[c.moved[i].msg].name = (uint32_t)mb->arena_len;
		mb->arena_len += len + 1;
		mb->msg[c.moved[i].msg].flags &= ~(uint32_t)MSG_CUR;
		if (c.moved[i].cur)
			mb->msg[c.moved[i].msg].flags |= MSG_CUR;
	}
	rc = 0;
done:
	free(c.moved);
	free(c.names);
	free(g);
	return rc;
}

/* The regular file name in dfd, or -1. */
static int
open_regular(int dfd, const char *name)
{
	struct stat st;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
mailbox_open_msg(struct mailbox *mb, size_t i)
{
	uint32_t name = mb->msg[i].name;
	int fd;

	if (mb->msg[i].flags & MSG_GONE) {
		errno = ENOENT;
		return -1;
	}
	if ((fd = open_regular(mb->msg[i].flags & MSG_CUR ? mb->curfd :
	    mb->newfd, mailbox_name(mb, i))) != -1 || errno != ENOENT)
		return fd;
	/* renamed since the scan (or the last lookup): where is it now? */
	if (relocate(mb) == -1) {
		log_warn("looking for renamed messages");
		errno = ENOENT;
		return -1;
	}
	if (mb->msg[i].name == name) {
		errno = ENOENT;		/* found nowhere: gone */
		return -1;
	}
	return open_regular(mb->msg[i].flags & MSG_CUR ? mb->curfd :
	    mb->newfd, mailbox_name(mb, i));
}

static void
unlink_found(struct gone_ctx *c, struct gone *g, const char *name)
{
	(void)g;
	/* removed by someone else between readdir and now: also gone */
	if (unlinkat(c->dfd, name, 0) == -1 && errno != ENOENT) {
		log_warn("unlink %s", name);
		c->failed++;
	}
}

/*
 * Remove the n deleted messages of g wherever they are now. One found
 * nowhere is gone: what DELE wanted. Returns how many could not be
 * removed.
 */
static size_t
remove_renamed(struct mailbox *mb, struct gone *g, size_t n, int from_cur)
{
	struct gone_ctx c;
	struct gone *k;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.g = g;
	c.n = n;
	c.found = unlink_found;
	qsort(g, n, sizeof(*g), gone_cmp);
	/*
	 * A message the session keeps may share the unique name (listed
	 * twice, caught mid-move at the scan): never remove that one.
	 */
	for (i = 0; i < mb->n; i++)
		if (!(mb->msg[i].flags & MSG_DELETED) &&
		    (k = gone_find(&c, mailbox_name(mb, i))) != NULL)
			k->settled = 1;
	if (gone_lookup(mb, &c, from_cur) == -1) {
		/* not knowing where they are, say they were not removed */
		log_warn("scan for renamed messages");
		for (i = 0; i < n; i++)
			c.failed += !g[i].settled;
	}
	return c.failed;
}

size_t
mailbox_update(struct mailbox *mb)
{
	char seen[MAILDIR_NAME_MAX + 1];
	size_t i, failed = 0, ngone = 0;
	struct gone *gone = NULL;
	int dfd, gone_cur = 0;
	const char *name;

	for (i = 0; i < mb->n; i++) {
		name = mailbox_name(mb, i);
		dfd = mb->msg[i].flags & MSG_CUR ? mb->curfd : mb->newfd;
		if (mb->msg[i].flags & MSG_DELETED) {
			if (unlinkat(dfd, name, 0) == 0)
				continue;
			if (errno != ENOENT) {
				log_warn("unlink %s", name);
				failed++;
				continue;
			}
			/* at most ndeleted of them: one allocation */
			if (gone == NULL)
				gone = calloc(mb->ndeleted, sizeof(*gone));
			if (gone == NULL) {
				log_warn("looking for %s", name);
				failed++;
				continue;
			}
			gone[ngone].name = name;
			gone[ngone++].ulen = strcspn(name, ":");
			gone_cur |= (mb->msg[i].flags & MSG_CUR) != 0;
			continue;
		}
		if (!(mb->msg[i].flags & MSG_RETRIEVED))
			continue;
		/*
		 * A seen message leaves new/ (Maildir: new/ is mail no
		 * reader has seen yet), so an IMAP or Maildir reader of the
		 * same folder sees it as read.
		 */
		if (mailbox_seen_name(name, seen, sizeof(seen)) == -1 ||
		    ((mb->msg[i].flags & MSG_CUR) && strcmp(seen, name) == 0))
			continue;
		if (mb->curfd == -1) {
			log_warnx("no cur/ folder: %s stays in new/", name);
			continue;
		}
		if (move(dfd, name, mb->curfd, seen) == -1)
			log_warn("rename %s to cur/%s", name, seen);
	}
	if (ngone > 0)
		failed += remove_renamed(mb, gone, ngone, gone_cur);
	free(gone);
	return failed;
}
