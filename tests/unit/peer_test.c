/* peer: who the client is, from the socket or the launcher's word. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

/* A pipe is local; TCPREMOTEIP or REMOTE_ADDR, the first that is an
 * address, makes it that client. */
Test(peer, pipe_and_launcher_addresses)
{
	struct peer p;
	int fds[2];

	cr_assert_eq(pipe(fds), 0);
	unsetenv("TCPREMOTEIP");
	unsetenv("REMOTE_ADDR");
	peer_identify(fds[0], &p);
	cr_expect_eq(p.is_socket, 0);
	cr_expect_eq(p.local, 1);
	cr_expect_str_eq(p.addr, "local");

	setenv("REMOTE_ADDR", "2001:db8::7", 1);
	peer_identify(fds[0], &p);
	cr_expect_eq(p.local, 0);
	cr_expect_str_eq(p.addr, "2001:db8::7");

	/* tcpserver's comes first; one that is no address is passed over */
	setenv("TCPREMOTEIP", "192.0.2.9", 1);
	peer_identify(fds[0], &p);
	cr_expect_str_eq(p.addr, "192.0.2.9");
	setenv("TCPREMOTEIP", "not-an-address", 1);
	peer_identify(fds[0], &p);
	cr_expect_str_eq(p.addr, "2001:db8::7");
	unsetenv("REMOTE_ADDR");
	peer_identify(fds[0], &p);
	cr_expect_eq(p.local, 1);
	cr_expect_str_eq(p.addr, "local");
	close(fds[0]);
	close(fds[1]);
}
