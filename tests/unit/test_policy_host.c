/* The operator's host file: built-in defaults, paths relative to the file,
 * maxima, and its own errors. */
#include "test_policy_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_schema.h"

static int load(const char *yaml, struct vj_host_config *h, struct vj_err *err)
{
	return vj_host_config_load_buffer(h, "host.yaml", yaml, strlen(yaml), tp.dir, err);
}

#define assert_host_error(yaml_, want_)                                                      \
	do {                                                                                 \
		struct vj_host_config h_;                                                    \
		struct vj_err e_;                                                   \
		assert_int_not_equal(load(yaml_, &h_, &e_), 0);                              \
		assert_string_equal(e_.msg, want_);                                          \
	} while (0)

static void write_file(const char *rel, const char *text)
{
	FILE *f = fopen(tp_path(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void built_in_defaults_apply_when_the_default_file_is_absent(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(vj_host_config_load_from(&h, NULL, tp_path("etc/host.yaml"), &err), 0);
	assert_string_equal(h.source, "built-in defaults");
	assert_int_equal(h.nkernel_roots, 1);
	assert_string_equal(h.kernel_roots[0], "/var/lib/vmjail/kernels");
	assert_string_equal(h.image_roots[0], "/var/lib/vmjail/images");
	assert_string_equal(h.socket_roots[0], "/run/vmjail-sockets");
	assert_int_equal(h.uid_min, 1879048192);
	assert_int_equal(h.uid_max, 2147352575);
	assert_int_equal(h.gid_min, 1879048192);
	assert_int_equal(h.gid_max, 2147352575);
	assert_int_equal(h.id_block, 65536);
	assert_int_equal(h.max_vm.vcpus, 4);
	assert_true(h.max_vm.memory == 4096ull << 20);
	assert_true(h.max_vm.timeout == 3600000);
	assert_true(h.max_vm.console_output == 16u << 20);
	assert_true(h.max_vm.output == 1ull << 30);
	assert_true(h.max_cgroup.memory_max == 5ull << 30);
	assert_true(h.max_cgroup.cpu_quota_us == VJ_UNLIMITED);
	assert_true(h.max_rlimits.core == 0);
	assert_int_equal(h.required_namespaces, VJ_NS_ALL_BUT_USER);
	assert_false(h.allow_seccomp_log);
	assert_int_equal(h.memory_backing, VJ_MEMORY_THP);
	assert_string_equal(h.cgroup_parent, "vmjail");
	assert_string_equal(h.run_dir, "/run/vmjail");
}

static void default_file_is_read_when_present(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	write_file("default-host.yaml", "version: 1\nmax: {vcpus: 2}\n");
	assert_int_equal(vj_host_config_load_from(&h, NULL, tp_path("default-host.yaml"), &err), 0);
	assert_int_equal(h.max_vm.vcpus, 2);
	assert_string_equal(h.source, tp_path("default-host.yaml"));
}

static void explicit_path_must_exist(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(vj_host_config_load(&h, tp_path("none.yaml"), &err), -ENOENT);
	assert_string_equal(err.msg, tp_fmt("%s/none.yaml: No such file or directory", tp.dir));
}

static void relative_paths_start_at_the_host_file(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	tp_touch("conf/keep");
	write_file("conf/host.yaml", "version: 1\nroots:\n  kernels: [../kernels, /var/empty]\n"
				     "  images: [../build/guest]\nrun_dir: ../run\n");
	assert_int_equal(vj_host_config_load(&h, tp_path("conf/host.yaml"), &err), 0);
	assert_int_equal(h.nkernel_roots, 2);
	assert_string_equal(h.kernel_roots[0], tp_path("kernels"));
	assert_string_equal(h.kernel_roots[1], "/var/empty");
	assert_int_equal(h.nimage_roots, 1);
	assert_string_equal(h.image_roots[0], tp_path("build/guest"));
	assert_string_equal(h.socket_roots[0], "/run/vmjail-sockets");
	assert_string_equal(h.run_dir, tp_path("run"));
}

static void root_that_is_a_file_is_refused(void **state)
{
	(void)state;
	assert_host_error("version: 1\nroots: {images: [outside.txt]}\n",
			  tp_fmt("host.yaml:2:18: roots.images[0]: %s/outside.txt: not a directory",
				 tp.dir));
}

static void empty_root_path_is_refused(void **state)
{
	(void)state;
	assert_host_error("version: 1\nroots: {images: [\"\"]}\n",
			  "host.yaml:2:18: roots.images[0]: expected a path, found the quoted string \"\"");
}

static void more_roots_than_the_limit_are_refused(void **state)
{
	(void)state;
	assert_host_error("version: 1\nroots: {kernels: [a, b, c, d, e, f, g, h, i]}\n",
			  "host.yaml:2:18: roots.kernels: expected at most 8 items, found 9");
}

static void empty_root_list_admits_nothing(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nroots: {sockets: []}\n", &h, &err), 0);
	assert_int_equal(h.nsocket_roots, 0);
}

static void id_ranges_are_read_and_checked(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nids: {uid_min: 100000, uid_max: 165535, gid_min: 100000, "
			      "gid_max: 165535}\n", &h, &err), 0);
	assert_int_equal(h.uid_min, 100000);
	assert_int_equal(h.gid_max, 165535);
	assert_host_error("version: 1\nids: {uid_min: 100000, uid_max: 99999}\n",
			  "host.yaml:2:16: ids: uid_min 100000 is above uid_max 99999");
	assert_host_error("version: 1\nids: {gid_min: 70000, gid_max: 69999}\n",
			  "host.yaml:2:16: ids: gid_min 70000 is above gid_max 69999");
	assert_host_error("version: 1\nids: {gid_min: 0}\n",
			  "host.yaml:2:16: ids.gid_min: expected at least 1, found \"0\"");
}

static void each_range_holds_at_least_one_block(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_host_error("version: 1\nids: {uid_min: 100000, uid_max: 100009}\n",
			  "host.yaml:2:16: ids: uids 100000..100009 hold no block of 65536 ids "
			  "(ids.block)");
	assert_int_equal(load("version: 1\nids: {uid_min: 100000, uid_max: 100009, gid_min: 200000, "
			      "gid_max: 200019, block: 10}\n", &h, &err), 0);
	assert_int_equal(h.id_block, 10);
	assert_host_error("version: 1\nids: {block: 0}\n",
			  "host.yaml:2:14: ids.block: expected at least 1, found \"0\"");
	assert_host_error("version: 1\nids: {block: 65537}\n",
			  "host.yaml:2:14: ids.block: expected at most 65536, found \"65537\"");
}

static void a_range_holding_nobody_is_refused(void **state)
{
	(void)state;
	assert_host_error("version: 1\nids: {uid_min: 60000, uid_max: 70000, block: 1}\n",
			  "host.yaml:2:16: ids: uids 60000..70000 include 65534 (nobody), which other "
			  "processes share");
	assert_host_error("version: 1\nids: {gid_min: 65534, gid_max: 65534, block: 1}\n",
			  "host.yaml:2:16: ids: gids 65534..65534 include 65534 (nobody), which other "
			  "processes share");
}

static void maxima_are_read_with_their_units(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nmax:\n  vcpus: 8\n  memory: 8Gi\n  timeout: unlimited\n"
			      "  console_output: 1Mi\n  output: 2Gi\n  cgroup: {cpus: 1.5, memory: unlimited, swap: 0, "
			      "pids: 64, cpuset_cpus: 0-3, cpuset_mems: \"0\", io_weight: 500}\n"
			      "  rlimits: {nofile: 4096, core: unlimited}\n", &h, &err), 0);
	assert_int_equal(h.max_vm.vcpus, 8);
	assert_true(h.max_vm.memory == 8192ull << 20);
	assert_true(h.max_vm.timeout == VJ_UNLIMITED);
	assert_true(h.max_vm.console_output == 1u << 20);
	assert_true(h.max_vm.output == 2ull << 30);
	assert_true(h.max_cgroup.cpu_quota_us == 150000);
	assert_true(h.max_cgroup.cpu_period_us == 100000);
	assert_true(h.max_cgroup.memory_max == VJ_UNLIMITED);
	assert_true(h.max_cgroup.memory_swap_max == 0);
	assert_true(h.max_cgroup.pids_max == 64);
	assert_string_equal(h.max_cgroup.cpuset_cpus, "0-3");
	assert_string_equal(h.max_cgroup.cpuset_mems, "0");
	assert_true(h.max_cgroup.io_weight == 500);
	assert_true(h.max_rlimits.nofile == 4096);
	assert_true(h.max_rlimits.core == VJ_UNLIMITED);
	assert_int_equal(load("version: 1\nmax: {cgroup: {cpus: unlimited}}\n", &h, &err), 0);
	assert_true(h.max_cgroup.cpu_quota_us == VJ_UNLIMITED);
}

