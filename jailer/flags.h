/* `vmjail run` described by command-line flags alone (no policy file). */
#ifndef VJ_FLAGS_H
#define VJ_FLAGS_H

#include <stdio.h>

#include "error.h"
#include "launch.h"

/* Defaults of a sandbox described by flags (l->host is left alone: the
 * host configuration is loaded before). */
void vj_launch_init(struct vj_launch *l);

/*
 * Fills l from argv (argv[0] is "run"): the VMM's own flags (--kernel,
 * --memory, --drive...) plus the jail's. Returns 0, 1 when --help was
 * asked for, or a negative errno with e set.
 */
int vj_flags_parse_run(struct vj_launch *l, int argc, char **argv, struct vj_err *e);

void vj_flags_usage_run(FILE *out);

#endif
