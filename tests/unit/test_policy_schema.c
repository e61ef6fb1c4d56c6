/* The tenant policy schema: every key, its defaults, bounds and messages.
 * Policies are loaded against the fixture host of test_policy_util.h. */
#include "test_policy_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD "version: 1\nvm:\n  kernel: vmlinux\n"

/* Loads HEAD + extra and returns the policy (caller frees). */
static void load_ok(const char *yaml, struct vj_policy *p)
{
	struct vj_err err;
	int r = tp_load(yaml, p, &err);

	if (r)
		fail_msg("unexpected error: %s", err.msg);
}

/* ---- top level ---- */

static void minimal_policy_gets_every_default(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD, &p);
	assert_int_equal(p.version, 1);
	assert_string_equal(p.id, "");
	assert_string_equal(p.vm.kernel.name, tp_path("kernels/vmlinux"));
	assert_int_equal(p.vm.kernel.fd, -1);
	assert_string_equal(p.vm.initrd.name, "");
	assert_string_equal(p.vm.cmdline, "");
	assert_int_equal(p.vm.vcpus, 1);
	assert_int_equal(p.vm.memory_mib, 128);
	assert_int_equal(p.vm.ndrives, 0);
	assert_int_equal(p.vm.nnets, 0);
	assert_false(p.vm.vsock.enabled);
	assert_false(p.vm.rng);
	assert_int_equal(p.vm.console, VJ_CONSOLE_STDOUT);
	assert_int_equal(p.vm.console_limit, 1u << 20);
	assert_int_equal(p.jail.uid, 0);
	assert_int_equal(p.jail.gid, 0);
	assert_int_equal(p.jail.namespaces, VJ_NS_ALL_BUT_USER);
	assert_string_equal(p.jail.netns, "");
	assert_false(p.jail.mount_proc);
	assert_true(p.jail.cgroup.cpu_quota_us == 200000);
	assert_true(p.jail.cgroup.cpu_period_us == 100000);
	assert_true(p.jail.cgroup.memory_max == 2ull << 30);
	assert_true(p.jail.cgroup.memory_swap_max == VJ_UNLIMITED);
	assert_true(p.jail.cgroup.pids_max == 128);
	assert_true(p.jail.cgroup.io_weight == VJ_UNLIMITED);
	assert_true(p.jail.rlimits.nofile == VJ_UNLIMITED);
	assert_true(p.jail.rlimits.core == 0);
	assert_true(p.limits.timeout_ms == 600000);
	assert_true(p.limits.console_bytes == 1u << 20);
	assert_true(p.limits.output_bytes == 512u << 20);
	assert_int_equal(p.seccomp, VJ_SECCOMP_ENFORCE);
	assert_int_equal(p.vm.seccomp, VJ_SECCOMP_ENFORCE);
	assert_int_equal(p.workload.argc, 0);
	assert_int_equal(p.workload.envc, 0);
	vj_policy_free(&p);
}

static void root_must_be_a_mapping(void **state)
{
	(void)state;
	tp_assert_error("- a\n", "p.yaml:1:1: expected a mapping, found a sequence");
	tp_assert_error("---\n", "p.yaml:2:1: expected a mapping, found null");
}

static void version_is_required(void **state)
{
	(void)state;
	tp_assert_error("vm:\n  kernel: vmlinux\n", "p.yaml:1:1: missing required key \"version\"");
}

static void other_versions_are_refused(void **state)
{
	(void)state;
	tp_assert_error("version: 2\nvm:\n  kernel: vmlinux\n",
			"p.yaml:1:10: version: expected version 1, found \"2\"");
}

static void version_is_checked_before_unknown_keys(void **state)
{
	(void)state;
	tp_assert_error("future: 1\nversion: 2\n", "p.yaml:2:10: version: expected version 1, found \"2\"");
}

static void vm_section_is_required(void **state)
{
	(void)state;
	tp_assert_error("version: 1\n", "p.yaml:1:1: missing required key \"vm\"");
}

static void unknown_top_level_key_lists_the_known_ones(void **state)
{
	(void)state;
	tp_assert_error(HEAD "limit: {}\n", "p.yaml:4:1: limit: unknown key (expected one of: "
			"version, id, vm, jail, limits, seccomp, workload)");
}

static void id_is_validated(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "id: fn-42\n", &p);
	assert_string_equal(p.id, "fn-42");
	vj_policy_free(&p);
	tp_assert_error(HEAD "id: fn_42\n", "p.yaml:4:5: id: expected a sandbox id ([A-Za-z0-9-], 1 "
			"to 64), found \"fn_42\"");
}

/* ---- vm ---- */

static void kernel_is_required(void **state)
{
	(void)state;
	tp_assert_error("version: 1\nvm:\n  vcpus: 1\n", "p.yaml:3:3: vm: missing required key \"kernel\"");
}

static void unknown_vm_key_lists_the_known_ones(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  kernal: x\n", "p.yaml:4:3: vm.kernal: unknown key (expected one of: "
			"kernel, initrd, cmdline, vcpus, memory, memory_backing, drives, net, vsock, rng, "
			"console)");
}

static void kernel_and_initrd_resolve_to_canonical_paths(void **state)
{
	struct vj_policy p;
	char yaml[1024];

	(void)state;
	snprintf(yaml, sizeof(yaml), "version: 1\nvm:\n  kernel: %s/kernels/subdir/../vmlinux\n"
		 "  initrd: initrd.img\n", tp.dir);
	load_ok(yaml, &p);
	assert_string_equal(p.vm.kernel.name, tp_path("kernels/vmlinux"));
	assert_string_equal(p.vm.initrd.name, tp_path("kernels/initrd.img"));
	vj_policy_free(&p);
}

static void kernel_outside_the_roots_is_refused(void **state)
{
	char yaml[1024];

	(void)state;
	snprintf(yaml, sizeof(yaml), "version: 1\nvm:\n  kernel: %s/outside.txt\n", tp.dir);
	tp_assert_error(yaml, tp_fmt("p.yaml:3:11: vm.kernel: %s/outside.txt is outside the allowed "
				     "kernel roots (%s/kernels)", tp.dir, tp.dir));
}

static void kernel_escaping_with_dotdot_is_refused(void **state)
{
	(void)state;
	tp_assert_error("version: 1\nvm:\n  kernel: ../outside.txt\n",
			tp_fmt("p.yaml:3:11: vm.kernel: ../outside.txt (resolves to %s/outside.txt) is "
			       "outside the allowed kernel roots (%s/kernels)", tp.dir, tp.dir));
}

