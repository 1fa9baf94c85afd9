/*
 * policy_fuzz: a policy server's replies (shared/policy_proto.c), which
 * queued trusts no more than a network peer. The input is what the
 * server sends, read as queued reads it: in pieces of any size, each
 * whole reply taken off the front. Also each of its lines as an action.
 * Invariants: a reply is taken only once its empty line is there, within
 * what was read; an incomplete reply never asks for more than the
 * bounds; an action's refusal has a 4xx/5xx code, a DSN of its class and
 * printable text; a PREPEND is one header field; a chain of actions ends
 * accepted or with a well-formed reply.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy_proto.h"

static void
check_action(const char *s)
{
	struct policy_action a;
	struct policy_chain ch;

	policy_proto_action(s, &a);
	FUZZ_ASSERT(strlen(a.text) <= POLICY_HEADER_MAX);
	FUZZ_ASSERT(str_printable(a.name));
	switch (a.kind) {
	case PA_REFUSE:
	case PA_DEFER_IF_PERMIT:
	case PA_DEFER_IF_REJECT:
		FUZZ_ASSERT(a.code >= 400 && a.code <= 599);
		FUZZ_ASSERT(a.dsn[0] == '0' + a.code / 100 && a.dsn[1] == '.');
		FUZZ_ASSERT(strlen(a.text) <= POLICY_TEXT_MAX);
		FUZZ_ASSERT(str_printable(a.text));
		break;
	case PA_PREPEND:
		FUZZ_ASSERT(strchr(a.text, ':') != NULL);
		FUZZ_ASSERT(strchr(a.text, '\n') == NULL &&
		    strchr(a.text, '\r') == NULL);
		break;
	default:
		FUZZ_ASSERT(str_printable(a.text));
		break;
	}
	policy_chain_init(&ch);
	if (!policy_chain_step(&ch, &a, "<b@x.test>", "Recipient address"))
		policy_chain_finish(&ch, "<b@x.test>", "Recipient address");
	FUZZ_ASSERT(ch.done);
	if (!ch.accept) {
		FUZZ_ASSERT(ch.reply[0] == '4' || ch.reply[0] == '5');
		FUZZ_ASSERT(str_printable(ch.reply));
		FUZZ_ASSERT(ch.reply[3] == ' ');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_rng rng;
	struct policy_reply r;
	char *buf = malloc(size ? size : 1);
	size_t have = 0, off = 0, used, pos;
	int rc = 0;

	fuzz_rng_init(&rng, data, size);
	/* the bytes arrive in pieces; whole replies leave the front */
	while (have < size && rc != -1) {
		size_t n = fuzz_rng_len(&rng, size - have);
		memcpy(buf + have, data + have, n);
		have += n;
		while ((rc = policy_proto_parse_reply(buf + off, have - off, &r,
		    &used)) == 1) {
			FUZZ_ASSERT(used >= 2 && used <= have - off);
			FUZZ_ASSERT(buf[off + used - 1] == '\n');
			FUZZ_ASSERT(strlen(r.action) <= POLICY_LINE_MAX);
			check_action(r.action);
			off += used;
		}
		if (rc == 0)
			FUZZ_ASSERT(have - off <= POLICY_REPLY_MAX);
	}
	free(buf);
	for (pos = 0; pos < size;) {
		char *line = fuzz_cstrn(data + pos, size - pos);
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		check_action(line);
		free(line);
		pos = nl ? (size_t)(nl - data) + 1 : size;
	}
	return 0;
}
