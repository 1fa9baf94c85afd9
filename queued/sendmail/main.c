/*
 * pombo-sendmail: the /usr/sbin/sendmail interface for local programs
 * (cron, mail(1), git send-email): a message on stdin, recipients on the
 * command line or in the header (-t); -bs runs an SMTP session on
 * stdin/stdout, -bp (or the name mailq) lists the queue, -q flushes it,
 * -bv and -bt say what becomes of addresses, -bi (or the name
 * newaliases) checks the aliases file. Submits through queued's socket,
 * like smtpd.
 *
 * Runs as: the calling user. May touch: nothing but queued's socket.
 * Trusts: its caller as a local user; queued's replies.
 * Exit codes are sysexits.h; errors go to stderr (a local program reads
 * them), and to syslog.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "admin.h"
#include "conf.h"
#include "date.h"
#include "esmtp.h"
#include "log.h"
#include "mime8.h"
#include "options.h"
#include "qclient.h"
#include "qid.h"
#include "qproto.h"
#include "qtool.h"
#include "sendmail.h"
#include "str.h"

#define MAX_RCPTS 10000

struct rcpts {
	char		*v[MAX_RCPTS];
	size_t		 n;
	const char	*domain;	/* of a user name given alone */
};

static const char *prog = "pombo-sendmail";

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, msg);
	log_warnx("uid %u: %s", (unsigned)getuid(), msg);
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-t] [-i] [-f sender] [-F name] [-C config] "
	    "[-v] [-N dsn] [-R ret] [-V envid] [-B type] [recipient ...]\n"
	    "       %s -bv recipient ...\n"
	    "       %s -bs | -bp | -bi | -bt | -bd | -q\n",
	    prog, prog, prog);
	exit(EX_USAGE);
}

static int
add_rcpt(const char *addr, void *ctx)
{
	struct rcpts *r = ctx;
	struct addr a;
	size_t i;

	if (addr_parse_mailbox(addr, ADDR_UTF8_OK, &a) == -1)
		die(EX_DATAERR, "'%s' is not an address", addr);
	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->v[i], addr) == 0)
			return 0;
	if (r->n >= MAX_RCPTS)
		die(EX_DATAERR, "too many recipients");
	if ((r->v[r->n++] = strdup(addr)) == NULL)
		die(EX_OSERR, "out of memory");
	return 0;
}

/*
 * Command-line recipients may be comma-separated lists too, and a user
 * name alone is a user of this host: cron mails "root" or the crontab's
 * owner, mail(1) whoever its user typed.
 */
static void
add_arg_rcpts(const char *arg, struct rcpts *r)
{
	char copy[4096], addr[ADDR_MAX + 1], *tok, *save = NULL;

	if (str_copy(copy, arg, sizeof(copy)) == -1)
		die(EX_DATAERR, "recipient list too long");
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ",
	    &save)) {
		if (sendmail_qualify(tok, r->domain, addr, sizeof(addr)) == -1)
			die(EX_DATAERR, "'%s' is not an address", tok);
		add_rcpt(addr, r);
	}
}

/* sendmail -bs is smtpd on stdin/stdout, from libexec_dir. */
static void
exec_smtpd(const struct conf *c, const char *confpath)
{
	char path[PATH_MAX + 8];

	if (str_fmt(path, sizeof(path), "%s/smtpd", c->libexec_dir) == -1)
		die(EX_CONFIG, "libexec_dir too long");
	execl(path, "smtpd", "-c", confpath, (char *)NULL);
	die(EX_UNAVAILABLE, "cannot run %s: %s", path, strerror(errno));
}

/*
 * -N, -R and -V go on queue protocol lines as they are: each must be one
 * ESMTP value (RFC 3461) that queued takes, or a line end or a blank in
 * one would add commands or parameters of its own to the conversation.
 */
