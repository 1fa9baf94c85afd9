/*
 * smtpd: one SMTP session on fd 0/1, spawned per connection by inetd or
 * a systemd socket unit (Accept=yes), or fed a script on a pipe.
 *
 * Runs as: whoever starts it (an unprivileged user in production).
 * May touch: nothing on disk but its config; talks to queued's socket.
 * Trusts: nothing the client says; queued's replies.
 * Logs to syslog only: under inetd, stderr is the client's socket.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "log.h"
#include "peer.h"
#include "reexec.h"
#include "smtpd.h"
#include "str.h"

static void
usage(void)
{
	/* stdout is the client: say it as an SMTP reply */
	printf("421 4.3.0 usage: smtpd [-c config] [--submission] "
	    "[--implicit-tls]\r\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	static struct smtp_session s;
	struct conf conf;
	const char *confpath = NULL;
	struct peer peer;
	int ch;

	static const struct option longopts[] = {
		{ "submission", no_argument, NULL, 's' },
		{ "implicit-tls", no_argument, NULL, 't' },
		/* smtpd-full's, from the static smtpd (reexec.h) */
		{ "check-login", no_argument, NULL, 'L' },
		{ "resume", required_argument, NULL, 'R' },
		{ "resume-helo", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int submission = 0, implicit_tls = 0, check_login = 0, greet = 1;
	const char *resume = NULL, *resume_helo = NULL;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 's':
			submission = 1;
			break;
		case 't':
			implicit_tls = 1;
			break;
		case 'L':
			check_login = 1;
			break;
		case 'R':
			resume = optarg;
			break;
		case 'H':
			resume_helo = optarg;
			break;
		default:
			usage();
		}
	}
	if (check_login)
		return reexec_check_login_main(confpath);
	if (handler_start("pombo/smtpd", confpath, "421 4.3.0", &conf,
	    &peer) == -1)
		return 1;
	if (resume == NULL)
		log_info("connect from %s%s", peer.addr, submission ?
		    " (submission)" : "");
	/* on a pipe, LF alone ends lines: scripts and sendmail -bs */
	smtpd_session_init(&s, &conf, 0, 1, !peer.is_socket, peer.addr);
	s.submission = submission;
	reexec_init(&s, argc, argv, confpath);
	if (resume != NULL) {
		switch (reexec_resume(&s, &conf, resume, resume_helo)) {
		case REEXEC_IMPLICIT:
			implicit_tls = 1;
			break;
		case REEXEC_STARTTLS:
			greet = 0;
			break;
		default:
			log_warnx("%s: bad --resume %s", peer.addr, resume);
			conf_free(&conf);
			return 1;
		}
	}
	/* RFC 8314: TLS from the first byte, before the greeting */
	if (implicit_tls && (!starttls_offered(&s) ||
	    starttls_start(&s, NULL, NULL) != 0)) {
		log_warnx("%s: implicit TLS failed%s", peer.addr,
		    starttls_offered(&s) ? "" : ": no tls_cert/tls_key");
		conf_free(&conf);
		return 1;
	}
	if (greet)
		smtpd_session_run(&s);
	else
		smtpd_session_loop(&s);
	tls_close(s.tls);
	log_info("disconnect from %s", peer.addr);
	conf_free(&conf);
	return 0;
}
