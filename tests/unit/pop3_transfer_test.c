/* pop3 transfer: CRLF, dot-stuffing, final CRLF, TOP, sizes, any chunking. */
#define _GNU_SOURCE	/* nftw, mkdtemp, rand_r */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transfer.h"

struct xcase {
	const char	*in;
	const char	*out;		/* without the final ".\r\n" */
	uint64_t	 lines;		/* TRANSFER_ALL: RETR */
};

static const struct xcase cases[] = {
	{ "", "", TRANSFER_ALL },
	{ "a\n", "a\r\n", TRANSFER_ALL },
	{ "a", "a\r\n", TRANSFER_ALL },
	{ "a\nb", "a\r\nb\r\n", TRANSFER_ALL },
	{ ".\n", "..\r\n", TRANSFER_ALL },
	{ ".", "..\r\n", TRANSFER_ALL },
	{ "..\n.x\nx.\n", "...\r\n..x\r\nx.\r\n", TRANSFER_ALL },
	{ "\n\n", "\r\n\r\n", TRANSFER_ALL },
	{ "a\r\nb\r\n", "a\r\nb\r\n", TRANSFER_ALL },	/* CRLF kept */
	{ "a\rb\n", "a\rb\r\n", TRANSFER_ALL },		/* bare CR passes */
	{ "x\r", "x\r\n", TRANSFER_ALL },
	{ "\xe9\xff\x00z\n", "\xe9\xff\x00z\r\n", TRANSFER_ALL },
	/* TOP: the header, the blank line, n body lines */
	{ "H: 1\n\nb1\nb2\n", "H: 1\r\n\r\n", 0 },
	{ "H: 1\n\nb1\nb2\n", "H: 1\r\n\r\nb1\r\n", 1 },
	{ "H: 1\n\nb1\nb2\n", "H: 1\r\n\r\nb1\r\nb2\r\n", 2 },
	{ "H: 1\n\nb1\nb2\n", "H: 1\r\n\r\nb1\r\nb2\r\n", 99 },
	{ "H: 1\n\n\n.\nb\n", "H: 1\r\n\r\n\r\n..\r\n", 2 },
	{ "H: 1\nH: 2\n", "H: 1\r\nH: 2\r\n", 0 },	/* no body at all */
	{ "H: 1\r\n\r\nb1\r\n", "H: 1\r\n\r\n", 0 },	/* CRLF blank line */
	{ "H: 1\n\nno LF", "H: 1\r\n\r\nno LF\r\n", 5 },
	{ "H: 1\n\nno LF", "H: 1\r\n\r\n", 0 },
};

/* Feed in chunks of step octets: the result must not depend on them. */
static size_t
run(const struct xcase *c, size_t inlen, size_t step, char *out,
    uint64_t *size)
{
	struct transfer t;
	size_t i, n, o = 0;

	transfer_init(&t, c->lines);
	for (i = 0; i < inlen; i += n) {
		n = inlen - i < step ? inlen - i : step;
		o += transfer_feed(&t, c->in + i, n, out + o);
	}
	o += transfer_end(&t, out + o);
	*size = t.size;
	return o;
}

static size_t
inlen_of(const struct xcase *c)
{
	/* one case holds a NUL: its length is up to the last LF */
	if (c->in[0] == '\xe9')
		return 5;
	return strlen(c->in);
}

static size_t
outlen_of(const struct xcase *c)
{
	if (c->in[0] == '\xe9')
		return 6;
	return strlen(c->out);
}

Test(pop3_transfer, table)
{
	char out[256];
	uint64_t size;
	size_t i, step, o, stuffed, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (step = 1; step <= 7; step++) {
			o = run(&cases[i], inlen_of(&cases[i]), step, out, &size);
			cr_expect_eq(o, outlen_of(&cases[i]),
			    "case %zu step %zu: length %zu", i, step, o);
			cr_expect(memcmp(out, cases[i].out, o) == 0,
			    "case %zu step %zu: %.*s", i, step, (int)o, out);
			/* RFC 1939 size: the output without stuffed dots */
			for (k = 0, stuffed = 0; k + 1 < o; k++)
				if ((k == 0 || out[k - 1] == '\n') &&
				    out[k] == '.' && out[k + 1] == '.')
					stuffed++;
			cr_expect_eq(size, o - stuffed, "case %zu size", i);
		}
	}
}

/* The W= a local agent writes (size + one CR a line) is what we send. */
Test(pop3_transfer, size_matches_name_rule)
{
	char in[4096], out[8192];
	struct transfer t;
	size_t n, i, lf, trials;
	unsigned seed = 1;

	for (trials = 0; trials < 200; trials++) {
		n = (size_t)(rand_r(&seed) % (int)sizeof(in));
		for (i = 0, lf = 0; i < n; i++) {
			int r = rand_r(&seed) % 10;
			in[i] = r == 0 ? '\n' : r == 1 ? '.' : 'a' + r;
			lf += in[i] == '\n';
		}
		if (n > 0 && in[n - 1] != '\n') {
			in[n - 1] = '\n';
			lf++;
		}
		transfer_init(&t, TRANSFER_ALL);
		transfer_feed(&t, in, n, out);
		transfer_end(&t, out);
		cr_expect_eq(t.size, n + lf, "trial %zu", trials);
	}
}

static int
tmpfile_with(const char *text, size_t len)
{
	char path[] = "/tmp/pombo-xfer-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd != -1);
	unlink(path);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

Test(pop3_transfer, size_of_file)
{
	uint64_t size;
	int fd;

	fd = tmpfile_with(".a\nb", 4);
	cr_assert_eq(transfer_size(fd, &size), 0);
	cr_expect_eq(size, 7, "got %llu", (unsigned long long)size);
	close(fd);
}

/* A message larger than the buffers, through lineio to a socket. */
Test(pop3_transfer, send_through_lineio)
{
	static char big[100000], want[300000], got[300000];
	struct lineio io;
	size_t i, w = 0, g = 0;
	ssize_t r;
	int sv[2], fd;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i % 50 == 49 ? '\n' : i % 50 == 0 ? '.' : 'x';
	for (i = 0; i < sizeof(big); i++) {
		if (big[i] == '.' && (i == 0 || big[i - 1] == '\n'))
			want[w++] = '.';
		if (big[i] == '\n')
			want[w++] = '\r';
		want[w++] = big[i];
	}
	memcpy(want + w, ".\r\n", 3);
	w += 3;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd = tmpfile_with(big, sizeof(big));
	if (fork() == 0) {
		close(sv[0]);
		lineio_init(&io, sv[1], sv[1]);
		_exit(transfer_send(fd, &io, TRANSFER_ALL) == 0 &&
		    lineio_flush(&io) == 0 ? 0 : 1);
	}
	close(sv[1]);
	while ((r = read(sv[0], got + g, sizeof(got) - g)) > 0)
		g += (size_t)r;
	cr_assert_eq(g, w, "got %zu octets, want %zu", g, w);
	cr_expect(memcmp(got, want, w) == 0);
	close(sv[0]);
	close(fd);
}
