/*
 * pop3d: one POP3 session on fd 0/1, spawned per connection by inetd or
 * a systemd socket unit (Accept=yes), or fed a script on a pipe.
 *
 * Runs as: the owner of the Maildirs (it unlinks and renames messages).
 * Started as root, it becomes the conf key user before it reads from the
 * client.
 * May touch: its config, the users file (read), the TLS key (read), the
 * Maildir of the user who logged in, and nothing else.
 * Trusts: the config and the users file; nothing the client says.
 * Logs to syslog only: under inetd, stderr is the client's socket.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "log.h"
#include "peer.h"
#include "pop3d.h"
#include "str.h"

static void
usage(void)
{
	/* stdout is the client: say it as a POP3 reply */
	printf("-ERR usage: pop3d [-c config] [--implicit-tls]\r\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	/* static: the session holds 32 KiB of line buffers */
	static struct pop3_session s;
	struct conf conf;
	const char *confpath = NULL;
	struct peer peer;
	int ch, implicit_tls = 0;
	static const struct option longopts[] = {
		{ "implicit-tls", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 't':
			implicit_tls = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * A fixed mmap threshold: the mailbox's name arena and table grow
	 * by realloc, which then moves big blocks with mremap instead of
	 * copying them and leaving the old copies resident in the heap
	 * (glibc raises the threshold after conf_load frees its 1 MiB).
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/*
	 * One arena: the Maildir scan's reader threads (dirscan.c) grow the
	 * same tables, and each would get an arena of its own, 64 MB of
	 * address space, for one scan.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (handler_start("pombo/pop3d", confpath, "-ERR [SYS/TEMP]", &conf,
	    &peer) == -1)
		return 1;
	log_info("connect from %s", peer.addr);
	pop3d_session_init(&s, &conf, 0, 1, peer.local, peer.addr);
	/* RFC 8314: TLS from the first byte, before the greeting */
	if (implicit_tls && (!stls_offered(&s) ||
	    stls_start(&s, NULL, NULL) != 0)) {
		log_warnx("%s: implicit TLS failed%s", peer.addr,
		    stls_offered(&s) ? "" : ": no tls_cert/tls_key");
		pop3d_session_free(&s);
		conf_free(&conf);
		return 1;
	}
	pop3d_session_run(&s);
	pop3d_session_free(&s);
	conf_free(&conf);
	return 0;
}
