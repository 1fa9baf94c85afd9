/*
 * milter-driver: plays one SMTP session's steps to the milters named
 * on the command line, through queued's milter chain on its own
 * sd-event loop, and prints each step's verdict and, at end of
 * message, the changes asked for; -o writes the message with them
 * applied. Used by the integration tests (tests/integration/
 * milter_test.py) against real filters; trusts its command line.
 *
 * milter-driver [-a tempfail|accept|reject] [-t seconds] [-T seconds]
 *     [-c client-addr] [-n client-name] [-h helo] [-f sender]
 *     [-r rcpt]... [-M name=value]... [-o out] -m spec [-m spec]... msg
 *
 * Output, one line per step: "<step> <verdict>[ failed][ custom]
 * [reply]", then "mod ..." and "quarantine ..." lines after eom, and
 * "time <seconds>" last. A refusal ends the session as queued would.
 */
#include "config.h"

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fileio.h"
#include "milter.h"

#define MAX_RCPTS	16
#define MAX_MACROS	16

static struct {
	sd_event		*event;
	struct milter_chain	*ch;
	const char		*names[9];
	int			 step;
	/* the session */
	const char		*addr, *host, *helo, *from, *out;
	const char		*rcpts[MAX_RCPTS];
	size_t			 nrcpt, rcpt_i;
	/* the message, split */
	const char		*msg;
	size_t			 len, hdr_pos, body_pos, body_off;
	int			 in_body;
	struct timespec		 start;
} d;

enum { S_CONNECT, S_HELO, S_MAIL, S_RCPT, S_DATA, S_HEADER, S_EOH, S_BODY,
    S_EOM };
static const char *const step_names[] = { "connect", "helo", "mail",
    "rcpt", "data", "header", "eoh", "body", "eom" };
static const char *const verdicts[] = { "continue", "accept", "reject",
    "tempfail", "discard" };

static void
finish(int rc)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("time %.3f\n", (double)(now.tv_sec - d.start.tv_sec) +
	    (double)(now.tv_nsec - d.start.tv_nsec) / 1e9);
	fflush(stdout);
	sd_event_exit(d.event, rc);
}

/* The next header field: name and value (after the colon) copied. */
static int
next_header(char *name, size_t nlen, char *value, size_t vlen)
{
	const char *p = d.msg + d.hdr_pos, *end = d.msg + d.len, *colon;
	const char *q = p;

	if (p >= end || *p == '\n')
		return 0;
	/* the field's end: a line not starting with a blank */
	for (;;) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		q = nl ? nl + 1 : end;
		if (q >= end || (*q != ' ' && *q != '\t'))
			break;
	}
	d.hdr_pos = (size_t)(q - d.msg);
	if ((colon = memchr(p, ':', (size_t)(q - p))) == NULL)
		errx(2, "not a header field");
	snprintf(name, nlen, "%.*s", (int)(colon - p), p);
	/* the value without the line end of its last line */
	snprintf(value, vlen, "%.*s", (int)(q - colon - 1 -
	    (q[-1] == '\n' ? 1 : 0)), colon + 1);
	return 1;
}

static void step(void);

static void
print_mods(const struct milter_mods *m)
{
	static const char *const types[] = { "addhdr", "inshdr", "chghdr",
	    "addrcpt", "delrcpt", "chgfrom" };
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct milter_mod *x = &m->v[i];

		if (x->type <= MILTER_MOD_CHGHDR) {
			char *v = strdup(x->value), *p;

			/* one line per change: folds shown as \n */
			for (p = v; p && *p; p++)
				if (*p == '\n')
					*p = '|';
			printf("mod %s %u %s:%s\n", types[x->type],
			    (unsigned)x->index, x->name, v ? v : "");
			free(v);
		} else
			printf("mod %s %s%s%s\n", types[x->type], x->name,
			    x->value ? " " : "", x->value ? x->value : "");
	}
	if (m->replbody)
		printf("mod replbody %zu\n", m->body.len);
	if (m->quarantine)
		printf("quarantine %s\n", m->quarantine);
}