static void kernel_escaping_through_a_symlink_is_refused(void **state)
{
	(void)state;
	assert_int_equal(symlink("/etc/passwd", tp_path("kernels/evil")), 0);
	tp_assert_error("version: 1\nvm:\n  kernel: evil\n",
			tp_fmt("p.yaml:3:11: vm.kernel: evil (resolves to /etc/passwd) is outside the "
			       "allowed kernel roots (%s/kernels)", tp.dir));
	unlink(tp_path("kernels/evil"));
}

static void missing_kernel_is_refused(void **state)
{
	(void)state;
	tp_assert_error("version: 1\nvm:\n  kernel: vmlinuz\n",
			tp_fmt("p.yaml:3:11: vm.kernel: vmlinuz: not found under the kernel roots "
			       "(%s/kernels)", tp.dir));
	tp_assert_error("version: 1\nvm:\n  kernel: /nonexistent/vmlinuz\n",
			"p.yaml:3:11: vm.kernel: /nonexistent/vmlinuz: No such file or directory");
}

static void kernel_must_be_a_regular_file(void **state)
{
	(void)state;
	tp_assert_error("version: 1\nvm:\n  kernel: subdir\n",
			tp_fmt("p.yaml:3:11: vm.kernel: %s/kernels/subdir: expected a regular file",
			       tp.dir));
}

static void empty_kernel_path_is_refused(void **state)
{
	(void)state;
	tp_assert_error("version: 1\nvm:\n  kernel: ''\n",
			"p.yaml:3:11: vm.kernel: expected a path, found the quoted string \"\"");
}

static void cmdline_is_copied(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  cmdline: console=ttyS0 quiet\n", &p);
	assert_string_equal(p.vm.cmdline, "console=ttyS0 quiet");
	vj_policy_free(&p);
}

static void cmdline_longer_than_its_cap_is_refused(void **state)
{
	char yaml[2048];

	(void)state;
	snprintf(yaml, sizeof(yaml), HEAD "  cmdline: %01025d\n", 0);
	tp_assert_error(yaml, "p.yaml:4:12: vm.cmdline: expected at most 1024 bytes, found 1025");
}

static void cmdline_control_characters_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  cmdline: \"a\\nb\"\n", "p.yaml:4:12: vm.cmdline: expected no control "
			"characters, found 0x0a at byte 1");
}

static void vcpus_within_the_host_maximum_are_accepted(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  vcpus: 4\n", &p);
	assert_int_equal(p.vm.vcpus, 4);
	vj_policy_free(&p);
}

static void vcpus_above_the_host_maximum_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  vcpus: 8\n", "p.yaml:4:10: vm.vcpus: expected at most 4 (host maximum), "
			"found \"8\"");
}

static void zero_vcpus_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  vcpus: 0\n", "p.yaml:4:10: vm.vcpus: expected at least 1, found \"0\"");
}

static void vcpus_of_the_wrong_type_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  vcpus: two\n", "p.yaml:4:10: vm.vcpus: expected an integer, found \"two\"");
	tp_assert_error(HEAD "  vcpus: \"2\"\n", "p.yaml:4:10: vm.vcpus: expected an integer, found the "
			"quoted string \"2\"");
	tp_assert_error(HEAD "  vcpus: {n: 2}\n", "p.yaml:4:10: vm.vcpus: expected an integer, found a "
			"mapping");
	tp_assert_error(HEAD "  vcpus: [2]\n", "p.yaml:4:10: vm.vcpus: expected an integer, found a "
			"sequence");
	tp_assert_error(HEAD "  vcpus:\n", "p.yaml:4:9: vm.vcpus: expected an integer, found null");
}

static void memory_takes_binary_sizes(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  memory: 1Gi\n", &p);
	assert_int_equal(p.vm.memory_mib, 1024);
	vj_policy_free(&p);
	load_ok(HEAD "  memory: 65536Ki\n", &p);
	assert_int_equal(p.vm.memory_mib, 64);
	vj_policy_free(&p);
}

static void memory_with_a_decimal_suffix_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  memory: 128MB\n", "p.yaml:4:11: vm.memory: expected a size (an integer "
			"with an optional K, M, G or T suffix), found \"128MB\"");
	tp_assert_error(HEAD "  memory: 128m\n", "p.yaml:4:11: vm.memory: expected a size (an integer "
			"with an optional K, M, G or T suffix), found \"128m\"");
}

static void memory_with_a_one_letter_suffix_is_binary(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  memory: 128M\n", &p);
	assert_int_equal(p.vm.memory_mib, 128);
	vj_policy_free(&p);
}

static void memory_in_plain_bytes_below_the_minimum_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  memory: 128\n", "p.yaml:4:11: vm.memory: expected at least 16Mi, "
			"found \"128\"");
}

static void memory_that_is_not_whole_mebibytes_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  memory: 16385Ki\n", "p.yaml:4:11: vm.memory: expected a whole number "
			"of Mi, found \"16385Ki\"");
}

static void memory_above_the_host_maximum_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  memory: 2Gi\n", "p.yaml:4:11: vm.memory: expected at most 1Gi (host "
			"maximum), found \"2Gi\"");
	tp_assert_error(HEAD "  memory: 99999999999Ti\n", "p.yaml:4:11: vm.memory: expected at most 1Gi "
			"(host maximum), found \"99999999999Ti\"");
}

static void drives_are_read_with_defaults(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  drives:\n    - id: root\n      path: root.ext4\n"
		     "    - id: data\n      path: data.ext4\n      read_only: false\n"
		     "      rate_limit: {bandwidth: 10Mi, bandwidth_burst: 20Mi, ops: 100}\n", &p);
	assert_int_equal(p.vm.ndrives, 2);
	assert_string_equal(p.vm.drives[0].id, "root");
	assert_string_equal(p.vm.drives[0].file.name, tp_path("images/root.ext4"));
	assert_true(p.vm.drives[0].read_only);
	assert_true(p.vm.drives[0].rate.bytes.size == 0);
	assert_false(p.vm.drives[1].read_only);
	assert_true(p.vm.drives[1].rate.bytes.size == 10u << 20);
	assert_true(p.vm.drives[1].rate.bytes.refill_ms == 1000);
	assert_true(p.vm.drives[1].rate.bytes.one_time_burst == 20u << 20);
	assert_true(p.vm.drives[1].rate.ops.size == 100);
	assert_true(p.vm.drives[1].rate.ops.one_time_burst == 0);
	vj_policy_free(&p);
}

