/*
 * pombo-remote: the remote delivery agent. queued runs it per destination
 * with a batch of messages on stdin (the job names the domain or the
 * relayhost, and the DNS servers) and queue/ on fd 3; it writes one
 * result line per recipient on stdout.
 *
 * Runs as: queued's user. May touch: nothing on disk; reads queue/.
 * Trusts: its job; nothing from DNS or the network.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "dns.h"
#include "job.h"
#include "log.h"
#include "remote.h"

#define SPOOL_FD 3

static int
write_out(struct buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(1, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	buf_reset(b);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct remote_conf rc;
	struct buf in, out;
	struct job j;
	char chunk[65536], err[128];
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	log_init("pombo/remote", 0);
	buf_init(&in, 64 * 1024 * 1024);
	while ((n = read(0, chunk, sizeof(chunk))) > 0)
		if (buf_add(&in, chunk, (size_t)n) == -1)
			fatalx("job too large");
	if (n < 0)
		fatal("read job");
	if (job_parse(&j, in.data ? in.data : "", in.len, err, sizeof(err)) == -1 ||
	    j.dest[0] == '\0') {
		log_warnx("bad job from queued: %s", j.dest[0] ? err :
		    "no destination");
		buf_free(&in);
		job_free(&j);
		return EX_SOFTWARE;
	}
	buf_free(&in);
	memset(&rc, 0, sizeof(rc));
	rc.domain = j.dest;
	rc.relay = j.relay[0] ? j.relay : NULL;
	rc.port = j.port ? j.port : 25;
	rc.connect_ms = j.connect_timeout ? j.connect_timeout * 1000 : 30000;
	rc.timeout_ms = j.timeout ? j.timeout * 1000 : 300000;
	rc.tls = strcmp(j.tls, "none") == 0 ? TLS_POLICY_NONE :
	    strcmp(j.tls, "encrypt") == 0 ? TLS_POLICY_ENCRYPT :
	    strcmp(j.tls, "verify") == 0 ? TLS_POLICY_VERIFY : TLS_POLICY_MAY;
	rc.tls_ca = j.tls_ca[0] ? j.tls_ca : NULL;
	if (dns_init(j.dns[0] ? j.dns : NULL) == -1) {
		log_warnx("cannot set up DNS");
		return EX_TEMPFAIL;
	}
	buf_init(&out, 64 * 1024 * 1024);
	remote_deliver(&rc, &j, SPOOL_FD, &out, write_out);
	write_out(&out);
	buf_free(&out);
	dns_done();
	job_free(&j);
	return EX_OK;
}