static void
on_result(void *arg, const struct milter_result *r)
{
	char reply[sizeof(r->reply)], *p;

	(void)arg;
	/* a multi-line reply on one line: CRLF shown as | */
	str_copy_trunc(reply, r->reply, sizeof(reply));
	for (p = reply; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = '|';
	printf("%s %s%s%s%s%s\n", step_names[d.step], verdicts[r->verdict],
	    r->failed ? " failed" : "", r->custom ? " custom" : "",
	    reply[0] ? " " : "", reply);
	if (r->verdict == MILTER_REJECT || r->verdict == MILTER_TEMPFAIL ||
	    r->verdict == MILTER_DISCARD) {
		/* RCPT: only this recipient; the others go on */
		if (d.step == S_RCPT && r->verdict != MILTER_DISCARD) {
			step();
			return;
		}
		milter_chain_abort(d.ch);
		finish(0);
		return;
	}
	if (d.step == S_EOM) {
		print_mods(r->mods);
		if (d.out != NULL) {
			int fd = open(d.out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd == -1 || milter_edit_apply(d.msg, d.len, r->mods,
			    fd) == -1)
				err(2, "%s", d.out);
			close(fd);
		}
		finish(0);
		return;
	}
	step();
}

/* Start the next step; its answer comes to on_result. */
static void
step(void)
{
	char name[256], value[65536];
	int rc = 0;

	switch (d.step) {
	case S_CONNECT:
		d.step = S_HELO;
		rc = milter_chain_helo(d.ch, d.helo);
		break;
	case S_HELO:
		d.step = S_MAIL;
		rc = milter_chain_mail(d.ch, &d.from, 1);
		break;
	case S_MAIL:
	case S_RCPT:
		if (d.rcpt_i < d.nrcpt) {
			d.step = S_RCPT;
			rc = milter_chain_rcpt(d.ch, &d.rcpts[d.rcpt_i++], 1);
			break;
		}
		d.step = S_DATA;
		rc = milter_chain_data(d.ch);
		break;
	case S_DATA:
	case S_HEADER:
		if (next_header(name, sizeof(name), value, sizeof(value))) {
			d.step = S_HEADER;
			rc = milter_chain_header(d.ch, name, value);
			break;
		}
		d.step = S_EOH;
		rc = milter_chain_eoh(d.ch);
		break;
	case S_EOH:
	case S_BODY:
		d.body_pos = d.hdr_pos < d.len ? d.hdr_pos + 1 : d.len;
		if (d.body_pos + d.body_off < d.len) {
			size_t n = d.len - d.body_pos - d.body_off;

			if (n > 100000)
				n = 100000;
			d.step = S_BODY;
			rc = milter_chain_body(d.ch, d.msg + d.body_pos +
			    d.body_off, n);
			d.body_off += n;
			break;
		}
		d.step = S_EOM;
		rc = milter_chain_eom(d.ch);
		break;
	}
	if (rc == -1)
		errx(2, "step %s refused", step_names[d.step]);
}

int
main(int argc, char **argv)
{
	struct conf c;
	struct buf msg;
	char errbuf[256], *macros[MAX_MACROS];
	size_t nmacros = 0, i;
	unsigned t_cmd = 5, t_content = 10;
	int ch, rc;

	conf_defaults(&c);
	d.addr = "192.0.2.1";
	d.host = "client.test";
	d.helo = "client.test";
	d.from = "<sender@example.org>";
	while ((ch = getopt(argc, argv, "a:t:T:c:n:h:f:r:M:o:m:")) != -1) {
		switch (ch) {
		case 'a':
			if (str_copy(c.milter_default_action, optarg,
			    sizeof(c.milter_default_action)) == -1)
				return 2;	/* cut, another action */
			break;
		case 't':
			t_cmd = (unsigned)atoi(optarg);
			break;
		case 'T':
			t_content = (unsigned)atoi(optarg);
			break;
		case 'c':
			d.addr = optarg;
			break;
		case 'n':
			d.host = optarg;
			break;
		case 'h':
			d.helo = optarg;
			break;
		case 'f':
			d.from = optarg;
			break;
		case 'r':
			if (d.nrcpt < MAX_RCPTS)
				d.rcpts[d.nrcpt++] = optarg;
			break;
		case 'M':
			if (nmacros < MAX_MACROS)
				macros[nmacros++] = optarg;
			break;
		case 'o':
			d.out = optarg;
			break;
		case 'm':
			c.milters = realloc(c.milters, (c.n_milters + 1) *
			    sizeof(*c.milters));
			if (c.milters == NULL)
				err(2, "realloc");
			c.milters[c.n_milters++] = strdup(optarg);
			break;
		default:
			errx(2, "usage: see the top of milter-driver.c");
		}
	}
	if (optind + 1 != argc || c.n_milters == 0)
		errx(2, "usage: see the top of milter-driver.c");
	c.milter_connect_timeout = t_cmd;
	c.milter_command_timeout = t_cmd;
	c.milter_content_timeout = t_content;
	buf_init(&msg, 64 << 20);
	if (fileio_read(argv[optind], 0, &msg, errbuf, sizeof(errbuf)) == -1)
		errx(2, "%s", errbuf);
	d.msg = msg.data ? msg.data : "";
	d.len = msg.len;
	if (d.nrcpt == 0)
		d.rcpts[d.nrcpt++] = "<rcpt@example.net>";
	if (sd_event_default(&d.event) < 0)
		errx(2, "sd_event_default");
	if ((d.ch = milter_chain_new(d.event, &c, on_result, NULL)) == NULL)
		errx(2, "a milter spec is malformed");
	milter_chain_set_macro(d.ch, "j", "mx.pombo.test");
	milter_chain_set_macro(d.ch, "{daemon_name}", "pombo");
	milter_chain_set_macro(d.ch, "i", "01k177h582jc");
	for (i = 0; i < nmacros; i++) {
		char *eq = strchr(macros[i], '=');

		if (eq == NULL)
			errx(2, "-M name=value");
		*eq = '\0';
		milter_chain_set_macro(d.ch, macros[i], eq + 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &d.start);
	d.step = S_CONNECT;
	if (milter_chain_connect(d.ch, d.host, d.addr, 52000) == -1)
		errx(2, "connect refused");
	rc = sd_event_loop(d.event);
	milter_chain_free(d.ch);
	sd_event_unref(d.event);
	buf_free(&msg);
	conf_free(&c);
	return rc < 0 ? 2 : rc;
}
