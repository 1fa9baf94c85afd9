/*
 * milter_client_fuzz: queued's milter client (queued/daemon/milter.c)
 * as a hostile filter drives it: the input is everything the filter
 * says, from the negotiation on, sent down a Unix socket before its
 * end is shut; the client plays a whole session (connect .. EOM, with
 * an abort where the first octet says) on its own sd-event loop.
 * Invariants: every step is answered exactly once; a refusal carries a
 * 4xx/5xx reply of its class; changes come only at EOM, with valid
 * header names, and apply to a message without error.
 */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "milter.h"

static const char msg[] = "Received: from x\n\tby y\nFrom: a@b.test\n"
    "Subject: hi\n\nbody\n";

static struct {
	int	 lfd, devnull;
	char	 spec[128];
	int	 done, step;
} g;

static void
setup(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "/tmp/milter_client_fuzz.%d", (int)getpid());
	unlink(sun.sun_path);
	g.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g.lfd == -1 || bind(g.lfd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 || listen(g.lfd, 4) == -1)
		abort();
	snprintf(g.spec, sizeof(g.spec), "unix:%s", sun.sun_path);
	g.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
}

static void
on_result(void *arg, const struct milter_result *r)
{
	size_t i;

	(void)arg;
	FUZZ_ASSERT(!g.done);
	g.done = 1;
	FUZZ_ASSERT(r->verdict >= MILTER_CONTINUE &&
	    r->verdict <= MILTER_DISCARD);
	if (r->verdict == MILTER_REJECT)
		FUZZ_ASSERT(r->reply[0] == '5' || (r->reply[0] == '4' &&
		    r->reply[1] == '2' && r->reply[2] == '1'));
	if (r->verdict == MILTER_TEMPFAIL)
		FUZZ_ASSERT(r->reply[0] == '4');
	if (r->mods == NULL)
		return;
	FUZZ_ASSERT(g.step == 9);
	for (i = 0; i < r->mods->n; i++)
		if (r->mods->v[i].type <= MILTER_MOD_CHGHDR)
			FUZZ_ASSERT(milter_proto_header_name_ok(
			    r->mods->v[i].name));
	FUZZ_ASSERT(milter_edit_apply(msg, sizeof(msg) - 1, r->mods,
	    g.devnull) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_opts o = { MILTER_TEMPFAIL, 10000000, 10000000,
	    10000000, 1 << 16 };
	const char *mail[] = { "<a@b.test>", "SIZE=10" };
	const char *rcpt[] = { "<c@d.test>" };
	sd_event *e;
	struct milter *m;
	int fd, abort_at, sndbuf = 1 << 20;
	size_t off = 1;

	if (g.lfd == 0)
		setup();
	if (size < 1)
		return 0;
	abort_at = data[0] % 16;
	if (sd_event_new(&e) < 0)
		abort();
	m = milter_new(e, g.spec, &o, on_result, NULL);
	FUZZ_ASSERT(m != NULL);
	milter_set_macro(m, "i", "01k177h582jc");
	g.done = 0;
	g.step = 0;
	FUZZ_ASSERT(milter_connect(m, "client.test", "192.0.2.1", 25) == 0);
	if ((fd = accept4(g.lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		abort();
	/* the whole input, then end of file; what the client writes stays
	 * in the socket's buffer, never read */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		int rc = 0;

		while (!g.done)
			if (sd_event_run(e, 5000000) <= 0)
				FUZZ_ASSERT(!"the client hung");
		g.done = 0;
		if (g.step == abort_at)
			milter_abort(m);
		switch (++g.step) {
		case 1: rc = milter_helo(m, "client.test"); break;
		case 2: rc = milter_mail(m, mail, 2); break;
		case 3: rc = milter_rcpt(m, rcpt, 1); break;
		case 4: rc = milter_data(m); break;
		case 5: rc = milter_header(m, "From", " a@b.test"); break;
		case 6: rc = milter_header(m, "Subject", " hi\n\tthere"); break;
		case 7: rc = milter_eoh(m); break;
		case 8: rc = milter_body(m, "body\n", 5); break;
		case 9: rc = milter_eom(m); break;
		}
		FUZZ_ASSERT(rc == 0);
		if (g.step > 9)
			break;
	}
	milter_free(m);
	close(fd);
	sd_event_unref(e);
	return 0;
}
