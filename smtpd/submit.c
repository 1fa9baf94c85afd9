/*
 * submit: smtpd's side of the handler -> queue protocol. The connection
 * opens at the first MAIL; the version and HELO lines ride along with it,
 * so a transaction costs one round trip per command, and DATA none.
 * The message is streamed in chunks as the DATA machine produces them;
 * the client hears 250 only when queued says the message is on disk.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "data.h"
#include "date.h"
#include "log.h"
#include "qproto.h"
#include "smtpd.h"
#include "str.h"

static int
submit_open(struct smtp_session *s)
{
	if (s->q.fd != -1)
		return 0;
	if (qclient_open(&s->q, s->conf->queue_socket,
	    (int)s->conf->smtp_timeout * 1000) == -1) {
		log_warn("connect to queue %s", s->conf->queue_socket);
		return -1;
	}
	/* VRFY may come before any HELO: the queue still wants a name */
	return qclient_send(&s->q, "HELO %s %s %s%s%s%s%s",
	    session_proto(s, 0), s->client, s->helo[0] ? s->helo : "unknown",
	    s->auth_user[0] ? " auth=" : "", s->auth_user,
	    s->tls ? " tls=" : "", s->tls ? s->tls_desc : "");
}

int
submit_mail(struct smtp_session *s, char *reply, size_t len)
{
	char arg[QPROTO_LINE_MAX];

	if (esmtp_format_mail(&s->mail, arg, sizeof(arg)) == -1 ||
	    submit_open(s) == -1) {
		str_copy_trunc(reply, "451 4.3.0 Queue unavailable, try again later",
		    len);
		return 451;
	}
	return qclient_cmd(&s->q, reply, len, "MAIL %s", arg);
}

int
submit_rcpt(struct smtp_session *s, const char *arg, char *reply, size_t len)
{
	struct rcpt_args r;
	struct esmtp_err err;
	char line[QPROTO_LINE_MAX];

	/* check_rcpt parsed it already; format the canonical form */
	if (esmtp_parse_rcpt(arg, s->esmtp, s->mail.smtputf8, &r, &err) == -1 ||
	    esmtp_format_rcpt(&r, line, sizeof(line)) == -1) {
		str_copy_trunc(reply, "501 5.1.3 Bad recipient address syntax", len);
		return 501;
	}
	return qclient_cmd(&s->q, reply, len, "RCPT %s", line);
}

/*
 * DATA goes to queued without waiting for its answer: the client hears
 * 354 first (proceed_data flushes it before submit_stream flushes this),
 * and queued makes the queue file while the client sends the message.
 * submit_stream reads queued's answer once the client's first octets are
 * in, so that answer, long there by then, costs no wait of its own; if
 * queued refused, the message is read and dropped, and its reply comes
 * after the data (RFC 5321 4.2.5: a transaction may fail there).
 */
int
submit_data(struct smtp_session *s)
{
	if (qclient_send(&s->q, "DATA") == -1) {
		qclient_close(&s->q);
		return -1;
	}
	return 0;
}

/* queued's answer to DATA: "354 <queue-id> ...", the message's name */
static int
submit_data_reply(struct smtp_session *s, char *reply, size_t len)
{
	const char *text;
	int code;

	code = qclient_reply(&s->q, reply, len);
	if (code == -1)
		return 451;
	if (code >= 400)
		return code;
	/* anything else but 354 must not become the reply after the data */
	if (code != 354 || qproto_parse_reply(reply, &text) != 354 ||
	    strlen(text) < QID_LEN || (text[QID_LEN] != ' ' &&
	    text[QID_LEN] != '\0'))
		goto bad;
	memcpy(s->qid, text, QID_LEN);
	s->qid[QID_LEN] = '\0';
	if (!qid_valid(s->qid))
		goto bad;
	return 354;
bad:
	str_copy_trunc(reply, "451 4.3.0 Queue protocol error", len);
	submit_quit(s);
	return 451;
}

int
submit_verify(struct smtp_session *s, const char *verb, const char *arg,
    char *reply, size_t len)
{
	/* the argument goes on one protocol line: printable only */
	if (!str_printable(arg)) {
		str_copy_trunc(reply, "501 5.5.4 Bad argument", len);
		return 501;
	}
	if (submit_open(s) == -1) {
		str_copy_trunc(reply, "451 4.3.0 Queue unavailable, try again later",
		    len);
		return 451;
	}
	return qclient_cmd(&s->q, reply, len, "%s %s", verb, arg);
}

