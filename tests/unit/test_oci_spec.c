/*
 * vmjail-runc's reading of config.json (jailer/oci_spec.c): every field it
 * maps, every refusal with its line, the bounds of the host file, and the
 * state JSON `state` prints (jailer/oci.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"
#include "test_policy_util.h"

#include "flags.h"
#include "json.h"
#include "oci.h"
#include "oci_spec.h"

#define BASE_PROCESS "\"process\":{\"args\":[\"/bin/echo\",\"hi\"],\"cwd\":\"/\"}"
#define BASE_ROOT "\"root\":{\"path\":\"rootfs\"}"

static char json[8192];

/* A config.json: the required parts plus extra (",..." or ""). */
static const char *config(const char *extra)
{
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS "," BASE_ROOT "%s}",
		 extra);
	return json;
}

/* The same with its own process object. */
static const char *config_process(const char *process)
{
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\",\"process\":%s," BASE_ROOT "}",
		 process);
	return json;
}

static int parse(const char *text, struct vj_oci_spec *s, struct vj_err *e)
{
	return vj_oci_spec_parse(s, text, strlen(text), tp.dir, e);
}

#define assert_refused(text_, want_)                                                       \
	do {                                                                               \
		static struct vj_oci_spec s_;                                             \
		struct vj_err e_;                                                          \
		assert_int_equal(parse(text_, &s_, &e_), -EINVAL);                        \
		assert_string_equal(e_.msg, want_);                                        \
	} while (0)

static int setup(void **state)
{
	int r = tp_setup(state);

	if (r == 0)
		r = mkdir(tp_path("rootfs"), 0755);
	return r;
}

/* ---- what maps ---------------------------------------------------------------- */

static void the_process_becomes_the_workload(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config_process("{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\","
					      "\"PATH=/bin\"],\"cwd\":\"/work\",\"user\":{\"uid\":"
					      "1000,\"gid\":100}}"), &s, &e), 0);
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.argv[2], "x");
	assert_int_equal(s.envc, 2);
	assert_string_equal(s.env[1], "PATH=/bin");
	assert_string_equal(s.cwd, "/work");
	assert_int_equal(s.uid, 1000);
	assert_int_equal(s.gid, 100);
	vj_oci_spec_free(&s);
}

static void root_path_is_resolved_against_the_bundle(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(""), &s, &e), 0);
	assert_string_equal(s.root_path, tp_path("rootfs"));
	assert_false(s.root_readonly);
	vj_oci_spec_free(&s);
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS ",\"root\":{\"path\":"
		 "\"%s\",\"readonly\":true}}", tp_path("rootfs"));
	assert_int_equal(parse(json, &s, &e), 0);
	assert_true(s.root_readonly);
	vj_oci_spec_free(&s);
}

static void the_primary_group_among_additional_gids_is_accepted(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{"
					      "\"uid\":1,\"gid\":7,\"additionalGids\":[7]}}"),
			       &s, &e), 0);
	assert_int_equal(s.gid, 7);
	vj_oci_spec_free(&s);
}

static void resources_are_read(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(",\"hostname\":\"web-1\",\"linux\":{\"resources\":{"
				      "\"memory\":{\"limit\":100000000,\"swap\":5},"
				      "\"cpu\":{\"quota\":150000,\"period\":100000},"
				      "\"pids\":{\"limit\":64}}}"), &s, &e), 0);
	assert_string_equal(s.hostname, "web-1");
	assert_int_equal(s.memory_limit, 100000000);
	assert_int_equal(s.cpu_quota_us, 150000);
	assert_int_equal(s.cpu_period_us, 100000);
	assert_int_equal(s.pids_limit, 64);
	assert_int_equal(s.nignored, 1);
	assert_string_equal(s.ignored[0], "linux.resources.memory (but limit)");
	vj_oci_spec_free(&s);
}

