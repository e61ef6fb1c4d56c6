#include "policy_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch_opts.h"
#include "policy_load.h"
#include "settings.h"

enum {
	OPT_ID = 1000, OPT_TIMING, OPT_SECCOMP_LOG, OPT_JSON,
	OPT_VM_BASE, /* + the row of VJ_VM_RESOURCES: --vcpus, --memory, ... */
};

static const struct option run_opts[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "timing", no_argument, NULL, OPT_TIMING },
	{ "seccomp-log", no_argument, NULL, OPT_SECCOMP_LOG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void vj_policy_args_usage_run(FILE *out)
{
	fprintf(out,
		"usage: vmjail [--host-config FILE] run POLICY [options] [-- ARGV...]\n"
		"Per-request overrides, checked against the policy's bounds:\n"
		"  --id ID               sandbox id (default: the policy's, else sandbox-PID)\n"
		"  --vcpus N, --memory SIZE, --timeout DURATION   (policy syntax: 512Mi, 30s)\n"
		"  --output SIZE         cap on each of the workload's stdout and stderr\n"
		"  -- ARGV...            the workload's argv\n"
		"Operator options:\n"
		"  --timing              print start-up timestamps (launcher and VMM)\n"
		"  --seccomp-log         log seccomp violations instead of killing (diagnosis\n"
		"                        only; the host file must allow it)\n"
		"  -v, --verbose         more messages (passed on to the VMM)\n");
	vj_launch_options_usage(out);
}

static int launcher_opt(struct vj_launch *l, int opt, const char *v, struct vj_err *e)
{
	if (opt >= VJ_LAUNCH_OPT_BASE)
		return vj_launch_option(l, opt, v, e);
	switch (opt) {
	case OPT_TIMING:
		l->timing = true;
		return 0;
	case OPT_SECCOMP_LOG:
		if (!l->host.allow_seccomp_log)
			return vj_fail(e, -EPERM, "--seccomp-log: the host configuration (%s) does "
				       "not allow it (seccomp.allow_log)", l->host.source);
		l->policy.seccomp = VJ_SECCOMP_LOG;
		return 0;
	case 'v':
		l->verbosity++;
		return 0;
	}
	return vj_fail(e, -EINVAL, "internal: unhandled option %d", opt);
}

int vj_policy_args_parse_run(struct vj_launch *l, int argc, char **argv, struct vj_err *e)
{
	struct vj_policy_overrides ov = { 0 };
	int opt, r, saved[8], nsaved = 0;
	const char *path;
	char *values[8];

	if (argc < 2)
		return vj_fail(e, -EINVAL, "run: no policy file");
	path = argv[1];
	snprintf(l->policy_path, sizeof(l->policy_path), "%s", path);
	/* The policy's defaults come first; options only after it loads. */
	if ((r = vj_policy_load_file(&l->policy, path, &l->host, e)) < 0)
		return r;
	struct option mine[VJ_ARRAY_SIZE(run_opts) + VJ_VM_NRESOURCES], opts[40];
	const char *vm[VJ_VM_NRESOURCES] = { NULL };
	size_t n = 0;

	/* The rows with a flag, then ours (which end with the terminator). */
	for (size_t i = 0; i < VJ_VM_NRESOURCES; i++)
		if (vj_vm_settings[i].flag)
			mine[n++] = (struct option){ vj_vm_settings[i].flag, required_argument, NULL,
						     OPT_VM_BASE + (int)i };
	memcpy(mine + n, run_opts, sizeof(run_opts));
	vj_launch_options_join(opts, VJ_ARRAY_SIZE(opts), mine);
	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return 1;
		case ':':
			return vj_fail(e, -EINVAL, "%s: missing value", argv[optind - 1]);
		case '?':
			return vj_fail(e, -EINVAL, "%s: unknown option (vmjail run --help)",
				       argv[optind - 1]);
		case OPT_ID:
			ov.id = optarg;
			continue;
		}
		if (opt >= OPT_VM_BASE && opt < OPT_VM_BASE + VJ_VM_NRESOURCES) {
			vm[opt - OPT_VM_BASE] = optarg;
			continue;
		}
		/* After the overrides: --seccomp-log must win over the file. */
		if (nsaved == 8)
			return vj_fail(e, -E2BIG, "too many options");
		saved[nsaved] = opt;
		values[nsaved++] = optarg;
	}
	for (int i = 0; i < nsaved; i++)
		if ((r = launcher_opt(l, saved[i], values[i], e)) < 0)
			return r;
	if (l->test_exec[0]) {
		for (; optind < argc; optind++) {
			if (l->ntest_args == VJ_TEST_ARGS_MAX)
				return vj_fail(e, -E2BIG, "more than %d arguments for --test-exec",
					       VJ_TEST_ARGS_MAX);
			l->test_args[l->ntest_args++] = argv[optind];
		}
	} else if (optind < argc) {
		ov.set_argv = true;
		ov.argc = (unsigned)(argc - optind);
		ov.argv = argv + optind;
	}
#define OVERRIDE(field, ...) ov.field = vm[VJ_VM_##field];
	VJ_VM_RESOURCES(OVERRIDE)
#undef OVERRIDE
	if ((r = vj_policy_apply_overrides(&l->policy, &ov, &l->host, e)) < 0)
		return r;
	if (l->timing)
		l->policy.vm.timing = true;
	if ((r = vj_launch_options_check(l, e)) < 0)
		return r;
	if (!l->policy.id[0])
		snprintf(l->policy.id, sizeof(l->policy.id), "sandbox-%d", (int)getpid());
	return 0;
}

int vj_policy_args_check(const struct vj_host_config *host, int argc, char **argv, FILE *out,
			 struct vj_err *e)
{
	struct vj_policy p;
	bool json = false;
	const char *path = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			return vj_fail(e, -EINVAL, "check: unexpected argument \"%s\"", argv[i]);
	}
	if (!path)
		return vj_fail(e, -EINVAL, "check: no policy file (vmjail check POLICY [--json])");
	if ((r = vj_policy_load_file(&p, path, host, e)) < 0)
		return r;
	r = json ? vj_policy_print_json(&p, out) : vj_policy_print_yaml(&p, out);
	vj_policy_free(&p);
	return r < 0 ? vj_fail_errno(e, r, "check: print the policy") : 0;
}
