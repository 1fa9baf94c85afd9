/*
 * commands: the POP3 command table (RFC 1939 4-7, RFC 2449 CAPA, RFC
 * 2595 STLS). Each
 * check only validates and replies on failure; each proceed acts. The
 * response codes in brackets are RFC 2449 8 ([IN-USE], [SYS/TEMP]) and
 * RFC 3206 ([AUTH]).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmdtab.h"
#include "log.h"
#include "login.h"
#include "maildir.h"
#include "pop3d.h"
#include "str.h"
#include "transfer.h"

#define S(v) struct pop3_session *s = (v)

/*
 * A decimal number of at most digits digits, all of s (RFC 1939 3:
 * arguments are separated by single spaces, so nothing else is taken).
 */
static int
parse_num(const char *s, size_t digits, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= digits)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return -1;
	*out = v;
	return 0;
}

static int
check_noarg(void *v, char *arg)
{
	S(v);

	if (*arg != '\0') {
		pop3d_session_error(s, "-ERR Syntax: no arguments allowed");
		return -1;
	}
	return 0;
}

/* A message number that names a live message (RFC 1939 5). */
static int
check_msgno(struct pop3_session *s, const char *arg)
{
	uint64_t n;

	if (parse_num(arg, 10, &n) == -1) {
		pop3d_session_error(s, "-ERR Invalid message number");
		return -1;
	}
	if (n == 0 || n > s->mb.n) {
		pop3d_session_reply(s, "-ERR No such message, only %zu in the "
		    "mailbox", s->mb.n);
		return -1;
	}
	if (s->mb.msg[n - 1].flags & MSG_DELETED) {
		pop3d_session_reply(s, "-ERR Message %" PRIu64 " is deleted", n);
		return -1;
	}
	s->msgno = (size_t)(n - 1);
	s->has_msgno = 1;
	return 0;
}

static int
check_msg(void *v, char *arg)
{
	S(v);

	if (*arg == '\0') {
		pop3d_session_error(s, "-ERR Syntax: a message number is needed");
		return -1;
	}
	return check_msgno(s, arg);
}

/* LIST and UIDL: one message, or all of them. */
static int
check_optmsg(void *v, char *arg)
{
	S(v);

	s->has_msgno = 0;
	if (*arg == '\0')
		return 0;
	return check_msgno(s, arg);
}

static int
check_top(void *v, char *arg)
{
	S(v);
	char *sp = strchr(arg, ' ');

	if (sp == NULL) {
		pop3d_session_error(s, "-ERR Syntax: TOP message lines");
		return -1;
	}
	*sp = '\0';
	if (parse_num(sp + 1, 19, &s->lines) == -1) {
		pop3d_session_error(s, "-ERR Invalid number of lines");
		return -1;
	}
	return check_msgno(s, arg);
}

static void
proceed_capa(void *v, char *arg)
{
	S(v);

	/*
	 * RFC 2449 6. No APOP: it needs every password in clear text on
	 * the server. USER only where passwords may travel (RFC 2595 4).
	 */
	pop3d_session_reply(s, "+OK Capability list follows");
	pop3d_session_reply(s, "TOP");
	pop3d_session_reply(s, "UIDL");
	if (s->state == ST_AUTHORIZATION && stls_offered(s))
		pop3d_session_reply(s, "STLS");
	if (auth_plaintext_ok(s)) {
		pop3d_session_reply(s, "USER");
		pop3d_session_reply(s, "SASL PLAIN");
	}
	pop3d_session_reply(s, "RESP-CODES");
	pop3d_session_reply(s, "PIPELINING");
	pop3d_session_reply(s, "AUTH-RESP-CODE");
	pop3d_session_reply(s, "IMPLEMENTATION Pombo");
	pop3d_session_reply(s, ".");
}

static int
check_user(void *v, char *arg)
{
	S(v);

	if (!auth_plaintext_ok(s)) {
		pop3d_session_error(s, "-ERR [AUTH] No logins in clear text: %s",
		    stls_offered(s) ? "use STLS first" : "TLS needed");
		return -1;
	}
	if (*arg == '\0') {
		pop3d_session_error(s, "-ERR Syntax: USER name");
		return -1;
	}
	return 0;
}

static void
proceed_user(void *v, char *arg)
{
	S(v);

	/* the same reply for every name: it tells nothing of who exists */
	str_copy_trunc(s->user, arg, sizeof(s->user));
	s->have_user = 1;
	pop3d_session_reply(s, "+OK Send your password");
}