static void drive_without_an_id_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - path: root.ext4\n",
			"p.yaml:5:7: vm.drives[0]: missing required key \"id\"");
}

static void drive_ids_are_validated(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - id: root.1\n      path: root.ext4\n",
			"p.yaml:5:11: vm.drives[0].id: expected a drive id ([A-Za-z0-9_-], 1 to 20), "
			"found \"root.1\"");
	tp_assert_error(HEAD "  drives:\n    - id: abcdefghijklmnopqrstu\n      path: root.ext4\n",
			"p.yaml:5:11: vm.drives[0].id: expected a drive id ([A-Za-z0-9_-], 1 to 20), "
			"found \"abcdefghijklmnopqrstu\"");
}

static void duplicate_drive_ids_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - {id: a, path: root.ext4}\n    - {id: a, path: data.ext4}\n",
			"p.yaml:6:12: vm.drives[1].id: duplicate drive id \"a\" (also vm.drives[0].id)");
}

static void drive_outside_the_image_roots_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - {id: a, path: root.ext4}\n    - {id: b, path: /etc/shadow}\n",
			tp_fmt("p.yaml:6:21: vm.drives[1].path: /etc/shadow is outside the allowed image "
			       "roots (%s/images)", tp.dir));
}

static void drive_from_the_kernel_roots_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - {id: a, path: ../kernels/vmlinux}\n",
			tp_fmt("p.yaml:5:21: vm.drives[0].path: ../kernels/vmlinux (resolves to "
			       "%s/kernels/vmlinux) is outside the allowed image roots (%s/images)",
			       tp.dir, tp.dir));
}

static void writable_image_on_two_drives_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - {id: a, path: root.ext4}\n"
			"    - {id: b, path: root.ext4, read_only: false}\n",
			tp_fmt("p.yaml:6:21: vm.drives[1].path: %s/images/root.ext4 is also "
			       "vm.drives[0]; an image that is written to may back only one drive",
			       tp.dir));
}

static void read_only_image_on_two_drives_is_accepted(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  drives:\n    - {id: a, path: root.ext4}\n    - {id: b, path: root.ext4}\n", &p);
	assert_int_equal(p.vm.ndrives, 2);
	vj_policy_free(&p);
}

static void too_many_drives_are_refused(void **state)
{
	char yaml[2048];
	size_t o = (size_t)snprintf(yaml, sizeof(yaml), HEAD "  drives:\n");

	(void)state;
	for (int i = 0; i < 9; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "    - {id: d%d, path: root.ext4}\n", i);
	tp_assert_error(yaml, "p.yaml:5:5: vm.drives: expected at most 8 items, found 9");
}

static void drive_read_only_must_be_a_boolean(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - {id: a, path: root.ext4, read_only: no}\n",
			"p.yaml:5:43: vm.drives[0].read_only: expected true or false, found \"no\"");
}

static void burst_without_a_rate_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - id: a\n      path: root.ext4\n"
			"      rate_limit: {bandwidth_burst: 1Mi}\n",
			"p.yaml:7:37: vm.drives[0].rate_limit.bandwidth_burst: needs a bandwidth limit "
			"to apply to");
	tp_assert_error(HEAD "  drives:\n    - id: a\n      path: root.ext4\n"
			"      rate_limit: {ops: unlimited, ops_burst: 5}\n",
			"p.yaml:7:47: vm.drives[0].rate_limit.ops_burst: needs an ops limit to apply to");
}

static void unknown_rate_limit_key_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  drives:\n    - id: a\n      path: root.ext4\n"
			"      rate_limit: {iops: 5}\n",
			"p.yaml:7:20: vm.drives[0].rate_limit.iops: unknown key (expected one of: "
			"bandwidth, bandwidth_burst, ops, ops_burst)");
}

static void nets_are_read(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  net:\n    - tap: tap0\n      mac: 02:00:00:00:00:01\n"
		     "      rate_limit: {ops: 1000}\n    - tap: tap1\n", &p);
	assert_int_equal(p.vm.nnets, 2);
	assert_string_equal(p.vm.nets[0].tap.name, "tap0");
	assert_true(p.vm.nets[0].has_mac);
	assert_int_equal(p.vm.nets[0].mac[5], 1);
	assert_true(p.vm.nets[0].rate.ops.size == 1000);
	assert_false(p.vm.nets[1].has_mac);
	vj_policy_free(&p);
}

static void tap_names_are_validated(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  net:\n    - tap: tap/0\n", "p.yaml:5:12: vm.net[0].tap: expected an "
			"interface name ([A-Za-z0-9_.-], 1 to 15), found \"tap/0\"");
	tp_assert_error(HEAD "  net:\n    - tap: a\n    - tap: a\n",
			"p.yaml:6:12: vm.net[1].tap: duplicate tap \"a\" (also vm.net[0].tap)");
}

static void mac_addresses_are_validated(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  net:\n    - {tap: t, mac: \"02:00:00:00:00\"}\n",
			"p.yaml:5:21: vm.net[0].mac: expected a MAC address (\"02:00:00:00:00:01\"), "
			"found the quoted string \"02:00:00:00:00\"");
	tp_assert_error(HEAD "  net:\n    - {tap: t, mac: \"01:00:5e:00:00:01\"}\n",
			"p.yaml:5:21: vm.net[0].mac: expected a unicast MAC address (first octet even), "
			"found the quoted string \"01:00:5e:00:00:01\"");
	tp_assert_error(HEAD "  net:\n    - {tap: t, mac: \"00:00:00:00:00:00\"}\n",
			"p.yaml:5:21: vm.net[0].mac: expected a MAC address other than all zeros, "
			"found the quoted string \"00:00:00:00:00:00\"");
	tp_assert_error(HEAD "  net:\n    - {tap: t, mac: \"02:00:00:00:00:01\"}\n"
			"    - {tap: u, mac: \"02:00:00:00:00:01\"}\n",
			"p.yaml:6:21: vm.net[1].mac: duplicate MAC address 02:00:00:00:00:01 (also "
			"vm.net[0].mac)");
}

static void too_many_nets_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  net: [{tap: a}, {tap: b}, {tap: c}, {tap: d}, {tap: e}]\n",
			"p.yaml:4:8: vm.net: expected at most 4 items, found 5");
}

static void vsock_defaults_to_cid_3_and_no_socket(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  vsock: {}\n", &p);
	assert_true(p.vm.vsock.enabled);
	assert_int_equal(p.vm.vsock.guest_cid, 3);
	assert_string_equal(p.vm.vsock.uds.name, "");
	vj_policy_free(&p);
}

