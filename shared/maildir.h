/*
 * maildir: names and folders of Maildirs (cr.yp.to/proto/maildir.html).
 * Used by the local agent (making names) and pop3d (reading them).
 * A delivered file's name carries ,S=<octets> and ,W=<octets with CRLF>
 * so pop3d never opens a file to size it. Name parsing is pure and fuzzed.
 */
#ifndef POMBO_MAILDIR_H
#define POMBO_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#define MAILDIR_NAME_MAX	255
#define MAILDIR_UIDL_MAX	70	/* RFC 1939 7 */

struct maildir_info {
	size_t		baselen;	/* the unique part: up to ',' or ':' */
	uint64_t	size;		/* S= */
	uint64_t	wsize;		/* W= */
	int		has_size, has_wsize;
	/*
	 * Made by our local agent: the unique part has maildir_unique's
	 * shape and S= and W= are there. Only then is W= what pop3d sends:
	 * Dovecot, the other writer of W=, counts no CRLF for a last line
	 * without one, which pop3d must add (RFC 1939 3).
	 */
	int		ours;
	char		flags[32];	/* after ":2," (the first 31), "" if none */
};

/*
 * The unique part of a delivery's name, a function of the message and
 * the recipient only: "<time>.<qid>_<hash of rcpt>.<host>". A repeated
 * delivery makes the same name, and finds its file already there.
 */
int maildir_unique(char *buf, size_t len, int64_t time, const char *qid,
    const char *rcpt, const char *host);
/* "<unique>,S=<size>,W=<wsize>" */
int maildir_name(char *buf, size_t len, const char *unique, uint64_t size,
    uint64_t wsize);
/*
 * Parse a file name of new/ or cur/; -1 if it is no Maildir name. Whose
 * name it is comes from its shape alone: another reader renaming it keeps
 * the unique part, and the Maildir's owner could forge it anyway.
 */
int maildir_parse_name(const char *name, struct maildir_info *out);
/* A stable POP3 UIDL for a file name: its unique part, or a hash of it. */
void maildir_uidl(const char *name, char out[MAILDIR_UIDL_MAX + 1]);
/* mail_root/domain/local: the Maildir of a user (parts already safe). */
int maildir_path(char *buf, size_t len, const char *mail_root,
    const char *domain, const char *local);
/* Create dir and its cur/ new/ tmp/ (mode 0700) if missing; -1 (ELOOP,
 * ENOTDIR) when one of them is no folder but a link or a file. */
int maildir_create(const char *dir);
uint64_t maildir_hash(const char *s);

#endif