static int
check_pass(void *v, char *arg)
{
	S(v);

	if (!s->have_user) {
		pop3d_session_error(s, "-ERR Send USER first");
		return -1;
	}
	if (*arg == '\0') {
		pop3d_session_error(s, "-ERR Syntax: PASS password");
		return -1;
	}
	return 0;
}

static void
login_failed(struct pop3_session *s, int64_t start)
{
	s->failures++;
	login_log_failure(s->client, s->user, s->failures,
	    s->conf->max_login_failures);
	/* the reply waits, so guessing is slow; flush what came before */
	lineio_flush(&s->io);
	login_fail_wait(start, s->conf->login_delay);
	pop3d_session_reply(s, "-ERR [AUTH] Invalid user name or password");
	if (s->failures >= s->conf->max_login_failures) {
		log_info("too many failed logins from %s, closing", s->client);
		s->quit = 1;
	}
}

/*
 * After a login attempt (PASS or AUTH) that began at start (lineio_now()
 * before the check): into the mailbox, or not.
 */
static void
login_result(struct pop3_session *s, enum login_result r, const char *addr,
    const char *path, int64_t start)
{
	switch (r) {
	case LOGIN_TEMP:
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Cannot check passwords now, "
		    "try again later");
		return;
	case LOGIN_FAIL:
		login_failed(s, start);
		return;
	case LOGIN_AUTHZ:
		/* RFC 4616 2: authenticated, but no acting for someone else */
		log_info("%s from %s: authzid refused", addr, s->client);
		pop3d_session_error(s, "-ERR [AUTH] Not authorized to act as that "
		    "user");
		return;
	case LOGIN_OK:
		break;
	}
	switch (mailbox_open(&s->mb, path)) {
	case MAILBOX_INUSE:
		log_info("%s from %s: mailbox in use", addr, s->client);
		pop3d_session_reply(s, "-ERR [IN-USE] Mailbox is locked by another "
		    "session");
		return;
	case MAILBOX_ERROR:
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try "
		    "again later");
		return;
	case MAILBOX_OK:
		break;
	}
	str_copy_trunc(s->addr, addr, sizeof(s->addr));
	s->state = ST_TRANSACTION;
	log_info("login %s from %s: %zu messages", s->addr, s->client,
	    s->mb.n);
	pop3d_session_reply(s, "+OK Logged in, %zu messages (%" PRIu64 " octets)",
	    mailbox_count(&s->mb), mailbox_size(&s->mb));
}

static void
proceed_pass(void *v, char *arg)
{
	S(v);
	char addr[ADDR_MAX + 1], path[PATH_MAX];
	enum login_result r;
	int64_t start = lineio_now();

	r = login_check(s->conf, s->user, arg, addr, sizeof(addr), path,
	    sizeof(path));
	/*
	 * The password is in arg (the caller clears the line) and in the
	 * consumed part of the input buffer: clear that too.
	 */
	explicit_bzero(arg, strlen(arg));
	lineio_forget_consumed(&s->io);
	s->have_user = 0;
	login_result(s, r, addr, path, start);
}

static int
check_auth(void *v, char *arg)
{
	S(v);

	if (!auth_plaintext_ok(s)) {
		pop3d_session_error(s, "-ERR [AUTH] No logins in clear text: %s",
		    stls_offered(s) ? "use STLS first" : "TLS needed");
		return -1;
	}
	if (*arg == '\0') {
		pop3d_session_error(s, "-ERR Syntax: AUTH mechanism");
		return -1;
	}
	return 0;
}

/* AUTH PLAIN (RFC 5034, RFC 4616), with or without an initial response. */
static void
proceed_auth(void *v, char *arg)
{
	S(v);
	char line[LOGIN_SASL_LINE_MAX + 1], dec[LOGIN_SASL_MAX];
	char addr[ADDR_MAX + 1], path[PATH_MAX];
	const char *initial, *authz, *user, *pass;
	size_t len;
	int64_t start;
	int crlf;

	initial = strchr(arg, ' ');
	if (initial != NULL)
		arg[initial++ - arg] = '\0';
	if (strcasecmp(arg, "PLAIN") != 0) {
		pop3d_session_error(s, "-ERR Unrecognized authentication type");
		goto out;
	}
	if (initial == NULL) {
		pop3d_session_reply(s, "+ ");
		/* RFC 5034 4: the 255-octet line limit is not for responses */
		switch (lineio_read(&s->io, line, LOGIN_SASL_LINE_MAX, &len,
		    &crlf, lineio_now() +
		    (int64_t)s->conf->pop3_timeout * 1000)) {
		case LINEIO_OK:
			break;
		case LINEIO_TOOLONG:
			pop3d_session_error(s, "-ERR Authentication line too long");
			goto out;
		default:
			s->quit = 1;
			goto out;
		}
		if (strcmp(line, "*") == 0) {
			pop3d_session_error(s, "-ERR Authentication cancelled");
			goto out;
		}
		initial = line;
	}
	if (login_sasl_plain(strcmp(initial, "=") == 0 ? "" : initial, dec,
	    sizeof(dec), &authz, &user, &pass) == -1) {
		pop3d_session_error(s, "-ERR Cannot decode the AUTH PLAIN response");
		goto out;
	}
	str_copy_trunc(s->user, user, sizeof(s->user));
	start = lineio_now();
	login_result(s, login_check_as(s->conf, authz, user, pass, addr,
	    sizeof(addr), path, sizeof(path)), addr, path, start);
out:
	/* on every path: the response, decoded or not, was a password */
	explicit_bzero(dec, sizeof(dec));
	explicit_bzero(line, sizeof(line));
	lineio_forget_consumed(&s->io);
}

