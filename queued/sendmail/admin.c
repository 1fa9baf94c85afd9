/*
 * admin: what queued would do with an address is its EXPN answer (the
 * users and aliases it has loaded now, RFC 5321 3.5.2): a local user
 * or alias expands to the mailboxes it reaches, another domain's
 * address is relayed unchecked, anything else is refused. No mail is
 * sent; Postfix mails a report for -bv, pombo-sendmail prints it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "admin.h"
#include "aliases.h"
#include "qclient.h"
#include "sendmail.h"
#include "str.h"

#define TEST_LINE_MAX 1024

enum verdict { V_OK, V_BAD, V_TEMP };

static int
open_queue(const struct conf *c, struct qclient *q)
{
	char reply[QCLIENT_REPLY_MAX];

	if (qclient_greeted(q, c->queue_socket, 30000, reply,
	    sizeof(reply)) == -1) {
		fprintf(stderr, "pombo-sendmail: cannot reach queued at %s: "
		    "%s\n", c->queue_socket, reply);
		return -1;
	}
	return 0;
}

/*
 * The EXPN reply, a line at a time: a 250's targets are printed as they
 * come ("250-2.1.5 <a>", "250 2.1.5 <b>" as "<a>, <b>"), however many an
 * alias has; of any other reply the first line is kept for the verdict.
 */
struct expn {
	const char	*addr;
	char		 first[QCLIENT_REPLY_MAX];
	int		 lines;
};

static void
expn_line(void *arg, const char *line, int final)
{
	struct expn *e = arg;
	const char *t = line[3] ? line + 4 : line + 3;	/* "250" alone */

	if (e->lines++ == 0)
		str_copy_trunc(e->first, line, sizeof(e->first));
	if (strncmp(line, "250", 3) != 0)
		return;
	if (e->lines == 1)
		printf("%s: deliverable: ", e->addr);
	/* the enhanced code, "2.1.5 " */
	if (strncmp(t, "2.", 2) == 0 && strchr(t, ' '))
		t = strchr(t, ' ') + 1;
	printf("%s%s%s", e->lines == 1 ? "" : ", ", t, final ? "\n" : "");
}

static enum verdict
verify_one(const struct conf *c, struct qclient *q, const char *arg)
{
	char addr[ADDR_MAX + 1], copy[ADDR_MAX + 3];
	struct expn e;
	struct addr a;
	size_t n;
	int code;

	/* "<a@b>" as Postfix takes it; a user name alone is at hostname */
	if (str_copy(copy, arg, sizeof(copy)) == -1)
		goto bad;
	n = strlen(copy);
	if (n >= 2 && copy[0] == '<' && copy[n - 1] == '>') {
		memmove(copy, copy + 1, n - 2);
		copy[n - 2] = '\0';
	}
	/* the address goes on one protocol line: printable only */
	if (!str_printable(copy) || sendmail_qualify(copy, c->hostname, addr,
	    sizeof(addr)) == -1 || addr_parse_mailbox(addr, ADDR_UTF8_OK,
	    &a) == -1)
		goto bad;
	e.addr = addr;
	e.lines = 0;
	code = -1;
	if (qclient_send(q, "EXPN <%s>", addr) == 0)
		code = qclient_reply_each(q, expn_line, &e);
	if (code == 250)
		return V_OK;
	if (code < 0) {
		/* gone in the middle of a 250's targets: end that line */
		printf("%s%s: unknown for now: 451 4.3.0 Queue unavailable\n",
		    e.lines > 0 && strncmp(e.first, "250", 3) == 0 ? "\n" :
		    "", addr);
		return V_TEMP;
	}
	/* 502: not for this user (enable_expn off, not root) */
	if (code == 502) {
		printf("%s: unknown for now: %s\n", addr, e.first);
		return V_TEMP;
	}
	if (code == 252) {
		printf("%s: deliverable: not a local address, queued sends it "
		    "to %s\n", addr, a.domain);
		return V_OK;
	}
	printf("%s: %s: %s\n", addr, code >= 500 ? "undeliverable" :
	    "unknown for now", e.first);
	return code >= 500 ? V_BAD : V_TEMP;
bad:
	printf("%s: undeliverable: not an address\n", arg);
	return V_BAD;
}