static void
dsn_options_check(const struct sm_options *op)
{
	char line[1024];
	struct mail_args m;
	struct rcpt_args r;
	struct esmtp_err err;

	if (op->notify && (!esmtp_value_valid(op->notify) ||
	    str_fmt(line, sizeof(line), "TO:<a@b.test> NOTIFY=%s",
	    op->notify) == -1 || esmtp_parse_rcpt(line, 1, 1, &r, &err) == -1))
		die(EX_USAGE, "-N: NEVER, or a list of SUCCESS, FAILURE and "
		    "DELAY");
	if (op->ret && (!esmtp_value_valid(op->ret) ||
	    str_fmt(line, sizeof(line), "FROM:<> RET=%s", op->ret) == -1 ||
	    esmtp_parse_mail(line, 1, &m, &err) == -1))
		die(EX_USAGE, "-R: FULL or HDRS");
	if (op->envid && (!esmtp_value_valid(op->envid) ||
	    str_fmt(line, sizeof(line), "FROM:<> ENVID=%s", op->envid) == -1 ||
	    esmtp_parse_mail(line, 1, &m, &err) == -1))
		die(EX_USAGE, "-V: an envelope id in xtext (RFC 3461 4), at most "
		    "%d octets", ESMTP_ENVID_MAX);
}

static void
default_sender(const struct conf *c, char *sender, size_t slen, char *from,
    size_t flen, const char *fullname)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : "nobody";
	char gecos[256] = "";

	if (pw && pw->pw_gecos)
		str_copy_trunc(gecos, pw->pw_gecos, sizeof(gecos)); /* a name */
	gecos[strcspn(gecos, ",")] = '\0';
	if (fullname == NULL)
		fullname = gecos;
	if (sender[0] == '\0' && str_fmt(sender, slen, "%s@%s", user,
	    c->hostname) == -1)
		die(EX_DATAERR, "user name too long");
	/* a name too long for the line goes, never the address */
	if (*fullname && strpbrk(fullname, "\"\\\r\n") == NULL &&
	    str_fmt(from, flen, "\"%s\" <%s>", fullname, sender) != -1)
		return;
	if (str_fmt(from, flen, "<%s>", sender[0] ? sender : "") == -1)
		die(EX_DATAERR, "sender address too long");
}

/*
 * One transaction on q: MAIL, the recipients from *next on, the message.
 * A "452 too many recipients" ends the list: those from there on go in
 * the next transaction (RFC 5321 4.5.3.1.10). Other refusals are counted,
 * a 5xx in *rejected, a 4xx in *deferred; *next is left at the first
 * recipient not tried yet. Dies if the queue fails the message itself.
 */
