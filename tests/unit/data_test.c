/* data: the DATA byte machine, fed whole and byte by byte. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "data.h"

struct result {
	char		out[4096];
	size_t		outlen;
	size_t		consumed;
	unsigned	errors;
	int		ended;
	unsigned	hops;
};

static void
run(const char *in, size_t len, int lf, uint64_t max, int bytewise,
    struct result *r)
{
	struct data_machine dm;
	size_t pos = 0, n, o;

	memset(r, 0, sizeof(*r));
	data_init(&dm, lf, max);
	while (pos < len && dm.state != DS_END) {
		size_t chunk = bytewise ? 1 : len - pos;
		n = data_feed(&dm, in + pos, chunk, r->out + r->outlen, &o);
		r->outlen += o;
		pos += n;
	}
	r->consumed = pos;
	r->errors = dm.errors;
	r->ended = dm.state == DS_END;
	r->hops = dm.hops;
}

static const struct {
	const char	*name;
	const char	*in;
	int		 lf;
	const char	*out;
	int		 ended;
	unsigned	 errors;
	size_t		 rest;	/* bytes after the end, left unconsumed */
} t[] = {
	{ "plain", "a\r\nb\r\n.\r\n", 0, "a\nb\n", 1, 0, 0 },
	{ "empty message", ".\r\n", 0, "", 1, 0, 0 },
	{ "dot stuffing", "..x\r\n...\r\n.\r\n", 0, ".x\n..\n", 1, 0, 0 },
	{ "after end", "a\r\n.\r\nQUIT\r\n", 0, "a\n", 1, 0, 6 },
	{ "not ended", "a\r\nb", 0, "a\nb", 0, 0, 0 },
	{ "bare LF", "a\nb\r\n.\r\n", 0, "", 1, DATA_ERR_BARE_LF, 0 },
	{ "LF dot CRLF smuggling", "a\n.\r\nMAIL\r\n.\r\n", 0, "", 1,
	  DATA_ERR_BARE_LF, 0 },
	{ "CRLF dot LF smuggling", "a\r\n.\nMAIL\r\n.\r\n", 0, "a\n", 1,
	  DATA_ERR_BARE_LF, 0 },
	{ "bare CR", "a\rb\r\n.\r\n", 0, "", 1, DATA_ERR_BARE_CR, 0 },
	{ "CR dot CR", "a\r\n.\rX\r\n.\r\n", 0, "a\n", 1, DATA_ERR_BARE_CR, 0 },
	{ "pipe LF", "a\n..b\n.\n", 1, "a\n.b\n", 1, 0, 0 },
	{ "pipe CRLF too", "a\r\nb\n.\r\n", 1, "a\nb\n", 1, 0, 0 },
	{ "pipe bare CR", "a\rb\n.\n", 1, "", 1, DATA_ERR_BARE_CR, 0 },
	{ "binary and NUL", "\x01\xff\0z\r\n.\r\n", 0, "\x01\xff\0z\n", 1, 0, 0 },
};

Test(data, table_whole_and_bytewise)
{
	struct result r;
	size_t i, len, outlen;
	int bytewise;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (bytewise = 0; bytewise < 2; bytewise++) {
			len = strlen(t[i].in);
			if (strcmp(t[i].name, "binary and NUL") == 0)
				len = 9;
			run(t[i].in, len, t[i].lf, 1000, bytewise, &r);
			outlen = strcmp(t[i].name, "binary and NUL") == 0 ? 5 :
			    strlen(t[i].out);
			cr_expect_eq(r.ended, t[i].ended, "%s/%d: end", t[i].name,
			    bytewise);
			cr_expect_eq(r.errors, t[i].errors, "%s/%d: errors %#x",
			    t[i].name, bytewise, r.errors);
			if (t[i].errors == 0) {
				cr_expect_eq(r.outlen, outlen, "%s/%d: length %zu",
				    t[i].name, bytewise, r.outlen);
				cr_expect(memcmp(r.out, t[i].out, outlen) == 0,
				    "%s/%d: bytes", t[i].name, bytewise);
			}
			cr_expect_eq(len - r.consumed, t[i].rest, "%s/%d: rest",
			    t[i].name, bytewise);
		}
}

/*
 * RFC 1870 3: the size is the octets transmitted after 354, "including
 * CR-LF pairs", without the stuffing dots and the final dot line.
 */