static void unlimited_resources_stay_unset(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(",\"linux\":{\"resources\":{\"memory\":{\"limit\":-1},"
				      "\"cpu\":{\"quota\":-1},\"pids\":{\"limit\":0}}}"), &s, &e), 0);
	assert_int_equal(s.memory_limit, VJ_UNLIMITED);
	assert_int_equal(s.cpu_quota_us, VJ_UNLIMITED);
	assert_int_equal(s.pids_limit, VJ_UNLIMITED);
	vj_oci_spec_free(&s);
}

static void guest_business_is_ignored_and_listed(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\","
				      "\"source\":\"proc\"},{\"destination\":\"/etc/resolv.conf\","
				      "\"type\":\"bind\",\"source\":\"/x\",\"options\":[\"rbind\","
				      "\"ro\"]}],\"linux\":{\"namespaces\":[{\"type\":\"pid\"}],"
				      "\"seccomp\":{},\"cgroupsPath\":\"/k8s/x\"}"), &s, &e), 0);
	assert_int_equal(s.nignored, 5);
	assert_string_equal(s.ignored[0],
			    "mounts (proc, sysfs, tmpfs, devpts, mqueue, cgroup: the guest's own)");
	assert_string_equal(s.ignored[2], "linux.namespaces");
	assert_string_equal(s.ignored[4], "linux.cgroupsPath");
	vj_oci_spec_free(&s);
}

static void annotations_name_the_policy_and_are_kept(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(",\"annotations\":{\"io.vmjail.policy\":\"/p/a.yaml\","
				      "\"x\":\"y\"}"), &s, &e), 0);
	assert_string_equal(s.policy, "/p/a.yaml");
	assert_string_equal(s.annotations, "{\"io.vmjail.policy\":\"/p/a.yaml\",\"x\":\"y\"}");
	vj_oci_spec_free(&s);
	assert_int_equal(parse(config(""), &s, &e), 0);
	assert_string_equal(s.annotations, "{}");
	vj_oci_spec_free(&s);
}

/* ---- what is refused -------------------------------------------------------------- */

static void a_terminal_is_refused(void **state)
{
	(void)state;
	assert_refused(config_process("{\"terminal\":true,\"args\":[\"sh\"],\"cwd\":\"/\"}"),
		       "config.json: process.terminal: true is not supported yet");
}

static void required_parts_are_named(void **state)
{
	(void)state;
	assert_refused("{\"process\":{}}", "config.json: ociVersion: is required");
	assert_refused("{\"ociVersion\":\"2.0\"}", "config.json: ociVersion: expected a 1.x version");
	assert_refused("{\"ociVersion\":\"1.0.2\"}", "config.json: process: is required");
	assert_refused(config_process("{\"cwd\":\"/\"}"), "config.json: process.args: is required");
	assert_refused(config_process("{\"args\":[],\"cwd\":\"/\"}"),
		       "config.json: process.args: expected a program to run, found none");
	assert_refused(config_process("{\"args\":[\"a\"]}"), "config.json: process.cwd: is required");
	assert_refused("{\"ociVersion\":\"1.0.2\"," BASE_PROCESS "}", "config.json: root: is required");
	assert_refused("[]", "config.json: (top level): expected an object");
}

static void malformed_process_fields_are_refused(void **state)
{
	(void)state;
	assert_refused(config_process("{\"args\":[\"a\",1],\"cwd\":\"/\"}"),
		       "config.json: process.args[1]: expected a string");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"rel\"}"),
		       "config.json: process.cwd: expected an absolute path, found \"rel\"");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"env\":[\"1A=b\"]}"),
		       "config.json: process.env[0]: expected NAME=VALUE with NAME of "
		       "[A-Za-z_][A-Za-z0-9_]*");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"env\":[\"NOEQUALS\"]}"),
		       "config.json: process.env[0]: expected NAME=VALUE with NAME of "
		       "[A-Za-z_][A-Za-z0-9_]*");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{\"uid\":-1,"
				      "\"gid\":0}}"),
		       "config.json: process.user.uid: expected an integer from 0 to 4294967295");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{\"uid\":0}}"),
		       "config.json: process.user.gid: is required");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{\"uid\":0,"
				      "\"gid\":0,\"additionalGids\":[0,11]}}"),
		       "config.json: process.user.additionalGids: supplementary groups are not "
		       "supported yet (found 11)");
	assert_refused(config_process("{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{\"uid\":0,"
				      "\"gid\":0,\"additionalGids\":5}}"),
		       "config.json: process.user.additionalGids: expected an array of group ids");
	assert_refused(config_process("{\"terminal\":\"yes\",\"args\":[\"a\"],\"cwd\":\"/\"}"),
		       "config.json: process.terminal: expected true or false");
}

