/*
 * queued: the one long-lived daemon. Owns the spool, decides policy,
 * schedules deliveries. Runs in the foreground under systemd (Type=notify,
 * socket-activated or binding queue_socket itself).
 *
 * Runs as: its own user (pombo), never root in production.
 * May touch: the spool; spawns the delivery agents.
 * Trusts: peers' uids (SO_PEERCRED) for admin commands; re-validates
 * everything smtpd sends, because smtpd faces the Internet.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "commit.h"
#include "conn.h"
#include "dkimkey.h"
#include "listener.h"
#include "log.h"
#include "qproto.h"
#include "queue.h"
#include "recipients.h"
#include "sched.h"
#include "verify.h"
#include "spool.h"
#include "stats.h"
#include "str.h"
#include "tlsrpt.h"

static int bound_here;

/*
 * Every dkim_keys file is read and checked here, as queued's user (the
 * one pombo-remote signs as): a missing, unreadable or weak key stops
 * the start, naming the config line, never a message at send time.
 */
static void
check_dkim_keys(const struct conf *c, const char *path)
{
	char dom[ADDR_DOMAIN_MAX + 1], sel[ADDR_DOMAIN_MAX + 1], why[256];
	struct dkimkey k;
	const char *file;
	size_t i, j, same;

	for (i = 0; i < c->n_dkim_keys; i++) {
		file = conf_dkim_key(c->dkim_keys[i], dom, sizeof(dom), sel,
		    sizeof(sel));
		if (dkimkey_load(&k, file, why, sizeof(why)) == -1)
			fatalx("%s:%zu: dkim_keys: %s: %s", path,
			    c->dkim_keys_line, file, why);
		dkimkey_free(&k);
		for (same = 1, j = 0; j < i; j++)
			same += strncmp(c->dkim_keys[j], dom, strlen(dom)) == 0 &&
			    c->dkim_keys[j][strlen(dom)] == ':';
		/* pombo-remote signs with at most 4 keys per message */
		if (same > 4)
			fatalx("%s:%zu: dkim_keys: more than 4 keys for %s",
			    path, c->dkim_keys_line, dom);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: queued [-d] [-c config]\n");
	exit(64);
}

/* Remove a stale socket file, but never steal a live daemon's socket. */
static void
unlink_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, (const struct sockaddr *)sun,
	    sizeof(*sun)) == 0)
		fatalx("another queued is listening on %s", sun->sun_path);
	if (fd != -1)
		close(fd);
	unlink(sun->sun_path);
}

static int
listen_socket(const struct conf *c)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)], *slash;
	int n, fd;

	n = sd_listen_fds(1);
	if (n > 1)
		fatalx("expected one socket from systemd, got %d", n);
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			fatalx("the socket from systemd is not a listening "
			    "Unix stream socket");
		/* accept() runs until EAGAIN: it must not block */
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
			fatal("fcntl");
		log_info("listening on the socket from systemd");
		return fd;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, c->queue_socket, sizeof(sun.sun_path)) == -1)
		fatalx("queue_socket too long");
	str_copy_trunc(dir, c->queue_socket, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", dir);
	}
	unlink_stale(&sun);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", c->queue_socket);
	/* who may submit is decided by the directory and the unit */
	if (chmod(c->queue_socket, 0666) == -1)
		fatal("chmod %s", c->queue_socket);
	if (listen(fd, SOMAXCONN) == -1)
		fatal("listen");
	bound_here = 1;
	log_info("listening on %s", c->queue_socket);
	return fd;
}

static struct spool_scan *scan;
static size_t nloaded;

static void
on_load(void *ud, struct envelope *e)
{
	struct qmsg *m = queue_add(e);

	/* it may have been delivered before a crash: agents check */
	m->recovered = 1;
	free(e);
	sched_add(m);
	nloaded++;
}

/*
 * The queue loads in steps from the loop, after READY=1: with a big
 * queue on a cold disk, reading every file first would keep new mail
 * waiting for many seconds.
 */