static void
submit_txn(struct qclient *q, const struct conf *c, const char *sender,
    const struct rcpts *r, size_t *next, const struct buf *msg,
    const char *mail_params, const char *notify, int verbose,
    size_t *rejected, size_t *deferred)
{
	char reply[QCLIENT_REPLY_MAX], hdr[512], date[64];
	char enc[ADDR_ENC_MAX + 1];
	size_t off, n, accepted = 0;
	int code, hn;

	code = qclient_cmd(q, reply, sizeof(reply), "MAIL <%s> SIZE=%zu%s%s",
	    sender, msg->len, mime8_has_8bit(msg->data ? msg->data : "",
	    msg->len) ? " BODY=8BITMIME" : "", mail_params);
	if (code != 250)
		die(code >= 500 ? EX_DATAERR : EX_TEMPFAIL, "%s", reply);
	for (; *next < r->n; ++*next) {
		code = qclient_cmd(q, reply, sizeof(reply), "RCPT <%s>%s%s",
		    r->v[*next], notify ? " NOTIFY=" : "", notify ? notify : "");
		if (code < 0)
			die(EX_TEMPFAIL, "%s", reply);
		if (code == 452 && accepted > 0)
			break;		/* the rest in another transaction */
		if (code == 250) {
			accepted++;
			continue;
		}
		fprintf(stderr, "%s: <%s>: %s\n", prog, r->v[*next], reply);
		if (code >= 500)
			(*rejected)++;
		else
			(*deferred)++;
	}
	if (accepted == 0) {
		qclient_cmd(q, reply, sizeof(reply), "RSET");
		return;
	}
	if (qclient_cmd(q, reply, sizeof(reply), "DATA") != 354)
		die(EX_TEMPFAIL, "%s", reply);
	date_rfc5322(time(NULL), date, sizeof(date));
	/* its length goes on the wire: a cut line would send what is not */
	if ((hn = str_fmt(hdr, sizeof(hdr), "Received: by %s (Pombo "
	    "sendmail, uid %u);\n\t%s\n", c->hostname, (unsigned)getuid(),
	    date)) == -1)
		die(EX_SOFTWARE, "Received: line too long");
	qclient_chunk(q, hdr, (size_t)hn);
	for (off = 0; off < msg->len; off += n) {
		n = msg->len - off > 65536 ? 65536 : msg->len - off;
		qclient_chunk(q, msg->data + off, n);
	}
	code = qclient_cmd(q, reply, sizeof(reply), "0");
	if (code != 250)
		die(code >= 500 ? EX_DATAERR : EX_TEMPFAIL, "%s", reply);
	addr_encode(sender, enc, sizeof(enc));	/* no fake fields */
	log_info("uid %u: from=<%s> nrcpt=%zu size=%zu: %s", (unsigned)getuid(),
	    enc, accepted, msg->len, reply);
	if (verbose)
		fprintf(stderr, "%s: %s\n", prog, reply);
}

/*
 * Queue the message for every recipient, in as many transactions as
 * queued's max_recipients asks. A recipient refused for now makes the
 * exit "try again later" (75), even if others were queued: a caller
 * that resends duplicates mail for those, one that gives up loses it.
 */
static int
submit(const struct conf *c, const char *sender, struct rcpts *r,
    const struct buf *msg, const char *mail_params, const char *notify,
    int verbose)
{
	struct qclient q;
	size_t next = 0, rejected = 0, deferred = 0;

	if (qclient_open(&q, c->queue_socket, 300000) == -1)
		die(EX_TEMPFAIL, "cannot reach queued at %s: %s",
		    c->queue_socket, strerror(errno));
	qclient_send(&q, "HELO LOCAL local %s", c->hostname);
	while (next < r->n)
		submit_txn(&q, c, sender, r, &next, msg, mail_params, notify,
		    verbose, &rejected, &deferred);
	qclient_close(&q);
	if (deferred > 0)
		die(EX_TEMPFAIL, "%zu recipients could not be queued for now",
		    deferred);
	if (rejected == r->n)
		die(EX_NOUSER, "no recipient was accepted");
	return rejected ? EX_NOUSER : EX_OK;
}

/* "<a@b>" becomes "a@b" in place; anything else is left as it is. */
static char *
strip_brackets(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
	return s;
}

/* The message on stdin, its recipients from -t, its header completed. */
static void
read_message(const struct conf *conf, const struct sm_options *op,
    const char *sender, const char *from, struct rcpts *r, struct buf *fixed)
{
	struct sendmail_opts so;
	struct buf msg;
	char qidhint[QID_LEN + 16], errbuf[256];

	buf_init(&msg, conf->max_message_size);
	switch (sendmail_read(0, op->ignore_dots, conf->max_message_size,
	    &msg)) {
	case -1:
		die(EX_IOERR, "cannot read the message: %s", strerror(errno));
	case -2:
		die(EX_DATAERR, "message larger than max_message_size (%llu)",
		    (unsigned long long)conf->max_message_size);
	}
	if (op->from_header && sendmail_header_rcpts(&msg, conf->hostname,
	    add_rcpt, r, errbuf, sizeof(errbuf)) == -1)
		die(EX_DATAERR, "recipients in the header: %s", errbuf);
	if (r->n == 0)
		die(EX_USAGE, "no recipients (give them as arguments, or -t)");
	qid_new(qidhint);
	memset(&so, 0, sizeof(so));
	so.hostname = conf->hostname;
	so.sender = sender;
	so.from = from;
	so.qid_hint = qidhint;
	so.now = time(NULL);
	buf_init(fixed, conf->max_message_size + 4096);
	if (sendmail_fix_header(&msg, &so, 1, fixed) == -1)
		die(EX_DATAERR, "message too large");
	buf_free(&msg);
}

