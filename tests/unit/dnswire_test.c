/* dnswire and dane: record data from the wire (names, MX, TLSA) and
 * which TLSA records SMTP can use (RFC 7672 3.1). */
#include <criterion/criterion.h>
#include <string.h>

#include "dane.h"
#include "dnswire.h"

Test(dnswire, names)
{
	static const struct {
		const char *wire;
		size_t len;
		int ok;
		const char *text;
		size_t used;
	} t[] = {
		{ "\0", 1, 1, "", 1 },
		{ "\2mx\7example\4test\0", 17, 1, "mx.example.test", 17 },
		{ "\2mx\7example\4test\0zz", 19, 1, "mx.example.test", 17 },
		{ "\3_25\4_tcp\2mx\0", 13, 1, "_25._tcp.mx", 13 },
		/* no end: runs past the data */
		{ "\2mx\7example", 11, 0, NULL, 0 },
		{ "\7mx", 3, 0, NULL, 0 },
		{ "", 0, 0, NULL, 0 },
		/* a compression pointer; the reserved label types */
		{ "\xc0\x0c", 2, 0, NULL, 0 },
		{ "\x40" "a\0", 3, 0, NULL, 0 },
		/* octets that would make another name of the text */
		{ "\3a.b\0", 5, 0, NULL, 0 },
		{ "\3a b\0", 5, 0, NULL, 0 },
		{ "\3a\0b\0", 5, 0, NULL, 0 },
		{ "\3a\nb\0", 5, 0, NULL, 0 },
	};
	char out[256];
	size_t i, used;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = dnswire_name((const unsigned char *)t[i].wire, t[i].len,
		    &used, out, sizeof(out));
		cr_expect_eq(r, t[i].ok ? 0 : -1, "case %zu", i);
		if (r == 0 && t[i].ok) {
			cr_expect_str_eq(out, t[i].text, "case %zu", i);
			cr_expect_eq(used, t[i].used, "case %zu", i);
		}
	}
}

Test(dnswire, name_longer_than_buffer)
{
	unsigned char wire[300];
	char out[64];
	size_t used, n = 0, k;

	/* 4 labels of 10: 43 octets of text */
	for (k = 0; k < 4; k++) {
		wire[n++] = 10;
		memset(wire + n, 'a', 10);
		n += 10;
	}
	wire[n++] = 0;
	cr_expect_eq(dnswire_name(wire, n, &used, out, 16), -1);
	cr_expect_eq(dnswire_name(wire, n, &used, out, 44), 0);
	cr_expect_eq(dnswire_name(wire, n, &used, out, 43), -1);
}

Test(dnswire, mx)
{
	struct dns_mx mx;

	cr_assert_eq(dnswire_mx((const unsigned char *)"\0\12\2mx\4test\0",
	    11, &mx), 0);
	cr_expect_eq(mx.pref, 10);
	cr_expect_str_eq(mx.host, "mx.test");
	/* the null MX (RFC 7505) */
	cr_assert_eq(dnswire_mx((const unsigned char *)"\0\0\0", 3, &mx), 0);
	cr_expect_eq(mx.pref, 0);
	cr_expect_str_eq(mx.host, "");
	cr_expect_eq(dnswire_mx((const unsigned char *)"\1\0", 2, &mx), -1);
	/* trailing octets after the name */
	cr_expect_eq(dnswire_mx((const unsigned char *)"\0\12\2mx\0x", 7,
	    &mx), -1);
	cr_expect_eq(dnswire_mx((const unsigned char *)"\xff\xff\2mx\0", 6,
	    &mx), 0);
	cr_expect_eq(mx.pref, 65535);
}

Test(dnswire, tlsa)
{
	static struct dnswire_tlsa t;
	static unsigned char big[3 + DNSWIRE_TLSA_DATA_MAX + 1];

	cr_assert_eq(dnswire_tlsa((const unsigned char *)"\3\1\1\xab", 4, &t),
	    0);
	cr_expect_eq(t.usage, 3);
	cr_expect_eq(t.selector, 1);
	cr_expect_eq(t.mtype, 1);
	cr_expect_eq(t.len, 1);
	cr_expect_eq(t.data[0], 0xab);
	/* no association data */
	cr_expect_eq(dnswire_tlsa((const unsigned char *)"\3\1\1", 3, &t), -1);
	cr_expect_eq(dnswire_tlsa(big, sizeof(big) - 1, &t), 0);
	cr_expect_eq(t.len, DNSWIRE_TLSA_DATA_MAX);
	cr_expect_eq(dnswire_tlsa(big, sizeof(big), &t), -1);
}

Test(dane, usable_records)
{
	static const struct {
		unsigned usage, selector, mtype;
		size_t len;
		int usable;
	} t[] = {
		{ 3, 1, 1, 32, 1 },	/* DANE-EE SPKI SHA2-256 */
		{ 3, 0, 1, 32, 1 },	/* DANE-EE Cert SHA2-256 */
		{ 2, 0, 1, 32, 1 },	/* DANE-TA Cert SHA2-256 */
		{ 2, 1, 2, 64, 1 },	/* DANE-TA SPKI SHA2-512 */
		{ 3, 1, 0, 91, 1 },	/* the whole key */
		{ 3, 1, 1, 31, 0 },	/* a digest of the wrong length */
		{ 3, 1, 1, 33, 0 },
		{ 3, 1, 2, 32, 0 },
		{ 0, 0, 1, 32, 0 },	/* PKIX-TA: not for SMTP */
		{ 1, 1, 1, 32, 0 },	/* PKIX-EE: not for SMTP */
		{ 4, 1, 1, 32, 0 },	/* no such usage */
		{ 255, 1, 1, 32, 0 },
		{ 3, 2, 1, 32, 0 },	/* no such selector */
		{ 3, 1, 3, 32, 0 },	/* no such matching type */
		{ 3, 1, 0, 0, 0 },
	};
	static struct dnswire_tlsa r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.usage = (uint8_t)t[i].usage;
		r.selector = (uint8_t)t[i].selector;
		r.mtype = (uint8_t)t[i].mtype;
		r.len = t[i].len;
		cr_expect_eq(dane_tlsa_usable(&r), t[i].usable, "case %zu", i);
	}
}

Test(dnswire, txt_strings_joined)
{
	static const unsigned char one[] = "\x0bv=STSv1; id", two[] =
	    "\x05v=STS\x0av1; id=abc", empty[] = "\x00", nul[] = "\x03" "a\0b",
	    past[] = "\x09v=STSv1";
	char out[32], small[8];

	cr_expect_eq(dnswire_txt(one, sizeof(one) - 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "v=STSv1; id");
	cr_expect_eq(dnswire_txt(two, sizeof(two) - 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "v=STSv1; id=abc");
	cr_expect_eq(dnswire_txt(empty, 1, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
	cr_expect_eq(dnswire_txt(empty, 0, out, sizeof(out)), -1);
	cr_expect_eq(dnswire_txt(nul, sizeof(nul) - 1, out, sizeof(out)), -1);
	cr_expect_eq(dnswire_txt(past, sizeof(past) - 1, out, sizeof(out)),
	    -1);
	/* seven octets fit in eight with the NUL; eight do not */
	cr_expect_eq(dnswire_txt((const unsigned char *)"\x07" "abcdefg", 8,
	    small, sizeof(small)), 0);
	cr_expect_str_eq(small, "abcdefg");
	cr_expect_eq(dnswire_txt((const unsigned char *)"\x04" "abcd\x04"
	    "efgh", 10, small, sizeof(small)), -1);
}
