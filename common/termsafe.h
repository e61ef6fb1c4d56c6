/*
 * Guest bytes made harmless for a terminal. A terminal acts on what it is
 * sent: escape sequences retitle the window, rewrite the screen, set the
 * clipboard (OSC 52), remap keys or make it answer back as if typed. The
 * guest is hostile, so when its output (the serial console, the
 * workload's stdout and stderr) goes to a terminal every control
 * character is shown as text instead, and only text reaches the terminal:
 *
 *   - printable ASCII, and \n \t \r \b, pass as they are;
 *   - the other C0 controls and DEL in caret notation: ESC is "^[", BEL
 *     "^G", NUL "^@", DEL "^?";
 *   - UTF-8 passes when it is well formed (shortest form, no surrogates,
 *     at most U+10FFFF) and is not a C1 control (U+0080..U+009F, which
 *     some terminals obey as they would ESC-prefixed ones);
 *   - every other byte (raw C1 bytes, malformed or truncated UTF-8, and
 *     both bytes of an encoded C1 control) as "\xNN".
 *
 * A UTF-8 sequence may be split across writes: its first bytes are held
 * until the rest arrives or proves it malformed. Output destined for a
 * file or pipe never goes through here: a pipeline gets the exact bytes.
 */
#ifndef VJ_TERMSAFE_H
#define VJ_TERMSAFE_H

#include <stddef.h>
#include <stdint.h>

struct vj_termsafe {
	uint8_t held[3]; /* the start of a UTF-8 sequence */
	uint8_t nheld;
	uint8_t need; /* the length that sequence announced */
};

/* Room the rendering of n bytes may take: 4 per byte (\xNN), and as much
 * again for the bytes held from the call before. */
#define VJ_TERMSAFE_MAX(n) (4 * ((size_t)(n) + 3))

/* A zeroed struct vj_termsafe is ready to use as well. */
void vj_termsafe_init(struct vj_termsafe *t);

/* Renders in[0..n) into out, which has room for VJ_TERMSAFE_MAX(n)
 * bytes; returns how many it wrote. */
size_t vj_termsafe_feed(struct vj_termsafe *t, const void *in, size_t n, char *out);

/* The end of the stream: renders what is held (an unfinished sequence)
 * into out[VJ_TERMSAFE_MAX(0)]; returns how many bytes it wrote. */
size_t vj_termsafe_finish(struct vj_termsafe *t, char *out);

#endif
