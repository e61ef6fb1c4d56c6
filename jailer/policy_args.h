/* `vmjail run POLICY ...` and `vmjail check POLICY`: a tenant's policy
 * file, checked against the operator's host configuration (l->host, loaded
 * before), plus the per-request overrides. */
#ifndef VJ_POLICY_ARGS_H
#define VJ_POLICY_ARGS_H

#include <stdio.h>

#include "error.h"
#include "launch.h"

/*
 * argv[0] is "run", argv[1] the policy file. Fills l->policy from the file
 * and the overrides (--id, --vcpus, --memory, --timeout, -- ARGV) and the
 * launcher's own options. Returns 0, 1 for --help, or a negative errno
 * with e set. The caller releases l->policy with vj_policy_free().
 */
int vj_policy_args_parse_run(struct vj_launch *l, int argc, char **argv, struct vj_err *e);

void vj_policy_args_usage_run(FILE *out);

/* `vmjail check POLICY [--json]`: validates and prints the effective
 * policy to out. Returns 0 (valid), 1 for --help, or a negative errno. */
int vj_policy_args_check(const struct vj_host_config *host, int argc, char **argv, FILE *out,
			 struct vj_err *e);

#endif