static void counts_and_sizes_are_bounded(void **state)
{
	static char big[VJ_OCI_CONFIG_MAX + 16];
	static struct vj_oci_spec s;
	struct vj_err e;
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(big, "{\"ociVersion\":\"1.0.2\",\"process\":{\"cwd\":\"/\",\"args\":[");
	for (int i = 0; i <= VJ_MAX_ARGS; i++)
		n += (size_t)sprintf(big + n, "%s\"a\"", i ? "," : "");
	sprintf(big + n, "]}," BASE_ROOT "}");
	assert_int_equal(parse(big, &s, &e), -EINVAL);
	assert_string_equal(e.msg, tp_fmt("config.json: process.args: expected at most %d entries, "
					  "found %d", VJ_MAX_ARGS, VJ_MAX_ARGS + 1));
	n = (size_t)sprintf(big, "{\"ociVersion\":\"1.0.2\",\"process\":{\"cwd\":\"/\",\"args\":[\"");
	memset(big + n, 'a', 70000);
	sprintf(big + n + 70000, "\"]}," BASE_ROOT "}");
	assert_int_equal(parse(big, &s, &e), -EINVAL);
	assert_string_equal(e.msg, "config.json: process: expected at most 65536 bytes of args and "
				   "env in all, found 70001");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &s, &e), -EFBIG);
	assert_string_equal(e.msg, tp_fmt("config.json: expected at most %d bytes, found %zu",
					  VJ_OCI_CONFIG_MAX, sizeof(big) - 1));
	n = (size_t)sprintf(big, "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS "," BASE_ROOT
			    ",\"annotations\":{");
	for (int i = 0; i <= VJ_OCI_ANNOTATIONS_MAX; i++)
		n += (size_t)sprintf(big + n, "%s\"k%d\":\"v\"", i ? "," : "", i);
	sprintf(big + n, "}}");
	assert_int_equal(parse(big, &s, &e), -EINVAL);
	assert_string_equal(e.msg, tp_fmt("config.json: annotations: expected at most %d entries, "
					  "found %d", VJ_OCI_ANNOTATIONS_MAX,
					  VJ_OCI_ANNOTATIONS_MAX + 1));
}

static void root_must_be_a_directory(void **state)
{
	(void)state;
	tp_touch("afile");
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS ",\"root\":{\"path\":"
		 "\"afile\"}}");
	assert_refused(json, tp_fmt("config.json: root.path: %s is not a directory",
				    tp_path("afile")));
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS ",\"root\":{}}");
	assert_refused(json, "config.json: root.path: is required");
}

static void a_missing_root_names_the_path(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS ",\"root\":{\"path\":"
		 "\"nothere\"}}");
	assert_int_equal(parse(json, &s, &e), -ENOENT);
	assert_string_equal(e.msg, tp_fmt("config.json: root.path: %s/nothere: No such file or "
					  "directory", tp.dir));
}