int
main(int argc, char *argv[])
{
	static struct rcpts r;
	struct sm_options op = { .mode = SM_SEND };
	struct conf conf;
	struct conf_error err;
	struct buf fixed;
	const char *base;
	char sender[ADDR_MAX + 1] = "", from[ADDR_MAX + 300], params[256] = "";
	char fbuf[ADDR_MAX + 3], usage_err[256];
	int i;
	struct addr a;

	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	log_init("pombo/sendmail", 0);
	/* the name picks the mode; options may change it ("mailq -bi") */
	if (strcmp(base, "mailq") == 0)
		op.mode = SM_LIST;
	else if (strcmp(base, "newaliases") == 0)
		op.mode = SM_NEWALIASES;
	if ((i = sm_options_parse(argc, argv, &op, usage_err,
	    sizeof(usage_err))) == -1) {
		fprintf(stderr, "%s: %s\n", prog, usage_err);
		usage();
	}
	switch (op.mode) {
	case SM_LIST:
		return qtool_run(op.confpath, "LIST", NULL, 0);
	case SM_FLUSH:
		return qtool_run(op.confpath, "FLUSH", op.flush_id, 0);
	case SM_NOTHING:
		return EX_OK;
	default:
		break;
	}
	if (conf_load(&conf, conf_path(op.confpath), &err) == -1)
		die(EX_CONFIG, "%s", err.msg);
	switch (op.mode) {
	case SM_SMTP:
		exec_smtpd(&conf, conf_path(op.confpath));
		break;
	case SM_NEWALIASES:
		i = sm_newaliases(&conf, op.aliases);
		conf_free(&conf);
		return i;
	case SM_VERIFY:
		i = sm_verify(&conf, argv + i, argc - i);
		conf_free(&conf);
		return i;
	case SM_TEST:
		i = sm_test(&conf, stdin);
		conf_free(&conf);
		return i;
	case SM_DAEMON:
		i = sm_daemon(&conf);
		conf_free(&conf);
		return i;
	default:
		break;
	}
	/* -f root, like a recipient root, is root of this host; "-f <a@b>"
	 * is a@b, as Postfix takes it */
	if (op.fopt && !op.null_sender &&
	    (str_copy(fbuf, op.fopt, sizeof(fbuf)) == -1 ||
	    sendmail_qualify(strip_brackets(fbuf), conf.hostname, sender,
	    sizeof(sender)) == -1 ||
	    addr_parse_mailbox(sender, ADDR_UTF8_OK, &a) == -1))
		die(EX_USAGE, "'%s' is not an address", op.fopt);
	dsn_options_check(&op);
	r.domain = conf.hostname;
	for (; i < argc; i++)
		add_arg_rcpts(argv[i], &r);
	default_sender(&conf, sender, sizeof(sender), from, sizeof(from),
	    op.fullname);
	if (op.null_sender)
		sender[0] = '\0';
	read_message(&conf, &op, sender, from, &r, &fixed);
	if (op.ret && str_fmt(params + strlen(params), sizeof(params) -
	    strlen(params), " RET=%s", op.ret) == -1)
		die(EX_USAGE, "-R: too long");
	if (op.envid && str_fmt(params + strlen(params), sizeof(params) -
	    strlen(params), " ENVID=%s", op.envid) == -1)
		die(EX_USAGE, "-V: too long");
	i = submit(&conf, sender, &r, &fixed, params, op.notify, op.verbose);
	buf_free(&fixed);
	conf_free(&conf);
	return i;
}
