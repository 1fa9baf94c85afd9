/*
 * handler: the common start of the per-connection programs. The order
 * is the point: nothing is read from the client before the drop.
 */
#include "config.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handler.h"
#include "log.h"
#include "privdrop.h"

/*
 * The configuration did not load: its log_file line, wherever it is in
 * the file, so that without a syslog daemon (inetd in a container) the
 * error naming the file and line is not lost with the client's "421".
 * As root only into a file that exists (one made by root now would shut
 * out the unprivileged handlers later), and not through a symlink (the
 * user of a folder it is in could point it anywhere).
 */
static void
log_file_of_broken(const char *path)
{
	char file[PATH_MAX];

	if (conf_peek(path, "log_file", file, sizeof(file)) == -1 ||
	    file[0] != '/')
		return;
	if (geteuid() == 0)
		log_set_file_existing(file);
	else
		log_set_file(file);
}

int
handler_start(const char *ident, const char *confpath, const char *refusal,
    struct conf *conf, struct peer *peer)
{
	struct conf_error err;
	int one = 1;

	/* a client that goes away is a write error, not a death */
	signal(SIGPIPE, SIG_IGN);
	log_init(ident, 0);
	if (conf_load(conf, conf_path(confpath), &err) == -1) {
		log_file_of_broken(conf_path(confpath));
		log_warnx("%s", err.msg);
		printf("%s Service not available: configuration error\r\n",
		    refusal);
		conf_free(conf);
		return -1;
	}
	/* opened at its first line, after the drop: as conf->user */
	log_set_file(conf->log_file);
	/* as root, become conf->user before reading a byte from the client */
	if (privdrop(conf->user, err.msg, sizeof(err.msg)) == -1) {
		log_warnx("%s", err.msg);
		printf("%s Service not available\r\n", refusal);
		conf_free(conf);
		return -1;
	}
	peer_identify(0, peer);
	/* what Postfix and OpenSMTPD refuse: root facing the network */
	if (!peer->local && geteuid() == 0)
		log_warnx("serving %s as root: set user in %s, or start "
		    "%s unprivileged", peer->addr, conf_path(confpath), ident);
	/*
	 * lineio writes a whole reply (or a full buffer) at once: Nagle
	 * could only hold back the last short segment until the client's
	 * delayed ACK. A Unix socket says EOPNOTSUPP.
	 */
	if (peer->is_socket)
		(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	return 0;
}