void
submit_rset(struct smtp_session *s)
{
	char reply[QCLIENT_REPLY_MAX];

	if (s->q.fd != -1)
		qclient_cmd(&s->q, reply, sizeof(reply), "RSET");
}

/*
 * The end of the queue conversation is its close: queued ends an open
 * transaction at end of file as at QUIT (conn_txn_abort either way), and
 * a QUIT would cost both ends a system call or two for a reply nobody
 * reads (queued's 221 met a closed socket), every session (issue 19).
 */
void
submit_quit(struct smtp_session *s)
{
	qclient_close(&s->q);
}

/* RFC 5321 4.4 trace line, with the RFC 3848 protocol name. */
static int
submit_received(struct smtp_session *s)
{
	char date[64], from[128], hdr[1024], tlsinfo[TLS_DESC_MAX + 16];
	char forinfo[ADDR_MAX + 16];
	int n;

	date_rfc5322(time(NULL), date, sizeof(date));
	if (strcmp(s->client, "local") == 0)
		str_copy_trunc(from, "local", sizeof(from));
	else
		str_fmt_trunc(from, sizeof(from), "[%s%s]",
		    strchr(s->client, ':') ? "IPv6:" : "", s->client);
	tlsinfo[0] = forinfo[0] = '\0';
	if (s->tls)
		str_fmt_trunc(tlsinfo, sizeof(tlsinfo), "\n\t(using %s)", s->tls_desc);
	/* "for" only with one recipient: more would disclose Bccs */
	if (s->nrcpt == 1)
		str_fmt_trunc(forinfo, sizeof(forinfo), "\n\tfor <%s>", s->rcpt1);
	n = str_fmt(hdr, sizeof(hdr),
	    "Received: from %s (%s)\n\tby %s (Pombo) with %s id %s%s%s;\n"
	    "\t%s\n", s->helo, from, s->conf->hostname,
	    session_proto(s, s->mail.smtputf8), s->qid, tlsinfo, forinfo, date);
	if (n == -1)
		return -1;
	return qclient_chunk(&s->q, hdr, (size_t)n);
}

/* What can be wrong with the data: in words for the log, and the reply
 * (the client gets the first one's; a size's names the limit). */
static const struct {
	unsigned	 bit;
	const char	*log;
	const char	*reply;
} data_errors[] = {
	{ DATA_ERR_BARE_LF, "bare LF in data",
	    "554 5.6.0 Message refused: bare LF in data (RFC 5321 2.3.8)" },
	{ DATA_ERR_BARE_CR, "bare CR in data",
	    "554 5.6.0 Message refused: bare CR in data (RFC 5321 2.3.8)" },
	{ DATA_ERR_TOO_BIG, "larger than max_message_size", NULL },
	{ DATA_ERR_HOPS, "too many Received: lines (a loop?)",
	    "554 5.4.6 Too many hops: mail loop?" },
};
#define NDATA_ERRORS	(sizeof(data_errors) / sizeof(data_errors[0]))

static const char *
data_errors_text(unsigned errors, char *buf, size_t len)
{
	size_t i, used;

	buf[0] = '\0';
	for (i = 0; i < NDATA_ERRORS; i++)
		if (errors & data_errors[i].bit) {
			used = strlen(buf);
			str_fmt_trunc(buf + used, len - used, "%s%s",
			    used ? ", " : "", data_errors[i].log);
		}
	return buf;
}

static void
submit_reject(struct smtp_session *s, unsigned error)
{
	size_t i;

	if (error == DATA_ERR_TOO_BIG) {
		smtpd_session_reply(s, "552 5.3.4 Message size exceeds fixed limit "
		    "of %llu octets",
		    (unsigned long long)s->conf->max_message_size);
		return;
	}
	for (i = 0; i < NDATA_ERRORS; i++)
		if (error == data_errors[i].bit) {
			smtpd_session_reply(s, "%s", data_errors[i].reply);
			return;
		}
	smtpd_session_reply(s, "554 5.6.0 Message refused");
}