static void vsock_reserved_cids_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  vsock: {cid: 2}\n", "p.yaml:4:16: vm.vsock.cid: expected at least 3, found \"2\"");
	tp_assert_error(HEAD "  vsock: {cid: 4294967295}\n", "p.yaml:4:16: vm.vsock.cid: expected at most "
			"4294967294, found \"4294967295\"");
}

static void vsock_socket_lies_in_the_socket_roots(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  vsock: {uds: v.sock}\n", &p);
	assert_string_equal(p.vm.vsock.uds.name, tp_path("sockets/v.sock"));
	vj_policy_free(&p);
	tp_assert_error(HEAD "  vsock: {uds: /tmp/v.sock}\n",
			tp_fmt("p.yaml:4:16: vm.vsock.uds: /tmp/v.sock is outside the allowed socket "
			       "roots (%s/sockets)", tp.dir));
}

static void vsock_socket_may_not_replace_another_file(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  vsock: {uds: keep}\n",
			tp_fmt("p.yaml:4:16: vm.vsock.uds: %s/sockets/keep exists and is not a socket",
			       tp.dir));
}

static void rng_takes_only_true_or_false(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  rng: true\n", &p);
	assert_true(p.vm.rng);
	vj_policy_free(&p);
	tp_assert_error(HEAD "  rng: yes\n", "p.yaml:4:8: vm.rng: expected true or false, found \"yes\"");
	tp_assert_error(HEAD "  rng: \"true\"\n", "p.yaml:4:8: vm.rng: expected true or false, found the "
			"quoted string \"true\"");
}

static void console_is_stdout_or_none(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "  console: none\n", &p);
	assert_int_equal(p.vm.console, VJ_CONSOLE_NONE);
	vj_policy_free(&p);
	tp_assert_error(HEAD "  console: /tmp/log\n", "p.yaml:4:12: vm.console: expected one of stdout, "
			"none, found \"/tmp/log\"");
}

/* ---- jail ---- */

static void host_ids_named_by_a_policy_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  uid: 1500\n", "p.yaml:5:8: jail.uid: host ids are not a "
			"policy's to choose: the launcher gives each sandbox its own from the host's "
			"range; a policy names ids only inside jail.user_namespace");
	tp_assert_error(HEAD "jail:\n  gid: 1500\n", "p.yaml:5:8: jail.gid: host ids are not a "
			"policy's to choose: the launcher gives each sandbox its own from the host's "
			"range; a policy names ids only inside jail.user_namespace");
	tp_assert_error(HEAD "jail:\n  uid: 0\n  gid: 0\n  user_namespace: {host_uid: 1000, count: "
			"10}\n",
			"p.yaml:7:30: jail.user_namespace.host_uid: host ids are not a policy's to "
			"choose: the launcher gives each sandbox a block of the host's ids of its own; "
			"give only count");
	tp_assert_error(HEAD "jail:\n  uid: 0\n  gid: 0\n  user_namespace: {count: 10, host_gid: "
			"1000}\n",
			"p.yaml:7:41: jail.user_namespace.host_gid: host ids are not a policy's to "
			"choose: the launcher gives each sandbox a block of the host's ids of its own; "
			"give only count");
}

static void a_user_namespace_has_a_count_of_ids_and_ids_inside_it(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "jail:\n  uid: 0\n  gid: 99\n  user_namespace: {count: 100}\n", &p);
	assert_true(p.jail.namespaces & VJ_NS_USER);
	assert_int_equal(p.jail.userns_count, 100);
	assert_int_equal(p.jail.uid, 0);
	assert_int_equal(p.jail.gid, 99);
	vj_policy_free(&p);
}

static void user_namespace_needs_explicit_ids(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  user_namespace: {count: 10}\n",
			"p.yaml:5:19: jail.user_namespace: with a user namespace, jail.uid and jail.gid "
			"(ids inside it) are required");
}

static void ids_outside_the_user_namespace_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  uid: 10\n  gid: 0\n  user_namespace: {count: 10}\n",
			"p.yaml:5:8: jail.uid: expected an id inside the user namespace (0..9), found 10");
	tp_assert_error(HEAD "jail:\n  uid: 0\n  gid: 10\n  user_namespace: {count: 10}\n",
			"p.yaml:6:8: jail.gid: expected an id inside the user namespace (0..9), found 10");
}

static void a_user_namespace_beyond_the_hosts_block_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  uid: 0\n  gid: 0\n  user_namespace: {count: 101}\n",
			"p.yaml:7:27: jail.user_namespace.count: expected at most 100, the ids the host "
			"gives each sandbox (ids.block), found 101");
}

static void namespaces_are_read_as_a_list(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp.host.required_namespaces = VJ_NS_MOUNT | VJ_NS_PID;
	load_ok(HEAD "jail:\n  namespaces: [pid, mount, net]\n", &p);
	assert_int_equal(p.jail.namespaces, VJ_NS_MOUNT | VJ_NS_PID | VJ_NS_NET);
	vj_policy_free(&p);
	tp.host = saved;
}

static void unknown_or_duplicate_namespaces_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  namespaces: [mount, time]\n", "p.yaml:5:23: jail.namespaces[1]: "
			"expected one of mount, pid, ipc, uts, net, cgroup, user, found \"time\"");
	tp_assert_error(HEAD "jail:\n  namespaces: [mount, mount]\n", "p.yaml:5:23: jail.namespaces[1]: "
			"duplicate namespace \"mount\"");
}

static void namespaces_the_host_requires_cannot_be_dropped(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  namespaces: [mount, ipc, uts, net, cgroup]\n",
			"p.yaml:5:15: jail.namespaces: expected the namespaces the host requires (mount, "
			"pid, ipc, uts, net, cgroup), missing pid");
}

static void network_interfaces_need_a_network_namespace(void **state)
{
	struct vj_host_config saved = tp.host;

	(void)state;
	tp.host.required_namespaces = VJ_NS_MOUNT | VJ_NS_PID;
	tp_assert_error(HEAD "  net:\n    - tap: vjt0\njail:\n  namespaces: [mount, pid]\n",
			"p.yaml:7:15: jail.namespaces: vm.net needs \"net\": taps are created only in "
			"the sandbox's own network namespace");
	tp.host = saved;
}

