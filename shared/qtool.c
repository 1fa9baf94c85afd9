/*
 * qtool: one queue command to queued and its answer printed, for
 * pombo-queue and for pombo-sendmail -bp/-q (mailq).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "conf.h"
#include "qclient.h"
#include "qid.h"
#include "qtool.h"
#include "str.h"

static int json;

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *
state_name(char st)
{
	return st == 'd' ? "delivered" : st == 'f' ? "failed" : "queued";
}

/* A notification a recipient is owed (SPOOL.md's "notify" lines). */
static const char *
notify_name(char kind)
{
	return kind == 'f' ? "non-delivery" : kind == 'd' ? "delivery" :
	    kind == 'r' ? "relayed" : kind == 'w' ? "delay" : "unknown";
}

/* "<" addr_encode(address) ">" in place: the address, brackets kept. */
static void
bracket_decode(char *s, size_t size)
{
	char dec[ADDR_MAX + 1];
	size_t n = strlen(s);

	if (n < 2 || s[0] != '<' || s[n - 1] != '>')
		return;
	s[n - 1] = '\0';
	if (addr_decode(s + 1, dec, sizeof(dec)) != -1)
		str_fmt_trunc(s, size, "<%s>", dec);	/* no longer than s */
	else
		s[n - 1] = '>';
}

/*
 * "250-msg <qid> <time> <size> <state> <from>",
 * "250-rcpt <st> <attempts> <next> <addr> [<mta> <error>]" and, after a
 * recipient owed a notification not yet queued, "250-notify <kind>"
 * lines; the addresses are addr_encode'd. Other "250-" lines (a newer
 * queued's) are skipped.
 */
static int
print_list(struct qclient *q)
{
	char line[QCLIENT_REPLY_MAX * 4];
	/* from, addr: queued's addr_encode'd addresses in brackets fit */
	char qid[QID_LEN + 1], state[16], from[ADDR_ENC_MAX + 3];
	char addr[ADDR_ENC_MAX + 3];
	long long t, next, size;
	unsigned attempts;
	char st;
	int nmsg = 0, nrcpt = 0, n, rcpt_open = 0;
	char kind;
	time_t now = time(NULL);

	if (json)
		printf("[");
	for (;;) {
		if (qclient_line(q, line, sizeof(line)) == -1) {
			fprintf(stderr, "%s: queued went away\n",
			    program_invocation_short_name);
			return EX_TEMPFAIL;
		}
		if (strncmp(line, "250-notify ", 11) == 0 &&
		    sscanf(line + 11, "%c", &kind) == 1) {
			if (json && rcpt_open)
				printf(", \"notification\": \"%s\"}",
				    notify_name(kind));
			else if (!json && nrcpt)
				printf("        notification owed: %s\n",
				    notify_name(kind));
			rcpt_open = 0;
			continue;
		}
		/* the recipient's object ends: it owes nothing */
		if (json && rcpt_open)
			printf(", \"notification\": null}");
		rcpt_open = 0;
		if (strncmp(line, "250-msg ", 8) == 0 &&
		    sscanf(line + 8, "%12s %lld %lld %15s %n", qid, &t, &size,
		    state, &n) == 4) {
			str_copy_trunc(from, line + 8 + n, sizeof(from));
			bracket_decode(from, sizeof(from));
			if (json)
				printf("%s\n {\"id\": \"%s\", \"arrival\": %lld, "
				    "\"age\": %lld, \"size\": %lld, \"state\": "
				    "\"%s\", \"sender\": ", nmsg ? "]}," : "", qid,
				    t, (long long)now - t, size, state);
			else
				printf("%s%s  %6llds  %8lld  %-6s  %s\n",
				    nmsg ? "\n" : "", qid, (long long)now - t,
				    size, state, from);
			if (json) {
				/* "<sender>" without its brackets */
				size_t fl = strlen(from);
				if (fl >= 2 && from[0] == '<' &&
				    from[fl - 1] == '>') {
					from[fl - 1] = '\0';
					json_str(from + 1);
				} else
					json_str(from);
				printf(", \"recipients\": [");
			}
			nmsg++;
			nrcpt = 0;
		} else if (strncmp(line, "250-rcpt ", 9) == 0 &&
		    sscanf(line + 9, "%c %u %lld %n", &st, &attempts, &next,
		    &n) == 3) {
			char *rest = line + 9 + n, *err;
			err = strchr(rest, ' ');
			if (err)
				*err++ = '\0';
			/* the error is "<relay or -> <reply>" */
			if (err && strncmp(err, "- ", 2) == 0)
				err += 2;
			str_copy_trunc(addr, rest, sizeof(addr));
			bracket_decode(addr, sizeof(addr));
			if (json) {
				addr[strlen(addr) - 1] = '\0';
				printf("%s\n  {\"address\": ", nrcpt ? "," : "");
				json_str(addr + 1);
				printf(", \"state\": \"%s\", \"attempts\": %u, "
				    "\"next_attempt\": %lld, \"last_error\": ",
				    state_name(st), attempts, next);
				if (err)
					json_str(err);
				else
					printf("null");
				rcpt_open = 1;	/* its notification follows */
			} else {
				printf("    %-9s %s", state_name(st), addr);
				if (attempts)
					printf(" (%u attempt%s)", attempts,
					    attempts == 1 ? "" : "s");
				if (st == 'q' && next > now)
					printf(" next in %llds", next - now);
				printf("\n");
				if (err)
					printf("        %s\n", err);
			}
			nrcpt++;
		} else if (strncmp(line, "250 ", 4) == 0) {
			break;
		} else if (strncmp(line, "250-", 4) == 0) {
			continue;
		} else {
			if (json)
				printf("]\n");
			fprintf(stderr, "%s: %s\n", program_invocation_short_name,
			    line);
			return EX_UNAVAILABLE;
		}
	}
	if (json)
		printf("%s]\n", nmsg ? "]}" : "");
	else if (nmsg == 0)
		printf("The queue is empty.\n");
	return EX_OK;
}