static int
on_scan(sd_event_source *s, void *ud)
{
	if (spool_scan_step(scan, 500, on_load, NULL) == 1)
		return 0;
	spool_scan_end(scan);
	scan = NULL;
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	log_info("queue loaded: %zu messages", nloaded);
	sd_notifyf(0, "STATUS=%zu messages queued", queue_count());
	return 0;
}

static void
on_commit(struct queued_ctx *c, struct qmsg *m)
{
	sched_add(m);
}

static int
on_admin(struct queued_ctx *c, int verb, const char *arg, char *reply,
    size_t len)
{
	struct qmsg *m = NULL;

	if (*arg && (!qid_valid(arg) || (m = queue_find(arg)) == NULL)) {
		str_fmt_trunc(reply, len, "550 5.1.0 No message %.20s in the queue",
		    arg);
		return 0;
	}
	if (m == NULL && verb != QCMD_FLUSH && verb != QCMD_TLSRPT)
		return -1;
	if (m && m->deleted) {
		/* deleted, gone when its agent is done: nothing else to do */
		if (verb == QCMD_DELETE)
			str_fmt_trunc(reply, len, "250 2.0.0 %s will be deleted "
			    "when its current delivery ends", arg);
		else
			str_fmt_trunc(reply, len, "550 5.1.0 %s is being deleted",
			    arg);
		return 0;
	}
	switch (verb) {
	case QCMD_TLSRPT:
		str_fmt_trunc(reply, len, "250 2.0.0 %d TLS reports queued",
		    tlsrpt_send(c, time(NULL), 1));
		return 0;
	case QCMD_FLUSH:
		if (m && (m->env.flags & ENV_HOLD)) {
			str_fmt_trunc(reply, len, "550 5.7.0 %s is held: release it "
			    "first", arg);
			return 0;
		}
		sched_flush(m);
		str_fmt_trunc(reply, len, "250 2.0.0 Flushed %s", m ? arg : "the queue");
		return 0;
	case QCMD_DELETE:
		if (m->nagents) {
			/*
			 * An agent has it: its file stays until the agent is
			 * done, then goes (sched.c, finish_deleted); held on
			 * disk meanwhile, so that a restart does not deliver
			 * it again.
			 */
			unsigned flags = m->env.flags;

			m->env.flags |= ENV_HOLD;
			if (spool_write_state(c->spool, &m->env) == -1) {
				m->env.flags = flags;
				str_fmt_trunc(reply, len, "451 4.3.0 Cannot mark "
				    "%s for deletion", arg);
				return 0;
			}
			m->deleted = 1;
			sched_forget(m);
			log_info("%s: deleted by the administrator while being "
			    "delivered: it goes when its delivery ends", arg);
			str_fmt_trunc(reply, len, "250 2.0.0 %s will be deleted "
			    "when its current delivery ends", arg);
			return 0;
		}
		if (spool_remove(c->spool, arg) == -1) {
			str_fmt_trunc(reply, len, "451 4.3.0 Cannot remove %s", arg);
			return 0;
		}
		log_info("%s: deleted by the administrator", arg);
		sched_forget(m);
		queue_remove(m);
		str_fmt_trunc(reply, len, "250 2.0.0 Deleted %s", arg);
		return 0;
	case QCMD_HOLD:
	case QCMD_RELEASE:
		if (verb == QCMD_HOLD)
			m->env.flags |= ENV_HOLD;
		else
			m->env.flags &= ~(unsigned)ENV_HOLD;
		if (spool_write_state(c->spool, &m->env) == -1) {
			str_fmt_trunc(reply, len, "451 4.3.0 Cannot record the hold "
			    "of %s", arg);
			return 0;
		}
		log_info("%s: %s by the administrator", arg, verb == QCMD_HOLD ?
		    "held" : "released");
		if (verb == QCMD_HOLD)
			sched_forget(m);
		else
			sched_flush(m);
		str_fmt_trunc(reply, len, "250 2.0.0 %s %s", verb == QCMD_HOLD ?
		    "Held" : "Released", arg);
		return 0;
	default:
		return -1;
	}
}

