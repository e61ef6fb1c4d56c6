/* The drive contents the blk scenarios and the host helper agree on. */
#ifndef VJ_VGUEST_VPATTERN_H
#define VJ_VGUEST_VPATTERN_H

#include <stdint.h>

/* Byte at offset `off` of a freshly made test drive. */
static inline uint8_t vpattern(uint64_t off)
{
	return (uint8_t)((off >> 9) * 7 + (off & 511) + 1);
}

#define VPAT_DISK_SIZE (1u << 20)
/* The `blk` scenario writes the inverted pattern to [4 KiB, 8 KiB), zeroes
 * [8 KiB, 12 KiB) and discards [32 KiB, 96 KiB). */
#define VPAT_WRITE_OFF 4096u
#define VPAT_WRITE_LEN 4096u
#define VPAT_ZERO_OFF 8192u
#define VPAT_ZERO_LEN 4096u
#define VPAT_DISCARD_OFF 32768u
#define VPAT_DISCARD_LEN 65536u

#endif
