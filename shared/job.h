/*
 * job: what queued tells a delivery agent on its stdin, and the result
 * lines the agent writes back, one per recipient. Used by queued (format
 * the job, parse results) and the agents (parse the job, format results).
 * Both parsers are pure and fuzzed: an agent trusts queued, but queued
 * trusts an agent's output no more than a network peer's.
 *
 *   POMBO-JOB 1
 *   host <this host's name>
 *   dest <domain>                       (remote: the destination)
 *   relay <[host]:port>                 (remote: instead of MX lookup)
 *   port <n> | dns <servers> | timeout <s> | connect-timeout <s>
 *   tls none|may|encrypt|verify | tls-ca <file>
 *   dane <trust anchor file>            (remote: DANE, validated DNS)
 *   mta-sts <timeout s> <port>          (remote: follow MTA-STS policies)
 *   tls-reports yes                     (remote: report TLS sessions)
 *   dkim <domain> <selector> <key file>  (remote: one line per key)
 *   client <ip> <helo-name>             (verify: who sent it)
 *   dmarc-reject yes|no                 (verify: refuse p=reject failures)
 *   msg <qid> <arrival> <data-offset> <size> <<reverse-path>> [flags]
 *   rcpt <index> <address> [<maildir path> | <RCPT parameters>]
 *   ...
 *   end
 *
 * Lines are split at blanks, and a quoted local part may hold blanks,
 * '>' or anything printable (RFC 5321 4.1.2), so the reverse-path
 * (inside its brackets) and the address are addr_encode'd (shared/addr.h:
 * "%XX" for blanks, controls, '%', '<', '>'; an ordinary address is
 * itself). A msg or rcpt line the agent cannot read fails that message
 * alone: job_reject_bad answers its recipients, the others are
 * delivered; the job_format_* writers check each line with the same
 * parser first, so queued never writes a line its agent refuses.
 *
 * The msg flags are the MAIL parameters, "recovered" (it may have been
 * delivered already), and "dkim": queued's word that the message is
 * its own users' (authenticated, local, relay_networks), to be signed
 * with a key of its From: domain, if the dkim lines hold one; "junk"
 * (local): pombo-verify's verdict, for the user's Junk folder;
 * "crc32c=<8 hex digits>": the message's checksum (the queue file's
 * "sum" line, SPOOL.md), which the agent checks before the message
 * leaves (none: a file older than the line, not checked).
 *
 * A message whose file fails that check is not delivered: the agent
 * answers its recipients with a temporary failure and says, before,
 *
 *   damaged <qid> <why>
 *
 * and queued sets the file aside (quarantine/, a notice to the
 * postmaster) once its agents are done with it.
 *
 * Result: "<qid> <index> ok|relayed|temp|perm <remote-mta or -> <reply>"
 * ("relayed": delivered to a server that takes no DSN request along, so
 * a NOTIFY=SUCCESS is answered here, RFC 3461 5.2.2)
 *
 * With tls-reports, pombo-remote also writes a line per TLS session (or
 * policy failure) of a domain that asks for TLS reports (RFC 8460: its
 * _smtp._tls record), for queued's daily report:
 *
 *   tls <domain> sts|tlsa|no-policy-found <result> <mx or -> <ip or -> <rua>
 *
 * result: "success" or an RFC 8460 4.3 result-type; rua: the report's
 * mailto: addresses, comma-separated, without "mailto:".
 *
 * The verify agent (pombo-verify) takes a job of one msg line and no
 * rcpt lines, reads incoming/<qid> (fd 3 is incoming/) from data-offset,
 * writes the message as it is to be queued on fd 4 (its
 * Authentication-Results: field on top, forged ones of ours removed)
 * and answers one verdict line instead of results:
 *
 *   verdict <qid> ok|junk <results, e.g. "spf=pass dkim=pass dmarc=pass">
 *   verdict <qid> reject <reply, e.g. "550 5.7.1 ...">
 *
 * "junk": deliver into the user's Junk folder if there is one (DMARC
 * p=quarantine failed). A reject reply is 4xx or 5xx.
 */
#ifndef POMBO_JOB_H
#define POMBO_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "qid.h"
#include "status.h"
#include "str.h"

#define JOB_MAGIC	"POMBO-JOB 1"
#define JOB_LINE_MAX	8192
#define JOB_MAX_MSGS	10000
#define JOB_MAX_RCPTS	100000
#define JOB_REPLY_MAX	1000

struct job_rcpt {
	unsigned	 index;		/* in the message's envelope */
	char		*addr;
	char		*extra;		/* maildir (local) or params (remote) */
};

struct job_msg {
	char		 qid[QID_LEN + 1];
	int64_t		 time;
	uint64_t	 data_off;
	uint64_t	 size;
	char		*from;		/* with brackets: "<a@b>" or "<>" */
	char		*flags;		/* "recovered", "8bit", "smtputf8"... */
	int		 has_sum;	/* flags hold "crc32c=": */
	uint32_t	 sum;		/* the message's CRC-32C */
	struct job_rcpt	*rcpts;
	size_t		 nrcpt;
	const char	*bad;		/* why a line of it did not parse */
};

