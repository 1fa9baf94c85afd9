/*
 * intact: the length is queued's check. A message is immutable once
 * committed (DESIGN.md, spool invariant 5), so a queue file of another
 * length was changed behind queued's back (a truncating fsck, a full disk
 * during a copy, a hand edit). Bytes changed in place under the right
 * length (a crash before the data reached the disk) are the agents' to
 * find, by the file's sum, as they read the message anyway (SPOOL.md);
 * the notice is the same.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "date.h"
#include "intact.h"

int
intact_check(int queuefd, const struct envelope *e, char *why, size_t len)
{
	struct stat st;
	uint64_t want = e->data_off + e->size;

	if (fstatat(queuefd, e->qid, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 1;	/* gone: its agent says so */
	/* replaced (a FIFO would block the agent's open for good), or
	 * not queued's: what the spool reads at start (SPOOL.md) */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		str_copy_trunc(why, "the queue file is not a regular file of "
		    "queued's user any more", len);
		return 0;
	}
	if ((uint64_t)st.st_size == want)
		return 1;
	str_fmt_trunc(why, len, "the queue file is %llu octets, %llu when it was "
	    "committed (the message is %s)", (unsigned long long)st.st_size,
	    (unsigned long long)want, (uint64_t)st.st_size < want ?
	    "cut short" : "longer");
	return 0;
}

/* Envelope text for a notice: printable, one line. */
static void
clean(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++)
		out[o++] = (unsigned char)*in < 32 || *in == 127 ? '?' : *in;
	out[o] = '\0';
}

int
intact_notice(const struct envelope *e, const char *hostname,
    const char *spool_dir, const char *why, int64_t now, struct buf *out)
{
	char date[64], queued[64], addr[1024];
	size_t i, n = 0, pending = envelope_pending(e);
	int rc = 0;

	date_rfc5322((time_t)now, date, sizeof(date));
	date_rfc5322((time_t)e->time, queued, sizeof(queued));
	rc |= buf_printf(out,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <postmaster@%s>\n"
	    "Subject: Damaged queue file set aside: %s\n"
	    "Date: %s\n"
	    "Message-ID: <%s.%lld.quarantine@%s>\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "This is the mail system at host %s.\n"
	    "\n"
	    "The queue file of message %s is not what was queued:\n"
	    "%s.\n"
	    "\n"
	    "It will not be delivered. It was moved to\n"
	    "%s/quarantine/%s\n"
	    "for you to look at; its sender was not told.\n"
	    "\n"
	    "Queued:    %s\n",
	    hostname, hostname, e->qid, date, e->qid, (long long)now, hostname,
	    hostname, e->qid, why, spool_dir, e->qid, queued);
	clean(e->from, addr, sizeof(addr));
	rc |= buf_printf(out, "Sender:    <%s>\n"
	    "Not yet delivered to %zu of %zu recipients:\n", addr, pending,
	    e->nrcpt);
	for (i = 0; i < e->nrcpt && n < INTACT_NOTICE_RCPTS; i++) {
		if (e->rcpts[i].state != RS_QUEUED)
			continue;
		clean(e->rcpts[i].addr, addr, sizeof(addr));
		rc |= buf_printf(out, "  <%s>\n", addr);
		n++;
	}
	if (n < pending)
		rc |= buf_printf(out, "  and %zu more\n", pending - n);
	return rc ? -1 : 0;
}
