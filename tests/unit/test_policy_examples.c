/*
 * Every policy in policy/examples/ is valid against policy/examples/host.yaml.
 * The host file is copied into a scratch tree shaped like a checkout
 * (policy/examples/host.yaml beside build/guest/ and build/tests/guest/),
 * so its relative roots point at stand-in guest files there and the test
 * does not depend on what has been built.
 */
#include "test_policy_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLES VJ_SOURCE_DIR "/policy/examples"

static struct vj_host_config host;

static void copy_file(const char *from, const char *to)
{
	char buf[VJ_POLICY_FILE_MAX];
	FILE *in = fopen(from, "r"), *out;
	size_t n;

	assert_non_null(in);
	out = fopen(to, "w");
	assert_non_null(out);
	n = fread(buf, 1, sizeof(buf), in);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

static int setup(void **state)
{
	struct vj_err err;
	int r = tp_setup(state);

	if (r)
		return r;
	tp_touch("checkout/build/guest/vmlinux");
	tp_touch("checkout/build/guest/initramfs.cpio");
	tp_touch("checkout/build/guest/rootfs.ext4");
	tp_touch("checkout/build/guest/scratch.ext4");
	tp_touch("checkout/build/tests/guest/testguest.elf");
	tp_touch("checkout/policy/examples/host.yaml");
	copy_file(EXAMPLES "/host.yaml", tp_path("checkout/policy/examples/host.yaml"));
	if (vj_host_config_load(&host, tp_path("checkout/policy/examples/host.yaml"), &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static bool is_policy(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".yaml") && strcmp(name, "host.yaml");
}

static void every_example_policy_is_valid(void **state)
{
	DIR *d = opendir(EXAMPLES);
	struct dirent *e;
	unsigned count = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[1024];
		struct vj_err err;
		struct vj_policy p;
		if (!is_policy(e->d_name))
			continue;
		snprintf(path, sizeof(path), EXAMPLES "/%s", e->d_name);
		if (vj_policy_load_file(&p, path, &host, &err))
			fail_msg("%s", err.msg);
		vj_policy_free(&p);
		count++;
	}
	closedir(d);
	/* testguest, untrusted, function, ci-job */
	assert_true(count >= 4);
}

static void load_example(const char *name, struct vj_policy *p)
{
	char path[1024];
	struct vj_err err;

	snprintf(path, sizeof(path), EXAMPLES "/%s", name);
	if (vj_policy_load_file(p, path, &host, &err))
		fail_msg("%s", err.msg);
}

static void testguest_example_boots_the_hello_scenario(void **state)
{
	struct vj_policy p;

	(void)state;
	load_example("testguest.yaml", &p);
	assert_string_equal(p.vm.kernel.name, tp_path("checkout/build/tests/guest/testguest.elf"));
	assert_string_equal(p.vm.cmdline, "vjtest=hello");
	assert_int_equal(p.vm.ndrives, 0);
	assert_int_equal(p.vm.nnets, 0);
	vj_policy_free(&p);
}

static void linux_examples_use_the_guest_build(void **state)
{
	static const char *const names[] = { "untrusted.yaml", "function.yaml", "ci-job.yaml" };
	struct vj_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		load_example(names[i], &p);
		assert_string_equal(p.vm.kernel.name, tp_path("checkout/build/guest/vmlinux"));
		/* The agent reports over vsock; the guest's reset (reboot=k)
		 * is what ends the VMM after the workload. */
		assert_true(p.vm.vsock.enabled);
		assert_non_null(strstr(p.vm.cmdline, "reboot=k"));
		assert_true(p.workload.argc > 0);
		vj_policy_free(&p);
	}
}

static void untrusted_example_boots_the_initramfs_alone(void **state)
{
	struct vj_policy p;

	(void)state;
	load_example("untrusted.yaml", &p);
	assert_string_equal(p.vm.initrd.name, tp_path("checkout/build/guest/initramfs.cpio"));
	assert_int_equal(p.vm.ndrives, 0);
	assert_int_equal(p.vm.nnets, 0);
	vj_policy_free(&p);
}

/* function and ci-job boot from their first drive, the read-only image. */
static void image_examples_boot_from_the_read_only_root_image(void **state)
{
	static const char *const names[] = { "function.yaml", "ci-job.yaml" };
	struct vj_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		load_example(names[i], &p);
		assert_string_equal(p.vm.initrd.name, "");
		assert_true(p.vm.ndrives >= 1);
		assert_string_equal(p.vm.drives[0].file.name,
				    tp_path("checkout/build/guest/rootfs.ext4"));
		assert_true(p.vm.drives[0].read_only);
		assert_non_null(strstr(p.vm.cmdline, "root=/dev/vda ro init=/sbin/vmjail-init"));
		vj_policy_free(&p);
	}
}

static void ci_job_example_writes_only_its_scratch_disk(void **state)
{
	struct vj_policy p;

	(void)state;
	load_example("ci-job.yaml", &p);
	assert_int_equal(p.vm.ndrives, 2);
	assert_true(p.vm.drives[0].read_only);
	assert_false(p.vm.drives[1].read_only);
	assert_string_equal(p.vm.drives[1].file.name, tp_path("checkout/build/guest/scratch.ext4"));
	vj_policy_free(&p);
}

static void example_host_file_loads_from_the_checkout_itself(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	if (vj_host_config_load(&h, EXAMPLES "/host.yaml", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(h.nkernel_roots, 4);
	assert_non_null(strstr(h.kernel_roots[0], "/build/guest"));
	assert_true(h.allow_seccomp_log);
}

/* The operator's file of the e2e test host (tests/e2e/), which `make e2e`
 * loads there, holds to the same rules. */
static void e2e_test_host_s_host_file_loads(void **state)
{
	struct vj_err err;
	struct vj_host_config h;

	(void)state;
	if (vj_host_config_load(&h, VJ_SOURCE_DIR "/tests/e2e/host.yaml", &err))
		fail_msg("%s", err.msg);
	assert_string_equal(h.run_dir, "/run/vmjail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_example_policy_is_valid),
		cmocka_unit_test(testguest_example_boots_the_hello_scenario),
		cmocka_unit_test(linux_examples_use_the_guest_build),
		cmocka_unit_test(untrusted_example_boots_the_initramfs_alone),
		cmocka_unit_test(image_examples_boot_from_the_read_only_root_image),
		cmocka_unit_test(ci_job_example_writes_only_its_scratch_disk),
		cmocka_unit_test(example_host_file_loads_from_the_checkout_itself),
		cmocka_unit_test(e2e_test_host_s_host_file_loads),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, setup, tp_teardown);
}
