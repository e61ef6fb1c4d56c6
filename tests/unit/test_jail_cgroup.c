/* The sandbox's cgroup limits as control files, for cgroup v1 and v2 hosts,
 * and finding the launcher's own cgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "cgroup.h"
#include "settings.h"

static struct vj_cgroup_host host_of(enum vj_cgroup_version v)
{
	struct vj_cgroup_host h = { 0 };

	for (int c = 0; c < VJ_CG_COUNT; c++)
		h.version[c] = v;
	h.memory_swap = true;
	return h;
}

static struct vj_cgroup_limits no_limits(void)
{
	struct vj_cgroup_limits l = { .cpu_quota_us = VJ_UNLIMITED,
				      .cpu_period_us = VJ_UNLIMITED };

	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		*vj_setting_field(&vj_cgroup_settings[i], &l) = VJ_UNLIMITED;
	return l;
}

struct plan {
	struct vj_cgroup_setting s[VJ_CGROUP_SETTINGS_MAX];
	size_t n;
	struct vj_err e;
};

static int plan(const struct vj_cgroup_host *h, const struct vj_cgroup_limits *l, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	return vj_cgroup_plan(h, l, p->s, &p->n, &p->e);
}

static void assert_setting(const struct plan *p, size_t i, const char *file, const char *value)
{
	assert_true(i < p->n);
	assert_string_equal(p->s[i].file, file);
	assert_string_equal(p->s[i].value, value);
}

static void unset_limits_write_nothing(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V2);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_int_equal(p.n, 0);
}

static void v2_limits_use_the_unified_files(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V2);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.cpu_quota_us = 150000;
	l.cpu_period_us = 100000;
	l.memory_max = 256ull << 20;
	l.memory_swap_max = 0;
	l.pids_max = 32;
	strcpy(l.cpuset_cpus, "0-1");
	strcpy(l.cpuset_mems, "0");
	l.io_weight = 100;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_int_equal(p.n, 7);
	assert_setting(&p, 0, "cpu.max", "150000 100000");
	assert_setting(&p, 1, "memory.max", "268435456");
	assert_setting(&p, 2, "memory.swap.max", "0");
	assert_setting(&p, 3, "cpuset.mems", "0");
	assert_setting(&p, 4, "cpuset.cpus", "0-1");
	assert_setting(&p, 5, "io.weight", "default 100");
	assert_setting(&p, 6, "pids.max", "32");
	assert_int_equal(p.s[6].ctl, VJ_CG_PIDS);
}

static void v1_limits_use_the_legacy_files_in_a_valid_order(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V1);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.cpu_quota_us = 50000;
	l.memory_max = 256ull << 20;
	l.memory_swap_max = 64ull << 20;
	l.pids_max = 32;
	l.io_weight = 100;
	assert_int_equal(plan(&h, &l, &p), 0);
	/* The period before the quota, memory before memory+swap. */
	assert_setting(&p, 0, "cpu.cfs_period_us", "100000");
	assert_setting(&p, 1, "cpu.cfs_quota_us", "50000");
	assert_setting(&p, 2, "memory.limit_in_bytes", "268435456");
	assert_setting(&p, 3, "memory.memsw.limit_in_bytes", "335544320");
	assert_setting(&p, 4, "blkio.weight", "500");
	assert_setting(&p, 5, "pids.max", "32");
	assert_int_equal(p.n, 6);
}

static void v1_io_weight_is_scaled_and_clamped(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V1);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.io_weight = 1;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "blkio.weight", "10");
	l.io_weight = 10000;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "blkio.weight", "1000");
}

static void cpu_weight_is_cpu_weight_on_v2_and_scaled_shares_on_v1(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V2);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.cpu_weight = 250;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_int_equal(p.n, 1);
	assert_setting(&p, 0, "cpu.weight", "250");
	assert_int_equal(p.s[0].ctl, VJ_CG_CPU);
	h = host_of(VJ_CGROUP_V1);
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "cpu.shares", "2560");
	l.cpu_weight = 1;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "cpu.shares", "10");
	l.cpu_weight = VJ_WEIGHT_MAX;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "cpu.shares", "102400");
	l.cpu_weight = VJ_WEIGHT_MAX + 1;
	assert_int_equal(plan(&h, &l, &p), -ERANGE);
	assert_non_null(strstr(p.e.msg, "cpu weight"));
}

static void a_limit_on_a_missing_controller_is_an_error_naming_it(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V1);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	h.version[VJ_CG_PIDS] = VJ_CGROUP_NONE;
	l.pids_max = 8;
	assert_int_equal(plan(&h, &l, &p), -EOPNOTSUPP);
	assert_non_null(strstr(p.e.msg, "pids limit"));
	assert_non_null(strstr(p.e.msg, "pids cgroup controller"));
}

