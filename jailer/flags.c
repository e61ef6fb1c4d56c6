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

#define CPU_PERIOD_US 100000u
#define VM_ARGS_MAX 128

enum {
	OPT_ID = 1000, OPT_UID, OPT_GID, OPT_USERNS, OPT_NETNS, OPT_PROC, OPT_CPUS,
	OPT_MEMORY_MAX, OPT_SWAP_MAX, OPT_PIDS_MAX, OPT_CPUSET, OPT_CPUSET_MEMS, OPT_IO_WEIGHT,
	OPT_RLIMIT, OPT_TIMEOUT, OPT_RUN_DIR, OPT_CGROUP_PARENT,
	OPT_VM_BASE = 2000, /* + index into vj_config_options() */
};

static const struct option jail_opts[] = {
	{ "id", required_argument, NULL, OPT_ID },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "userns", required_argument, NULL, OPT_USERNS },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "proc", no_argument, NULL, OPT_PROC },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory-max", required_argument, NULL, OPT_MEMORY_MAX },
	{ "memory-swap-max", required_argument, NULL, OPT_SWAP_MAX },
	{ "pids-max", required_argument, NULL, OPT_PIDS_MAX },
	{ "cpuset", required_argument, NULL, OPT_CPUSET },
	{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
	{ "io-weight", required_argument, NULL, OPT_IO_WEIGHT },
	{ "rlimit", required_argument, NULL, OPT_RLIMIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

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
		"  --memory-max SIZE       cgroup memory limit (VMM and guest memory together)\n"
		"  --memory-swap-max SIZE  cgroup swap limit\n"
		"  --pids-max N            cgroup limit on tasks (threads included)\n"
		"  --cpuset CPUS           CPUs the sandbox may run on, e.g. 0-1\n"
		"  --cpuset-mems NODES     memory nodes it may use\n"
		"  --io-weight N           1..10000, relative block I/O weight (where available)\n"
		"  --rlimit NAME=VALUE     nofile, nproc, fsize, core or memlock (repeatable)\n"
		"  --timeout DURATION      wall-clock limit: 500ms, 30s, 2m, 1h (bare: seconds)\n"
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
	p->version = VJ_POLICY_VERSION;
	snprintf(p->id, sizeof(p->id), "sandbox-%d", (int)getpid());
	vj_config_init(&p->vm);
	j->namespaces = VJ_NS_ALL_BUT_USER;
	j->cgroup = (struct vj_cgroup_limits){
		.cpu_quota_us = VJ_UNLIMITED,
		.cpu_period_us = VJ_UNLIMITED,
		.memory_max = VJ_UNLIMITED,
		.memory_swap_max = VJ_UNLIMITED,
		.pids_max = VJ_UNLIMITED,
		.io_weight = VJ_UNLIMITED,
	};
	j->rlimits = (struct vj_rlimits){ VJ_UNLIMITED, VJ_UNLIMITED, VJ_UNLIMITED, VJ_UNLIMITED,
					  VJ_UNLIMITED };
}

/* "500ms", "30s", "2m", "1h"; a bare number is seconds. */
static int parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	size_t digits = strspn(s, "0123456789");
	char num[24];
	uint64_t v;

	if (!digits || digits >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, digits);
	num[digits] = '\0';
	if (vj_parse_u64(num, 0, UINT64_MAX, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(units); i++) {
		if (strcmp(s + digits, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return -ERANGE;
		*ms = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

/* "2" or "1.5" (up to three decimals) -> thousandths. */
static int parse_milli(const char *s, uint64_t *milli)
{
	const char *dot = strchr(s, '.');
	char whole[24];
	uint64_t w, frac = 0;
	size_t wl = dot ? (size_t)(dot - s) : strlen(s);

	if (!wl || wl >= sizeof(whole))
		return -EINVAL;
	memcpy(whole, s, wl);
	whole[wl] = '\0';
	if (vj_parse_u64(whole, 0, 1000000, &w) < 0)
		return -EINVAL;
	if (dot) {
		size_t fl = strlen(dot + 1);
		if (!fl || fl > 3 || strspn(dot + 1, "0123456789") != fl)
			return -EINVAL;
		for (size_t i = 0; i < 3; i++)
			frac = frac * 10 + (i < fl ? (uint64_t)(dot[1 + i] - '0') : 0);
	}
	*milli = w * 1000 + frac;
	return 0;
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

static int parse_rlimit(struct vj_rlimits *rl, const char *v, struct vj_err *e)
{
	static const struct { const char *name; size_t off; bool size; } names[] = {
		{ "nofile", offsetof(struct vj_rlimits, nofile), false },
		{ "nproc", offsetof(struct vj_rlimits, nproc), false },
		{ "fsize", offsetof(struct vj_rlimits, fsize), true },
		{ "core", offsetof(struct vj_rlimits, core), true },
		{ "memlock", offsetof(struct vj_rlimits, memlock), true },
	};
	const char *eq = strchr(v, '=');

	for (size_t i = 0; eq && i < VJ_ARRAY_SIZE(names); i++) {
		uint64_t n;
		if (strlen(names[i].name) != (size_t)(eq - v) ||
		    strncmp(v, names[i].name, (size_t)(eq - v)))
			continue;
		if ((names[i].size ? vj_parse_size(eq + 1, &n)
				   : vj_parse_u64(eq + 1, 0, UINT64_MAX - 1, &n)) < 0 ||
		    n == VJ_UNLIMITED)
			return vj_fail(e, -EINVAL, "--rlimit %s: \"%s\" is not a %s", names[i].name,
				       eq + 1, names[i].size ? "size" : "number");
		*(uint64_t *)((char *)rl + names[i].off) = n;
		return 0;
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

static int set_size(uint64_t *dst, const char *flag, const char *v, struct vj_err *e)
{
	if (vj_parse_size(v, dst) < 0 || *dst == VJ_UNLIMITED)
		return vj_fail(e, -EINVAL, "%s: \"%s\" is not a size (e.g. 512M, 2G)", flag, v);
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
	uint64_t n;

	switch (opt) {
	case OPT_ID:
		if (!vj_id_valid(v))
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
		if (parse_milli(v, &n) < 0 || n == 0)
			return vj_fail(e, -EINVAL, "--cpus: \"%s\" is not a CPU count like 1 or 0.5", v);
		j->cgroup.cpu_period_us = CPU_PERIOD_US;
		j->cgroup.cpu_quota_us = n * (CPU_PERIOD_US / 1000);
		return 0;
	case OPT_MEMORY_MAX:
		return set_size(&j->cgroup.memory_max, "--memory-max", v, e);
	case OPT_SWAP_MAX:
		return set_size(&j->cgroup.memory_swap_max, "--memory-swap-max", v, e);
	case OPT_PIDS_MAX:
		if (vj_parse_u64(v, 1, 4194304, &j->cgroup.pids_max) < 0)
			return vj_fail(e, -EINVAL, "--pids-max: \"%s\" is not a number in 1..4194304", v);
		return 0;
	case OPT_CPUSET:
		return set_cpu_list(j->cgroup.cpuset_cpus, "--cpuset", v, e);
	case OPT_CPUSET_MEMS:
		return set_cpu_list(j->cgroup.cpuset_mems, "--cpuset-mems", v, e);
	case OPT_IO_WEIGHT:
		if (vj_parse_u64(v, 1, 10000, &j->cgroup.io_weight) < 0)
			return vj_fail(e, -EINVAL, "--io-weight: \"%s\" is not a number in 1..10000", v);
		return 0;
	case OPT_RLIMIT:
		return parse_rlimit(&j->rlimits, v, e);
	case OPT_TIMEOUT:
		if (parse_duration_ms(v, &l->policy.limits.timeout_ms) < 0)
			return vj_fail(e, -EINVAL, "--timeout: \"%s\" is not a duration like 30s", v);
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