struct job_dkim {
	char		 domain[ADDR_DOMAIN_MAX + 1];
	char		 selector[ADDR_DOMAIN_MAX + 1];
	char		 keyfile[4096];
};

#define JOB_MAX_DKIM	1024

struct job {
	char		 host[ADDR_DOMAIN_MAX + 1];
	char		 dest[ADDR_DOMAIN_MAX + 1];
	char		 relay[ADDR_DOMAIN_MAX + 16];
	char		 dns[512];
	unsigned	 port, timeout, connect_timeout;
	char		 tls[16];		/* "" means may */
	char		 tls_ca[4096];
	char		 dane[4096];	/* trust anchor file; "": no DANE */
	unsigned	 mta_sts_timeout;	/* 0: no MTA-STS */
	unsigned	 mta_sts_port;
	int		 tls_reports;
	struct job_msg	*msgs;
	size_t		 nmsg;
	struct job_dkim	*dkim;
	size_t		 ndkim;
	char		 client_ip[64];			/* verify */
	char		 helo[ADDR_DOMAIN_MAX + 1];	/* verify */
	int		 dmarc_reject;			/* verify */
};

enum verdict { VERDICT_OK, VERDICT_JUNK, VERDICT_REJECT };

struct job_verdict {
	char		 qid[QID_LEN + 1];
	enum verdict	 verdict;
	char		 text[JOB_REPLY_MAX + 1];	/* results, or reply */
};

struct job_result {
	char		 qid[QID_LEN + 1];
	unsigned	 index;
	enum status	 status;
	int		 relayed;	/* ok, to a server without DSN */
	char		 mta[ADDR_DOMAIN_MAX + 1];	/* "" if none */
	char		 reply[JOB_REPLY_MAX + 1];	/* "550 5.1.1 ..." */
};

/* An agent's start: read the job from fd (bounded) and parse it. */
int job_read(int fd, struct job *j, char *err, size_t errlen);
/* An agent's results so far to fd; empties out. 0 or -1. */
int job_flush_results(int fd, struct buf *out);
/* Parse a whole job; 0 or -1 with err. */
int job_parse(struct job *j, const char *text, size_t len, char *err,
    size_t errlen);
void job_free(struct job *j);
/*
 * Report every recipient of a message whose lines did not parse (a
 * permanent failure: the same job would come at every retry) into out,
 * and drop those messages from j. Returns how many.
 */
int job_reject_bad(struct job *j, struct buf *out);
/* queued's writers: 0, or -1 (nothing appended) if the agent would
 * refuse the line. flags and extra: "" or words without a leading blank. */
int job_format_msg(struct buf *out, const char *qid, int64_t time,
    uint64_t data_off, uint64_t size, const char *from, const char *flags);
int job_format_rcpt(struct buf *out, unsigned index, const char *addr,
    const char *extra);
int job_has_flag(const struct job_msg *m, const char *flag);
/* "dns a,b\n" for servers (nothing if there are none) */
int job_format_dns(struct buf *out, char *const *servers, size_t n);

int job_result_parse(const char *line, struct job_result *r);
int job_result_format(struct buf *out, const char *qid, unsigned index,
    enum status st, const char *mta, const char *reply);
int job_result_format_relayed(struct buf *out, const char *qid,
    unsigned index, const char *mta, const char *reply);

#define JOB_TLS_RUA_MAX	512

enum job_tls_policy { JOB_TLS_STS, JOB_TLS_NO_POLICY, JOB_TLS_TLSA };
#define JOB_TLS_NPOLICY	3

struct job_tls {
	char		 domain[ADDR_DOMAIN_MAX + 1];
	enum job_tls_policy policy;
	char		 result[32];	/* "success", or RFC 8460 4.3 */
	char		 mx[ADDR_DOMAIN_MAX + 1];	/* "" if none */
	char		 ip[64];			/* "" if none */
	char		 rua[JOB_TLS_RUA_MAX + 1];	/* "a@b,c@d" */
};

/* A "tls ..." line (without its LF): 0, or -1. */
int job_tls_parse(const char *line, struct job_tls *t);
/* The line, LF included; -1 (nothing appended) if it would not parse. */
int job_tls_format(struct buf *out, const struct job_tls *t);
const char *job_tls_policy_name(enum job_tls_policy p);

/*
 * An agent's "damaged" line: the message's file failed its check.
 * parse: 0 (qid, why printable, at most JOB_REPLY_MAX) or -1; format:
 * the line, LF included.
 */
int job_damaged_parse(const char *line, char qid[QID_LEN + 1],
    char why[JOB_REPLY_MAX + 1]);
int job_damaged_format(struct buf *out, const char *qid, const char *why);
/* Does a message's data match its sum? 1, 0 (why says), or 1 if it
 * has none to check. crc: the CRC-32C the agent computed. */
int job_sum_matches(const struct job_msg *m, uint32_t crc, char *why,
    size_t len);

int job_verdict_parse(const char *line, struct job_verdict *v);
int job_verdict_format(struct buf *out, const char *qid, enum verdict v,
    const char *text);

#endif