static void maxima_are_bounded_by_what_the_vmm_supports(void **state)
{
	(void)state;
	assert_host_error("version: 1\nmax: {vcpus: 33}\n",
			  "host.yaml:2:14: max.vcpus: expected at most 32, found \"33\"");
	assert_host_error("version: 1\nmax: {memory: 1Ti}\n",
			  "host.yaml:2:15: max.memory: expected at most 256Gi, found \"1Ti\"");
	assert_host_error("version: 1\nmax: {memory: 1025Ki}\n",
			  "host.yaml:2:15: max.memory: expected at least 16Mi, found \"1025Ki\"");
	assert_host_error("version: 1\nmax: {memory: 16385Ki}\n",
			  "host.yaml:2:15: max.memory: expected a whole number of Mi, found \"16385Ki\"");
	assert_host_error("version: 1\nmax: {cgroup: {cpuset_cpus: x}}\n",
			  "host.yaml:2:29: max.cgroup.cpuset_cpus: expected a list of numbers below 1024 "
			  "and ranges (\"0-3,8\"), found \"x\"");
}

static void required_namespaces_and_allowed_netns_are_read(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nnamespaces: {required: [mount, pid, user]}\n"
			      "netns_allowed: [ci, sandbox-net]\n", &h, &err), 0);
	assert_int_equal(h.required_namespaces, VJ_NS_MOUNT | VJ_NS_PID | VJ_NS_USER);
	assert_int_equal(h.nnetns, 2);
	assert_string_equal(h.allowed_netns[1], "sandbox-net");
	assert_host_error("version: 1\nnetns_allowed: [../x]\n",
			  "host.yaml:2:17: netns_allowed[0]: expected a network namespace name "
			  "([A-Za-z0-9_.-], 1 to 64), found \"../x\"");
}

