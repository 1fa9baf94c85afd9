/*
 * authres_fuzz: a message's header section as it arrives from anyone,
 * scanned for the Authentication-Results: fields of our authserv-id
 * (shared/authres.c, which pombo-verify removes them with); and the
 * same octets as a value written into our own field.
 * Invariants: the fields found are in order, inside the header, each
 * starts with the field name and names our id; the message without
 * them holds none; a value written by authres_value reads back as
 * itself through authres_id (controls aside).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "fuzz.h"

#define ID	"mx.example.test"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	char *rest, *in, v[600], back[600];
	size_t pos = 0, last = 0, start, flen, r = 0, pos2 = 0;
	size_t i, o;

	if ((rest = malloc(size + 1)) == NULL)
		return 0;
	while (authres_next(msg, size, &pos, ID, &start, &flen) == 1) {
		FUZZ_ASSERT(start >= last && flen > 0 && start + flen <= size);
		FUZZ_ASSERT(pos == start + flen);
		FUZZ_ASSERT(strncasecmp(msg + start, "Authentication-Results",
		    22) == 0);
		memcpy(rest + r, msg + last, start - last);
		r += start - last;
		last = pos;
	}
	FUZZ_ASSERT(pos <= size);
	memcpy(rest + r, msg + last, size - last);
	r += size - last;
	FUZZ_ASSERT(r <= size);
	/* removal is complete: nothing of ours is left */
	FUZZ_ASSERT(authres_next(rest, r, &pos2, ID, &start, &flen) == 0);
	free(rest);

	in = fuzz_cstr(data, size < 200 ? size : 200);
	if (in && authres_value(in, v, sizeof(v)) == 0 && in[0] != '\0') {
		for (i = o = 0; in[i]; i++)
			if ((unsigned char)in[i] >= ' ' && in[i] != 127)
				in[o++] = in[i];
		in[o] = '\0';
		if (o > 0) {
			FUZZ_ASSERT(authres_id(v, strlen(v), back,
			    sizeof(back)) == 0);
			FUZZ_ASSERT(strcmp(back, in) == 0);
		}
	}
	free(in);
	return 0;
}
