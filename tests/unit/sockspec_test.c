/* sockspec: the forms pombo.conf names filters and policy servers by. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "sockspec.h"

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
}

Test(sockspec, forms)
{
	static const struct {
		const char *spec;
		int rc, family;
		unsigned port;
	} t[] = {
		{ "unix:/run/x.sock", 0, AF_UNIX, 0 },
		{ "local:/run/x.sock", 0, AF_UNIX, 0 },
		{ "inet:127.0.0.1:11332", 0, AF_INET, 11332 },
		{ "inet:localhost:8891", 0, AF_INET, 8891 },
		{ "inet6:localhost:8891", 0, AF_INET6, 8891 },
		{ "inet:[::1]:25", 0, AF_INET6, 25 },
		{ "inet6:::1:25", 0, AF_INET6, 25 },
		{ "inet:rspamd.example:11332", 1, 0, 0 },
		{ "inet6:milter:25", 1, 0, 0 },
		{ "inet:[rspamd.example]:11332", -1, 0, 0 },
		{ "inet:bad..name:25", -1, 0, 0 },
		{ "inet:1.2.3:25", -1, 0, 0 },
		{ "inet6:127.0.0.1:25", -1, 0, 0 },
		{ "inet:127.0.0.1", -1, 0, 0 },
		{ "inet:127.0.0.1:0", -1, 0, 0 },
		{ "inet:127.0.0.1:65536", -1, 0, 0 },
		{ "inet:127.0.0.1:25x", -1, 0, 0 },
		{ "inet:[]:25", -1, 0, 0 },
		{ "inet::25", -1, 0, 0 },
		{ "unix:relative", -1, 0, 0 },
		{ "tcp:127.0.0.1:25", -1, 0, 0 },
	};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = sockspec_parse(t[i].spec, 0, &ss, &len);

		cr_expect_eq(rc, t[i].rc, "%s: %d", t[i].spec, rc);
		if (rc == 0) {
			cr_expect_eq(ss.ss_family, t[i].family, "%s", t[i].spec);
			if (t[i].family != AF_UNIX)
				cr_expect_eq(port_of(&ss), t[i].port, "%s",
				    t[i].spec);
		}
	}
}

/* A name is looked up only when asked (milter_session_test looks one
 * up: a unit test must not wait for DNS). */
Test(sockspec, no_lookup_unless_asked)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ss.ss_family = AF_UNSPEC;
	cr_expect_eq(sockspec_parse("inet:no-such-host.invalid:25", 0, &ss,
	    &len), 1);
	cr_expect_eq(ss.ss_family, AF_UNSPEC);
}