/* -bv and -bt count the same way: exit_code says the worst */
static void
tally(enum verdict v, size_t *bad, size_t *temp)
{
	if (v == V_BAD)
		(*bad)++;
	else if (v == V_TEMP)
		(*temp)++;
}

static void
quit(struct qclient *q)
{
	char reply[QCLIENT_REPLY_MAX];

	qclient_cmd(q, reply, sizeof(reply), "QUIT");
	qclient_close(q);
}

static int
exit_code(size_t bad, size_t temp)
{
	return bad ? EX_NOUSER : temp ? EX_TEMPFAIL : EX_OK;
}

int
sm_verify(const struct conf *c, char *const addrs[], int n)
{
	struct qclient q;
	size_t bad = 0, temp = 0;
	int i;

	if (open_queue(c, &q) == -1)
		return EX_TEMPFAIL;
	for (i = 0; i < n; i++) {
		char list[4096], *tok, *save = NULL;
		/* each argument may be a list, as when sending */
		if (str_copy(list, addrs[i], sizeof(list)) == -1) {
			printf("%.60s...: undeliverable: too long\n", addrs[i]);
			bad++;
			continue;
		}
		for (tok = strtok_r(list, ", ", &save); tok;
		    tok = strtok_r(NULL, ", ", &save))
			tally(verify_one(c, &q, tok), &bad, &temp);
	}
	quit(&q);
	return exit_code(bad, temp);
}

/*
 * Sendmail's test mode reads "rulesets address" lines; Pombo has no
 * rulesets, so a first word before a blank is skipped (unless the
 * address starts with a quoted local part, which may hold blanks), and
 * the rest is the address. Sendmail's "/" and "." commands are not
 * supported.
 */
int
sm_test(const struct conf *c, FILE *in)
{
	char line[TEST_LINE_MAX + 2], *p, *e;
	struct qclient q;
	size_t bad = 0, temp = 0, n;

	if (open_queue(c, &q) == -1)
		return EX_TEMPFAIL;
	while (fgets(line, sizeof(line), in) != NULL) {
		n = strlen(line);
		if (n > 0 && line[n - 1] != '\n' && !feof(in)) {
			int ch;
			/* a line that long is no address: skip its rest */
			while ((ch = getc(in)) != EOF && ch != '\n')
				;
			printf("(line too long): undeliverable: not an "
			    "address\n");
			bad++;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && (e[-1] == ' ' ||
		    e[-1] == '\t'); e--)
			;
		*e = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '/' || *p == '.') {
			printf("%s: not supported (Pombo has no rulesets)\n",
			    p);
			continue;
		}
		if (*p != '"' && strpbrk(p, " \t") != NULL)
			p = strpbrk(p, " \t") + strspn(strpbrk(p, " \t"), " \t");
		tally(verify_one(c, &q, p), &bad, &temp);
		fflush(stdout);		/* one answer per line, as typed */
	}
	quit(&q);
	return exit_code(bad, temp);
}

int
sm_newaliases(const struct conf *c, const char *path)
{
	struct aliases a;
	char err[1024];

	if (path == NULL)
		path = c->aliases_file;
	if (aliases_load(&a, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "pombo-sendmail: %s\n", err);
		return EX_DATAERR;
	}
	printf("%s: %zu alias%s; queued rereads the file when it changes, "
	    "there is no database to build\n", path, a.n, a.n == 1 ? "" :
	    "es");
	aliases_free(&a);
	return EX_OK;
}

int
sm_daemon(const struct conf *c)
{
	struct qclient q;

	if (open_queue(c, &q) == -1) {
		fprintf(stderr, "pombo-sendmail: queued runs from systemd "
		    "(systemctl start pombo-queued.socket pombo-queued.service)"
		    ", not from sendmail -bd\n");
		return EX_UNAVAILABLE;
	}
	printf("queued is running at %s\n", c->queue_socket);
	quit(&q);
	return EX_OK;
}
