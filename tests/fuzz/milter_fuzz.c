/*
 * milter_fuzz: queued's decoder of what a milter sends
 * (queued/daemon/milter_proto.c): a stream of packets, framed then
 * parsed one by one, as the client reads them.
 * Invariants: a framed packet is 1..MILTER_PACKET_MAX octets inside the
 * input; every decoded string ends inside its packet; header names and
 * values pass the checks the header editor relies on; reply codes are
 * 4xx/5xx; a macro list names a known stage.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "milter_proto.h"

static int
inside(const char *s, const char *pkt, size_t len)
{
	return s == NULL || (s >= pkt && s + strlen(s) < pkt + len);
}

static void
check(const char *pkt, size_t len)
{
	struct milter_reply r;
	char err[128];
	size_t i;

	if (milter_proto_parse(pkt, len, &r, err, sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(r.cmd == pkt[0]);
	FUZZ_ASSERT(inside(r.s1, pkt, len) && inside(r.s2, pkt, len));
	for (i = 0; i < MILTER_M_N; i++)
		FUZZ_ASSERT(inside(r.symlist[i], pkt, len));
	switch (r.cmd) {
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		FUZZ_ASSERT(milter_proto_header_name_ok(r.s1));
		FUZZ_ASSERT(milter_proto_header_value_ok(r.s2));
		FUZZ_ASSERT(strchr(r.s1, ':') == NULL);
		break;
	case MILTER_R_REPLYCODE:
		FUZZ_ASSERT(r.code >= 400 && r.code <= 599);
		FUZZ_ASSERT(r.s1[0] == '4' || r.s1[0] == '5');
		break;
	case MILTER_R_REPLBODY:
		FUZZ_ASSERT(r.data == pkt + 1 && r.len == len - 1);
		break;
	case MILTER_R_SETSYMLIST:
		FUZZ_ASSERT(r.index < MILTER_M_N);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0, n;
	int rc;

	while ((rc = milter_proto_frame(data + pos, size - pos, &n)) == 1) {
		/* a copy of exactly the packet, so ASan sees any overread */
		char *pkt = malloc(n);

		FUZZ_ASSERT(n >= 1 && n <= MILTER_PACKET_MAX);
		FUZZ_ASSERT(n <= size - pos - 4);
		if (pkt == NULL)
			abort();
		memcpy(pkt, data + pos + 4, n);
		check(pkt, n);
		free(pkt);
		pos += 4 + n;
	}
	FUZZ_ASSERT(pos <= size);
	return 0;
}