static void cgroup_parent_is_a_clean_path_relative_or_absolute(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\ncgroup_parent: system.slice/vmjail\n", &h, &err), 0);
	assert_string_equal(h.cgroup_parent, "system.slice/vmjail");
	/* Absolute: from each hierarchy's root, what a v2 host whose
	 * launcher's own cgroup holds processes needs. */
	assert_int_equal(load("version: 1\ncgroup_parent: /vmjail\n", &h, &err), 0);
	assert_string_equal(h.cgroup_parent, "/vmjail");
	assert_host_error("version: 1\ncgroup_parent: vmjail/../..\n",
			  "host.yaml:2:16: cgroup_parent: expected a cgroup path, relative (under "
			  "vmjail's own cgroup) or absolute, without . or .. components "
			  "([A-Za-z0-9_.-] separated by /), found \"vmjail/../..\"");
	assert_host_error("version: 1\ncgroup_parent: /\n",
			  "host.yaml:2:16: cgroup_parent: expected a cgroup path, relative (under "
			  "vmjail's own cgroup) or absolute, without . or .. components "
			  "([A-Za-z0-9_.-] separated by /), found \"/\"");
}

/* p is root, or lies beneath it (both canonical). */
static bool within(const char *p, const char *root)
{
	size_t n = strlen(root);

	return !strncmp(p, root, n) && (p[n] == '\0' || p[n] == '/');
}

/* Policies name sockets under the socket roots; the launcher keeps its
 * own files (<run_dir>/<id>/, cgroup.parents, <run_dir>/<id>.vsock) in
 * the run directory. Overlapping, a policy could name those. */
static void built_in_socket_root_and_run_dir_are_apart(void **state)
{
	struct vj_host_config h;

	(void)state;
	vj_host_config_defaults(&h);
	assert_false(within(h.socket_roots[0], h.run_dir));
	assert_false(within(h.run_dir, h.socket_roots[0]));
}