static void bind_mounts_and_odd_filesystems_are_refused(void **state)
{
	(void)state;
	assert_refused(config(",\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\","
			      "\"source\":\"/srv\",\"options\":[\"ro\"]}]"),
		       "config.json: mounts[0] (/data): bind mounts of host paths are not "
		       "supported yet");
	assert_refused(config(",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},"
			      "{\"destination\":\"/d\",\"type\":\"none\",\"source\":\"/s\","
			      "\"options\":[\"rbind\"]}]"),
		       "config.json: mounts[1] (/d): bind mounts of host paths are not supported yet");
	assert_refused(config(",\"mounts\":[{\"destination\":\"/d\",\"type\":\"ext4\","
			      "\"source\":\"/dev/sda\"}]"),
		       "config.json: mounts[0] (/d): mounts of type \"ext4\" are not supported");
	assert_refused(config(",\"mounts\":[{\"type\":\"proc\"}]"),
		       "config.json: mounts[0].destination: is required");
	assert_refused(config(",\"mounts\":[{\"destination\":\"rel\"}]"),
		       "config.json: mounts[0].destination: expected an absolute path");
}

static void hooks_are_refused(void **state)
{
	(void)state;
	assert_refused(config(",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}"),
		       "config.json: hooks.prestart: running host programs is not supported");
	assert_refused(config(",\"hooks\":{\"createRuntime\":[{\"path\":\"/x\"}]}"),
		       "config.json: hooks.createRuntime: running host programs is not supported");
}

static void empty_hooks_are_no_hooks(void **state)
{
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(parse(config(",\"hooks\":{\"prestart\":[],\"poststop\":null}"), &s, &e), 0);
	vj_oci_spec_free(&s);
}

static void bad_values_name_their_path(void **state)
{
	(void)state;
	assert_refused(config(",\"hostname\":\"a b\""),
		       "config.json: hostname: expected letters, digits, '-' and '.', found \"a b\"");
	assert_refused(config(",\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
		       "config.json: hostname: expected at most 64 bytes, found 65");
	assert_refused(config(",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}"),
		       "config.json: linux.resources.memory.limit: expected an integer");
	assert_refused(config(",\"linux\":{\"resources\":{\"cpu\":{\"quota\":500}}}"),
		       "config.json: linux.resources.cpu.quota: expected at least 1000 (us; the "
		       "kernel's least), found 500");
	assert_refused(config(",\"linux\":{\"resources\":{\"cpu\":{\"period\":10}}}"),
		       "config.json: linux.resources.cpu.period: expected 1000 to 1000000 (us), "
		       "found 10");
	assert_refused(config(",\"linux\":{\"resources\":{\"pids\":{\"limit\":1.5}}}"),
		       "config.json: linux.resources.pids.limit: expected an integer");
	assert_refused(config(",\"linux\":[]"), "config.json: linux: expected an object");
	assert_refused(config(",\"annotations\":{\"a\":1}"),
		       "config.json: annotations.a: expected a string");
}

/* ---- onto a policy ---------------------------------------------------------------- */

static struct vj_launch l;

static void load_policy(void)
{
	struct vj_err e;

	l.host = tp.host;
	vj_launch_init(&l);
	if (tp_load("version: 1\nvm:\n  kernel: vmlinux\n  memory: 64Mi\n"
		    "workload:\n  env:\n    KEEP: \"1\"\n", &l.policy, &e) < 0)
		fail_msg("%s", e.msg);
}

static int apply(const char *text, struct vj_err *e)
{
	static struct vj_oci_spec s;
	int r;

	load_policy();
	if ((r = parse(text, &s, e)) < 0)
		return r;
	r = vj_oci_spec_apply(&s, "c1", &l, e);
	vj_oci_spec_free(&s);
	return r;
}

static void apply_sets_the_workload_and_its_ids(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(apply(config_process("{\"args\":[\"/bin/id\"],\"env\":[\"A=1\"],"
					      "\"cwd\":\"/w\",\"user\":{\"uid\":5,\"gid\":6}}"), &e), 0);
	assert_string_equal(l.policy.id, "c1");
	assert_int_equal(l.policy.workload.argc, 1);
	assert_string_equal(l.policy.workload.argv[0], "/bin/id");
	assert_int_equal(l.policy.workload.envc, 2);
	assert_string_equal(l.policy.workload.env[0], "KEEP=1");
	assert_string_equal(l.policy.workload.env[1], "A=1");
	assert_int_equal(l.workload_spec.uid, 5);
	assert_int_equal(l.workload_spec.gid, 6);
	assert_string_equal(l.workload_spec.cwd, "/w");
	/* Without a hostname, the guest is named after the container. */
	assert_string_equal(l.workload_spec.hostname, "c1");
	vj_policy_free(&l.policy);
}

static void memory_limit_becomes_guest_ram_and_the_cgroup_limit(void **state)
{
	struct vj_err e;

	(void)state;
	/* 100 MB rounds up to 96 MiB (the next 2 MiB step above 95.37 MiB). */
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"memory\":{\"limit\":100000000}}}"),
			       &e), 0);
	assert_int_equal(l.policy.vm.memory_mib, 96);
	assert_int_equal(l.policy.jail.cgroup.memory_max, (96u << 20) + VJ_OCI_VMM_OVERHEAD);
	vj_policy_free(&l.policy);
}

