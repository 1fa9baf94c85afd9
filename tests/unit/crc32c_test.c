/* crc32c: RFC 3720 B.4's vectors, both implementations, in pieces. */
#include <criterion/criterion.h>
#include <string.h>

#include "crc32c.h"

static void
both(const void *p, size_t n, uint32_t want)
{
	cr_expect_eq(crc32c(0, p, n), want, "%08x, want %08x",
	    crc32c(0, p, n), want);
	cr_expect_eq(crc32c_table(0, p, n), want, "table: %08x, want %08x",
	    crc32c_table(0, p, n), want);
}

Test(crc32c, rfc3720_vectors)
{
	/* the iSCSI SCSI Read (10) command PDU of RFC 3720 B.4 */
	static const unsigned char pdu[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14,
		0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0, 0, 0,
		0x02, 0, 0, 0, 0, 0, 0, 0,
	};
	unsigned char b[32];
	int i;

	memset(b, 0, sizeof(b));
	both(b, sizeof(b), 0x8a9136aa);
	memset(b, 0xff, sizeof(b));
	both(b, sizeof(b), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	both(b, sizeof(b), 0x46dd794e);
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	both(b, sizeof(b), 0x113fdb5c);
	both(pdu, sizeof(pdu), 0xd9963a56);
	both("123456789", 9, 0xe3069283);
	both("", 0, 0);
}

/* Any cut, any alignment: the same as one call (the 8-octet steps). */
Test(crc32c, pieces_and_alignment)
{
	unsigned char b[4200];
	uint32_t whole, c;
	size_t i, cut;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 131 + 7);
	whole = crc32c_table(0, b, sizeof(b));
	cr_expect_eq(crc32c(0, b, sizeof(b)), whole);
	for (cut = 0; cut < 24; cut++) {
		c = crc32c(0, b, cut);
		c = crc32c(c, b + cut, sizeof(b) - cut);
		cr_expect_eq(c, whole, "cut at %zu", cut);
		cr_expect_eq(crc32c(0, b + cut, 100),
		    crc32c_table(0, b + cut, 100), "offset %zu", cut);
	}
}

/* What it is for: one flipped bit, or a block of other bytes. */
Test(crc32c, catches_a_changed_block)
{
	unsigned char b[8192], o[8192];
	uint32_t c;
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 31 + 3);
	c = crc32c(0, b, sizeof(b));
	memcpy(o, b, sizeof(o));
	o[5000] ^= 0x01;
	cr_expect_neq(crc32c(0, o, sizeof(o)), c);
	memcpy(o, b, sizeof(o));
	memset(o + 4096, 'x', 4096);
	cr_expect_neq(crc32c(0, o, sizeof(o)), c);
}