static void socket_root_that_is_the_run_dir_is_refused(void **state)
{
	(void)state;
	tp_touch("run/keep");
	assert_host_error(tp_fmt("version: 1\nroots: {sockets: [%s/socks, %s/run]}\nrun_dir: %s/run\n",
				 tp.dir, tp.dir, tp.dir),
			  tp_fmt("host.yaml:2:%zu: roots.sockets[1]: %s/run is the run directory "
				 "(run_dir): a policy could name the launcher's own files there; "
				 "keep socket roots and the run directory apart",
				 strlen(tp.dir) + 27, tp.dir));
}

static void socket_root_inside_the_run_dir_is_refused(void **state)
{
	(void)state;
	assert_host_error(tp_fmt("version: 1\nrun_dir: %s/run\nroots: {sockets: [%s/run/socks]}\n",
				 tp.dir, tp.dir),
			  tp_fmt("host.yaml:3:19: roots.sockets[0]: %s/run/socks lies inside the run "
				 "directory %s/run (run_dir): a policy could name the launcher's own "
				 "files there; keep socket roots and the run directory apart",
				 tp.dir, tp.dir));
}

static void socket_root_above_the_run_dir_is_refused(void **state)
{
	(void)state;
	assert_host_error(tp_fmt("version: 1\nroots: {sockets: [%s]}\nrun_dir: %s/run\n", tp.dir,
				 tp.dir),
			  tp_fmt("host.yaml:2:19: roots.sockets[0]: %s holds the run directory "
				 "%s/run (run_dir): a policy could name the launcher's own files "
				 "there; keep socket roots and the run directory apart",
				 tp.dir, tp.dir));
}

/* Only run_dir is in the file: it is what meets the built-in root. */
static void run_dir_inside_the_built_in_socket_root_is_refused(void **state)
{
	struct vj_host_config h;

	(void)state;
	vj_host_config_defaults(&h);
	assert_host_error(tp_fmt("version: 1\nrun_dir: %s/x\n", h.socket_roots[0]),
			  tp_fmt("host.yaml:2:10: run_dir: %s/x lies inside the socket root %s "
				 "(roots.sockets): a policy could name the launcher's own files "
				 "there; keep socket roots and the run directory apart",
				 h.socket_roots[0], h.socket_roots[0]));
}

static void snapshot_roots_are_none_by_default(void **state)
{
	struct vj_host_config h;

	(void)state;
	vj_host_config_defaults(&h);
	assert_int_equal(h.nsnapshot_roots, 0);
}

static void snapshot_roots_are_read_and_made_canonical(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	tp_touch("snaps/keep");
	assert_int_equal(load("version: 1\nroots: {snapshots: [snaps, other/]}\n", &h, &err), 0);
	assert_int_equal(h.nsnapshot_roots, 2);
	assert_string_equal(h.snapshot_roots[0], tp_path("snaps"));
	assert_string_equal(h.snapshot_roots[1], tp_path("other"));
}

/* Storage the operator says every host mounts at the same path: none
 * unless the host file names it. */
static void shared_roots_are_none_by_default_and_read_canonical(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	vj_host_config_defaults(&h);
	assert_int_equal(h.nshared_roots, 0);
	tp_touch("nfs/vm/keep");
	assert_int_equal(load("version: 1\nroots: {shared: [nfs/vm/, san]}\n", &h, &err), 0);
	assert_int_equal(h.nshared_roots, 2);
	assert_string_equal(h.shared_roots[0], tp_path("nfs/vm"));
	assert_string_equal(h.shared_roots[1], tp_path("san"));
}

/* Which writable drive keeps a sandbox from migrating: the first one
 * beneath no shared root; read-only drives never do. */
static void a_writable_drive_outside_the_shared_roots_is_local(void **state)
{
	struct vj_host_config h;
	struct vj_vm_config vm = { .ndrives = 3 };

	(void)state;
	vj_host_config_defaults(&h);
	snprintf(vm.drives[0].file.name, sizeof(vm.drives[0].file.name), "/img/root.ext4");
	vm.drives[0].read_only = true;
	snprintf(vm.drives[1].file.name, sizeof(vm.drives[1].file.name), "/nfs/vm/data.img");
	snprintf(vm.drives[2].file.name, sizeof(vm.drives[2].file.name), "/nfs/vmx/data.img");
	/* No shared root: every writable drive is local. */
	assert_int_equal(vj_host_local_writable_drive(&h, &vm), 1);
	h.nshared_roots = 1;
	snprintf(h.shared_roots[0], sizeof(h.shared_roots[0]), "/nfs/vm");
	/* "/nfs/vmx" is not beneath "/nfs/vm". */
	assert_int_equal(vj_host_local_writable_drive(&h, &vm), 2);
	snprintf(vm.drives[2].file.name, sizeof(vm.drives[2].file.name), "/nfs/vm/x/y.img");
	assert_int_equal(vj_host_local_writable_drive(&h, &vm), -1);
	vm.drives[1].read_only = true;
	snprintf(vm.drives[1].file.name, sizeof(vm.drives[1].file.name), "/local.img");
	assert_int_equal(vj_host_local_writable_drive(&h, &vm), -1);
}

