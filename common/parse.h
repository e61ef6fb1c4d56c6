/* Strict parsers for numbers and sizes taken from flags and files. */
#ifndef VJ_PARSE_H
#define VJ_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal (or 0x-prefixed hex) unsigned integer, whole string, no sign,
 * no whitespace, within [min, max]. Returns 0, -EINVAL or -ERANGE. */
int vj_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* vmjail's one size grammar, in files and on command lines alike:
 * decimal digits (no sign, no leading zero) and an optional binary
 * suffix K, M, G, T or Ki, Mi, Gi, Ti, both meaning powers of 1024
 * (512M = 512Mi = 536870912). A bare number is bytes. Returns 0, -EINVAL
 * or -ERANGE (overflow). */
int vj_parse_size(const char *s, uint64_t *out);

/* "aa:bb:cc:dd:ee:ff" */
int vj_parse_mac(const char *s, uint8_t mac[6]);

/* Copy src into dst[cap] if it fits with its terminator; -ENAMETOOLONG
 * otherwise. */
int vj_strlcpy_checked(char *dst, const char *src, unsigned long cap);

#endif
