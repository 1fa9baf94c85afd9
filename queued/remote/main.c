/*
 * pombo-remote: the remote delivery agent. queued runs it per destination
 * with a batch of messages on stdin (the job names the domain or the
 * relayhost, and the DNS servers), queue/ on fd 3 and the spool's
 * mta-sts/ on fd 4; it writes one result line per recipient on stdout.
 *
 * Runs as: queued's user. May touch: the MTA-STS policies in mta-sts/
 * (its cache, written whole); reads queue/ and the DKIM key files the
 * job names.
 * Trusts: its job; nothing from DNS or the network.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "dkimsign.h"
#include "dns.h"
#include "job.h"
#include "log.h"
#include "mtasts.h"
#include "remote.h"
#include "resolve.h"
#include "str.h"

#define SPOOL_FD 3
#define MTASTS_FD 4

static int
flush_out(struct buf *b)
{
	return job_flush_results(1, b);
}

/*
 * The job's DKIM keys, loaded once for the whole batch when a message
 * is to be signed. queued checked them at start; one unusable now
 * (removed or replaced meanwhile) defers its domain's mail rather than
 * send it unsigned; the rest goes.
 */
static struct dkimsign *
load_keys(const struct job *j)
{
	struct dkimsign *s;
	char why[256];
	size_t i, k;

	for (i = 0; i < j->nmsg; i++)
		if (job_has_flag(&j->msgs[i], "dkim"))
			break;
	if (i == j->nmsg || j->ndkim == 0)
		return NULL;
	/* out of memory: no signer, so nothing waits on it */
	if ((s = dkimsign_new()) == NULL) {
		log_warnx("no DKIM signer (out of memory): mail goes unsigned");
		return NULL;
	}
	for (k = 0; k < j->ndkim; k++)
		if (dkimsign_add_key(s, j->dkim[k].domain, j->dkim[k].selector,
		    j->dkim[k].keyfile, why, sizeof(why)) == -1)
			log_warnx("DKIM key %s: %s", j->dkim[k].keyfile, why);
	return s;
}

int
main(int argc, char *argv[])
{
	struct remote_conf rc;
	struct stat sb;
	struct buf out;
	struct job j;
	char err[128];

	signal(SIGPIPE, SIG_IGN);
	/* to queued's stderr too: the TLS, DANE and MTA-STS results per
	 * delivery go where its delivery lines go (never twice into the
	 * journal) */
	log_init("pombo/remote", 1);
	log_agent_args(argc, argv);
	if (job_read(0, &j, err, sizeof(err)) == -1) {
		log_warnx("bad job from queued: %s", err);
		return EX_SOFTWARE;
	}
	if (j.dest[0] == '\0') {
		log_warnx("bad job from queued: no destination");
		job_free(&j);
		return EX_SOFTWARE;
	}
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
	rc.dane = j.dane[0] != '\0';
	rc.mta_sts = j.mta_sts_timeout != 0;
	rc.tls_reports = j.tls_reports;
	rc.sts_port = j.mta_sts_port;
	rc.sts_timeout_ms = j.mta_sts_timeout * 1000;
	/* the cache, if queued gave it (a folder on fd 4) */
	rc.sts_cachefd = fstat(MTASTS_FD, &sb) == 0 && S_ISDIR(sb.st_mode) ?
	    MTASTS_FD : -1;
	/*
	 * Every lookup (MX, addresses, TLSA, the TXT records of MTA-STS and
	 * TLS-RPT) through one libunbound context; an anchor that cannot be
	 * loaded defers: DANE is not given up.
	 */
	if (resolve_init(j.dns[0] ? j.dns : NULL, j.dane[0] ? j.dane : NULL,
	    0, err, sizeof(err)) == -1) {
		log_warnx("cannot set up DNS: %s", err);
		return EX_TEMPFAIL;
	}
	rc.signer = load_keys(&j);
	buf_init(&out, 64 * 1024 * 1024);
	/* a message whose lines it cannot read fails alone */
	if (job_reject_bad(&j, &out) > 0) {
		log_warnx("bad message lines in the job from queued");
		flush_out(&out);
	}
	remote_deliver(&rc, &j, SPOOL_FD, &out, flush_out);
	flush_out(&out);
	buf_free(&out);
	dkimsign_free(rc.signer);
	mtasts_done();
	resolve_done();
	job_free(&j);
	return EX_OK;
}