static void v1_swap_needs_swap_accounting_and_a_memory_limit(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V1);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.memory_swap_max = 0;
	assert_int_equal(plan(&h, &l, &p), -EINVAL);
	assert_non_null(strstr(p.e.msg, "needs a memory limit"));
	h.memory_swap = false;
	l.memory_max = 1 << 30;
	assert_int_equal(plan(&h, &l, &p), -EOPNOTSUPP);
	assert_non_null(strstr(p.e.msg, "swap accounting"));
}

static void cpu_values_outside_the_kernels_range_are_refused(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V2);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	l.cpu_quota_us = 999;
	assert_int_equal(plan(&h, &l, &p), -ERANGE);
	l.cpu_quota_us = 1000;
	l.cpu_period_us = 2000000;
	assert_int_equal(plan(&h, &l, &p), -ERANGE);
	l.cpu_period_us = 1000;
	assert_int_equal(plan(&h, &l, &p), 0);
	assert_setting(&p, 0, "cpu.max", "1000 1000");
}

static void malformed_cpu_lists_and_weights_are_refused(void **state)
{
	struct vj_cgroup_host h = host_of(VJ_CGROUP_V2);
	struct vj_cgroup_limits l = no_limits();
	struct plan p;

	(void)state;
	strcpy(l.cpuset_cpus, "0-1\nmax");
	assert_int_equal(plan(&h, &l, &p), -EINVAL);
	l = no_limits();
	l.io_weight = 0;
	assert_int_equal(plan(&h, &l, &p), -ERANGE);
	l.pids_max = 0;
	l.io_weight = VJ_UNLIMITED;
	assert_int_equal(plan(&h, &l, &p), -ERANGE);
}

/* This machine's own /proc/self/cgroup: v1 hierarchies plus the hybrid
 * layout's unified line, which must not be taken for a v1 controller. */
static const char hybrid[] = "9:name=systemd:/\n"
			     "8:pids:/\n"
			     "4:memory:/process_api/e6a8\n"
			     "2:cpu,cpuacct:/user.slice\n"
			     "0::/init.scope\n";

static void own_path_finds_each_v1_controller(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V1, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/process_api/e6a8");
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V1, "cpuacct", out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice");
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V1, "pids", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* "cpu" is a whole name in the list, not a prefix of "cpuacct". */
	assert_int_equal(vj_cgroup_own_path("2:cpuacct:/a\n", VJ_CGROUP_V1, "cpu", out,
					    sizeof(out)),
			 -ENOENT);
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V1, "blkio", out, sizeof(out)),
			 -ENOENT);
}

