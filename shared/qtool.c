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

static int json, format;

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

/* A Prometheus label value (text exposition format: \\, \" and \n). */
static void
prom_label(const char *s)
{
	for (; *s; s++)
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
}

#define QTOOL_DESTS_MAX	1000	/* more than queued sends (100) */

struct stats_dest {
	char			domain[ADDR_DOMAIN_MAX + 1];
	unsigned long long	msgs, rcpts;
};

struct stats {
	unsigned long long	messages, state[4], hour[3];
	long long		oldest, since;
	struct stats_dest	*dest;
	size_t			ndest;
};

static const char *state_names[4] = { "active", "deferred", "held",
    "waiting" };
static const char *hour_names[3] = { "delivered", "bounced", "deferred" };

static int
name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static void
stats_text(const struct stats *s, long long age)
{
	size_t i;

	printf("messages        %8llu\n", s->messages);
	for (i = 0; i < 4; i++)
		printf("  %-13s %8llu\n", state_names[i], s->state[i]);
	printf("oldest          %7llds\n", age);
	printf("in the last hour (counted since queued started, %llds ago):\n",
	    (long long)time(NULL) - s->since);
	for (i = 0; i < 3; i++)
		printf("  %-13s %8llu\n", hour_names[i], s->hour[i]);
	if (s->ndest)
		printf("recipients waiting, by destination:\n");
	for (i = 0; i < s->ndest; i++)
		printf("  %-29s %8llu in %llu message%s\n", s->dest[i].domain,
		    s->dest[i].rcpts, s->dest[i].msgs,
		    s->dest[i].msgs == 1 ? "" : "s");
}

static void
stats_json(const struct stats *s, long long age)
{
	size_t i;

	printf("{\"messages\": %llu", s->messages);
	for (i = 0; i < 4; i++)
		printf(", \"%s\": %llu", state_names[i], s->state[i]);
	printf(", \"oldest_age\": %lld, \"oldest_arrival\": ", age);
	if (s->oldest)
		printf("%lld", s->oldest);
	else
		printf("null");
	printf(", \"counted_since\": %lld, \"last_hour\": {", s->since);
	for (i = 0; i < 3; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", hour_names[i],
		    s->hour[i]);
	printf("}, \"destinations\": [");
	for (i = 0; i < s->ndest; i++) {
		printf("%s\n {\"domain\": ", i ? "," : "");
		json_str(s->dest[i].domain);
		printf(", \"messages\": %llu, \"recipients\": %llu}",
		    s->dest[i].msgs, s->dest[i].rcpts);
	}
	printf("]}\n");
}

