/* milter_proto: the milter packet encoder and decoder, byte for byte. */
#include <criterion/criterion.h>
#include <string.h>

#include "milter_proto.h"

#define PKT(s)	(s), sizeof(s) - 1

static void
expect_bytes(const struct buf *b, const char *want, size_t len)
{
	cr_assert_eq(b->len, len, "length %zu, want %zu", b->len, len);
	cr_expect(memcmp(b->data, want, len) == 0);
}

Test(milter_proto, optneg)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	cr_assert_eq(milter_proto_optneg(&b, 6, 0x1ff, 0x1ff7ff), 0);
	expect_bytes(&b, PKT("\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x1f\xf7\xff"));
	buf_free(&b);
}

Test(milter_proto, connect)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	cr_assert_eq(milter_proto_connect(&b, "mx.test", '4', 25,
	    "192.0.2.1"), 0);
	expect_bytes(&b, PKT("\0\0\0\x16" "Cmx.test\0" "4\0\x19" "192.0.2.1\0"));
	buf_reset(&b);
	cr_assert_eq(milter_proto_connect(&b, "localhost", 'L', 0, ""), 0);
	expect_bytes(&b, PKT("\0\0\0\x0c" "Clocalhost\0L"));
	buf_free(&b);
}

Test(milter_proto, strings_and_macros)
{
	const char *mail[] = { "<a@b.test>", "SIZE=10" };
	const char *names[] = { "i", "{auth_authen}", "{mail_addr}" };
	const char *values[] = { "01k177h582jc", NULL, "a@b.test" };
	struct buf b;

	buf_init(&b, 1 << 20);
	cr_assert_eq(milter_proto_strings(&b, MILTER_C_MAIL, mail, 2), 0);
	expect_bytes(&b, PKT("\0\0\0\x14M<a@b.test>\0SIZE=10\0"));
	buf_reset(&b);
	cr_assert_eq(milter_proto_macros(&b, MILTER_C_MAIL, names, values, 3),
	    0);
	expect_bytes(&b, PKT("\0\0\0\x26" "DMi\0" "01k177h582jc\0"
	    "{mail_addr}\0a@b.test\0"));
	buf_reset(&b);
	cr_assert_eq(milter_proto_put(&b, MILTER_C_EOB, NULL, 0), 0);
	expect_bytes(&b, PKT("\0\0\0\x01" "E"));
	buf_free(&b);
}

Test(milter_proto, bounded)
{
	static char big[MILTER_PACKET_MAX];
	struct buf b;

	buf_init(&b, 4 * MILTER_PACKET_MAX);
	cr_expect_eq(milter_proto_put(&b, MILTER_C_BODY, big, sizeof(big)), -1);
	cr_expect_eq(b.len, 0);
	cr_expect_eq(milter_proto_put(&b, MILTER_C_BODY, big, sizeof(big) - 1),
	    0);
	buf_free(&b);
	buf_init(&b, 10);
	cr_expect_eq(milter_proto_put(&b, MILTER_C_BODY, "0123456789", 10), -1);
	cr_expect_eq(b.len, 0);
	buf_free(&b);
}

Test(milter_proto, frame)
{
	size_t n = 0;

	cr_expect_eq(milter_proto_frame("\0\0\0", 3, &n), 0);
	cr_expect_eq(milter_proto_frame("\0\0\0\x02" "c", 5, &n), 0);
	cr_expect_eq(milter_proto_frame("\0\0\0\x01" "cX", 6, &n), 1);
	cr_expect_eq(n, 1);
	cr_expect_eq(milter_proto_frame("\0\0\0\0", 4, &n), -1);
	cr_expect_eq(milter_proto_frame("\0\x10\0\x01", 4, &n), -1);
	cr_expect_eq(milter_proto_frame("\xff\xff\xff\xff", 4, &n), -1);
	cr_expect_eq(milter_proto_frame("\0\x10\0\0", 4, &n), 0);
}

static int
parse(const char *p, size_t len, struct milter_reply *r)
{
	char err[128];

	return milter_proto_parse(p, len, r, err, sizeof(err));
}

Test(milter_proto, parse_simple)
{
	static const char ok[] = "acdrtps4f";
	struct milter_reply r;
	size_t i;

	for (i = 0; ok[i]; i++) {
		cr_expect_eq(parse(&ok[i], 1, &r), 0, "%c", ok[i]);
		cr_expect_eq(r.cmd, ok[i]);
	}
	cr_expect_eq(parse(PKT("cX"), &r), -1);
	cr_expect_eq(parse(PKT("Z"), &r), -1);
	cr_expect_eq(parse(PKT("\0"), &r), -1);
	cr_expect_eq(parse("", 0, &r), -1);
}

Test(milter_proto, parse_optneg)
{
	struct milter_reply r;

	cr_assert_eq(parse(PKT("O\0\0\0\x06\0\0\0\x21\0\0\0\x20"), &r), 0);
	cr_expect_eq(r.version, 6);
	cr_expect_eq(r.actions, MILTER_F_ADDHDRS | MILTER_F_QUARANTINE);
	cr_expect_eq(r.protocol, MILTER_P_NOHDRS);
	cr_expect_null(r.symlist[0]);
	cr_assert_eq(parse(PKT("O\0\0\0\x06\0\0\0\x01\0\0\0\0"
	    "\0\0\0\x02{mail_addr} i\0" "\0\0\0\x05j\0"), &r), 0);
	cr_expect_str_eq(r.symlist[MILTER_M_MAIL], "{mail_addr} i");
	cr_expect_str_eq(r.symlist[MILTER_M_EOM], "j");
	cr_expect_eq(parse(PKT("O\0\0\0\x06\0\0\0\x01\0\0\0"), &r), -1);
	cr_expect_eq(parse(PKT("O\0\0\0\x06\0\0\0\x01\0\0\0\0\0\0\0\x07j\0"),
	    &r), -1);
	cr_expect_eq(parse(PKT("O\0\0\0\x06\0\0\0\x01\0\0\0\0\0\0\0\x01j"),
	    &r), -1);
	cr_expect_eq(parse(PKT("O\0\0\0\x06\0\0\0\x01\0\0\0\0\0\0"), &r), -1);
}