/* A policy could name a snapshot's memory file as a drive. */
static void snapshot_root_inside_an_image_root_is_refused(void **state)
{
	(void)state;
	assert_host_error(tp_fmt("version: 1\nroots: {images: [%s/img], snapshots: [%s/img/snaps]}\n",
				 tp.dir, tp.dir),
			  tp_fmt("host.yaml:2:%zu: roots.snapshots[0]: %s/img/snaps lies inside "
				 "%s/img (an image root, roots.images): a snapshot's files (guest "
				 "memory, the VM's state) must be out of every policy's reach, and "
				 "out of the launcher's own; keep snapshot roots apart",
				 strlen(tp.dir) + 37, tp.dir, tp.dir));
}

static void snapshot_root_holding_the_run_dir_is_refused(void **state)
{
	(void)state;
	assert_host_error(tp_fmt("version: 1\nrun_dir: %s/run\nroots: {snapshots: [%s]}\n",
				 tp.dir, tp.dir),
			  tp_fmt("host.yaml:3:21: roots.snapshots[0]: %s holds %s/run (the run "
				 "directory, run_dir): a snapshot's files (guest memory, the VM's "
				 "state) must be out of every policy's reach, and out of the "
				 "launcher's own; keep snapshot roots apart",
				 tp.dir, tp.dir));
}

static void snapshot_root_that_is_a_socket_root_is_refused(void **state)
{
	struct vj_host_config h;
	struct vj_err e;

	(void)state;
	assert_int_not_equal(load(tp_fmt("version: 1\nroots: {sockets: [%s/s], snapshots: [%s/s]}\n",
					 tp.dir, tp.dir),
				  &h, &e),
			     0);
	assert_non_null(strstr(e.msg, "roots.snapshots[0]"));
	assert_non_null(strstr(e.msg, "(a socket root, roots.sockets)"));
}

static void seccomp_log_permission_is_read(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nseccomp: {allow_log: true}\n", &h, &err), 0);
	assert_true(h.allow_seccomp_log);
}

static void an_owner_may_control_every_sandbox(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\n", &h, &err), 0);
	assert_false(h.has_owner);
	assert_int_equal(load("version: 1\nowner: 1000\n", &h, &err), 0);
	assert_true(h.has_owner);
	assert_int_equal(h.owner, 1000);
	assert_host_error("version: 1\nowner: bob\n",
			  "host.yaml:2:8: owner: expected an integer, found \"bob\"");
}