static void user_namespace_and_its_map_go_together(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  namespaces: [mount, pid, ipc, uts, net, cgroup, user]\n",
			"p.yaml:5:15: jail.namespaces: \"user\" needs jail.user_namespace (the id map)");
	tp_assert_error(HEAD "jail:\n  uid: 0\n  gid: 0\n  namespaces: [mount, pid, ipc, uts, net, cgroup]\n"
			"  user_namespace: {count: 10}\n",
			"p.yaml:8:19: jail.user_namespace: needs \"user\" in jail.namespaces");
}

static void host_requiring_a_user_namespace_needs_a_map(void **state)
{
	struct vj_host_config saved = tp.host;

	(void)state;
	tp.host.required_namespaces |= VJ_NS_USER;
	tp_assert_error(HEAD "jail:\n  mount_proc: false\n", "p.yaml:5:3: jail: the host requires a user "
			"namespace: expected jail.user_namespace (the id map)");
	tp.host = saved;
}

static void netns_must_be_allowed_by_the_host(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp_assert_error(HEAD "jail:\n  netns: prod\n", "p.yaml:5:10: jail.netns: expected a network "
			"namespace the host allows (none), found \"prod\"");
	tp.host.nnetns = 2;
	strcpy(tp.host.allowed_netns[0], "sandbox");
	strcpy(tp.host.allowed_netns[1], "ci");
	tp_assert_error(HEAD "jail:\n  netns: prod\n", "p.yaml:5:10: jail.netns: expected a network "
			"namespace the host allows (sandbox, ci), found \"prod\"");
	load_ok(HEAD "jail:\n  netns: ci\n", &p);
	assert_string_equal(p.jail.netns, "ci");
	vj_policy_free(&p);
	tp.host = saved;
}

static void netns_needs_the_net_namespace(void **state)
{
	struct vj_host_config saved = tp.host;

	(void)state;
	tp.host.nnetns = 1;
	strcpy(tp.host.allowed_netns[0], "ci");
	tp.host.required_namespaces = VJ_NS_MOUNT;
	tp_assert_error(HEAD "jail:\n  netns: ci\n  namespaces: [mount]\n",
			"p.yaml:5:10: jail.netns: needs \"net\" in jail.namespaces");
	tp.host = saved;
}

static void cgroup_cpus_become_a_quota(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "jail:\n  cgroup: {cpus: 1.5}\n", &p);
	assert_true(p.jail.cgroup.cpu_quota_us == 150000);
	assert_true(p.jail.cgroup.cpu_period_us == 100000);
	vj_policy_free(&p);
	load_ok(HEAD "jail:\n  cgroup: {cpu_period_us: 20000, cpus: 0.25}\n", &p);
	assert_true(p.jail.cgroup.cpu_quota_us == 5000);
	assert_true(p.jail.cgroup.cpu_period_us == 20000);
	vj_policy_free(&p);
}

static void cgroup_cpus_default_follows_the_period(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "jail:\n  cgroup: {cpu_period_us: 50000}\n", &p);
	assert_true(p.jail.cgroup.cpu_quota_us == 100000);
	vj_policy_free(&p);
}

static void cgroup_cpus_above_the_host_maximum_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  cgroup: {cpus: 3}\n", "p.yaml:5:18: jail.cgroup.cpus: expected "
			"at most 2 (host maximum), found \"3\"");
	tp_assert_error(HEAD "jail:\n  cgroup: {cpus: unlimited}\n", "p.yaml:5:18: jail.cgroup.cpus: "
			"expected at most 2 (host maximum), found \"unlimited\"");
}

static void cgroup_cpus_may_be_unlimited_without_a_host_maximum(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp.host.max_cgroup.cpu_quota_us = VJ_UNLIMITED;
	load_ok(HEAD "jail:\n  cgroup: {cpus: unlimited}\n", &p);
	assert_true(p.jail.cgroup.cpu_quota_us == VJ_UNLIMITED);
	vj_policy_free(&p);
	tp_assert_error(HEAD "jail:\n  cgroup: {cpus: 1025}\n", "p.yaml:5:18: jail.cgroup.cpus: "
			"expected at most 1024, found \"1025\"");
	tp.host = saved;
}

static void cgroup_cpus_below_a_millisecond_quota_are_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  cgroup: {cpus: 0.005}\n", "p.yaml:5:18: jail.cgroup.cpus: "
			"expected at least 0.01 with a 100000 us period (a quota of at least 1 ms), found 0.005");
	tp_assert_error(HEAD "jail:\n  cgroup: {cpus: 1.2345}\n", "p.yaml:5:18: jail.cgroup.cpus: "
			"expected a number with at most 3 decimals or unlimited, found \"1.2345\"");
}

static void cgroup_period_is_whole_milliseconds_in_range(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  cgroup: {cpu_period_us: 1500}\n", "p.yaml:5:27: "
			"jail.cgroup.cpu_period_us: expected a whole number of milliseconds (a multiple "
			"of 1000), found \"1500\"");
	tp_assert_error(HEAD "jail:\n  cgroup: {cpu_period_us: 2000000}\n", "p.yaml:5:27: "
			"jail.cgroup.cpu_period_us: expected at most 1000000, found \"2000000\"");
}

static void cgroup_memory_must_hold_the_guest(void **state)
{
	(void)state;
	tp_assert_error(HEAD "  memory: 512Mi\njail:\n  cgroup: {memory: 256Mi}\n",
			"p.yaml:6:20: jail.cgroup.memory: expected at least 512Mi (vm.memory), found 256Mi");
}

static void host_cgroup_memory_maximum_limits_the_guest(void **state)
{
	struct vj_host_config saved = tp.host;

	(void)state;
	tp.host.max_cgroup.memory_max = 256u << 20;
	tp_assert_error(HEAD "  memory: 512Mi\n", "p.yaml:4:11: vm.memory: expected at most 256Mi (the "
			"host's maximum for jail.cgroup.memory), found 512Mi");
	tp.host = saved;
}

static void cgroup_limits_are_bounded_by_the_host(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  cgroup: {memory: 3Gi}\n", "p.yaml:5:20: jail.cgroup.memory: "
			"expected at most 2Gi (host maximum), found \"3Gi\"");
	tp_assert_error(HEAD "jail:\n  cgroup: {pids: unlimited}\n", "p.yaml:5:18: jail.cgroup.pids: "
			"expected at most 128 (host maximum), found \"unlimited\"");
	tp_assert_error(HEAD "jail:\n  cgroup: {pids: 0}\n", "p.yaml:5:18: jail.cgroup.pids: expected "
			"at least 1, found \"0\"");
}

