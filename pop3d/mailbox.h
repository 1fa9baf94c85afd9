/*
 * mailbox: one user's Maildir as a POP3 maildrop (RFC 1939 8): the lock
 * that keeps one session per mailbox, the scan of new/ and cur/ at login,
 * message numbers and sizes, and the UPDATE state's unlinks and moves.
 * Used by pop3d's commands. Trusts the Maildir path (built from the users
 * file) and the ,W= sizes in the names the local agent makes; treats
 * every other file name and every file's content as untrusted.
 */
#ifndef POMBO_POP3D_MAILBOX_H
#define POMBO_POP3D_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#define MAILBOX_LOCK		".pombo-pop3.lock"
/* bounds the memory of a session: names (<= 256 octets) + 16 a message */
#define MAILBOX_MAX_MESSAGES	1000000

enum {
	MSG_CUR		= 1 << 0,	/* in cur/, else in new/ */
	MSG_DELETED	= 1 << 1,	/* DELE'd in this session */
	MSG_RETRIEVED	= 1 << 2,	/* RETR'd: seen, moved at UPDATE */
	MSG_GONE	= 1 << 3,	/* found nowhere: expunged by another reader */
};

struct mailbox_msg {
	uint64_t	size;	/* RFC 1939 octets: CRLF, no stuffing */
	uint32_t	name;	/* offset of the file name in the arena */
	uint32_t	flags;
};

struct mailbox {
	int			 dirfd, newfd, curfd, lockfd;	/* or -1 */
	char			*arena;		/* every name, NUL-terminated */
	size_t			 arena_len, arena_cap;
	struct mailbox_msg	*msg;		/* sorted by name */
	size_t			 n, cap;
	size_t			 ndeleted;
	uint64_t		 deleted_size;
	uint64_t		 total_size;	/* deleted ones too */
};

enum mailbox_result {
	MAILBOX_OK = 0,
	MAILBOX_INUSE,		/* another session holds the lock */
	MAILBOX_ERROR,		/* cannot read or lock it: try later */
};

void mailbox_init(struct mailbox *mb);
/*
 * Lock and scan the Maildir at path. A missing Maildir is an empty
 * mailbox. Never opens a file the local agent named (its ,W= is the
 * size); reads any other to size it.
 */
enum mailbox_result mailbox_open(struct mailbox *mb, const char *path);
/* Release everything, lock included, without UPDATE. */
void mailbox_close(struct mailbox *mb);

static inline const char *
mailbox_name(const struct mailbox *mb, size_t i)
{
	return mb->arena + mb->msg[i].name;
}
/* Live messages and their octets, for STAT and the like. */
size_t mailbox_count(const struct mailbox *mb);
uint64_t mailbox_size(const struct mailbox *mb);

/* DELE and RSET (RFC 1939 5): marks only; UPDATE acts on them. */
void mailbox_delete(struct mailbox *mb, size_t i);
void mailbox_undelete_all(struct mailbox *mb);

/*
 * Open message i (0-based) for reading: a regular file, or -1. A message
 * another reader renamed since the scan (new/ to cur/, new flags) is
 * found by its unique name; the table then takes the names every message
 * has now (one scan of cur/ and new/ for all).
 */
int mailbox_open_msg(struct mailbox *mb, size_t i);

/*
 * RFC 1939 6: unlink deleted messages; move retrieved ones from new/
 * to cur/ with the S (seen) flag, and add S to retrieved ones in cur/.
 * A deleted message another reader renamed since the scan is found by
 * its unique name (before ':') and removed; one found nowhere is gone.
 * Returns the number of deleted messages that could not be removed.
 */
size_t mailbox_update(struct mailbox *mb);

/* The cur/ name of a seen message: info ":2,<flags>" with S added. */
int mailbox_seen_name(const char *name, char *out, size_t len);

#endif