Test(data, size_limit)
{
	struct result r;

	run("12345\r\n.\r\n", 10, 0, 7, 0, &r);
	cr_expect_eq(r.errors, 0, "5 octets and CRLF fit in 7");
	run("12345\r\n.\r\n", 10, 0, 6, 0, &r);
	cr_expect_eq(r.errors, DATA_ERR_TOO_BIG, "CRLF counts 2, not 1");
	cr_expect(r.ended, "the end is still found");
	run("123456\r\n.\r\n", 11, 0, 6, 1, &r);
	cr_expect_eq(r.errors, DATA_ERR_TOO_BIG);
	/* a pipe's LF is a CRLF as transmitted: the same size */
	run("12345\n.\n", 8, 1, 7, 0, &r);
	cr_expect_eq(r.errors, 0, "pipe: 7 fit in 7");
	run("12345\n.\n", 8, 1, 6, 1, &r);
	cr_expect_eq(r.errors, DATA_ERR_TOO_BIG, "pipe: 7 do not fit in 6");
	/* the stuffing dot is not counted: ".x" CRLF is 4 */
	run("..x\r\n.\r\n", 10, 0, 4, 0, &r);
	cr_expect_eq(r.errors, 0, "stuffing dot not counted");
	run("..x\r\n.\r\n", 10, 0, 3, 1, &r);
	cr_expect_eq(r.errors, DATA_ERR_TOO_BIG);
}

/* The reported case: 1,001,000 octets sent, 1,000,000 once CRLF is LF. */
Test(data, size_limit_counts_crlf)
{
	static char in[1001000 + 3];
	struct data_machine dm;
	static char out[sizeof(in)];
	size_t i, n = 0, o;

	for (i = 0; i < 1000; i++) {
		memset(in + n, 'x', 999);
		memcpy(in + n + 999, "\r\n", 2);
		n += 1001;
	}
	memcpy(in + n, ".\r\n", 3);
	data_init(&dm, 0, 1000000);
	cr_assert_eq(data_feed(&dm, in, n + 3, out, &o), n + 3);
	cr_expect_eq(dm.state, DS_END);
	cr_expect_eq(dm.errors, DATA_ERR_TOO_BIG, "1,001,000 > 1,000,000");
	data_init(&dm, 0, 1001000);
	cr_assert_eq(data_feed(&dm, in, n + 3, out, &o), n + 3);
	cr_expect_eq(dm.errors, 0, "exactly the limit fits");
	cr_expect_eq(dm.wire_size, 1001000);
	cr_expect_eq(dm.size, 1000000, "the spool's LF form");
	cr_expect_eq(o, 1000000);
}

Test(data, hop_count)
{
	char in[8192];
	struct result r;
	size_t n = 0;
	int i;

	for (i = 0; i < 99; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "Received: x\r\n");
	n += (size_t)snprintf(in + n, sizeof(in) - n,
	    "Subject: s\r\n\r\nReceived: in the body\r\n.\r\n");
	run(in, n, 0, 100000, 0, &r);
	cr_expect_eq(r.hops, 99);
	cr_expect_eq(r.errors, 0);
	n = 0;
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "received: x\r\n");
	n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n.\r\n");
	run(in, n, 0, 100000, 0, &r);
	cr_expect_eq(r.errors, DATA_ERR_HOPS);
}

/*
 * In place (smtpd feeds its input buffer as the output, issue 19): the
 * same octets, errors and end as into a buffer of their own, and the
 * bytes after the end (a pipelined QUIT) left as they were. Under the
 * sanitizers an overlapping memcpy fails here.
 */
Test(data, in_place)
{
	struct data_machine dm;
	struct result r;
	char buf[4096];
	size_t i, len, n, o;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = strcmp(t[i].name, "binary and NUL") == 0 ? 9 :
		    strlen(t[i].in);
		run(t[i].in, len, t[i].lf, 1000, 0, &r);
		memcpy(buf, t[i].in, len);
		data_init(&dm, t[i].lf, 1000);
		n = data_feed(&dm, buf, len, buf, &o);
		cr_expect_eq(n, r.consumed, "%s: consumed", t[i].name);
		cr_expect_eq(dm.errors, r.errors, "%s: errors", t[i].name);
		cr_expect_eq(dm.state == DS_END, r.ended, "%s: end", t[i].name);
		if (r.errors == 0) {
			cr_expect_eq(o, r.outlen, "%s: length", t[i].name);
			cr_expect(memcmp(buf, r.out, o) == 0, "%s: bytes",
			    t[i].name);
		}
		cr_expect(memcmp(buf + n, t[i].in + n, len - n) == 0,
		    "%s: the rest", t[i].name);
	}
	/* a long run with line ends: memmove over overlapping octets */
	memset(buf, 'x', sizeof(buf));
	for (i = 100; i + 2 < sizeof(buf) - 5; i += 100)
		memcpy(buf + i, "\r\n", 2);
	memcpy(buf + sizeof(buf) - 5, "\r\n.\r\n", 5);
	data_init(&dm, 0, 100000);
	n = data_feed(&dm, buf, sizeof(buf), buf, &o);
	cr_expect_eq(n, sizeof(buf));
	cr_expect_eq(dm.errors, 0);
	cr_expect_eq(buf[0], 'x');
	cr_expect_eq(buf[98], 'x');
	cr_expect_eq(buf[99], 'x');
	cr_expect_eq(buf[100], '\n', "CRLF became LF: %#x", buf[100]);
	cr_expect_eq(buf[101], 'x');
}
