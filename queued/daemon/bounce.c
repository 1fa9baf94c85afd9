/*
 * bounce: the text of a DSN. Everything here goes into a message, so
 * remote replies are cut to one line of printable ASCII first.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "date.h"

void
bounce_status(const char *reply, int perm, char *out, size_t len)
{
	const char *p = reply;

	/* reply: "ddd x.y.z ..." with x the class of ddd */
	if (p && strlen(p) > 4 && p[3] == ' ' && (p[4] == '2' || p[4] == '4' ||
	    p[4] == '5') && p[5] == '.') {
		size_t n = strcspn(p + 4, " ");
		if (n < len && n <= 11) {
			memcpy(out, p + 4, n);
			out[n] = '\0';
			return;
		}
	}
	str_copy_trunc(out, perm ? "5.0.0" : "4.0.0", len);
}

void
bounce_xtext_decode(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++) {
		if (*in == '+' && isxdigit((unsigned char)in[1]) &&
		    isxdigit((unsigned char)in[2])) {
			char hex[3] = { in[1], in[2], 0 };
			unsigned v = (unsigned)strtoul(hex, NULL, 16);
			out[o++] = v >= 32 && v < 127 ? (char)v : '?';
			in += 2;
		} else
			out[o++] = *in;
	}
	out[o] = '\0';
}

static void
clean_line(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; in && *in && o + 1 < len; in++)
		out[o++] = (*in >= 32 && *in < 127) ? *in : ' ';
	out[o] = '\0';
}

static const char *
action_of(enum bounce_kind k)
{
	return k == BOUNCE_FAILED ? "failed" : k == BOUNCE_DELAYED ?
	    "delayed" : "delivered";
}

int
bounce_format(const struct bounce_info *b, int64_t now, struct buf *out)
{
	char date[64], arrival[64], until[64], boundary[128], status[16];
	char diag[1024], envid[256];
	size_t i;
	int rc = 0;

	date_rfc5322((time_t)now, date, sizeof(date));
	date_rfc5322((time_t)b->arrival, arrival, sizeof(arrival));
	date_rfc5322((time_t)b->retry_until, until, sizeof(until));
	/*
	 * RFC 2046 5.1.1: the boundary must not occur in the original,
	 * which the sender wrote knowing the queue id and about when the
	 * bounce comes: the random nonce is what it cannot write. At most
	 * 70 characters (its bchars); a long host name is cut.
	 */
	str_fmt_trunc(boundary, 71, "%s.%lld.%016llx/%s", b->qid,
	    (long long)now, (unsigned long long)b->nonce, b->hostname);

	rc |= buf_printf(out,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\n"
	    "Subject: %s\n"
	    "Date: %s\n"
	    "Message-ID: <%s.%lld.%s@%s>\n"
	    "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n"
	    "--%s\n"
	    "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "This is the mail system at host %s.\n\n",
	    b->hostname, b->sender,
	    b->kind == BOUNCE_FAILED ? "Undelivered Mail Returned to Sender" :
	    b->kind == BOUNCE_DELAYED ? "Delayed Mail (still being retried)" :
	    "Successful Mail Delivery Report",
	    date, b->qid, (long long)now, action_of(b->kind), b->hostname,
	    boundary, boundary, b->hostname);
	if (b->kind == BOUNCE_FAILED)
		rc |= buf_printf(out, "I'm sorry to have to inform you that "
		    "your message could not\nbe delivered to one or more "
		    "recipients. It's attached below.\n\n");
	else if (b->kind == BOUNCE_DELAYED)
		rc |= buf_printf(out, "Your message could not be delivered "
		    "yet to the recipients\nbelow. It will be retried until "
		    "%s.\nYou do not need to resend it.\n\n", until);
	else
		rc |= buf_printf(out, "Your message was delivered to the "
		    "recipients below, as you asked.\n\n");
	for (i = 0; i < b->nrcpt; i++) {
		clean_line(b->rcpts[i].diagnostic, diag, sizeof(diag));
		rc |= buf_printf(out, "<%s>: %s%s%s\n", b->rcpts[i].addr,
		    b->rcpts[i].remote_mta ? b->rcpts[i].remote_mta : "",
		    b->rcpts[i].remote_mta ? " said: " : "",
		    diag[0] ? diag : action_of(b->kind));
	}
	rc |= buf_printf(out,
	    "\n--%s\n"
	    "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; %s\n"
	    "X-Pombo-Queue-ID: %s\n"
	    "Arrival-Date: %s\n", boundary, b->hostname, b->qid, arrival);
	if (b->envid && *b->envid) {
		bounce_xtext_decode(b->envid, envid, sizeof(envid));
		rc |= buf_printf(out, "Original-Envelope-Id: %s\n", envid);
	}
	for (i = 0; i < b->nrcpt; i++) {
		const struct bounce_rcpt *r = &b->rcpts[i];
		clean_line(r->diagnostic, diag, sizeof(diag));
		bounce_status(r->diagnostic, b->kind == BOUNCE_FAILED, status,
		    sizeof(status));
		if (b->kind == BOUNCE_DELIVERED)
			str_copy_trunc(status, "2.0.0", sizeof(status));
		rc |= buf_printf(out, "\nFinal-Recipient: rfc822; %s\n",
		    r->addr);
		if (r->orcpt)
			rc |= buf_printf(out, "Original-Recipient: %s\n",
			    r->orcpt);
		rc |= buf_printf(out, "Action: %s\nStatus: %s\n",
		    r->relayed ? "relayed" : action_of(b->kind), status);
		if (r->remote_mta)
			rc |= buf_printf(out, "Remote-MTA: dns; %s\n",
			    r->remote_mta);
		if (diag[0])
			rc |= buf_printf(out, "Diagnostic-Code: smtp; %s\n",
			    diag);
		rc |= buf_printf(out, "Last-Attempt-Date: %s\n", date);
		if (b->kind == BOUNCE_DELAYED)
			rc |= buf_printf(out, "Will-Retry-Until: %s\n", until);
	}
	rc |= buf_printf(out,
	    "\n--%s\n"
	    "Content-Description: %s\n"
	    "Content-Type: %s\n"
	    "\n", boundary,
	    b->full ? "Undelivered Message" : "Undelivered Message Headers",
	    b->full ? "message/rfc822" : "text/rfc822-headers");
	rc |= buf_add(out, b->original, b->original_len);
	if (b->original_len && b->original[b->original_len - 1] != '\n')
		rc |= buf_addc(out, '\n');
	rc |= buf_printf(out, "\n--%s--\n", boundary);
	return rc ? -1 : 0;
}