static void cgroup_limits_without_a_host_maximum_may_be_unlimited(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "jail:\n  cgroup: {swap: unlimited, io_weight: 500}\n", &p);
	assert_true(p.jail.cgroup.memory_swap_max == VJ_UNLIMITED);
	assert_true(p.jail.cgroup.io_weight == 500);
	vj_policy_free(&p);
	tp_assert_error(HEAD "jail:\n  cgroup: {io_weight: 0}\n", "p.yaml:5:23: jail.cgroup.io_weight: "
			"expected at least 1, found \"0\"");
}

static void cpusets_must_lie_within_the_host_set(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	strcpy(tp.host.max_cgroup.cpuset_cpus, "0-3");
	load_ok(HEAD "jail:\n  cgroup: {cpuset_cpus: 1-2}\n", &p);
	assert_string_equal(p.jail.cgroup.cpuset_cpus, "1-2");
	vj_policy_free(&p);
	load_ok(HEAD, &p);
	assert_string_equal(p.jail.cgroup.cpuset_cpus, "0-3");
	vj_policy_free(&p);
	tp_assert_error(HEAD "jail:\n  cgroup: {cpuset_cpus: 2-5}\n", "p.yaml:5:25: "
			"jail.cgroup.cpuset_cpus: expected CPUs within the host's set 0-3, found \"2-5\"");
	tp_assert_error(HEAD "jail:\n  cgroup: {cpuset_mems: 0-}\n", "p.yaml:5:25: "
			"jail.cgroup.cpuset_mems: expected a list of numbers below 1024 and ranges "
			"(\"0-3,8\"), found \"0-\"");
	tp.host = saved;
}

static void rlimits_take_numbers_or_the_launcher_default(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "jail:\n  rlimits: {nofile: 256, nproc: default, fsize: 1Gi}\n", &p);
	assert_true(p.jail.rlimits.nofile == 256);
	assert_true(p.jail.rlimits.nproc == VJ_UNLIMITED);
	assert_true(p.jail.rlimits.fsize == 1ull << 30);
	vj_policy_free(&p);
	tp_assert_error(HEAD "jail:\n  rlimits: {nofile: unlimited}\n", "p.yaml:5:21: "
			"jail.rlimits.nofile: expected an integer or default, found \"unlimited\"");
}

static void core_dumps_need_the_host_permission(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  rlimits: {core: 1Mi}\n", "p.yaml:5:19: jail.rlimits.core: "
			"expected at most 0 (host maximum), found \"1Mi\"");
}

static void unknown_jail_key_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "jail:\n  chroot: /\n", "p.yaml:5:3: jail.chroot: unknown key (expected one "
			"of: uid, gid, user_namespace, namespaces, netns, mount_proc, cgroup, rlimits)");
}

/* ---- limits, seccomp, workload ---- */

static void timeout_takes_a_duration(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "limits: {timeout: 90s, console_output: 64Ki}\n", &p);
	assert_true(p.limits.timeout_ms == 90000);
	assert_true(p.limits.console_bytes == 64u << 10);
	assert_true(p.vm.console_limit == 64u << 10);
	vj_policy_free(&p);
	tp_assert_error(HEAD "limits: {timeout: 30}\n", "p.yaml:4:19: limits.timeout: expected a duration "
			"(an integer with a unit: ms, s, m or h) or unlimited, found \"30\"");
}

static void timeout_above_the_host_maximum_is_refused(void **state)
{
	(void)state;
	tp_assert_error(HEAD "limits: {timeout: 1h}\n", "p.yaml:4:19: limits.timeout: expected at most "
			"10m (host maximum), found \"1h\"");
	tp_assert_error(HEAD "limits: {timeout: unlimited}\n", "p.yaml:4:19: limits.timeout: expected "
			"at most 10m (host maximum), found \"unlimited\"");
}

static void no_host_maximum_allows_no_timeout(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp.host.max_vm.timeout = VJ_UNLIMITED;
	load_ok(HEAD, &p);
	assert_true(p.limits.timeout_ms == 0);
	vj_policy_free(&p);
	load_ok(HEAD "limits: {timeout: unlimited}\n", &p);
	assert_true(p.limits.timeout_ms == 0);
	vj_policy_free(&p);
	tp.host = saved;
}

static void console_output_is_bounded_by_the_host(void **state)
{
	(void)state;
	tp_assert_error(HEAD "limits: {console_output: 5Mi}\n", "p.yaml:4:26: limits.console_output: "
			"expected at most 4Mi (host maximum), found \"5Mi\"");
}

static void output_caps_each_workload_stream_apart_from_the_console(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "limits: {console_output: 64Ki, output: 3Mi}\n", &p);
	assert_true(p.limits.output_bytes == 3u << 20);
	assert_true(p.limits.console_bytes == 64u << 10);
	assert_true(p.vm.console_limit == 64u << 10);
	vj_policy_free(&p);
	tp_assert_error(HEAD "limits: {output: 0}\n", "p.yaml:4:18: limits.output: expected at least 1, "
			"found \"0\"");
}

static void output_is_bounded_by_the_host(void **state)
{
	(void)state;
	tp_assert_error(HEAD "limits: {output: 1Gi}\n", "p.yaml:4:18: limits.output: expected at most "
			"512Mi (host maximum), found \"1Gi\"");
	tp_assert_error(HEAD "limits: {output: unlimited}\n", "p.yaml:4:18: limits.output: expected "
			"at most 512Mi (host maximum), found \"unlimited\"");
}

static void no_host_maximum_leaves_output_uncapped(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp.host.max_vm.output = VJ_UNLIMITED;
	load_ok(HEAD, &p);
	assert_true(p.limits.output_bytes == VJ_UNLIMITED);
	vj_policy_free(&p);
	load_ok(HEAD "limits: {output: unlimited}\n", &p);
	assert_true(p.limits.output_bytes == VJ_UNLIMITED);
	vj_policy_free(&p);
	tp.host = saved;
}

static void seccomp_log_needs_the_host_permission(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	tp_assert_error(HEAD "seccomp: {mode: log}\n", "p.yaml:4:17: seccomp.mode: expected enforce (this "
			"host does not allow log), found \"log\"");
	tp.host.allow_seccomp_log = true;
	load_ok(HEAD "seccomp: {mode: log}\n", &p);
	assert_int_equal(p.seccomp, VJ_SECCOMP_LOG);
	assert_int_equal(p.vm.seccomp, VJ_SECCOMP_LOG);
	vj_policy_free(&p);
	tp.host = saved;
}

