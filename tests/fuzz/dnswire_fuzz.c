/*
 * dnswire_fuzz: the remote agent's reading of record data from DNS
 * (queued/remote/dnswire.c: names, MX, TLSA, TXT) and dane.c's judgement of
 * TLSA records. Anyone who controls a zone writes these octets.
 * Invariants: a name read is one addr_domain_valid could take apart
 * again (only letters, digits, '-', '_', single dots), no longer than
 * its buffer, and never took more octets than it had; a TLSA record
 * read holds exactly the octets after its three fields; a TXT text is
 * its strings' octets, without the length octets, never longer.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "dane.h"
#include "dnswire.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnswire_tlsa t;
	struct dns_mx mx;
	char name[64], txt[64];
	size_t used, i;

	if (dnswire_name(data, size, &used, name, sizeof(name)) == 0) {
		size_t n = strlen(name);
		FUZZ_ASSERT(used <= size && n < sizeof(name));
		FUZZ_ASSERT(n == 0 || (name[0] != '.' && name[n - 1] != '.'));
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)name[i];
			FUZZ_ASSERT(isalnum(c) || c == '-' || c == '_' ||
			    (c == '.' && name[i + 1] != '.'));
		}
	}
	if (dnswire_mx(data, size, &mx) == 0) {
		FUZZ_ASSERT(size >= 3 && mx.pref == (data[0] << 8 | data[1]));
		FUZZ_ASSERT(strlen(mx.host) < sizeof(mx.host));
	}
	if (dnswire_tlsa(data, size, &t) == 0) {
		FUZZ_ASSERT(t.len == size - 3 && t.len > 0);
		FUZZ_ASSERT(memcmp(t.data, data + 3, t.len) == 0);
		if (dane_tlsa_usable(&t))
			FUZZ_ASSERT((t.usage == 2 || t.usage == 3) &&
			    t.selector <= 1 && t.mtype <= 2);
	}
	if (dnswire_txt(data, size, txt, sizeof(txt)) == 0) {
		size_t n = strlen(txt), at = 0, o = 0;
		FUZZ_ASSERT(n < size && n < sizeof(txt));
		while (at < size) {
			FUZZ_ASSERT(memcmp(txt + o, data + at + 1,
			    data[at]) == 0);
			o += data[at];
			at += 1 + data[at];
		}
		FUZZ_ASSERT(at == size && o == n);
	}
	return 0;
}
