/*
 * milter: the client's addresses, its options from pombo.conf, and
 * what the integration test's driver never does: a step aborted while
 * its answer is on the way, and misuse (a step while one waits).
 * The filter is a thread speaking the protocol on a Unix socket.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "milter.h"

Test(milter, specs)
{
	static const struct {
		const char *spec;
		int family;
		unsigned port;
	} t[] = {
		{ "unix:/run/x.sock", AF_UNIX, 0 },
		{ "local:/run/x.sock", AF_UNIX, 0 },
		{ "inet:127.0.0.1:11332", AF_INET, 11332 },
		{ "inet:localhost:8891", AF_INET, 8891 },
		{ "inet6:localhost:8891", AF_INET6, 8891 },
		{ "inet:[::1]:25", AF_INET6, 25 },
		{ "inet6:::1:25", AF_INET6, 25 },
		{ "inet:mx.test:25", -1, 0 },
		{ "inet:127.0.0.1", -1, 0 },
		{ "inet:127.0.0.1:0", -1, 0 },
		{ "inet:127.0.0.1:65536", -1, 0 },
		{ "inet:127.0.0.1:25x", -1, 0 },
		{ "inet6:127.0.0.1:25", -1, 0 },
		{ "unix:relative", -1, 0 },
		{ "tcp:127.0.0.1:25", -1, 0 },
	};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = milter_parse_spec(t[i].spec, &ss, &len);

		cr_expect_eq(rc == 0, t[i].family != -1, "%s", t[i].spec);
		if (rc == 0 && t[i].family != -1) {
			cr_expect_eq(ss.ss_family, t[i].family, "%s", t[i].spec);
			if (t[i].family == AF_INET)
				cr_expect_eq(ntohs(((struct sockaddr_in *)
				    (void *)&ss)->sin_port), t[i].port);
			if (t[i].family == AF_INET6)
				cr_expect_eq(ntohs(((struct sockaddr_in6 *)
				    (void *)&ss)->sin6_port), t[i].port);
		}
	}
}

Test(milter, opts)
{
	struct conf c;
	struct milter_opts o;

	conf_defaults(&c);
	milter_opts_conf(&o, &c);
	cr_expect_eq(o.default_action, MILTER_TEMPFAIL);
	cr_expect_eq(o.connect_usec, 30000000);
	cr_expect_eq(o.content_usec, 300000000);
	str_copy_trunc(c.milter_default_action, "accept",
	    sizeof(c.milter_default_action));
	milter_opts_conf(&o, &c);
	cr_expect_eq(o.default_action, MILTER_ACCEPT);
	conf_free(&c);
}

/* ---- a filter in a thread ---- */

struct fake {
	int	 lfd;
	char	 path[108];
	char	 got[64];	/* the commands it read, in order */
	size_t	 ngot;
};

static int
readn(int fd, void *p, size_t n)
{
	char *b = p;

	while (n > 0) {
		ssize_t k = read(fd, b, n);

		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
say(int fd, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));

	cr_assert_eq(write(fd, &n, 4), 4);
	cr_assert_eq(write(fd, &cmd, 1), 1);
	if (len)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
}

/*
 * Negotiates everything, answers CONNECT; the first MAIL gets its
 * CONTINUE late (after the client aborted), the second a REJECT.
 */