static void memory_over_the_host_maximum_is_refused(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"memory\":{\"limit\":"
				      "4294967296}}}"), &e), -EINVAL);
	assert_string_equal(e.msg, "config.json: linux.resources.memory.limit: expected at most "
				   "1Gi (the host's max.vm.memory), found 4Gi");
	assert_int_equal(l.policy.vm.memory_mib, 64); /* unchanged */
	vj_policy_free(&l.policy);
}

static void cpu_quota_becomes_vcpus_and_cpu_max(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"cpu\":{\"quota\":150000,"
				      "\"period\":100000}}}"), &e), 0);
	assert_int_equal(l.policy.vm.vcpus, 2);
	assert_int_equal(l.policy.jail.cgroup.cpu_quota_us, 150000);
	assert_int_equal(l.policy.jail.cgroup.cpu_period_us, 100000);
	vj_policy_free(&l.policy);
}

static void cpu_over_the_host_maximum_is_refused(void **state)
{
	struct vj_err e;

	(void)state;
	/* The fixture's host allows 2 CPUs of quota and 4 vCPUs. */
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"cpu\":{\"quota\":300000,"
				      "\"period\":100000}}}"), &e), -EINVAL);
	assert_string_equal(e.msg, "config.json: linux.resources.cpu.quota: expected at most "
				   "2.000 CPUs (the host's max.cgroup.cpus), found 3.000");
	assert_int_equal(l.policy.jail.cgroup.cpu_quota_us, 200000); /* the policy's, unchanged */
	vj_policy_free(&l.policy);
}

static void pids_limit_is_bounded_by_the_host(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"pids\":{\"limit\":32}}}"), &e),
			 0);
	assert_int_equal(l.policy.jail.cgroup.pids_max, 32);
	vj_policy_free(&l.policy);
	assert_int_equal(apply(config(",\"linux\":{\"resources\":{\"pids\":{\"limit\":1000}}}"),
			       &e), -EINVAL);
	assert_string_equal(e.msg, "config.json: linux.resources.pids.limit: expected at most 128 "
				   "(the host's max.cgroup.pids), found 1000");
	vj_policy_free(&l.policy);
}

static void an_exec_process_is_read_like_config_jsons(void **state)
{
	static const char ok[] = "{\"args\":[\"ls\",\"-l\"],\"env\":[\"A=b\"],\"cwd\":\"/tmp\","
				 "\"user\":{\"uid\":3,\"gid\":4}}";
	static const char tty[] = "{\"terminal\":true,\"args\":[\"sh\"],\"cwd\":\"/\"}";
	static const char noargs[] = "{\"cwd\":\"/\"}";
	static struct vj_oci_spec s;
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_oci_process_parse(&s, ok, sizeof(ok) - 1, &e), 0);
	assert_int_equal(s.argc, 2);
	assert_string_equal(s.argv[1], "-l");
	assert_string_equal(s.env[0], "A=b");
	assert_string_equal(s.cwd, "/tmp");
	assert_int_equal(s.uid, 3);
	assert_int_equal(s.gid, 4);
	vj_oci_spec_free(&s);
	assert_int_equal(vj_oci_process_parse(&s, tty, sizeof(tty) - 1, &e), -EINVAL);
	assert_string_equal(e.msg, "process.json: terminal: true is not supported yet");
	assert_int_equal(vj_oci_process_parse(&s, noargs, sizeof(noargs) - 1, &e), -EINVAL);
	assert_string_equal(e.msg, "process.json: args: is required");
	assert_int_equal(vj_oci_process_parse(&s, "[1]", 3, &e), -EINVAL);
	assert_string_equal(e.msg, "process.json: expected an object");
}

