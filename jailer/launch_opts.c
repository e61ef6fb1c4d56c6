#include "launch_opts.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cleanup.h"
#include "migrate_transport.h"
#include "parse.h"

enum {
	OPT_DETACH = VJ_LAUNCH_OPT_BASE,
	OPT_RM,
	OPT_OWNER,
	OPT_PID_FILE,
	OPT_VMM,
	OPT_TEST_EXEC,
	OPT_FROM_SNAPSHOT,
	OPT_IMAGE,
	OPT_MIGRATE_FROM,
	OPT_INSECURE,
	OPT_TEARDOWN,
};

const struct option vj_launch_options[] = {
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "vmm", required_argument, NULL, OPT_VMM },
	{ "test-exec", required_argument, NULL, OPT_TEST_EXEC },
	{ "from-snapshot", required_argument, NULL, OPT_FROM_SNAPSHOT },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "migrate-from", required_argument, NULL, OPT_MIGRATE_FROM },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "teardown", required_argument, NULL, OPT_TEARDOWN },
	{ NULL, 0, NULL, 0 },
};

void vj_launch_options_join(struct option *out, size_t cap, const struct option *a)
{
	size_t n = 0;

	for (; a->name && n + 1 < cap; a++)
		out[n++] = *a;
	for (const struct option *b = vj_launch_options; b->name && n + 1 < cap; b++)
		out[n++] = *b;
	out[n] = (struct option){ NULL, 0, NULL, 0 };
}

void vj_launch_options_usage(FILE *out)
{
	fprintf(out,
		"  --detach              run in the background once the sandbox runs, printing\n"
		"                        its id; a workload's output goes to its logs (vmjail\n"
		"                        logs ID), and its record stays until vmjail rm ID\n"
		"  --rm                  with --detach: remove the record when it exits\n"
		"  --pid-file PATH       with --detach: the supervising launcher's pid\n"
		"  --owner UID           who besides root may control the sandbox (default:\n"
		"                        the host file's owner)\n"
		"  --from-snapshot DIR   resume the snapshot in DIR (vmjail snapshot) instead\n"
		"                        of booting: a new sandbox, its own jail, id and host\n"
		"                        ids; the policy's vCPUs, memory and devices must be\n"
		"                        the snapshot's; DIR lies under roots.snapshots\n"
		"  --image IMAGE         run the workload in a container image: an OCI layout\n"
		"                        directory, an OCI archive or a docker save archive\n"
		"                        under roots.images; -- ARGV replaces its Cmd\n"
		"  --migrate-from SRC    (vmjail receive --from SRC) receive a live migration\n"
		"                        instead of booting: SRC is unix:PATH or tcp:HOST:PORT\n"
		"                        (listened on for one source) or stdio; the policy's\n"
		"                        vCPUs, memory and devices must be the source's\n"
		"  --insecure            with tcp: a non-loopback address (no encryption, no\n"
		"                        authentication: prefer ssh and stdio)\n"
		"  --teardown wait|background   return once the sandbox is gone, or once the\n"
		"                        workload's status and output are delivered, its\n"
		"                        teardown finishing behind (default: the host\n"
		"                        file's teardown, else wait)\n"
		"  --vmm PATH            the VMM binary (default: vmjail-vmm beside vmjail)\n"
		"  --test-exec PATH [-- ARG...]  TEST ONLY: a static program in place of the VMM\n");
}

static int copy_path(char *dst, const char *flag, const char *v, struct vj_err *e)
{
	if (!*v || strlen(v) >= VJ_PATH_MAX)
		return vj_fail(e, -EINVAL, "%s: empty or longer than %d bytes", flag, VJ_PATH_MAX - 1);
	strcpy(dst, v);
	return 0;
}

int vj_launch_option(struct vj_launch *l, int opt, const char *v, struct vj_err *e)
{
	uint64_t uid;

	switch (opt) {
	case OPT_DETACH:
		l->detach = true;
		return 0;
	case OPT_RM:
		l->rm = true;
		return 0;
	case OPT_OWNER:
		if (vj_parse_u64(v, 0, UINT32_MAX - 1, &uid) < 0)
			return vj_fail(e, -EINVAL, "--owner: \"%s\" is not a uid", v);
		l->owner = (uid_t)uid;
		l->owner_given = true;
		return 0;
	case OPT_PID_FILE:
		return copy_path(l->pid_file, "--pid-file", v, e);
	case OPT_VMM:
		return copy_path(l->vmm_path, "--vmm", v, e);
	case OPT_TEST_EXEC:
		return copy_path(l->test_exec, "--test-exec", v, e);
	case OPT_FROM_SNAPSHOT:
		return copy_path(l->from_snapshot, "--from-snapshot", v, e);
	case OPT_IMAGE:
		return copy_path(l->image, "--image", v, e);
	case OPT_MIGRATE_FROM:
		if (!vj_migrate_endpoint_ok(v, true))
			return vj_fail(e, -EINVAL, "--from \"%s\": expected unix:PATH, tcp:HOST:PORT or "
				       "stdio", v);
		return copy_path(l->migrate_from, "--from", v, e);
	case OPT_INSECURE:
		l->insecure = true;
		return 0;
	case OPT_TEARDOWN: {
		/* The host file's names for its teardown key (policy.h). */
		static const char *const names[] = VJ_TEARDOWN_NAMES;
		for (unsigned i = 0; i < VJ_ARRAY_SIZE(names); i++)
			if (!strcmp(v, names[i])) {
				l->host.teardown = (enum vj_teardown)i;
				l->teardown_given = true;
				return 0;
			}
		return vj_fail(e, -EINVAL, "--teardown: \"%s\" is neither wait nor background", v);
	}
	}
	return vj_fail(e, -EINVAL, "internal: unhandled option %d", opt);
}

int vj_launch_options_check(const struct vj_launch *l, struct vj_err *e)
{
	if (l->pid_file[0] && !l->detach)
		return vj_fail(e, -EINVAL, "--pid-file goes with --detach");
	if (l->rm && !l->detach)
		return vj_fail(e, -EINVAL, "--rm goes with --detach (a foreground sandbox leaves "
			       "nothing behind anyway)");
	if (l->teardown_given && l->detach)
		return vj_fail(e, -EINVAL, "--teardown goes with a foreground run (a detached "
			       "sandbox's teardown keeps no one waiting)");
	if (l->image[0] && (l->from_snapshot[0] || l->migrate_from[0] || l->test_exec[0]))
		return vj_fail(e, -EINVAL, "--image boots a workload: not with --from-snapshot, "
			       "--from or --test-exec");
	if (l->from_snapshot[0] && l->test_exec[0])
		return vj_fail(e, -EINVAL, "--from-snapshot resumes a VM: --test-exec runs none");
	if (l->migrate_from[0] && (l->from_snapshot[0] || l->test_exec[0]))
		return vj_fail(e, -EINVAL, "--from receives a VM: not with --from-snapshot or "
			       "--test-exec");
	return 0;
}