static int
check_stls(void *v, char *arg)
{
	S(v);

	if (!stls_offered(s)) {
		pop3d_session_error(s, s->tls ? "-ERR TLS already active" :
		    "-ERR STLS not available");
		return -1;
	}
	return check_noarg(v, arg);
}

static void
proceed_stls(void *v, char *arg)
{
	S(v);

	if (stls_start(s, "+OK Begin TLS negotiation",
	    "-ERR [SYS/TEMP] TLS not available") == -1)
		s->quit = 1;	/* a failed handshake ends the session */
}

static int
check_apop(void *v, char *arg)
{
	S(v);

	pop3d_session_error(s, "-ERR APOP is not offered (it needs clear-text "
	    "passwords on the server); use USER and PASS");
	return -1;
}

static void
proceed_quit(void *v, char *arg)
{
	S(v);
	size_t left, failed;

	s->quit = 1;
	if (s->state != ST_TRANSACTION) {
		pop3d_session_reply(s, "+OK Pombo POP3 server signing off");
		return;
	}
	/* RFC 1939 6: only a QUIT in TRANSACTION commits the marks */
	s->state = ST_UPDATE;
	left = mailbox_count(&s->mb);
	failed = mailbox_update(&s->mb);
	log_info("logout %s: %zu deleted, %zu left%s", s->addr,
	    s->mb.ndeleted, left, failed ? ", some deletions failed" : "");
	/* unlock before the reply: a client may reconnect at once */
	mailbox_close(&s->mb);
	if (failed)
		pop3d_session_reply(s, "-ERR [SYS/TEMP] some deleted messages not "
		    "removed");
	else
		pop3d_session_reply(s, "+OK Pombo POP3 server signing off (%zu "
		    "messages left)", left);
}

static void
proceed_stat(void *v, char *arg)
{
	S(v);

	/* RFC 1939 5: exactly "+OK count octets" */
	pop3d_session_reply(s, "+OK %zu %" PRIu64, mailbox_count(&s->mb),
	    mailbox_size(&s->mb));
}

static void
proceed_list(void *v, char *arg)
{
	S(v);
	size_t i;

	if (s->has_msgno) {
		pop3d_session_reply(s, "+OK %zu %" PRIu64, s->msgno + 1,
		    s->mb.msg[s->msgno].size);
		return;
	}
	pop3d_session_reply(s, "+OK %zu messages (%" PRIu64 " octets)",
	    mailbox_count(&s->mb), mailbox_size(&s->mb));
	for (i = 0; i < s->mb.n && !s->quit; i++)
		if (!(s->mb.msg[i].flags & MSG_DELETED))
			pop3d_session_reply(s, "%zu %" PRIu64, i + 1,
			    s->mb.msg[i].size);
	pop3d_session_reply(s, ".");
}

static void
proceed_uidl(void *v, char *arg)
{
	S(v);
	char uid[MAILDIR_UIDL_MAX + 1];
	size_t i;

	if (s->has_msgno) {
		maildir_uidl(mailbox_name(&s->mb, s->msgno), uid);
		pop3d_session_reply(s, "+OK %zu %s", s->msgno + 1, uid);
		return;
	}
	pop3d_session_reply(s, "+OK Unique-ID listing follows");
	for (i = 0; i < s->mb.n && !s->quit; i++) {
		if (s->mb.msg[i].flags & MSG_DELETED)
			continue;
		maildir_uidl(mailbox_name(&s->mb, i), uid);
		pop3d_session_reply(s, "%zu %s", i + 1, uid);
	}
	pop3d_session_reply(s, ".");
}

