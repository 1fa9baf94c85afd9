/*
 * fuzz: what every harness in tests/fuzz shares: the libFuzzer entry
 * point, a checked copy of the input as a C string, a small PRNG for
 * splitting input into pieces, and an assertion that aborts (libFuzzer
 * and the corpus driver both report an abort as a crash). Used only by
 * the harnesses; trusts nothing in the input.
 */
#ifndef POMBO_FUZZ_H
#define POMBO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "lineio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a malloc'd C string of exactly size + 1 bytes (ASan sees
 * any read past it); an embedded NUL ends the string early, as it would
 * for the parsers' real callers. */
char *fuzz_cstr(const uint8_t *data, size_t size);
/* The same, but only up to the first LF (a "line"), LF excluded. */
char *fuzz_cstrn(const uint8_t *data, size_t size);

/* A deterministic PRNG seeded from the input: random splits that the
 * fuzzer still controls. */
struct fuzz_rng {
	uint64_t	s;
};
void fuzz_rng_init(struct fuzz_rng *r, const uint8_t *data, size_t size);
/* A number in [1, max]. */
size_t fuzz_rng_len(struct fuzz_rng *r, size_t max);

/* The peer as lineio sees it: the input after its first octet (which
 * the harnesses read as flags) in pieces of any size, as a network
 * delivers them, split by a PRNG seeded from the whole input; output
 * kept in out up to omax octets, or dropped when out is NULL. Its
 * pending count is never 0, so lineio reads instead of polling. */
struct fuzz_transport {
	const uint8_t	*in;
	size_t		 len, pos;
	struct fuzz_rng	 rng;
	char		*out;
	size_t		 olen, omax;
};
void fuzz_transport_init(struct fuzz_transport *t, const uint8_t *data,
    size_t size, char *out, size_t omax);
extern const struct lineio_ops fuzz_transport_ops;
/* The same for a whole session: its replies kept, up to 1 MiB (a run
 * whose output reaches that is not checked line by line). */
#define FUZZ_SESSION_OUT	(1 << 20)
void fuzz_transport_session(struct fuzz_transport *t, const uint8_t *data,
    size_t size);

void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));
#define FUZZ_ASSERT(c) do { if (!(c)) fuzz_fail(__FILE__, __LINE__, #c); } \
	while (0)

#endif
