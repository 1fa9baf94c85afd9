/*
 * fuzz: helpers shared by the harnesses (see fuzz.h), and a silent
 * syslog: the libraries log through syslog(3), and a fuzzer must neither
 * flood the journal nor pay a connect() per line. This definition in the
 * harness program takes the place of the C library's.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/types.h>

#include "fuzz.h"

void
fuzz_transport_init(struct fuzz_transport *t, const uint8_t *data,
    size_t size, char *out, size_t omax)
{
	memset(t, 0, sizeof(*t));
	t->in = data + 1;
	t->len = size - 1;
	t->out = out;
	t->omax = out ? omax : 0;
	fuzz_rng_init(&t->rng, data, size);
}

void
fuzz_transport_session(struct fuzz_transport *t, const uint8_t *data,
    size_t size)
{
	static char *out;

	/* one buffer for every run: a fresh MiB each time costs more than
	 * the session */
	if (out == NULL && (out = malloc(FUZZ_SESSION_OUT)) == NULL)
		abort();
	fuzz_transport_init(t, data, size, out, FUZZ_SESSION_OUT);
}

static ssize_t
transport_read(void *ctx, void *buf, size_t len)
{
	struct fuzz_transport *t = ctx;
	size_t n;

	if (t->pos == t->len)
		return 0;
	n = fuzz_rng_len(&t->rng, t->len - t->pos);
	if (n > len)
		n = len;
	memcpy(buf, t->in + t->pos, n);
	t->pos += n;
	return (ssize_t)n;
}

static ssize_t
transport_write(void *ctx, const void *buf, size_t len)
{
	struct fuzz_transport *t = ctx;
	size_t n = len;

	if (t->olen + n > t->omax)
		n = t->omax - t->olen;
	if (n > 0)
		memcpy(t->out + t->olen, buf, n);
	t->olen += n;
	return (ssize_t)len;
}

static size_t
transport_pending(void *ctx)
{
	(void)ctx;
	return 1;
}

const struct lineio_ops fuzz_transport_ops = {
	transport_read, transport_write, transport_pending, NULL
};

char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

char *
fuzz_cstrn(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);

	return fuzz_cstr(data, nl ? (size_t)(nl - data) : size);
}

void
fuzz_rng_init(struct fuzz_rng *r, const uint8_t *data, size_t size)
{
	size_t i;

	r->s = 0x9e3779b97f4a7c15ULL ^ size;
	for (i = 0; i < size && i < 8; i++)
		r->s = (r->s << 8 | r->s >> 56) ^ data[i];
}

size_t
fuzz_rng_len(struct fuzz_rng *r, size_t max)
{
	/* xorshift64 */
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return max == 0 ? 1 : 1 + (size_t)(r->s % max);
}

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* syslog(3) and its relatives: format (so format bugs still show under
 * the sanitizers), then drop. */
void
vsyslog(int pri, const char *fmt, va_list ap)
{
	char buf[2048];

	(void)pri;
	vsnprintf(buf, sizeof(buf), fmt, ap);
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}
