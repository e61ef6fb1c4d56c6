#include "flags.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "parse.h"
#include "launch_opts.h"
#include "rundir.h"
#include "scalar.h"
#include "settings.h"

#define CPU_PERIOD_US 100000u
#define VM_ARGS_MAX 128

enum {
	OPT_ID = 1000, OPT_UID, OPT_GID, OPT_USERNS, OPT_NETNS, OPT_PROC, OPT_CPUS,
	OPT_CPUSET, OPT_CPUSET_MEMS, OPT_RLIMIT, OPT_TIMEOUT, OPT_RUN_DIR, OPT_CGROUP_PARENT,
	OPT_CGROUP_BASE = 1500, /* + index into vj_cgroup_settings[] */
	OPT_VM_BASE = 2000,     /* + index into vj_config_options() */
};

#define CGROUP_FLAG(field, key, flag, ...) \
	{ flag, required_argument, NULL, OPT_CGROUP_BASE + VJ_CGL_##field },

static const struct option jail_opts[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "userns", required_argument, NULL, OPT_USERNS },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "proc", no_argument, NULL, OPT_PROC },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	VJ_CGROUP_LIMITS(CGROUP_FLAG)
	{ "cpuset", required_argument, NULL, OPT_CPUSET },
	{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
	{ "rlimit", required_argument, NULL, OPT_RLIMIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

static void usage_line(FILE *out, const char *flag, const char *meta, const char *what,
		       const char *help)
{
	char left[40];

	snprintf(left, sizeof(left), "--%s %s", flag, meta);
	fprintf(out, "  %-22s  %s%s\n", left, what, help);
}

void vj_flags_usage_run(FILE *out)
{
	fprintf(out,
		"usage: vmjail run --kernel PATH [VM options] [jail options]\n"
		"VM options are those of vmjail-vmm (--kernel, --initrd, --cmdline, --vcpus,\n"
		"--memory, --console, --console-limit, --drive, --net, --vsock, --rng,\n"
		"--seccomp-log, --timing); see vmjail-vmm --help.\n"
		"Jail options:\n"
		"  --id ID                 sandbox id, [A-Za-z0-9-]{1,64} (default: sandbox-PID)\n"
		"  --uid N, --gid N        host ids the VMM runs as, both (default: a block of\n"
		"                          the host file's ids of its own); no other live\n"
		"                          sandbox may have them. With --userns: ids inside\n"
		"                          the namespace (default 0)\n"
		"  --userns [UID:GID:]COUNT  new user namespace; ids 0..COUNT-1 inside map to\n"
		"                          the sandbox's block of host ids, or to UID.., GID..\n"
		"  --netns NAME            join /run/netns/NAME (default: a new, empty one)\n"
		"  --proc                  mount /proc inside the jail (default: none)\n"
		"  --cpus N[.NNN]          CPU time limit in CPUs (cgroup cpu quota)\n"
		"  --cpuset CPUS           CPUs the sandbox may run on, e.g. 0-1\n"
		"  --cpuset-mems NODES     memory nodes it may use\n");
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		usage_line(out, vj_cgroup_settings[i].flag, vj_cgroup_settings[i].meta, "cgroup ",
			   vj_cgroup_settings[i].help);
	fprintf(out,
		"  --rlimit NAME=VALUE     repeatable; NAME one of:\n");
	for (size_t i = 0; i < VJ_NRLIMITS; i++)
		fprintf(out, "      %-8s %-4s         %s\n", vj_rlimit_settings[i].flag,
			vj_rlimit_settings[i].meta, vj_rlimit_settings[i].help);
	usage_line(out, vj_vm_settings[VJ_VM_timeout].flag, vj_vm_settings[VJ_VM_timeout].meta, "",
		   vj_vm_settings[VJ_VM_timeout].help);
	fprintf(out,
		"Sizes: bytes, or with K, M, G, T (powers of 1024: 512M); the policy's grammar.\n"
		"Operator options:\n"
		"  --run-dir DIR           lock and state directory (default /run/vmjail)\n"
		"  --cgroup-parent NAME    cgroup parent; relative: under vmjail's own cgroup\n"
		"  -v, --verbose           more messages (passed on to the VMM)\n");
	vj_launch_options_usage(out);
}

void vj_launch_init(struct vj_launch *l)
{
	struct vj_policy *p = &l->policy;
	struct vj_jail_policy *j = &p->jail;
	struct vj_host_config host = l->host;

	memset(l, 0, sizeof(*l));
	l->host = host;
	l->start_fd = -1;
	p->version = VJ_POLICY_VERSION;
	snprintf(p->id, sizeof(p->id), "sandbox-%d", (int)getpid());
	vj_config_init(&p->vm);
	j->namespaces = VJ_NS_ALL_BUT_USER;
	j->cgroup.cpu_quota_us = VJ_UNLIMITED;
	j->cgroup.cpu_period_us = VJ_UNLIMITED;
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		*vj_setting_field(&vj_cgroup_settings[i], &j->cgroup) = VJ_UNLIMITED;
	for (size_t i = 0; i < VJ_NRLIMITS; i++)
		*vj_setting_field(&vj_rlimit_settings[i], &j->rlimits) = VJ_UNLIMITED;
}

static int parse_id(const char *flag, const char *v, uint32_t *out, struct vj_err *e)
{
	uint64_t n;

	if (vj_parse_u64(v, 0, UINT32_MAX - 1, &n) < 0)
		return vj_fail(e, -EINVAL, "%s: \"%s\" is not a user or group id", flag, v);
	*out = (uint32_t)n;
	return 0;
}

/* COUNT ids mapped onto the sandbox's block, or HOST_UID:HOST_GID:COUNT: a
 * host block the operator names. */
static int parse_userns(struct vj_launch *l, const char *v, struct vj_err *e)
{
	struct vj_jail_policy *j = &l->policy.jail;
	char buf[64], *save = NULL, *part[3];
	uint64_t n[3];
	int i = 0;

	if (vj_strlcpy_checked(buf, v, sizeof(buf)) < 0)
		goto bad;
	for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		if (i == 3)
			goto bad;
		part[i++] = t;
	}
	if (i != 1 && i != 3)
		goto bad;
	for (int k = 0; k < i; k++)
		if (vj_parse_u64(part[k], k == i - 1 ? 1 : 0, UINT32_MAX - 1, &n[k]) < 0)
			goto bad;
	if (n[i - 1] > VJ_USERNS_IDS_MAX)
		goto bad;
	if (i == 3 && (n[0] + n[2] > UINT32_MAX || n[1] + n[2] > UINT32_MAX))
		goto bad;
	l->host_ids_given = i == 3;
	l->host_uid = i == 3 ? (uint32_t)n[0] : 0;
	l->host_gid = i == 3 ? (uint32_t)n[1] : 0;
	j->userns_count = (uint32_t)n[i - 1];
	j->namespaces |= VJ_NS_USER;
	return 0;
bad:
	return vj_fail(e, -EINVAL,
		       "--userns: \"%s\" is not COUNT or HOST_UID:HOST_GID:COUNT (COUNT 1..%u)", v,
		       VJ_USERNS_IDS_MAX);
}

/* NAME=VALUE, VALUE in the grammar of the policy's jail.rlimits.NAME. */
static int parse_rlimit(struct vj_rlimits *rl, const char *v, struct vj_err *e)
{
	const char *eq = strchr(v, '=');
	char flag[32];

	for (size_t i = 0; eq && i < VJ_NRLIMITS; i++) {
		const struct vj_setting *s = &vj_rlimit_settings[i];
		if (strlen(s->flag) != (size_t)(eq - v) || strncmp(v, s->flag, (size_t)(eq - v)))
			continue;
		snprintf(flag, sizeof(flag), "--rlimit %s", s->flag);
		return vj_setting_parse_flag(s, flag, eq + 1, VJ_UNLIMITED, vj_setting_field(s, rl),
					     e);
	}
	return vj_fail(e, -EINVAL, "--rlimit: \"%s\" is not nofile|nproc|fsize|core|memlock=VALUE",
		       v);
}

static int set_path(char *dst, const char *flag, const char *v, struct vj_err *e)
{
	if (!*v || vj_strlcpy_checked(dst, v, VJ_PATH_MAX) < 0)
		return vj_fail(e, -EINVAL, "%s: empty or longer than %d bytes", flag, VJ_PATH_MAX - 1);
	return 0;
}

static int set_cpu_list(char *dst, const char *flag, const char *v, struct vj_err *e)
{
	if (vj_strlcpy_checked(dst, v, VJ_CPUSET_MAX) < 0)
		return vj_fail(e, -EINVAL, "%s: longer than %d bytes", flag, VJ_CPUSET_MAX - 1);
	return 0;
}

/* --uid and --gid as given: their meaning depends on --userns, which may
 * come after them. */
struct id_flags {
	bool uid_set, gid_set;
	uint32_t uid, gid;
};

static int parse_jail_opt(struct vj_launch *l, struct id_flags *ids, int opt, const char *v,
			  struct vj_err *e)
{
	struct vj_jail_policy *j = &l->policy.jail;
	char found[128];
	uint64_t n;

	if (opt >= OPT_CGROUP_BASE && opt < OPT_CGROUP_BASE + VJ_CGROUP_NLIMITS) {
		const struct vj_setting *s = &vj_cgroup_settings[opt - OPT_CGROUP_BASE];
		char flag[32];

		snprintf(flag, sizeof(flag), "--%s", s->flag);
		return vj_setting_parse_flag(s, flag, v, VJ_UNLIMITED,
					     vj_setting_field(s, &j->cgroup), e);
	}
	if (v)
		vj_quote_short(v, strlen(v), found, sizeof(found));
	switch (opt) {
	case OPT_ID:
		if (!vj_name_is_sandbox_id(v))
			return vj_fail(e, -EINVAL, "--id: \"%s\" is not 1 to %d letters, digits or '-'",
				       v, VJ_ID_MAX);
		strcpy(l->policy.id, v);
		return 0;
	case OPT_UID:
		ids->uid_set = true;
		return parse_id("--uid", v, &ids->uid, e);
	case OPT_GID:
		ids->gid_set = true;
		return parse_id("--gid", v, &ids->gid, e);
	case OPT_USERNS:
		return parse_userns(l, v, e);
	case OPT_NETNS:
		if (vj_strlcpy_checked(j->netns, v, sizeof(j->netns)) < 0 || !*v ||
		    !strcmp(v, ".") || !strcmp(v, "..") ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			    strlen(v))
			return vj_fail(e, -EINVAL, "--netns: \"%s\" is not a namespace name", v);
		return 0;
	case OPT_PROC:
		j->mount_proc = true;
		return 0;
	case OPT_CPUS:
		if (vj_value_parse(VJ_UNIT_DECIMAL, v, found, vj_range(1, VJ_CPUS_MILLI_MAX), NULL,
				   &n, e) < 0)
			return vj_wrap(e, "--cpus");
		j->cgroup.cpu_period_us = CPU_PERIOD_US;
		j->cgroup.cpu_quota_us = n * (CPU_PERIOD_US / 1000);
		return 0;
	case OPT_CPUSET:
		return set_cpu_list(j->cgroup.cpuset_cpus, "--cpuset", v, e);
	case OPT_CPUSET_MEMS:
		return set_cpu_list(j->cgroup.cpuset_mems, "--cpuset-mems", v, e);
	case OPT_RLIMIT:
		return parse_rlimit(&j->rlimits, v, e);
	case OPT_TIMEOUT:
		/* The policy's limits.timeout, without an operator's maximum. */
		if (vj_setting_parse_flag(&vj_vm_settings[VJ_VM_timeout], "--timeout", v,
					  VJ_UNLIMITED, &n, e) < 0)
			return -EINVAL;
		vj_vm_resource_set(&l->policy, VJ_VM_timeout, n);
		return 0;
	case OPT_RUN_DIR:
		return set_path(l->host.run_dir, "--run-dir", v, e);
	case OPT_CGROUP_PARENT:
		/* The host file's rule: each component a directory below the
		 * last, which vmjail may create and remove. */
		if (!vj_name_is_cgroup_parent(v))
			return vj_fail(e, -EINVAL,
				       "--cgroup-parent: \"%s\" is not a cgroup path like vmjail or "
				       "/vmjail ([A-Za-z0-9_.-] separated by /, no . or ..)",
				       v);
		return set_path(l->host.cgroup_parent, "--cgroup-parent", v, e);
	}
	return vj_fail(e, -EINVAL, "internal: unhandled option %d", opt);
}

/* Our options first, then the VMM's, which are collected for
 * vj_config_parse_args(). The VMM's --config-fd and --help are not
 * offered: the launcher makes the former and answers the latter. */
static void merge_options(struct option *out, size_t cap)
{
	const struct option *vm = vj_config_options();
	size_t n = 0;

	for (size_t i = 0; i < VJ_ARRAY_SIZE(jail_opts); i++)
		out[n++] = jail_opts[i];
	for (int i = 0; vm[i].name && n + 1 < cap; i++) {
		if (!strcmp(vm[i].name, "config-fd") || !strcmp(vm[i].name, "help") ||
		    !strcmp(vm[i].name, "verbose"))
			continue;
		out[n] = vm[i];
		out[n].flag = NULL;
		out[n++].val = OPT_VM_BASE + i;
	}
	out[n] = (struct option){ NULL, 0, NULL, 0 };
}

/*
 * In a user namespace --uid and --gid are ids inside it. Without one they
 * are host ids the operator names, both of them: the launcher reserves
 * them as it would a block of the host's range.
 */
static int resolve_ids(struct vj_launch *l, const struct id_flags *ids, struct vj_err *e)
{
	struct vj_jail_policy *j = &l->policy.jail;

	if (j->namespaces & VJ_NS_USER) {
		j->uid = ids->uid;
		j->gid = ids->gid;
		return 0;
	}
	if (ids->uid_set != ids->gid_set)
		return vj_fail(e, -EINVAL, "--uid and --gid go together: the host ids the VMM runs "
			       "as, or neither for a block of the host's range");
	l->host_ids_given = ids->uid_set;
	l->host_uid = ids->uid;
	l->host_gid = ids->gid;
	return 0;
}

static int check_policy(struct vj_launch *l, const struct id_flags *ids, struct vj_err *e)
{
	struct vj_policy *p = &l->policy;
	int r;

	if ((r = resolve_ids(l, ids, e)) < 0)
		return r;

	if (p->vm.seccomp == VJ_SECCOMP_OFF)
		return vj_fail(e, -EINVAL,
			       "--seccomp off: the jail always runs the VMM under seccomp "
			       "(--seccomp-log logs instead of killing, for diagnosis)");
	p->seccomp = p->vm.seccomp;
	p->limits.console_bytes = p->vm.console_limit;
	l->timing = p->vm.timing;
	if ((r = vj_launch_options_check(l, e)) < 0)
		return r;
	if (l->ntest_args && !l->test_exec[0])
		return vj_fail(e, -EINVAL, "arguments after -- are only for --test-exec");
	return 0;
}

int vj_flags_parse_run(struct vj_launch *l, int argc, char **argv, struct vj_err *e)
{
	struct option opts[VJ_ARRAY_SIZE(jail_opts) + 64], own[VJ_ARRAY_SIZE(jail_opts) + 64];
	char *vm_argv[VM_ARGS_MAX + 2] = { "vmjail run" };
	struct id_flags ids = { 0 };
	char names[VM_ARGS_MAX][48];
	int vm_argc = 1, opt, li, r;

	merge_options(own, VJ_ARRAY_SIZE(own));
	vj_launch_options_join(opts, VJ_ARRAY_SIZE(opts), own);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, &li)) != -1) {
		switch (opt) {
		case 'h':
			return 1;
		case 'v':
			l->verbosity++;
			continue;
		case ':':
			return vj_fail(e, -EINVAL, "%s: missing value", argv[optind - 1]);
		case '?':
			return vj_fail(e, -EINVAL, "%s: unknown option", argv[optind - 1]);
		}
		if (opt >= VJ_LAUNCH_OPT_BASE) {
			if ((r = vj_launch_option(l, opt, optarg, e)) < 0)
				return r;
			continue;
		}
		if (opt < OPT_VM_BASE) {
			if ((r = parse_jail_opt(l, &ids, opt, optarg, e)) < 0)
				return r;
			continue;
		}
		/* Passed on under its full name, so that an abbreviation means
		 * the same to the VMM's parser as it did here. */
		if (vm_argc + 2 > VM_ARGS_MAX)
			return vj_fail(e, -E2BIG, "too many VM options");
		snprintf(names[vm_argc], sizeof(names[vm_argc]), "--%s", opts[li].name);
		vm_argv[vm_argc] = names[vm_argc];
		vm_argc++;
		if (optarg)
			vm_argv[vm_argc++] = optarg;
	}
	for (; optind < argc; optind++) {
		if (l->ntest_args == VJ_TEST_ARGS_MAX)
			return vj_fail(e, -E2BIG, "more than %d arguments for --test-exec",
				       VJ_TEST_ARGS_MAX);
		l->test_args[l->ntest_args++] = argv[optind];
	}
	vm_argv[vm_argc] = NULL;
	r = vj_config_parse_args(&l->policy.vm, vm_argc, vm_argv, e);
	if (r < 0)
		return r;
	return check_policy(l, &ids, e);
}
