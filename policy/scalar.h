/*
 * Strict parsers and printers for the scalar syntaxes of policy and host
 * files. One syntax per kind, so that a value means the same everywhere:
 *   integer   decimal digits, no sign, no leading zero, no separators
 *   size      integer with an optional binary suffix K, M, G, T or Ki, Mi,
 *             Gi, Ti, all powers of 1024 (common/parse.h: the same grammar
 *             as every size on a command line); bare: bytes
 *   duration  integer with a required unit: ms, s, m or h (a bare
 *             number is refused: 30 could be seconds or milliseconds)
 *   decimal   integer with up to three fractional digits ("1.5")
 * Parsers return 0, -EINVAL (malformed) or -ERANGE (does not fit).
 */
#ifndef VJ_POLICY_SCALAR_H
#define VJ_POLICY_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VJ_CPUSET_NR 1024 /* highest CPU or memory node a cpuset may name, +1 */

int vj_scalar_uint(const char *s, uint64_t *out);
int vj_scalar_size(const char *s, uint64_t *out);
int vj_scalar_duration_ms(const char *s, uint64_t *out);
int vj_scalar_milli(const char *s, uint64_t *out); /* "1.5" -> 1500 */

/* Printers produce the canonical form the parsers accept: the largest
 * suffix that represents the value exactly. */
void vj_format_size(uint64_t v, char *buf, size_t len);
void vj_format_duration_ms(uint64_t ms, char *buf, size_t len);
void vj_format_milli(uint64_t v, char *buf, size_t len);

/* Names: each returns true when s is acceptable. */
/* [A-Za-z0-9-]{1,64}: the one check of a sandbox id, in a policy, on the
 * command line and in the run directory; safe as a path component and a
 * cgroup name. */
bool vj_name_is_sandbox_id(const char *s);
bool vj_name_is_drive_id(const char *s);   /* [A-Za-z0-9_-]{1,20} */
bool vj_name_is_ifname(const char *s);     /* [A-Za-z0-9_.-]{1,15}, not . or .. */
bool vj_name_is_netns(const char *s);      /* [A-Za-z0-9_.-]{1,64}, not . or .. */
bool vj_name_is_env(const char *s, size_t len); /* [A-Za-z_][A-Za-z0-9_]* */
bool vj_name_is_cgroup_path(const char *s); /* relative, components of [A-Za-z0-9_.-] */
bool vj_name_is_cgroup_parent(const char *s); /* a cgroup path, or '/' and one */

/* "0-3,8,10-11": CPUs or memory nodes below VJ_CPUSET_NR, as a bitmap. */
struct vj_cpuset {
	uint64_t bits[VJ_CPUSET_NR / 64];
};
int vj_cpuset_parse(const char *s, struct vj_cpuset *set);
bool vj_cpuset_subset(const struct vj_cpuset *a, const struct vj_cpuset *b);

/* Valid UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF); on failure *bad is the offset of the first bad byte. */
bool vj_utf8_valid(const char *s, size_t len, size_t *bad);

/* s as a double-quoted string valid in both YAML and JSON: whole to a
 * stream, or cut to about 40 characters (for messages) into buf. */
int vj_fquote(FILE *f, const char *s, size_t len);
void vj_quote_short(const char *s, size_t len, char *buf, size_t buflen);

#endif