static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL), mails = 0;

	for (;;) {
		uint32_t n;
		char p[4096];

		if (fd == -1 || readn(fd, &n, 4) == -1)
			break;
		n = ntohl(n);
		if (n == 0 || n > sizeof(p) || readn(fd, p, n) == -1)
			break;
		if (f->ngot < sizeof(f->got) - 1)
			f->got[f->ngot++] = p[0];
		switch (p[0]) {
		case 'O': {
			uint32_t w[3] = { htonl(6), htonl(0x1ff), htonl(0) };
			say(fd, 'O', w, sizeof(w));
			break;
		}
		case 'C':
			say(fd, 'c', NULL, 0);
			break;
		case 'M':
			if (mails++ == 0) {
				usleep(200000);
				say(fd, 'c', NULL, 0);
			} else
				say(fd, 'r', NULL, 0);
			break;
		case 'Q':
			close(fd);
			return NULL;
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

struct run {
	sd_event		*e;
	struct milter		*m;
	int			 calls, done;
	enum milter_verdict	 last;
};

/* Until the next callback (an sd_event that exited cannot go on). */
static void
wait_result(struct run *run)
{
	run->done = 0;
	while (!run->done)
		cr_assert(sd_event_run(run->e, 5000000) >= 0);
}

static void
on_result(void *arg, const struct milter_result *r)
{
	struct run *run = arg;

	run->calls++;
	run->last = r->verdict;
	run->done = 1;
}

static int
on_abort_timer(sd_event_source *s, uint64_t usec, void *arg)
{
	struct run *run = arg;
	const char *mail[] = { "<b@y.test>" };

	(void)s;
	(void)usec;
	/* the first MAIL's answer is still on its way */
	milter_abort(run->m);
	cr_expect_eq(milter_mail(run->m, mail, 1), 0);
	return 0;
}

Test(milter, abort_in_flight)
{
	struct fake f;
	struct sockaddr_un sun;
	struct milter_opts o = { MILTER_TEMPFAIL, 2000000, 2000000, 2000000,
	    1 << 20 };
	struct run run = { NULL, NULL, 0, 0, MILTER_CONTINUE };
	const char *mail[] = { "<a@y.test>" };
	sd_event_source *t;
	pthread_t th;
	char spec[128];
	uint64_t now;

	memset(&f, 0, sizeof(f));
	cr_assert_neq(str_fmt(f.path, sizeof(f.path), "/tmp/milter-test.%d",
	    (int)getpid()), -1);
	unlink(f.path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_neq(str_copy(sun.sun_path, f.path, sizeof(sun.sun_path)), -1);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	cr_assert(listen(f.lfd, 1) == 0);
	cr_assert(pthread_create(&th, NULL, fake_run, &f) == 0);

	cr_assert(sd_event_new(&run.e) >= 0);
	cr_assert_neq(str_fmt(spec, sizeof(spec), "unix:%s", f.path), -1);
	run.m = milter_new(run.e, spec, &o, on_result, &run);
	cr_assert_not_null(run.m);
	cr_expect_eq(milter_helo(run.m, "x"), 0, "a step before connect");
	wait_result(&run);
	cr_expect_eq(run.last, MILTER_TEMPFAIL, "... gets the default");
	milter_free(run.m);

	run.calls = 0;
	run.m = milter_new(run.e, spec, &o, on_result, &run);
	cr_assert_eq(milter_connect(run.m, "client.test", "192.0.2.1", 25), 0);
	cr_expect_eq(milter_helo(run.m, "x"), -1, "a step while one waits");
	wait_result(&run);
	cr_expect_eq(run.calls, 1);
	cr_expect_eq(run.last, MILTER_CONTINUE);

	/* MAIL, abort 50 ms later, MAIL again: one callback, the second's */
	cr_assert_eq(milter_mail(run.m, mail, 1), 0);
	sd_event_now(run.e, CLOCK_MONOTONIC, &now);
	cr_assert(sd_event_add_time(run.e, &t, CLOCK_MONOTONIC, now + 50000,
	    0, on_abort_timer, &run) >= 0);
	wait_result(&run);
	cr_expect_eq(run.calls, 2);
	cr_expect_eq(run.last, MILTER_REJECT, "the second MAIL's own answer");
	milter_free(run.m);
	pthread_join(th, NULL);
	cr_expect_str_eq(f.got, "ODCDMADMQ");
	sd_event_source_unref(t);
	sd_event_unref(run.e);
	close(f.lfd);
	unlink(f.path);
}
