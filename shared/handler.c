/*
 * handler: the common start of the per-connection programs. The order
 * is the point: nothing is read from the client before the drop.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fileio.h"
#include "handler.h"
#include "log.h"
#include "privdrop.h"
#include "str.h"

/*
 * The configuration did not load: its log_file line, wherever it is in
 * the file, so that without a syslog daemon (inetd in a container) the
 * error naming the file and line is not lost with the client's "421".
 * As root only into a file that exists: one made by root now would
 * shut out the unprivileged handlers later.
 */
static void
log_file_of_broken(const char *path)
{
	struct buf text;
	char err[256], line[4096], *hash, *key, *val, *eq;
	const char *nl;
	size_t pos = 0, n;

	buf_init(&text, CONF_FILE_MAX);
	if (fileio_read(path, 0, &text, err, sizeof(err)) == -1) {
		buf_free(&text);
		return;
	}
	while (pos < text.len) {
		nl = memchr(text.data + pos, '\n', text.len - pos);
		n = nl ? (size_t)(nl - (text.data + pos)) : text.len - pos;
		if (n >= sizeof(line)) {
			pos += n + 1;
			continue;
		}
		memcpy(line, text.data + pos, n);
		line[n] = '\0';
		pos += n + 1;
		/* as conf_parse: '#' at the start or after a blank */
		for (hash = line; (hash = strchr(hash, '#')) != NULL; hash++)
			if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
				*hash = '\0';
				break;
			}
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		key = str_trim(line);
		val = str_trim(eq + 1);
		if (strcmp(key, "log_file") == 0 && val[0] == '/' &&
		    (geteuid() != 0 || access(val, F_OK) == 0)) {
			log_set_file(val);
			break;
		}
	}
	buf_free(&text);
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
