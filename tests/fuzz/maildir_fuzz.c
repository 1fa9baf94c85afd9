/*
 * maildir_fuzz: Maildir file names as pop3d reads them from new/ and
 * cur/ (shared/maildir.c), their POP3 UIDLs, and the cur/ name a seen
 * message gets (pop3d/mailbox.c). Another Maildir reader may have put
 * any name there. The input is one name.
 * Invariants: a UIDL is 1..70 printable octets (RFC 1939 7), the same
 * for the same unique part; the seen name of a name parses, keeps its
 * unique part, has the S flag, and is its own seen name.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mailbox.h"
#include "maildir.h"

static void
check_uidl(const char *name)
{
	char uidl[MAILDIR_UIDL_MAX + 1], again[MAILDIR_UIDL_MAX + 1];
	size_t i, n;

	maildir_uidl(name, uidl);
	n = strlen(uidl);
	FUZZ_ASSERT(n >= 1 && n <= MAILDIR_UIDL_MAX);
	for (i = 0; i < n; i++)
		FUZZ_ASSERT((unsigned char)uidl[i] >= 0x21 &&
		    (unsigned char)uidl[i] <= 0x7e);
	maildir_uidl(name, again);
	FUZZ_ASSERT(strcmp(uidl, again) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_info info, info2;
	char *name = fuzz_cstr(data, size);
	char seen[MAILDIR_NAME_MAX + 1], seen2[MAILDIR_NAME_MAX + 1];
	size_t n = strlen(name);

	check_uidl(name);
	if (maildir_parse_name(name, &info) == -1) {
		free(name);
		return 0;
	}
	FUZZ_ASSERT(n <= MAILDIR_NAME_MAX && name[0] != '.' &&
	    strchr(name, '/') == NULL);
	FUZZ_ASSERT(info.baselen > 0 && info.baselen <= n);
	FUZZ_ASSERT(strlen(info.flags) < sizeof(info.flags));
	FUZZ_ASSERT(!info.ours || (info.has_size && info.has_wsize &&
	    info.baselen >= 32));
	if (mailbox_seen_name(name, seen, sizeof(seen)) == 0) {
		FUZZ_ASSERT(strncmp(seen, name, info.baselen) == 0);
		FUZZ_ASSERT(maildir_parse_name(seen, &info2) == 0);
		FUZZ_ASSERT(info2.baselen == info.baselen);
		FUZZ_ASSERT(strstr(seen, ":2,") != NULL &&
		    strchr(strstr(seen, ":2,"), 'S') != NULL);
		FUZZ_ASSERT(info2.has_wsize == info.has_wsize &&
		    info2.wsize == info.wsize);
		/* another reader's rename keeps whose name it is */
		FUZZ_ASSERT(info2.ours == info.ours);
		FUZZ_ASSERT(mailbox_seen_name(seen, seen2, sizeof(seen2)) == 0);
		FUZZ_ASSERT(strcmp(seen, seen2) == 0);
	}
	free(name);
	return 0;
}
