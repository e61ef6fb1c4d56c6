/* Strict parsers for numbers and sizes taken from flags and files. */
#ifndef VJ_PARSE_H
#define VJ_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal (or 0x-prefixed hex) unsigned integer, whole string, no sign,
 * no whitespace, within [min, max]. Returns 0, -EINVAL or -ERANGE. */
int vj_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* vmjail's grammars, the policy's, for files and command lines alike
 * (policy/scalar.h); each returns 0, -EINVAL or -ERANGE (overflow). */

/* Leading decimal digits of s, no sign and no leading zero; *end points
 * past them. */
int vj_parse_digits(const char *s, const char **end, uint64_t *out);

/* An integer: vj_parse_digits() and nothing after. */
int vj_parse_uint(const char *s, uint64_t *out);

/* A duration: an integer and a unit, ms, s, m or h, into milliseconds. A
 * bare number is refused: 30 could be seconds or milliseconds. */
int vj_parse_duration_ms(const char *s, uint64_t *out);

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
