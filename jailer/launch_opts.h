/*
 * The operator's options of `vmjail run`, the same in its policy form and
 * its flags form: how the launcher runs the sandbox, never what the
 * sandbox may use (which is the policy's, within the host file's bounds).
 */
#ifndef VJ_JAILER_LAUNCH_OPTS_H
#define VJ_JAILER_LAUNCH_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "error.h"
#include "launch.h"

#define VJ_LAUNCH_OPT_BASE 3000

/* Zero-terminated, for getopt_long; values from VJ_LAUNCH_OPT_BASE up. */
extern const struct option vj_launch_options[];

/* out = a's options, then these, zero-terminated (cap entries at most). */
void vj_launch_options_join(struct option *out, size_t cap, const struct option *a);

/* Applies one of them: 0, or -errno with e set. */
int vj_launch_option(struct vj_launch *l, int opt, const char *value, struct vj_err *e);

/* Once every option is in: the combinations that make no sense. */
int vj_launch_options_check(const struct vj_launch *l, struct vj_err *e);

void vj_launch_options_usage(FILE *out);

#endif
