/*
 * crc32c: CRC-32C (Castagnoli, RFC 3720 B.4), the queue file's checksum
 * (SPOOL.md "sum"). Pure: the SSE4.2 instruction when the CPU has it
 * (asked at each call, a load), else a table. A CRC of 32 bits catches
 * every burst of up to 32 changed bits and any other change, a block of
 * foreign bytes included, with probability 1 - 2^-32.
 */
#ifndef POMBO_CRC32C_H
#define POMBO_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * The CRC of buf, continuing crc, the CRC of what came before (0 to
 * start): crc32c(crc32c(0, a, n), b, m) is the CRC of a then b.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The same by the table alone (the tests compare the two). */
uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len);

#endif