/* One family's HELP and TYPE lines (Prometheus text exposition format). */
static void
prom_family(const char *name, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/*
 * For node_exporter's textfile collector: gauges only (the last hour is
 * a window, not a counter), no timestamps; a family without a sample
 * is left out.
 */
static void
stats_prometheus(const struct stats *s, long long age)
{
	size_t i;

	prom_family("pombo_queue_messages",
	    "Messages in the queue, by state.");
	for (i = 0; i < 4; i++)
		printf("pombo_queue_messages{state=\"%s\"} %llu\n",
		    state_names[i], s->state[i]);
	prom_family("pombo_queue_oldest_message_age_seconds",
	    "Age of the oldest message in the queue, 0 if it is empty.");
	printf("pombo_queue_oldest_message_age_seconds %lld\n", age);
	prom_family("pombo_queue_recipients_last_hour", "Recipients delivered, "
	    "bounced and deferred in the last 60 minutes; counted in memory, "
	    "from 0 when queued starts.");
	for (i = 0; i < 3; i++)
		printf("pombo_queue_recipients_last_hour{outcome=\"%s\"} %llu\n",
		    hour_names[i], s->hour[i]);
	prom_family("pombo_queue_counters_start_time_seconds",
	    "When queued started counting, in seconds since the epoch.");
	printf("pombo_queue_counters_start_time_seconds %lld\n", s->since);
	if (s->ndest == 0)
		return;
	prom_family("pombo_queue_destination_messages", "Messages with "
	    "recipients waiting, by destination domain (the 100 domains with "
	    "the most recipients).");
	for (i = 0; i < s->ndest; i++) {
		printf("pombo_queue_destination_messages{domain=\"");
		prom_label(s->dest[i].domain);
		printf("\"} %llu\n", s->dest[i].msgs);
	}
	prom_family("pombo_queue_destination_recipients", "Recipients waiting, "
	    "by destination domain (the 100 domains with the most).");
	for (i = 0; i < s->ndest; i++) {
		printf("pombo_queue_destination_recipients{domain=\"");
		prom_label(s->dest[i].domain);
		printf("\"} %llu\n", s->dest[i].rcpts);
	}
}

/* The STATS reply (queued/daemon/stats.c), then the numbers printed. */
static int
print_stats(struct qclient *q)
{
	char line[QCLIENT_REPLY_MAX * 4], name[32];
	struct stats s;
	struct stats_dest d;
	unsigned long long v;
	long long age;
	int i, code = EX_OK;

	memset(&s, 0, sizeof(s));
	if ((s.dest = calloc(QTOOL_DESTS_MAX, sizeof(*s.dest))) == NULL) {
		fprintf(stderr, "%s: out of memory\n",
		    program_invocation_short_name);
		return EX_OSERR;
	}
	for (;;) {
		if (qclient_line(q, line, sizeof(line)) == -1) {
			fprintf(stderr, "%s: queued went away\n",
			    program_invocation_short_name);
			code = EX_TEMPFAIL;
			goto out;
		}
		if (strncmp(line, "250 ", 4) == 0)
			break;
		if (strncmp(line, "250-", 4) != 0) {
			fprintf(stderr, "%s: %s\n", program_invocation_short_name,
			    line);
			code = EX_UNAVAILABLE;
			goto out;
		}
		if (sscanf(line + 4, "messages %llu", &v) == 1)
			s.messages = v;
		else if (sscanf(line + 4, "state %31s %llu", name, &v) == 2 &&
		    (i = name_index(state_names, 4, name)) != -1)
			s.state[i] = v;
		else if (sscanf(line + 4, "hour %31s %llu", name, &v) == 2 &&
		    (i = name_index(hour_names, 3, name)) != -1)
			s.hour[i] = v;
		else if (sscanf(line + 4, "oldest %lld", &s.oldest) == 1 ||
		    sscanf(line + 4, "since %lld", &s.since) == 1)
			;
		else if (sscanf(line + 4, "dest %255s %llu %llu", d.domain,
		    &d.msgs, &d.rcpts) == 3 && s.ndest < QTOOL_DESTS_MAX)
			s.dest[s.ndest++] = d;
		/* other lines: a newer queued's, skipped */
	}
	age = s.oldest && (long long)time(NULL) > s.oldest ?
	    (long long)time(NULL) - s.oldest : 0;
	if (format == QTOOL_PROMETHEUS)
		stats_prometheus(&s, age);
	else if (format == QTOOL_JSON)
		stats_json(&s, age);
	else
		stats_text(&s, age);
out:
	free(s.dest);
	return code;
}

int
qtool_run(const char *confpath, const char *verb, const char *arg,
    int as_format)
{
	struct conf conf;
	struct conf_error err;
	struct qclient q;
	char reply[QCLIENT_REPLY_MAX];
	int code;

	format = as_format;
	json = format == QTOOL_JSON;
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
	/* why: no socket, no permission, nobody listening, or its reply */
	if (qclient_greeted(&q, conf.queue_socket, 30000, reply,
	    sizeof(reply)) == -1) {
		fprintf(stderr, "%s: cannot reach queued at %s: %s\n",
		    program_invocation_short_name, conf.queue_socket, reply);
		conf_free(&conf);
		return EX_TEMPFAIL;
	}
	qclient_send(&q, arg ? "%s %s" : "%s", verb, arg);
	lineio_flush(&q.io);
	if (strcmp(verb, "LIST") == 0 || strcmp(verb, "SHOW") == 0)
		code = print_list(&q);
	else if (strcmp(verb, "STATS") == 0)
		code = print_stats(&q);
	else {
		code = qclient_reply(&q, reply, sizeof(reply));
		if (json) {
			printf("{\"ok\": %s, \"reply\": ", code == 250 ?
			    "true" : "false");
			json_str(reply);
			printf("}\n");
		} else if (code >= 200 && code < 400)
			printf("%s\n", reply + 4);
		else	/* as list and show say it: stderr, with the code */
			fprintf(stderr, "%s: %s\n",
			    program_invocation_short_name, reply);
		code = code == 250 ? EX_OK : code >= 500 ? EX_UNAVAILABLE :
		    EX_TEMPFAIL;
	}
	qclient_close(&q);
	conf_free(&conf);
	return code;
}
