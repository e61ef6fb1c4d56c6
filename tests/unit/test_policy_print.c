/* The effective policy printed as YAML (a loadable policy again) and as
 * JSON (plain numbers, null for unlimited). */
#include "test_policy_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RICH "version: 1\nid: req-1\nvm:\n  kernel: vmlinux\n  initrd: initrd.img\n" \
	"  cmdline: \"console=ttyS0 \\\"quoted\\\"\"\n  vcpus: 2\n  memory: 384Mi\n" \
	"  memory_backing: 4k\n" \
	"  drives:\n    - {id: root, path: root.ext4}\n" \
	"    - {id: data, path: data.ext4, read_only: false, rate_limit: {bandwidth: 1536Ki, " \
	"bandwidth_burst: 1Mi, ops: 100, ops_burst: 10}}\n" \
	"  net: [{tap: tap0, mac: \"02:00:00:00:00:0a\", rate_limit: {ops: 5}}, {tap: tap1}]\n" \
	"  vsock: {cid: 7, uds: v.sock}\n  rng: true\n  console: none\n" \
	"jail:\n  uid: 0\n  gid: 1\n  user_namespace: {count: 100}\n" \
	"  mount_proc: true\n" \
	"  cgroup: {cpus: 0.75, cpu_period_us: 20000, memory: 1Gi, swap: unlimited, pids: 50, " \
	"cpuset_cpus: \"0\", io_weight: 200}\n" \
	"  rlimits: {nofile: 64, fsize: 1Gi}\n" \
	"limits: {timeout: 90s, console_output: 128Ki, output: 64Ki}\n" \
	"workload:\n  argv: [/bin/sh, -c, \"echo \\\"x\\\"\\ttab\\n\"]\n  env: {PATH: /bin, Q: \"a\\\\b\"}\n"

static char *print(const struct vj_policy *p, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(json ? vj_policy_print_json(p, f) : vj_policy_print_yaml(p, f), 0);
	fclose(f);
	return buf;
}

static void load(const char *yaml, struct vj_policy *p)
{
	struct vj_err err;

	if (tp_load(yaml, p, &err))
		fail_msg("unexpected error: %s", err.msg);
}

static void yaml_output_loads_back_to_the_same_policy(void **state)
{
	struct vj_policy a, b;
	char *first, *second;

	(void)state;
	load(RICH, &a);
	first = print(&a, false);
	load(first, &b);
	second = print(&b, false);
	assert_string_equal(first, second);
	assert_memory_equal(&a.vm, &b.vm, sizeof(a.vm));
	assert_memory_equal(&a.jail, &b.jail, sizeof(a.jail));
	assert_memory_equal(&a.limits, &b.limits, sizeof(a.limits));
	assert_string_equal(a.id, b.id);
	assert_int_equal(a.workload.argc, b.workload.argc);
	assert_string_equal(a.workload.argv[2], b.workload.argv[2]);
	assert_string_equal(a.workload.env[1], b.workload.env[1]);
	vj_policy_free(&a);
	vj_policy_free(&b);
	free(first);
	free(second);
}

static void yaml_output_of_a_minimal_policy_shows_every_default(void **state)
{
	struct vj_policy p;
	char *out;
	char expected[4096];

	(void)state;
	load("version: 1\nvm:\n  kernel: vmlinux\n", &p);
	out = print(&p, false);
	snprintf(expected, sizeof(expected),
		 "version: 1\n"
		 "vm:\n"
		 "  kernel: \"%s/kernels/vmlinux\"\n"
		 "  cmdline: \"\"\n"
		 "  vcpus: 1\n"
		 "  memory: 128Mi\n"
		 "  memory_backing: thp\n"
		 "  drives: []\n"
		 "  net: []\n"
		 "  rng: false\n"
		 "  console: stdout\n"
		 "jail:\n"
		 "  namespaces: [mount, pid, ipc, uts, net, cgroup]\n"
		 "  mount_proc: false\n"
		 "  cgroup:\n"
		 "    cpus: 2\n"
		 "    cpu_period_us: 100000\n"
		 "    memory: 2Gi\n"
		 "    swap: unlimited\n"
		 "    pids: 128\n"
		 "    cpuset_cpus: \"\"\n"
		 "    cpuset_mems: \"\"\n"
		 "  rlimits:\n"
		 "    nofile: default\n"
		 "    nproc: default\n"
		 "    fsize: default\n"
		 "    core: 0\n"
		 "    memlock: default\n"
		 "limits:\n"
		 "  timeout: 10m\n"
		 "  console_output: 1Mi\n"
		 "  output: 512Mi\n"
		 "seccomp:\n"
		 "  mode: enforce\n"
		 "workload:\n"
		 "  argv: []\n"
		 "  env: {}\n", tp.dir);
	assert_string_equal(out, expected);
	vj_policy_free(&p);
	free(out);
}