static void own_path_takes_the_unified_line_for_v2(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V2, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/init.scope");
	assert_int_equal(vj_cgroup_own_path("0::/\n", VJ_CGROUP_V2, "io", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
}

static void own_path_refuses_what_does_not_fit_or_is_not_absolute(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(vj_cgroup_own_path(hybrid, VJ_CGROUP_V1, "memory", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(vj_cgroup_own_path("4:memory:relative\n", VJ_CGROUP_V1, "memory", out,
					    sizeof(out)),
			 -EINVAL);
}

/* A v2 group is opened for CLONE_INTO_CGROUP; a sandbox with only v1
 * groups has none; a v2 group that cannot be opened is an error naming
 * it, never "no v2 group", which would clone the VMM outside its limits. */
static void v2_group_opens_for_the_clone_and_a_vanished_one_is_an_error(void **state)
{
	char root[] = "/tmp/vj-cgroup-XXXXXX", dir[64], path[2 * VJ_PATH_MAX];
	struct vj_cgroup_host v2 = host_of(VJ_CGROUP_V2), v1 = host_of(VJ_CGROUP_V1);
	struct vj_cgroup cg = { .host = &v2, .ngroups = 1 };
	struct vj_err e;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	for (int c = 0; c < VJ_CG_COUNT; c++)
		snprintf(v2.mount[c], sizeof(v2.mount[c]), "%s", root);
	snprintf(cg.groups[0].name, sizeof(cg.groups[0].name), "vmjail/sb-1");
	cg.groups[0].ctls = 1u << VJ_CG_MEMORY | 1u << VJ_CG_PIDS;
	snprintf(dir, sizeof(dir), "%s/vmjail", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/vmjail/sb-1", root);
	assert_int_equal(mkdir(dir, 0700), 0);

	assert_int_equal(vj_cgroup_open_v2(&cg, path, sizeof(path), &fd, &e), 0);
	assert_true(fd >= 0);
	assert_string_equal(path, dir);
	close(fd);

	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(vj_cgroup_open_v2(&cg, path, sizeof(path), &fd, &e), -ENOENT);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(e.msg, dir));

	cg.host = &v1;
	assert_int_equal(vj_cgroup_open_v2(&cg, path, sizeof(path), &fd, &e), 0);
	assert_int_equal(fd, -1);

	snprintf(dir, sizeof(dir), "%s/vmjail", root);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(root), 0);
}

/* The test's cgroup2 roots: "/sys/fs/cgroup" offers cpu, memory, pids;
 * any other offers nothing. */
static bool offers(const char *mount, const char *ctl, void *ctx)
{
	(void)ctx;
	return !strcmp(mount, "/sys/fs/cgroup") &&
	       (!strcmp(ctl, "cpu") || !strcmp(ctl, "memory") || !strcmp(ctl, "pids"));
}

static void find_mount_takes_v1_first_then_a_cgroup2_root_that_offers_it(void **state)
{
	const char *mixed =
		"22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"31 30 0:28 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
		"32 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
		"33 30 0:30 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n"
		"34 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";
	const char *v2 = "40 1 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
			 "41 1 0:41 / /mnt/other rw - cgroup2 cgroup2 rw\n";
	char out[256];
	enum vj_cgroup_version v;

	(void)state;
	assert_int_equal(vj_cgroup_find_mount(mixed, "cpu", offers, NULL, out, sizeof(out), &v), 0);
	assert_string_equal(out, "/sys/fs/cgroup/cpu,cpuacct");
	assert_int_equal(v, VJ_CGROUP_V1);
	/* the mount path's escape undone; "cpuacct" is not "cpu", nor
	 * "name=systemd" a controller */
	assert_int_equal(vj_cgroup_find_mount(mixed, "pids", offers, NULL, out, sizeof(out), &v), 0);
	assert_string_equal(out, "/sys/fs/cgroup/my pids");
	assert_int_equal(vj_cgroup_find_mount(mixed, "cpuacc", offers, NULL, out, sizeof(out), &v),
			 -ENOENT);
	assert_int_equal(vj_cgroup_find_mount(mixed, "systemd", offers, NULL, out, sizeof(out), &v),
			 -ENOENT);
	/* the unified mount offers nothing here */
	assert_int_equal(vj_cgroup_find_mount(mixed, "memory", offers, NULL, out, sizeof(out), &v),
			 -ENOENT);
	assert_int_equal(vj_cgroup_find_mount(v2, "memory", offers, NULL, out, sizeof(out), &v), 0);
	assert_string_equal(out, "/sys/fs/cgroup");
	assert_int_equal(v, VJ_CGROUP_V2);
	assert_int_equal(vj_cgroup_find_mount(v2, "io", offers, NULL, out, sizeof(out), &v), -ENOENT);
	assert_int_equal(vj_cgroup_find_mount(v2, "memory", offers, NULL, out, 8, &v), -ENAMETOOLONG);
	assert_int_equal(vj_cgroup_find_mount("", "cpu", offers, NULL, out, sizeof(out), &v), -ENOENT);
	assert_int_equal(vj_cgroup_find_mount("garbage\nno separator here\n", "cpu", offers, NULL, out,
					      sizeof(out), &v),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unset_limits_write_nothing),
		cmocka_unit_test(v2_limits_use_the_unified_files),
		cmocka_unit_test(v1_limits_use_the_legacy_files_in_a_valid_order),
		cmocka_unit_test(v1_io_weight_is_scaled_and_clamped),
		cmocka_unit_test(cpu_weight_is_cpu_weight_on_v2_and_scaled_shares_on_v1),
		cmocka_unit_test(a_limit_on_a_missing_controller_is_an_error_naming_it),
		cmocka_unit_test(v1_swap_needs_swap_accounting_and_a_memory_limit),
		cmocka_unit_test(cpu_values_outside_the_kernels_range_are_refused),
		cmocka_unit_test(malformed_cpu_lists_and_weights_are_refused),
		cmocka_unit_test(own_path_finds_each_v1_controller),
		cmocka_unit_test(own_path_takes_the_unified_line_for_v2),
		cmocka_unit_test(own_path_refuses_what_does_not_fit_or_is_not_absolute),
		cmocka_unit_test(v2_group_opens_for_the_clone_and_a_vanished_one_is_an_error),
		cmocka_unit_test(find_mount_takes_v1_first_then_a_cgroup2_root_that_offers_it),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