int
qtool_run(const char *confpath, const char *verb, const char *arg,
    int as_json)
{
	struct conf conf;
	struct conf_error err;
	struct qclient q;
	char reply[QCLIENT_REPLY_MAX];
	int code;

	json = as_json;
	if (arg && !qid_valid(arg)) {
		fprintf(stderr, "%s: '%s' is not a queue id\n",
		    program_invocation_short_name, arg);
		return EX_USAGE;
	}
	if (conf_load(&conf, conf_path(confpath), &err) == -1) {
		fprintf(stderr, "%s: %s\n", program_invocation_short_name,
		    err.msg);
		return EX_CONFIG;
	}
	if (qclient_open(&q, conf.queue_socket, 30000) == -1 ||
	    qclient_reply(&q, reply, sizeof(reply)) != 250) {
		fprintf(stderr, "%s: cannot reach queued at %s\n",
		    program_invocation_short_name, conf.queue_socket);
		conf_free(&conf);
		return EX_TEMPFAIL;
	}
	qclient_send(&q, arg ? "%s %s" : "%s", verb, arg);
	lineio_flush(&q.io);
	if (strcmp(verb, "LIST") == 0 || strcmp(verb, "SHOW") == 0)
		code = print_list(&q);
	else {
		code = qclient_reply(&q, reply, sizeof(reply));
		if (json) {
			printf("{\"ok\": %s, \"reply\": ", code == 250 ?
			    "true" : "false");
			json_str(reply);
			printf("}\n");
		} else
			printf("%s\n", reply + (code > 0 ? 4 : 0));
		code = code == 250 ? EX_OK : code >= 500 ? EX_UNAVAILABLE :
		    EX_TEMPFAIL;
	}
	qclient_close(&q);
	conf_free(&conf);
	return code;
}