/*
 * queued's answer to DATA, read once the client has sent something (or
 * gone): the name of the message for the Received: line and the logs,
 * or the refusal to give after the data.
 */
static int
submit_data_answer(struct smtp_session *s, char *refusal, size_t len)
{
	int refused;

	refused = submit_data_reply(s, refusal, len) != 354;
	if (refused) {
		str_copy_trunc(s->qid, "-", sizeof(s->qid));	/* no message */
		log_info("queue refused DATA from %s: %.*s", s->client,
		    (int)strcspn(refusal, "\r\n"), refusal);
	} else if (submit_received(s) == -1)
		log_warnx("%s: queue gone before data", s->qid);
	return refused;
}

void
submit_stream(struct smtp_session *s)
{
	struct data_machine dm;
	/* queued's refusal of DATA, or else its answer to the end */
	char *in, reply[QCLIENT_REPLY_MAX];
	enum lineio_result r;
	int64_t start, idle, total;
	uint64_t received = 0;
	size_t n, olen;
	int code, refused = -1;		/* -1: not read yet */

	/* the client has its 354: now queued may have its DATA */
	if (lineio_flush(&s->q.io) == -1)
		qclient_close(&s->q);
	data_init(&dm, s->local, s->conf->max_message_size);
	start = lineio_now();
	while (dm.state != DS_END) {
		/*
		 * The deadline grows with the bytes received (1 ms an
		 * octet) but never exceeds smtp_timeout of silence.
		 */
		idle = session_deadline(s);
		total = start + (int64_t)s->conf->smtp_timeout * 1000 +
		    (int64_t)received;
		r = lineio_fill(&s->io, idle < total ? idle : total);
		if (refused == -1)
			refused = submit_data_answer(s, reply, sizeof(reply));
		if (r != LINEIO_OK) {
			if (r == LINEIO_TIMEOUT) {
				log_info("%s: timeout in DATA from %s",
				    s->qid, s->client);
				smtpd_session_reply(s, "421 4.4.2 %s Timeout, closing "
				    "connection", s->conf->hostname);
			} else
				log_info("%s: lost connection in DATA from %s",
				    s->qid, s->client);
			s->quit = 1;
			/* no QUIT inside a chunk stream: closing is enough,
			 * queued drops the half message */
			qclient_close(&s->q);
			return;
		}
		/*
		 * In place: the message octets overwrite the ones read.
		 * A buffer of their own (16 KB on the stack, or static)
		 * cost two to four page faults a session (issue 19).
		 */
		in = lineio_peek_rw(&s->io);
		n = data_feed(&dm, in, lineio_avail(&s->io), in, &olen);
		received += n;
		if (!refused && olen > 0 &&
		    qclient_chunk(&s->q, in, olen) == -1)
			log_warnx("%s: queue gone during data", s->qid);
		lineio_consume(&s->io, n);
	}
	/* a refused DATA left queued its envelope: end that transaction */
	if (refused)
		submit_rset(s);
	if (dm.errors) {
		char why[128];

		log_info("%s: rejected from %s: %s", s->qid, s->client,
		    data_errors_text(dm.errors, why, sizeof(why)));
		if (!refused)
			qclient_cmd(&s->q, reply, sizeof(reply), "ABORT");
		submit_reject(s, dm.first_error);
	} else if (refused)
		smtpd_queue_reply(s, reply);
	else {
		code = qclient_cmd(&s->q, reply, sizeof(reply), "0");
		smtpd_queue_reply(s, reply);
		if (code < 200 || code >= 300)
			log_info("%s: not queued: %s", s->qid, reply);
		else {
			char from[ADDR_MAX + 1], enc[ADDR_ENC_MAX + 1];
			s->junk = 0;	/* mail moved: the count starts over */
			addr_format(&s->mail.from, from, sizeof(from));
			/* no fake fields from a quoted local part */
			addr_encode(from, enc, sizeof(enc));
			log_info("%s: client=%s helo=%s from=<%s> size=%llu "
			    "nrcpt=%u proto=%s", s->qid, s->client, s->helo,
			    enc, (unsigned long long)dm.size, s->nrcpt,
			    session_proto(s, s->mail.smtputf8));
		}
	}
	session_reset(s);
}