Test(milter_proto, parse_headers)
{
	struct milter_reply r;

	cr_assert_eq(parse(PKT("hX-Spam\0yes\0"), &r), 0);
	cr_expect_str_eq(r.s1, "X-Spam");
	cr_expect_str_eq(r.s2, "yes");
	cr_assert_eq(parse(PKT("i\0\0\0\x02X-A\0 v\r\n\tw\0"), &r), 0);
	cr_expect_eq(r.index, 2);
	cr_expect_str_eq(r.s2, " v\r\n\tw");
	cr_assert_eq(parse(PKT("m\0\0\0\x01Subject\0\0"), &r), 0);
	cr_expect_eq(r.index, 1);
	cr_expect_str_eq(r.s2, "");
	/* no NUL at the end, trailing octets, smuggled lines, bad names */
	cr_expect_eq(parse(PKT("hX-Spam\0yes"), &r), -1);
	cr_expect_eq(parse(PKT("hX-Spam\0yes\0x"), &r), -1);
	cr_expect_eq(parse(PKT("hX-Spam\0yes\r\nBcc: x@y\0"), &r), -1);
	cr_expect_eq(parse(PKT("hX-Spam\0yes\n\nbody\0"), &r), -1);
	cr_expect_eq(parse(PKT("hX-Spam\0yes\rno\0"), &r), -1);
	cr_expect_eq(parse(PKT("hX Spam\0yes\0"), &r), -1);
	cr_expect_eq(parse(PKT("hX:Spam\0yes\0"), &r), -1);
	cr_expect_eq(parse(PKT("h\0yes\0"), &r), -1);
	cr_expect_eq(parse(PKT("i\0\0\0"), &r), -1);
}

Test(milter_proto, parse_envelope)
{
	struct milter_reply r;

	cr_assert_eq(parse(PKT("+<x@y.test>\0"), &r), 0);
	cr_expect_str_eq(r.s1, "<x@y.test>");
	cr_assert_eq(parse(PKT("-<x@y.test>\0"), &r), 0);
	cr_assert_eq(parse(PKT("2<x@y.test>\0NOTIFY=NEVER\0"), &r), 0);
	cr_expect_str_eq(r.s2, "NOTIFY=NEVER");
	cr_assert_eq(parse(PKT("e<s@y.test>\0"), &r), 0);
	cr_expect_null(r.s2);
	cr_assert_eq(parse(PKT("q\0"), &r), 0);
	cr_assert_eq(parse(PKT("qspam\0"), &r), 0);
	cr_expect_str_eq(r.s1, "spam");
	cr_expect_eq(parse(PKT("+\0"), &r), -1);
	cr_expect_eq(parse(PKT("+<x@y>\r\n\0"), &r), -1);
	cr_expect_eq(parse(PKT("e<s@y>\0A\0B\0"), &r), -1);
	cr_assert_eq(parse(PKT("l\0\0\0\x03{rcpt_addr}\0"), &r), 0);
	cr_expect_eq(r.index, 3);
	cr_expect_eq(parse(PKT("l\0\0\0\x09j\0"), &r), -1);
	cr_assert_eq(parse(PKT("bline\r\n"), &r), 0);
	cr_expect_eq(r.len, 6);
	cr_expect(memcmp(r.data, "line\r\n", 6) == 0);
}

Test(milter_proto, reply_codes)
{
	static const struct {
		const char *s;
		int code;
	} t[] = {
		{ "550 5.7.1 Spam message rejected", 550 },
		{ "451 4.7.1 Try again later", 451 },
		{ "554", 554 },
		{ "550-5.7.1 one\r\n550 5.7.1 two", 550 },
		{ "550-one\n550 two", 550 },
		{ "550 5.7.1 done\r\n", 550 },
		{ "250 2.0.0 ok", -1 },
		{ "354 go", -1 },
		{ "550 4.7.1 wrong class", -1 },
		{ "450 5.7.1 wrong class", -1 },
		{ "550-one\r\n551 two", -1 },
		{ "550-one", -1 },
		{ "550 one\r\n550 two", -1 },
		{ "55 short", -1 },
		{ "5500 long", -1 },
		{ "550 bare\rCR", -1 },
		{ "550 tab\tinside", -1 },
		{ "", -1 },
	};
	struct milter_reply r;
	char pkt[256];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_eq(milter_proto_reply_code(t[i].s), t[i].code, "%s",
		    t[i].s);
		pkt[0] = 'y';
		memcpy(pkt + 1, t[i].s, strlen(t[i].s) + 1);
		cr_expect_eq(parse(pkt, strlen(t[i].s) + 2, &r) == 0,
		    t[i].code != -1, "%s", t[i].s);
		if (t[i].code != -1)
			cr_expect_eq(r.code, t[i].code);
	}
}

Test(milter_proto, header_values)
{
	cr_expect(milter_proto_header_value_ok(""));
	cr_expect(milter_proto_header_value_ok(" a\n\tb\r\n c"));
	cr_expect(!milter_proto_header_value_ok("a\n"));
	cr_expect(!milter_proto_header_value_ok("a\r\n"));
	cr_expect(!milter_proto_header_value_ok("a\x7f"));
	cr_expect(milter_proto_header_name_ok("DKIM-Signature"));
	cr_expect(!milter_proto_header_name_ok("Caf\xc3\xa9"));
}
