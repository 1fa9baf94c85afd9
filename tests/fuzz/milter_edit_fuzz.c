/*
 * milter_edit_fuzz: milters' changes applied to a message
 * (queued/daemon/milter_edit.c). The input: two octets giving the
 * length of a stream of milter packets (the changes, decoded by
 * milter_proto as the client does), then the message.
 * Invariants: the result of a message whose header section is well
 * formed (fields and their continuation lines, then an empty line) is
 * well formed too: the changes cannot write a line of their own or end
 * the header early; the body is the original's unless replaced.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "milter_edit.h"
#include "milter_proto.h"

/* Where the body starts (after the empty line) if the header section
 * is well formed, else 0. */
static size_t
header_end(const char *m, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(m + pos, '\n', len - pos);
		size_t i, end;

		if (nl == NULL)
			return 0;
		end = (size_t)(nl - m);
		if (end == pos)
			return pos + 1;
		if (m[pos] == ' ' || m[pos] == '\t') {
			if (pos == 0)
				return 0;
		} else {
			for (i = pos; i < end && m[i] != ':'; i++)
				if ((unsigned char)m[i] <= 32 ||
				    (unsigned char)m[i] >= 127)
					return 0;
			if (i == pos || i == end)
				return 0;
		}
		for (i = pos; i < end; i++)
			if (m[i] == '\r' || m[i] == '\0')
				return 0;
		pos = end + 1;
	}
	return 0;
}

static void
add(struct milter_mods *m, const struct milter_reply *r)
{
	switch (r->cmd) {
	case MILTER_R_ADDHEADER:
		(void)milter_mods_add(m, MILTER_MOD_ADDHDR, 0, r->s1, r->s2);
		break;
	case MILTER_R_INSHEADER:
		(void)milter_mods_add(m, MILTER_MOD_INSHDR, r->index, r->s1,
		    r->s2);
		break;
	case MILTER_R_CHGHEADER:
		(void)milter_mods_add(m, MILTER_MOD_CHGHDR, r->index, r->s1,
		    r->s2);
		break;
	case MILTER_R_REPLBODY:
		(void)milter_mods_body(m, r->data, r->len);
		break;
	case MILTER_R_ADDRCPT:
		(void)milter_mods_add(m, MILTER_MOD_ADDRCPT, 0, r->s1, NULL);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_mods m;
	struct milter_reply r;
	size_t plen, pos = 2, n, msglen, olen, ob, mb;
	const char *msg;
	char err[128], *out;
	int fd;

	if (size < 2)
		return 0;
	plen = (size_t)data[0] << 8 | data[1];
	if (plen > size - 2)
		plen = size - 2;
	milter_mods_init(&m, 1 << 16);
	while (milter_proto_frame(data + pos, 2 + plen - pos, &n) == 1) {
		if (milter_proto_parse(data + pos + 4, n, &r, err,
		    sizeof(err)) == 0)
			add(&m, &r);
		pos += 4 + n;
	}
	milter_mods_body_end(&m);
	msg = (const char *)data + 2 + plen;
	msglen = size - 2 - plen;
	if ((fd = memfd_create("out", 0)) == -1)
		abort();
	FUZZ_ASSERT(milter_edit_apply(msg, msglen, &m, fd) == 0);
	olen = (size_t)lseek(fd, 0, SEEK_END);
	if ((out = malloc(olen + 1)) == NULL)
		abort();
	FUZZ_ASSERT(pread(fd, out, olen, 0) == (ssize_t)olen);
	close(fd);
	if ((mb = header_end(msg, msglen)) != 0) {
		ob = header_end(out, olen);
		FUZZ_ASSERT(ob != 0);
		if (!m.replbody)
			FUZZ_ASSERT(olen - ob == msglen - mb &&
			    memcmp(out + ob, msg + mb, msglen - mb) == 0);
		else
			FUZZ_ASSERT(olen - ob == m.body.len && (m.body.len == 0
			    || memcmp(out + ob, m.body.data, m.body.len) == 0));
	}
	free(out);
	milter_mods_free(&m);
	return 0;
}