/* thp and 4k take the sandbox's own memory, within its cgroup; the
 * hugetlb pool is the operator's, for policies only where the host
 * backs guests with it. */
static void memory_backing_defaults_to_the_host_and_hugetlb_needs_its_pool(void **state)
{
	struct vj_host_config saved = tp.host;
	struct vj_policy p;

	(void)state;
	load_ok(HEAD, &p);
	assert_int_equal(p.vm.memory_backing, VJ_MEMORY_THP);
	vj_policy_free(&p);
	load_ok("version: 1\nvm:\n  kernel: vmlinux\n  memory_backing: 4k\n", &p);
	assert_int_equal(p.vm.memory_backing, VJ_MEMORY_4K);
	vj_policy_free(&p);
	tp_assert_error("version: 1\nvm:\n  kernel: vmlinux\n  memory_backing: hugetlb\n",
			"p.yaml:4:19: vm.memory_backing: expected thp or 4k (this host keeps no "
			"hugetlb pool for sandboxes), found \"hugetlb\"");
	tp_assert_error("version: 1\nvm:\n  kernel: vmlinux\n  memory_backing: memfd\n",
			"p.yaml:4:19: vm.memory_backing: expected one of thp, 4k, hugetlb, found "
			"\"memfd\"");
	tp.host.memory_backing = VJ_MEMORY_HUGETLB;
	load_ok(HEAD, &p);
	assert_int_equal(p.vm.memory_backing, VJ_MEMORY_HUGETLB);
	vj_policy_free(&p);
	load_ok("version: 1\nvm:\n  kernel: vmlinux\n  memory_backing: thp\n", &p);
	assert_int_equal(p.vm.memory_backing, VJ_MEMORY_THP);
	vj_policy_free(&p);
	tp.host = saved;
}

static void seccomp_cannot_be_turned_off(void **state)
{
	(void)state;
	tp_assert_error(HEAD "seccomp: {mode: off}\n", "p.yaml:4:17: seccomp.mode: expected one of "
			"enforce, log, found \"off\"");
}

static void workload_argv_and_env_are_read(void **state)
{
	struct vj_policy p;

	(void)state;
	load_ok(HEAD "workload:\n  argv: [/bin/sh, -c, \"echo 'hi'\\n\"]\n"
		     "  env: {PATH: /bin, N: 1, EMPTY: \"\"}\n", &p);
	assert_int_equal(p.workload.argc, 3);
	assert_string_equal(p.workload.argv[2], "echo 'hi'\n");
	assert_null(p.workload.argv[3]);
	assert_int_equal(p.workload.envc, 3);
	assert_string_equal(p.workload.env[0], "PATH=/bin");
	assert_string_equal(p.workload.env[1], "N=1");
	assert_string_equal(p.workload.env[2], "EMPTY=");
	vj_policy_free(&p);
}

static void workload_program_name_may_not_be_empty(void **state)
{
	(void)state;
	tp_assert_error(HEAD "workload:\n  argv: [\"\", x]\n", "p.yaml:5:10: workload.argv[0]: expected a "
			"program name, found the quoted string \"\"");
}

static void workload_env_names_and_values_are_checked(void **state)
{
	(void)state;
	tp_assert_error(HEAD "workload:\n  env: {1X: a}\n", "p.yaml:5:9: workload.env.1X: expected a "
			"variable name ([A-Za-z_][A-Za-z0-9_]*)");
	tp_assert_error(HEAD "workload:\n  env: {X: }\n", "p.yaml:5:12: workload.env.X: expected a "
			"string, found null");
	tp_assert_error(HEAD "workload:\n  env: [X=1]\n", "p.yaml:5:8: workload.env: expected a mapping "
			"of variable names to strings, found a sequence");
}

static void workload_env_count_is_capped(void **state)
{
	char yaml[8192];
	size_t o = (size_t)snprintf(yaml, sizeof(yaml), HEAD "workload:\n  env:\n");

	(void)state;
	for (int i = 0; i <= VJ_MAX_ENV; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "    V%d: x\n", i);
	tp_assert_error(yaml, "p.yaml:6:5: workload.env: expected at most 128 variables, found 129");
}

static void workload_size_is_capped(void **state)
{
	char *yaml = malloc(VJ_POLICY_FILE_MAX);
	struct vj_err err;
	size_t o = (size_t)snprintf(yaml, 128, HEAD "workload:\n  argv:\n");

	(void)state;
	/* 257 arguments: one more than VJ_MAX_ARGS. */
	for (int i = 0; i <= VJ_MAX_ARGS; i++)
		o += (size_t)snprintf(yaml + o, 16, "    - a\n");
	yaml[o] = '\0';
	assert_int_not_equal(tp_load(yaml, NULL, &err), 0);
	assert_string_equal(err.msg, "p.yaml:6:5: workload.argv: expected at most 256 items, found 257");
	free(yaml);
}

static void failure_after_workload_strings_frees_them(void **state)
{
	(void)state;
	/* Under ASan a leak here fails the test binary. */
	tp_assert_error(HEAD "workload:\n  argv: [a, b]\n  env: {A: b}\nlimits: {timeout: 1y}\n",
			"p.yaml:7:19: limits.timeout: expected a duration (an integer with a unit: ms, s, "
			"m or h) or unlimited, found \"1y\"");
}