/* ---- which policy ------------------------------------------------------------------ */

static void the_policy_comes_from_the_annotation_or_the_host(void **state)
{
	static struct vj_oci_spec s;
	struct vj_host_config h = tp.host;
	char out[VJ_PATH_MAX];
	struct vj_err e;

	(void)state;
	tp_touch("policies/a.yaml");
	tp_touch("default.yaml");
	assert_int_equal(parse(config(""), &s, &e), 0);
	assert_int_equal(vj_oci_spec_policy(&s, &h, out, &e), -EINVAL);
	assert_string_equal(e.msg, tp_fmt("config.json: no policy: the host file (%s) names no "
					  "oci.policy and annotations.io.vmjail.policy is not set",
					  h.source));
	snprintf(h.oci_policy, sizeof(h.oci_policy), "%s", tp_path("default.yaml"));
	assert_int_equal(vj_oci_spec_policy(&s, &h, out, &e), 0);
	assert_string_equal(out, tp_path("default.yaml"));
	vj_oci_spec_free(&s);

	snprintf(json, sizeof(json), "{\"ociVersion\":\"1.0.2\"," BASE_PROCESS "," BASE_ROOT
		 ",\"annotations\":{\"io.vmjail.policy\":\"%s\"}}", tp_path("policies/a.yaml"));
	assert_int_equal(parse(json, &s, &e), 0);
	assert_int_equal(vj_oci_spec_policy(&s, &h, out, &e), -EACCES);
	assert_string_equal(e.msg, tp_fmt("config.json: annotations.io.vmjail.policy: %s is not "
					  "under any of the host file's oci.policy_roots",
					  tp_path("policies/a.yaml")));
	h.noci_policy_roots = 1;
	snprintf(h.oci_policy_roots[0], sizeof(h.oci_policy_roots[0]), "%s", tp_path("policies"));
	assert_int_equal(vj_oci_spec_policy(&s, &h, out, &e), 0);
	assert_string_equal(out, tp_path("policies/a.yaml"));
	vj_oci_spec_free(&s);
}

static void the_host_file_names_the_oci_policy_and_its_roots(void **state)
{
	static struct vj_host_config h;
	static const char ok[] = "version: 1\noci:\n  policy: default.yaml\n"
				 "  policy_roots: [policies]\n";
	static const char missing[] = "version: 1\noci:\n  policy: nothere.yaml\n";
	static const char dir[] = "version: 1\noci:\n  policy: policies\n";
	struct vj_err e;

	(void)state;
	tp_touch("default.yaml");
	tp_touch("policies/a.yaml");
	assert_int_equal(vj_host_config_load_buffer(&h, "host.yaml", ok, sizeof(ok) - 1, tp.dir, &e),
			 0);
	assert_string_equal(h.oci_policy, tp_path("default.yaml"));
	assert_int_equal(h.noci_policy_roots, 1);
	assert_string_equal(h.oci_policy_roots[0], tp_path("policies"));
	/* One that does not exist yet is taken as written; loading it says. */
	assert_int_equal(vj_host_config_load_buffer(&h, "host.yaml", missing, sizeof(missing) - 1,
						    tp.dir, &e), 0);
	assert_string_equal(h.oci_policy, tp_path("nothere.yaml"));
	assert_int_equal(vj_host_config_load_buffer(&h, "host.yaml", dir, sizeof(dir) - 1, tp.dir,
						    &e), -EINVAL);
	assert_non_null(strstr(e.msg, "host.yaml:3:11: oci.policy: expected a policy file"));
}