static void exec_max_bounds_execs_per_sandbox(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\n", &h, &err), 0);
	assert_int_equal(h.exec_max, VJ_EXEC_SLOTS);
	assert_int_equal(load("version: 1\nexec_max: 0\n", &h, &err), 0);
	assert_int_equal(h.exec_max, 0);
	assert_int_equal(load("version: 1\nexec_max: 3\n", &h, &err), 0);
	assert_int_equal(h.exec_max, 3);
	assert_int_equal(load("version: 1\nexec_max: 9\n", &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exec_max"));
}

static void memory_backing_is_read(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\nmemory_backing: hugetlb\n", &h, &err), 0);
	assert_int_equal(h.memory_backing, VJ_MEMORY_HUGETLB);
	assert_int_equal(load("version: 1\nmemory_backing: 4k\n", &h, &err), 0);
	assert_int_equal(h.memory_backing, VJ_MEMORY_4K);
	assert_host_error("version: 1\nmemory_backing: huge\n", "host.yaml:2:17: memory_backing: "
			  "expected one of thp, 4k, hugetlb, found \"huge\"");
}

static void teardown_waits_unless_told_to_go_on(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	assert_int_equal(load("version: 1\n", &h, &err), 0);
	assert_int_equal(h.teardown, VJ_TEARDOWN_WAIT);
	assert_int_equal(load("version: 1\nteardown: background\n", &h, &err), 0);
	assert_int_equal(h.teardown, VJ_TEARDOWN_BACKGROUND);
	assert_int_equal(load("version: 1\nteardown: wait\n", &h, &err), 0);
	assert_int_equal(h.teardown, VJ_TEARDOWN_WAIT);
	assert_host_error("version: 1\nteardown: later\n", "host.yaml:2:11: teardown: "
			  "expected one of wait, background, found \"later\"");
}

static void unknown_keys_and_versions_are_refused(void **state)
{
	(void)state;
	assert_host_error("version: 1\nmaxima: {}\n", "host.yaml:2:1: maxima: unknown key (expected one "
			  "of: version, roots, ids, max, namespaces, netns_allowed, cgroup_parent, run_dir, "
			  "seccomp, memory_backing, owner, oci, images, exec_max, teardown)");
	assert_host_error("max: {}\n", "host.yaml:1:1: missing required key \"version\"");
	assert_host_error("version: 3\n", "host.yaml:1:10: version: expected version 1, found \"3\"");
}

static void host_files_obey_the_safe_yaml_subset(void **state)
{
	(void)state;
	assert_host_error("version: 1\nmax: {vcpus: &n 2}\n",
			  "host.yaml:2:14: max.vcpus: anchors are not allowed, found anchor \"n\"");
}

static void failed_load_leaves_the_host_config_untouched(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	vj_host_config_defaults(&h);
	h.max_vm.vcpus = 3;
	assert_int_not_equal(load("version: 1\nmax: {vcpus: 2, memory: lots}\n", &h, &err), 0);
	assert_int_equal(h.max_vm.vcpus, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(built_in_defaults_apply_when_the_default_file_is_absent),
		cmocka_unit_test(default_file_is_read_when_present),
		cmocka_unit_test(explicit_path_must_exist),
		cmocka_unit_test(relative_paths_start_at_the_host_file),
		cmocka_unit_test(root_that_is_a_file_is_refused),
		cmocka_unit_test(empty_root_path_is_refused),
		cmocka_unit_test(more_roots_than_the_limit_are_refused),
		cmocka_unit_test(empty_root_list_admits_nothing),
		cmocka_unit_test(id_ranges_are_read_and_checked),
		cmocka_unit_test(each_range_holds_at_least_one_block),
		cmocka_unit_test(a_range_holding_nobody_is_refused),
		cmocka_unit_test(maxima_are_read_with_their_units),
		cmocka_unit_test(maxima_are_bounded_by_what_the_vmm_supports),
		cmocka_unit_test(required_namespaces_and_allowed_netns_are_read),
		cmocka_unit_test(cgroup_parent_is_a_clean_path_relative_or_absolute),
		cmocka_unit_test(built_in_socket_root_and_run_dir_are_apart),
		cmocka_unit_test(socket_root_that_is_the_run_dir_is_refused),
		cmocka_unit_test(socket_root_inside_the_run_dir_is_refused),
		cmocka_unit_test(socket_root_above_the_run_dir_is_refused),
		cmocka_unit_test(snapshot_roots_are_none_by_default),
		cmocka_unit_test(snapshot_roots_are_read_and_made_canonical),
		cmocka_unit_test(snapshot_root_inside_an_image_root_is_refused),
		cmocka_unit_test(shared_roots_are_none_by_default_and_read_canonical),
		cmocka_unit_test(a_writable_drive_outside_the_shared_roots_is_local),
		cmocka_unit_test(snapshot_root_holding_the_run_dir_is_refused),
		cmocka_unit_test(snapshot_root_that_is_a_socket_root_is_refused),
		cmocka_unit_test(run_dir_inside_the_built_in_socket_root_is_refused),
		cmocka_unit_test(seccomp_log_permission_is_read),
		cmocka_unit_test(an_owner_may_control_every_sandbox),
		cmocka_unit_test(exec_max_bounds_execs_per_sandbox),
		cmocka_unit_test(memory_backing_is_read),
		cmocka_unit_test(teardown_waits_unless_told_to_go_on),
		cmocka_unit_test(unknown_keys_and_versions_are_refused),
		cmocka_unit_test(host_files_obey_the_safe_yaml_subset),
		cmocka_unit_test(failed_load_leaves_the_host_config_untouched),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