static void yaml_output_lays_out_sequences_of_mappings(void **state)
{
	struct vj_policy p;
	char *out;

	(void)state;
	load(RICH, &p);
	out = print(&p, false);
	assert_non_null(strstr(out, "\n  drives:\n    - id: \"root\"\n      path: \""));
	assert_non_null(strstr(out, "\n      rate_limit:\n        bandwidth: 1536Ki\n"
				    "        bandwidth_burst: 1Mi\n        ops: 100\n"
				    "        ops_burst: 10\n"));
	assert_non_null(strstr(out, "\n    - tap: \"tap1\"\n      rate_limit:\n"));
	vj_policy_free(&p);
	free(out);
}

static void yaml_output_escapes_strings(void **state)
{
	struct vj_policy p;
	char *out;

	(void)state;
	load(RICH, &p);
	out = print(&p, false);
	assert_non_null(strstr(out, "  cmdline: \"console=ttyS0 \\\"quoted\\\"\"\n"));
	assert_non_null(strstr(out, "  argv: [\"/bin/sh\", \"-c\", \"echo \\\"x\\\"\\ttab\\n\"]\n"));
	assert_non_null(strstr(out, "    Q: \"a\\\\b\"\n"));
	vj_policy_free(&p);
	free(out);
}

static void json_output_uses_base_units_and_null(void **state)
{
	struct vj_policy p;
	char *out;

	(void)state;
	load(RICH, &p);
	out = print(&p, true);
	assert_true(out[0] == '{');
	assert_non_null(strstr(out, "\n  \"version\": 1,\n  \"id\": \"req-1\",\n  \"vm\": {\n"));
	assert_non_null(strstr(out, "\"memory\": 402653184,\n    \"memory_backing\": \"4k\","));
	assert_non_null(strstr(out, "\"timeout_ms\": 90000,"));
	assert_non_null(strstr(out, "\"console_output\": 131072,\n    \"output\": 65536\n"));
	assert_non_null(strstr(out, "\"swap\": null,"));
	assert_non_null(strstr(out, "\"cpus\": 0.75,"));
	assert_non_null(strstr(out, "\"nproc\": null,"));
	assert_non_null(strstr(out, "\"namespaces\": [\"mount\", \"pid\", \"ipc\", \"uts\", \"net\", "
				    "\"cgroup\", \"user\"],"));
	assert_non_null(strstr(out, "\"uid\": 0,\n    \"gid\": 1,\n    \"user_namespace\": {\n"
				    "      \"count\": 100\n    },"));
	assert_non_null(strstr(out, "\"drives\": [\n      {\n        \"id\": \"root\",\n"));
	assert_non_null(strstr(out, "\"console\": \"none\""));
	assert_non_null(strstr(out, "\"env\": {\n      \"PATH\": \"/bin\",\n      \"Q\": \"a\\\\b\"\n    }"));
	assert_string_equal(out + strlen(out) - 3, "\n}\n");
	vj_policy_free(&p);
	free(out);
}

static void json_output_marks_absent_optional_values_null(void **state)
{
	struct vj_policy p;
	char *out;

	(void)state;
	load("version: 1\nvm:\n  kernel: vmlinux\n", &p);
	out = print(&p, true);
	assert_non_null(strstr(out, "\"id\": null,"));
	assert_non_null(strstr(out, "\"initrd\": null,"));
	assert_non_null(strstr(out, "\"vsock\": null,"));
	assert_non_null(strstr(out, "\"uid\": null,\n    \"gid\": null,\n    \"user_namespace\": null,"));
	assert_non_null(strstr(out, "\"netns\": null,"));
	assert_non_null(strstr(out, "\"io_weight\": null"));
	assert_non_null(strstr(out, "\"drives\": [],"));
	assert_non_null(strstr(out, "\"env\": {}"));
	vj_policy_free(&p);
	free(out);
}

static void printing_reports_write_errors(void **state)
{
	struct vj_policy p;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	load("version: 1\nvm:\n  kernel: vmlinux\n", &p);
	assert_int_equal(vj_policy_print_yaml(&p, f), -EIO);
	fclose(f);
	vj_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yaml_output_loads_back_to_the_same_policy),
		cmocka_unit_test(yaml_output_of_a_minimal_policy_shows_every_default),
		cmocka_unit_test(yaml_output_lays_out_sequences_of_mappings),
		cmocka_unit_test(yaml_output_escapes_strings),
		cmocka_unit_test(json_output_uses_base_units_and_null),
		cmocka_unit_test(json_output_marks_absent_optional_values_null),
		cmocka_unit_test(printing_reports_write_errors),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
