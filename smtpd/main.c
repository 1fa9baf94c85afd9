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
#include "log.h"
#include "privdrop.h"
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

/*
 * The client's address: the socket's peer, or TCPREMOTEIP/REMOTE_ADDR
 * from a launcher that sets them; a pipe or file means a local session.
 */
static int
client_address(char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *env;
	unsigned char tmp[16];
	int is_socket = 1;

	str_copy(buf, "local", len);
	if (getpeername(0, (struct sockaddr *)&ss, &sl) == -1) {
		if (errno == ENOTSOCK)
			is_socket = 0;
	} else if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    buf, (socklen_t)len);
	} else if (ss.ss_family == AF_INET6) {
		struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a, buf, (socklen_t)len);
	}
	if (((env = getenv("TCPREMOTEIP")) != NULL ||
	    (env = getenv("REMOTE_ADDR")) != NULL) &&
	    (inet_pton(AF_INET, env, tmp) == 1 ||
	    inet_pton(AF_INET6, env, tmp) == 1))
		str_copy(buf, env, len);
	return is_socket;
}

int
main(int argc, char *argv[])
{
	static struct smtp_session s;
	struct conf conf;
	struct conf_error err;
	const char *confpath = NULL;
	char client[64];
	int ch, is_socket;

	static const struct option longopts[] = {
		{ "submission", no_argument, NULL, 's' },
		{ "implicit-tls", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int submission = 0, implicit_tls = 0;

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
		default:
			usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("pombo/smtpd", 0);
	if (conf_load(&conf, conf_path(confpath), &err) == -1) {
		log_warnx("%s", err.msg);
		printf("421 4.3.0 Service not available: configuration "
		    "error\r\n");
		conf_free(&conf);
		return 1;
	}
	/* as root, become conf.user before reading a byte from the client */
	if (privdrop(conf.user, err.msg, sizeof(err.msg)) == -1) {
		log_warnx("%s", err.msg);
		printf("421 4.3.0 Service not available\r\n");
		conf_free(&conf);
		return 1;
	}
	is_socket = client_address(client, sizeof(client));
	log_info("connect from %s%s", client, submission ? " (submission)" :
	    "");
	session_init(&s, &conf, 0, 1, !is_socket, client);
	s.submission = submission;
	/* RFC 8314: TLS from the first byte, before the greeting */
	if (implicit_tls && (!starttls_offered(&s) || starttls_start(&s) == -1)) {
		log_warnx("%s: implicit TLS failed%s", client,
		    starttls_offered(&s) ? "" : ": no tls_cert/tls_key");
		conf_free(&conf);
		return 1;
	}
	session_run(&s);
	tls_close(s.tls);
	log_info("disconnect from %s", client);
	conf_free(&conf);
	return 0;
}