/* ---- state JSON ---------------------------------------------------------------------- */

static void state_json_follows_the_runtime_spec(void **state)
{
	static struct vj_oci_state st = {
		.id = "c1", .bundle = "/b", .rootfs = "/b/rootfs", .run_dir = "/run/vmjail",
		.pid = 42, .pid_start = 7, .created_ns = 1765112000123456789ull,
		.annotations = "{\"a\":\"b\"}",
	};
	static char out[32768];
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_oci_state_json(&st, "running", out, sizeof(out), &e), 0);
	assert_string_equal(out, "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"running\","
				 "\"pid\":42,\"bundle\":\"/b\",\"rootfs\":\"/b/rootfs\",\"created\":"
				 "\"2025-12-07T12:53:20.123456789Z\",\"owner\":\"\",\"annotations\":"
				 "{\"a\":\"b\"}}");
	assert_int_equal(vj_oci_state_json(&st, "stopped", out, sizeof(out), &e), 0);
	assert_non_null(strstr(out, "\"status\":\"stopped\",\"pid\":0,"));
}

static void state_file_round_trips(void **state)
{
	static struct vj_oci_state a = {
		.id = "c-2", .bundle = "/b \"q\"", .rootfs = "/r", .run_dir = "/run/x",
		.pid = 99, .pid_start = 123456, .created_ns = 5, .annotations = "{}",
	};
	static struct vj_oci_state b;
	static char text[32768];
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_oci_state_format(&a, text, sizeof(text), &e), 0);
	assert_int_equal(vj_oci_state_parse(text, strlen(text), &b, &e), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(vj_oci_state_parse("{\"id\":\"x\"}", 10, &b, &e), -EINVAL);
	assert_string_equal(e.msg, "state.json: malformed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_process_becomes_the_workload),
		cmocka_unit_test(root_path_is_resolved_against_the_bundle),
		cmocka_unit_test(the_primary_group_among_additional_gids_is_accepted),
		cmocka_unit_test(resources_are_read),
		cmocka_unit_test(unlimited_resources_stay_unset),
		cmocka_unit_test(guest_business_is_ignored_and_listed),
		cmocka_unit_test(annotations_name_the_policy_and_are_kept),
		cmocka_unit_test(a_terminal_is_refused),
		cmocka_unit_test(required_parts_are_named),
		cmocka_unit_test(malformed_process_fields_are_refused),
		cmocka_unit_test(counts_and_sizes_are_bounded),
		cmocka_unit_test(root_must_be_a_directory),
		cmocka_unit_test(a_missing_root_names_the_path),
		cmocka_unit_test(bind_mounts_and_odd_filesystems_are_refused),
		cmocka_unit_test(hooks_are_refused),
		cmocka_unit_test(empty_hooks_are_no_hooks),
		cmocka_unit_test(bad_values_name_their_path),
		cmocka_unit_test(apply_sets_the_workload_and_its_ids),
		cmocka_unit_test(memory_limit_becomes_guest_ram_and_the_cgroup_limit),
		cmocka_unit_test(memory_over_the_host_maximum_is_refused),
		cmocka_unit_test(cpu_quota_becomes_vcpus_and_cpu_max),
		cmocka_unit_test(cpu_over_the_host_maximum_is_refused),
		cmocka_unit_test(pids_limit_is_bounded_by_the_host),
		cmocka_unit_test(an_exec_process_is_read_like_config_jsons),
		cmocka_unit_test(the_policy_comes_from_the_annotation_or_the_host),
		cmocka_unit_test(the_host_file_names_the_oci_policy_and_its_roots),
		cmocka_unit_test(state_json_follows_the_runtime_spec),
		cmocka_unit_test(state_file_round_trips),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, setup, tp_teardown);
}