/*
 * The handlers' uid (handler_user): a name set in the file must exist;
 * the default (pombo-smtpd, as units/sysusers.d makes it) may be
 * missing, and then only root and queued's own user are handlers.
 */
static uid_t
handler_uid(const struct conf *c, const char *path)
{
	struct passwd *pw;

	if (c->handler_user[0] == '\0')
		return (uid_t)-1;
	errno = 0;
	if ((pw = getpwnam(c->handler_user)) != NULL)
		return pw->pw_uid;
	if (c->handler_user_line)
		fatalx("%s:%u: handler_user: %s: %s", path,
		    c->handler_user_line, c->handler_user, errno ?
		    strerror(errno) : "no such user");
	log_info("no user %s (handler_user): only root and uid %u speak for "
	    "network clients", c->handler_user, (unsigned)geteuid());
	return (uid_t)-1;
}

int
main(int argc, char *argv[])
{
	static struct conf conf;
	static struct spool spool;
	static struct queued_ctx ctx;
	struct conf_error err;
	const char *confpath = NULL;
	sd_event *event;
	sd_event_source *scan_src;
	sigset_t ss;
	int ch, debug = 0, lfd;

	while ((ch = getopt(argc, argv, "c:d")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		default:
			usage();
		}
	}
	log_init("pombo/queued", 1);
	log_set_debug(debug);
	if (conf_load(&conf, conf_path(confpath), &err) == -1)
		fatalx("%s", err.msg);
	log_set_file(conf.log_file);
	/*
	 * The handlers cannot say it (their stderr is the client): without
	 * syslog, their lines, failed logins among them, go nowhere.
	 */
	if (!log_syslog_there())
		log_warnx("no syslog daemon at %s: %s", _PATH_LOG,
		    conf.log_file[0] ? "lines go to log_file" :
		    "smtpd's and pop3d's lines are lost (set log_file)");
	ctx.handler_uid = handler_uid(&conf, conf_path(confpath));
	check_dkim_keys(&conf, conf_path(confpath));
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	if (recipients_load(&conf, err.msg, sizeof(err.msg)) == -1)
		fatalx("%s", err.msg);
	if (spool_open(&spool, conf.spool_dir) == -1)
		fatal("spool %s", conf.spool_dir);
	queue_init();
	stats_init(time(NULL));
	if ((scan = spool_scan_start(&spool)) == NULL)
		fatal("spool scan");
	lfd = listen_socket(&conf);

	/* before any thread starts: signals come through the loop */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if (sd_event_default(&event) < 0)
		fatalx("sd_event_default");
	sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
	sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
	if (listener_start(event, lfd, &conf) == -1)
		fatalx("cannot watch the listening socket");
	sd_event_set_watchdog(event, 1);

	ctx.conf = &conf;
	ctx.spool = &spool;
	ctx.event = event;
	ctx.on_commit = on_commit;
	ctx.on_admin = on_admin;
	conn_setup(&ctx);
	verify_init(&ctx);
	if (spool_janitor_start(&spool) == -1)
		fatalx("cannot start the spool janitor");
	sched_init(&ctx);
	tlsrpt_init(&ctx);
	if (sd_event_add_defer(event, &scan_src, on_scan, NULL) < 0)
		fatalx("cannot load the queue");
	sd_event_source_set_enabled(scan_src, SD_EVENT_ON);

	log_info("started; loading the queue");
	sd_notify(0, "READY=1\nSTATUS=loading the queue");
	sd_event_loop(event);

	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	if (bound_here)
		unlink(conf.queue_socket);
	if (scan != NULL)
		spool_scan_end(scan);
	sched_stop();
	commit_shutdown();
	spool_janitor_stop();
	sd_event_unref(event);
	spool_close(&spool);
	conf_free(&conf);
	return 0;
}