/* RETR and TOP: +OK only once the file is open, then the octets. */
static void
send_msg(struct pop3_session *s, size_t i, uint64_t lines)
{
	int fd;

	if ((fd = mailbox_open_msg(&s->mb, i)) == -1) {
		log_warn("%s: open %s", s->addr, mailbox_name(&s->mb, i));
		pop3d_session_reply(s, "-ERR [SYS/TEMP] Cannot read message %zu",
		    i + 1);
		return;
	}
	if (lines == TRANSFER_ALL)
		pop3d_session_reply(s, "+OK %" PRIu64 " octets", s->mb.msg[i].size);
	else
		pop3d_session_reply(s, "+OK Top of message follows");
	if (transfer_send(fd, &s->io, lines) == -1) {
		/* the multi-line response is broken: only closing is left */
		log_warnx("%s: sending message %zu to %s failed, closing",
		    s->addr, i + 1, s->client);
		s->quit = 1;
	} else if (lines == TRANSFER_ALL)
		s->mb.msg[i].flags |= MSG_RETRIEVED;
	close(fd);
}

static void
proceed_retr(void *v, char *arg)
{
	S(v);

	send_msg(s, s->msgno, TRANSFER_ALL);
}

static void
proceed_top(void *v, char *arg)
{
	S(v);

	/* at most 19 digits: never TRANSFER_ALL, so TOP never marks seen */
	send_msg(s, s->msgno, s->lines);
}

static void
proceed_dele(void *v, char *arg)
{
	S(v);

	mailbox_delete(&s->mb, s->msgno);
	pop3d_session_reply(s, "+OK Message %zu deleted", s->msgno + 1);
}

static void
proceed_noop(void *v, char *arg)
{
	S(v);

	pop3d_session_reply(s, "+OK");
}

static void
proceed_rset(void *v, char *arg)
{
	S(v);

	mailbox_undelete_all(&s->mb);
	pop3d_session_reply(s, "+OK %zu messages (%" PRIu64 " octets)",
	    mailbox_count(&s->mb), mailbox_size(&s->mb));
}

static int
check_unknown(void *v, char *arg)
{
	S(v);

	pop3d_session_error(s, "-ERR Unknown command");
	return -1;
}

#define AUTHZ	ST_AUTHORIZATION
#define TRANS	ST_TRANSACTION
#define LOGGED_IN	"-ERR Already logged in"
#define NOT_YET		"-ERR Not logged in: USER and PASS first"

static const struct cmdtab pop3_commands[] = {
	{ "CAPA", AUTHZ | TRANS, 0, NULL, check_noarg, proceed_capa },
	{ "USER", AUTHZ, 0, LOGGED_IN, check_user, proceed_user },
	{ "PASS", AUTHZ, 0, LOGGED_IN, check_pass, proceed_pass },
	{ "APOP", AUTHZ, 0, LOGGED_IN, check_apop, NULL },
	{ "STLS", AUTHZ, 0, LOGGED_IN, check_stls, proceed_stls },
	{ "AUTH", AUTHZ, 0, LOGGED_IN, check_auth, proceed_auth },
	{ "QUIT", AUTHZ | TRANS, 0, NULL, check_noarg, proceed_quit },
	{ "STAT", TRANS, 0, NOT_YET, check_noarg, proceed_stat },
	{ "LIST", TRANS, 0, NOT_YET, check_optmsg, proceed_list },
	{ "RETR", TRANS, 0, NOT_YET, check_msg, proceed_retr },
	{ "DELE", TRANS, 0, NOT_YET, check_msg, proceed_dele },
	{ "NOOP", TRANS, 0, NOT_YET, check_noarg, proceed_noop },
	{ "RSET", TRANS, 0, NOT_YET, check_noarg, proceed_rset },
	{ "TOP", TRANS, 0, NOT_YET, check_top, proceed_top },
	{ "UIDL", TRANS, 0, NOT_YET, check_optmsg, proceed_uidl },
	{ NULL, AUTHZ | TRANS, 0, NULL, check_unknown, NULL },
};

void
pop3d_commands_dispatch(struct pop3_session *s, char *line)
{
	const struct cmdtab *c;
	char *arg;

	c = cmdtab_find(pop3_commands, line, &arg);
	if (!(c->states & s->state)) {
		pop3d_session_error(s, "%s", c->badseq);
		return;
	}
	if (c->check != NULL && c->check(s, arg) == -1)
		return;
	if (c->proceed != NULL)
		c->proceed(s, arg);
}
