/*
 * libFuzzer harness for libvmjail-policy: arbitrary bytes as a tenant
 * policy, against a host whose roots hold stand-ins for the example
 * guests, so that the examples in the seed corpus load and the fuzzer
 * explores past the first path.
 *
 * Beyond what ASan/UBSan catch, it asserts the library's promises:
 * a refusal is one non-empty line; an accepted policy printed as YAML
 * loads again and prints identically; JSON printing and overrides work
 * on anything that loaded. The same bytes are also read as a host file,
 * whose parser shares the YAML layer but has its own schema.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy_load.h"

static char root[256];
static struct vj_host_config host;

static const char host_yaml[] =
	"version: 1\n"
	"roots:\n"
	"  kernels: [guest, tests/guest]\n"
	"  images: [guest]\n"
	"  sockets: [run]\n"
	"ids: {uid_min: 100000, uid_max: 199999, gid_min: 100000, gid_max: 199999, block: 1000}\n"
	"max: {vcpus: 4, memory: 2Gi, timeout: 30m, cgroup: {memory: 3Gi, pids: 256}}\n"
	"netns_allowed: [ci]\n"
	"seccomp: {allow_log: true}\n";

static void make(const char *rel, bool dir)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (dir) {
		if (mkdir(path, 0755) < 0)
			abort();
		return;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		abort();
	close(fd);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(void)
{
	nftw(root, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vj_err err;

	(void)argc;
	(void)argv;
	/* Under $TMPDIR, so that a run which crashes (and skips atexit)
	 * leaves nothing behind once its caller removes that directory. */
	snprintf(root, sizeof(root), "%s/vj-fuzz-policy-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		abort();
	atexit(remove_tree);
	make("guest", true);
	make("tests", true);
	make("tests/guest", true);
	make("run", true);
	make("guest/vmlinux", false);
	make("guest/initramfs.cpio", false);
	make("guest/rootfs.ext4", false);
	make("guest/scratch.ext4", false);
	make("tests/guest/testguest.elf", false);
	if (vj_host_config_load_buffer(&host, "fuzz-host.yaml", host_yaml, sizeof(host_yaml) - 1,
				       root, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	return 0;
}

static char *print(const struct vj_policy *p, bool json, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f || (json ? vj_policy_print_json(p, f) : vj_policy_print_yaml(p, f)) < 0)
		abort();
	fclose(f);
	return buf;
}

static void check_one_line(const struct vj_err *err)
{
	if (!err->msg[0] || strchr(err->msg, '\n')) {
		fprintf(stderr, "not a one-line message: \"%s\"\n", err->msg);
		abort();
	}
}

static void check_round_trip(const struct vj_policy *p)
{
	struct vj_err err;
	struct vj_policy again;
	size_t len, len2;
	char *yaml = print(p, false, &len), *yaml2;

	if (vj_policy_load_buffer(&again, "printed.yaml", yaml, len, &host, &err)) {
		fprintf(stderr, "printed policy does not load: %s\n%s", err.msg, yaml);
		abort();
	}
	yaml2 = print(&again, false, &len2);
	if (len != len2 || memcmp(yaml, yaml2, len)) {
		fprintf(stderr, "printed policy changed on reload:\n%s---\n%s", yaml, yaml2);
		abort();
	}
	vj_policy_free(&again);
	free(yaml);
	free(yaml2);
}

static void exercise_overrides(struct vj_policy *p)
{
	char *argv[] = { "/bin/echo", "fuzz" };
	char *env[] = { "FUZZ=1" };
	struct vj_policy_overrides o = { .vcpus = "2", .memory = "64Mi", .timeout = "1s",
					 .set_argv = true, .argc = 2, .argv = argv,
					 .envc = 1, .env = env };
	struct vj_err err;

	if (vj_policy_apply_overrides(p, &o, &host, &err))
		check_one_line(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vj_err err;
	struct vj_host_config h;
	struct vj_policy p;
	size_t len;

	if (vj_host_config_load_buffer(&h, "fuzz-host.yaml", (const char *)data, size, root, &err))
		check_one_line(&err);

	if (vj_policy_load_buffer(&p, "fuzz.yaml", (const char *)data, size, &host, &err)) {
		check_one_line(&err);
		return 0;
	}
	check_round_trip(&p);
	free(print(&p, true, &len));
	exercise_overrides(&p);
	vj_policy_free(&p);
	return 0;
}