static void policy_files_are_read_from_disk(void **state)
{
	struct vj_err err;
	struct vj_policy p;
	FILE *f = fopen(tp_path("p.yaml"), "w");

	(void)state;
	fputs(HEAD "  vcpus: 9\n", f);
	fclose(f);
	assert_int_not_equal(vj_policy_load_file(&p, tp_path("p.yaml"), &tp.host, &err), 0);
	assert_string_equal(err.msg, tp_fmt("%s/p.yaml:4:10: vm.vcpus: expected at most 4 (host "
					    "maximum), found \"9\"", tp.dir));
	assert_int_not_equal(vj_policy_load_file(&p, tp_path("none.yaml"), &tp.host, &err), 0);
	assert_string_equal(err.msg, tp_fmt("%s/none.yaml: No such file or directory", tp.dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_policy_gets_every_default),
		cmocka_unit_test(root_must_be_a_mapping),
		cmocka_unit_test(version_is_required),
		cmocka_unit_test(other_versions_are_refused),
		cmocka_unit_test(version_is_checked_before_unknown_keys),
		cmocka_unit_test(vm_section_is_required),
		cmocka_unit_test(unknown_top_level_key_lists_the_known_ones),
		cmocka_unit_test(id_is_validated),
		cmocka_unit_test(kernel_is_required),
		cmocka_unit_test(unknown_vm_key_lists_the_known_ones),
		cmocka_unit_test(kernel_and_initrd_resolve_to_canonical_paths),
		cmocka_unit_test(kernel_outside_the_roots_is_refused),
		cmocka_unit_test(kernel_escaping_with_dotdot_is_refused),
		cmocka_unit_test(kernel_escaping_through_a_symlink_is_refused),
		cmocka_unit_test(missing_kernel_is_refused),
		cmocka_unit_test(kernel_must_be_a_regular_file),
		cmocka_unit_test(empty_kernel_path_is_refused),
		cmocka_unit_test(cmdline_is_copied),
		cmocka_unit_test(cmdline_longer_than_its_cap_is_refused),
		cmocka_unit_test(cmdline_control_characters_are_refused),
		cmocka_unit_test(vcpus_within_the_host_maximum_are_accepted),
		cmocka_unit_test(vcpus_above_the_host_maximum_are_refused),
		cmocka_unit_test(zero_vcpus_are_refused),
		cmocka_unit_test(vcpus_of_the_wrong_type_are_refused),
		cmocka_unit_test(memory_takes_binary_sizes),
		cmocka_unit_test(memory_with_a_decimal_suffix_is_refused),
		cmocka_unit_test(memory_with_a_one_letter_suffix_is_binary),
		cmocka_unit_test(memory_in_plain_bytes_below_the_minimum_is_refused),
		cmocka_unit_test(memory_that_is_not_whole_mebibytes_is_refused),
		cmocka_unit_test(memory_above_the_host_maximum_is_refused),
		cmocka_unit_test(drives_are_read_with_defaults),
		cmocka_unit_test(drive_without_an_id_is_refused),
		cmocka_unit_test(drive_ids_are_validated),
		cmocka_unit_test(duplicate_drive_ids_are_refused),
		cmocka_unit_test(drive_outside_the_image_roots_is_refused),
		cmocka_unit_test(drive_from_the_kernel_roots_is_refused),
		cmocka_unit_test(writable_image_on_two_drives_is_refused),
		cmocka_unit_test(read_only_image_on_two_drives_is_accepted),
		cmocka_unit_test(too_many_drives_are_refused),
		cmocka_unit_test(drive_read_only_must_be_a_boolean),
		cmocka_unit_test(burst_without_a_rate_is_refused),
		cmocka_unit_test(unknown_rate_limit_key_is_refused),
		cmocka_unit_test(nets_are_read),
		cmocka_unit_test(tap_names_are_validated),
		cmocka_unit_test(mac_addresses_are_validated),
		cmocka_unit_test(too_many_nets_are_refused),
		cmocka_unit_test(vsock_defaults_to_cid_3_and_no_socket),
		cmocka_unit_test(vsock_reserved_cids_are_refused),
		cmocka_unit_test(vsock_socket_lies_in_the_socket_roots),
		cmocka_unit_test(vsock_socket_may_not_replace_another_file),
		cmocka_unit_test(rng_takes_only_true_or_false),
		cmocka_unit_test(console_is_stdout_or_none),
		cmocka_unit_test(host_ids_named_by_a_policy_are_refused),
		cmocka_unit_test(a_user_namespace_has_a_count_of_ids_and_ids_inside_it),
		cmocka_unit_test(user_namespace_needs_explicit_ids),
		cmocka_unit_test(ids_outside_the_user_namespace_are_refused),
		cmocka_unit_test(a_user_namespace_beyond_the_hosts_block_is_refused),
		cmocka_unit_test(namespaces_are_read_as_a_list),
		cmocka_unit_test(unknown_or_duplicate_namespaces_are_refused),
		cmocka_unit_test(namespaces_the_host_requires_cannot_be_dropped),
		cmocka_unit_test(network_interfaces_need_a_network_namespace),
		cmocka_unit_test(user_namespace_and_its_map_go_together),
		cmocka_unit_test(host_requiring_a_user_namespace_needs_a_map),
		cmocka_unit_test(netns_must_be_allowed_by_the_host),
		cmocka_unit_test(netns_needs_the_net_namespace),
		cmocka_unit_test(cgroup_cpus_become_a_quota),
		cmocka_unit_test(cgroup_cpus_default_follows_the_period),
		cmocka_unit_test(cgroup_cpus_above_the_host_maximum_are_refused),
		cmocka_unit_test(cgroup_cpus_may_be_unlimited_without_a_host_maximum),
		cmocka_unit_test(cgroup_cpus_below_a_millisecond_quota_are_refused),
		cmocka_unit_test(cgroup_period_is_whole_milliseconds_in_range),
		cmocka_unit_test(cgroup_memory_must_hold_the_guest),
		cmocka_unit_test(host_cgroup_memory_maximum_limits_the_guest),
		cmocka_unit_test(cgroup_limits_are_bounded_by_the_host),
		cmocka_unit_test(cgroup_limits_without_a_host_maximum_may_be_unlimited),
		cmocka_unit_test(cpusets_must_lie_within_the_host_set),
		cmocka_unit_test(rlimits_take_numbers_or_the_launcher_default),
		cmocka_unit_test(core_dumps_need_the_host_permission),
		cmocka_unit_test(unknown_jail_key_is_refused),
		cmocka_unit_test(timeout_takes_a_duration),
		cmocka_unit_test(timeout_above_the_host_maximum_is_refused),
		cmocka_unit_test(no_host_maximum_allows_no_timeout),
		cmocka_unit_test(console_output_is_bounded_by_the_host),
		cmocka_unit_test(output_caps_each_workload_stream_apart_from_the_console),
		cmocka_unit_test(output_is_bounded_by_the_host),
		cmocka_unit_test(no_host_maximum_leaves_output_uncapped),
		cmocka_unit_test(seccomp_log_needs_the_host_permission),
		cmocka_unit_test(seccomp_cannot_be_turned_off),
		cmocka_unit_test(memory_backing_defaults_to_the_host_and_hugetlb_needs_its_pool),
		cmocka_unit_test(workload_argv_and_env_are_read),
		cmocka_unit_test(workload_program_name_may_not_be_empty),
		cmocka_unit_test(workload_env_names_and_values_are_checked),
		cmocka_unit_test(workload_env_count_is_capped),
		cmocka_unit_test(workload_size_is_capped),
		cmocka_unit_test(failure_after_workload_strings_frees_them),
		cmocka_unit_test(policy_files_are_read_from_disk),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
