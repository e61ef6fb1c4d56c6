/*
 * vmjail: the privileged launcher. Builds the jail around vmjail-vmm (see
 * run.c and jail.c for the steps, in order), supervises it and removes
 * every trace of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "daemon.h"
#include "flags.h"
#include "image_launch.h"
#include "launch.h"
#include "log.h"
#include "migrate_transport.h"
#include "oci.h"
#include "policy_args.h"
#include "policy_load.h"
#include "run.h"
#include "undo.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: vmjail [--host-config FILE] COMMAND ...\n"
		     "       vmjail run POLICY [options] [-- ARGV]   run a sandbox from a policy file\n"
		     "       vmjail run --kernel PATH [options]     ... or from flags alone\n"
		     "       vmjail check POLICY [--json]           validate, print the effective policy\n"
		     "       vmjail ps [--json]                     the sandboxes of this host\n"
		     "       vmjail inspect|pause|resume|wait ID    one sandbox (jailer/CONTROL.md)\n"
		     "       vmjail stop ID [--timeout T]           ask its guest to shut down\n"
		     "       vmjail kill ID [SIGNAL] [--vm]         signal its workload, or end its VM\n"
		     "       vmjail stats ID... [--follow] [--json] CPU, memory, exits, devices\n"
		     "       vmjail events [ID]                     lifecycle events, as they happen\n"
		     "       vmjail logs ID [--follow]              a detached workload's output\n"
		     "       vmjail exec ID [options] -- CMD [ARG]...  a process beside its workload\n"
		     "       vmjail rm ID... [--force]              forget exited sandboxes\n"
		     "       vmjail snapshot ID --to DIR [--stop]   save it to resume clones from\n"
		     "       vmjail run POLICY --from-snapshot DIR [-- ARGV]  resume a clone\n"
		     "       vmjail receive POLICY --from SRC [--id ID] [--detach]  receive a live\n"
		     "                              migration (SRC: unix:PATH, tcp:HOST:PORT, stdio)\n"
		     "       vmjail cleanup [--run-dir DIR] [ID...] remove what a killed launcher left\n"
		     "       vmjail help                            this text; run --help for options\n"
		     "The host file defaults to " VJ_HOST_CONFIG_DEFAULT " (built-in defaults when\n"
		     "it does not exist).\n"
		     "vmjail run exits with the VMM's status, 124 on timeout, 125 when the sandbox\n"
		     "could not be started, 128+N when signal N killed the VMM.\n");
}

/* fds 0-2 must be open: otherwise the first resource opened would land
 * on one of them and be handed to the VMM as its stdout. */
static int ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int null = open("/dev/null", O_RDWR);
		if (null < 0)
			return -errno;
		if (null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int load_host(struct vj_host_config *host, const char *path)
{
	struct vj_err perr;

	if (vj_host_config_load(host, path, &perr) < 0) {
		vj_error("%s", perr.msg);
		return -EINVAL;
	}
	return 0;
}

/* Both forms fill the same struct vj_launch: a policy file, or flags. */
static int parse_run(struct vj_launch *l, int argc, char **argv, struct vj_err *e)
{
	int r;

	vj_launch_init(l);
	if (argc > 1 && argv[1][0] != '-') {
		r = vj_policy_args_parse_run(l, argc, argv, e);
		if (r == 1)
			vj_policy_args_usage_run(stdout);
		return r;
	}
	r = vj_flags_parse_run(l, argc, argv, e);
	if (r == 1) {
		vj_flags_usage_run(stdout);
		vj_policy_args_usage_run(stdout);
	}
	return r;
}

/* How long `vmjail receive` waits for its source to connect. */
#define RECEIVE_WAIT_MS (10 * 60 * 1000)

static int cmd_run(const char *host_path, int argc, char **argv, uint64_t start_ns)
{
	static struct vj_launch l; /* large: keep it off the stack */
	cleanup_with(vj_root_image_release) struct vj_root_image image = { 0 };
	int report_fd = -1, status, r;
	pid_t relay = 0;
	struct vj_err e;

	if (load_host(&l.host, host_path) < 0)
		return VJ_LAUNCH_FAILED;
	r = parse_run(&l, argc, argv, &e);
	if (r != 0) {
		if (r < 0)
			vj_error("%s", e.msg);
		vj_policy_free(&l.policy);
		return r < 0 ? VJ_LAUNCH_FAILED : 0;
	}
	l.start_ns = start_ns;
	vj_log_set_level(l.verbosity >= 2 ? VJ_LOG_DEBUG : l.verbosity ? VJ_LOG_INFO : VJ_LOG_WARN);
	if (geteuid() != 0) {
		vj_error("run: needs root (namespaces, cgroups, changing ids)");
		vj_policy_free(&l.policy);
		return VJ_LAUNCH_FAILED;
	}
	/* Nothing of the caller's but its stdio past this point (the host
	 * file and the policy, which may be a caller's pipe, are read): no
	 * VM takes an inherited descriptor, and a copy kept here, or in a
	 * background teardown's process, would hold a reader of it from its
	 * end of file until the sandbox is gone. */
	if (close_range(STDERR_FILENO + 1, ~0u, 0) < 0) {
		vj_error("run: close the caller's descriptors: %s", strerror(errno));
		vj_policy_free(&l.policy);
		return VJ_LAUNCH_FAILED;
	}
	/* Before a byte of the stream: the guest writes to the same image
	 * here as on its source, so it must be storage both hosts share. */
	if (l.migrate_from[0] && (r = vj_host_local_writable_drive(&l.host, &l.policy.vm)) >= 0) {
		vj_error("receive: vm.drives[%d] (%s) is writable and beneath no shared root of the "
			 "host file (roots.shared): only shared storage takes a migrated guest's writes",
			 r, l.policy.vm.drives[r].file.name);
		vj_policy_free(&l.policy);
		return VJ_LAUNCH_FAILED;
	}
	if (l.image[0] && (r = vj_launch_open_image(&l, &image, &e)) < 0) {
		vj_error("%s", e.msg);
		vj_root_image_release(&image);
		vj_policy_free(&l.policy);
		return VJ_LAUNCH_FAILED;
	}
	if (l.detach) {
		r = vj_daemonize(&report_fd, NULL, &status, &e);
		if (r != 0) {
			if (r < 0)
				vj_error("%s", e.msg);
			else if (status == 0)
				/* the id to manage it by; with --from stdio, stdout
				 * is the migration stream */
				fprintf(strcmp(l.migrate_from, "stdio") ? stdout : stderr, "%s\n",
					l.policy.id);
			vj_policy_free(&l.policy);
			return r < 0 ? VJ_LAUNCH_FAILED : status;
		}
	}
	/* The daemon's own: it keeps no descriptor of its caller's. */
	if (l.migrate_from[0] &&
	    (l.migrate_fd = vj_migrate_accept(l.migrate_from, l.insecure, RECEIVE_WAIT_MS,
					      &relay, &e)) < 0) {
		vj_error("receive: %s", e.msg);
		vj_daemon_report(&report_fd, VJ_LAUNCH_FAILED);
		vj_policy_free(&l.policy);
		return VJ_LAUNCH_FAILED;
	}
	status = vj_run(&l, &report_fd, &e);
	if (status < 0) {
		vj_error("%s", e.msg);
		status = VJ_LAUNCH_FAILED;
	}
	vj_daemon_report(&report_fd, VJ_LAUNCH_FAILED);
	vj_policy_free(&l.policy);
	return status;
}

/* `vmjail receive POLICY --from SRC [run options]`: `run` that receives
 * a live migration instead of booting (--from is run's --migrate-from);
 * the sandbox has no workload of its own: the guest's runs on. */
static int cmd_receive(const char *host_path, int argc, char **argv, uint64_t start_ns)
{
	bool from = false;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--from")) {
			argv[i] = "--migrate-from";
			from = true;
		} else if (!strncmp(argv[i], "--from=", 7)) {
			vj_error("receive: write --from SRC");
			return VJ_LAUNCH_FAILED;
		}
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			vj_error("receive: the received guest runs its own workload: no -- ARGV");
			return VJ_LAUNCH_FAILED;
		}
	if (!from) {
		vj_error("receive POLICY --from SRC: SRC is required (unix:PATH, tcp:HOST:PORT or "
			 "stdio)");
		return VJ_LAUNCH_FAILED;
	}
	return cmd_run(host_path, argc, argv, start_ns);
}

static int cmd_check(const char *host_path, int argc, char **argv)
{
	static struct vj_host_config host;
	struct vj_err e;
	int r;

	if (load_host(&host, host_path) < 0)
		return 1;
	r = vj_policy_args_check(&host, argc, argv, stdout, &e);
	if (r == 1) {
		printf("usage: vmjail [--host-config FILE] check POLICY [--json]\n");
		return 0;
	}
	if (r < 0) {
		vj_error("%s", e.msg);
		return 1;
	}
	return 0;
}

/* ps, inspect, pause...: the sandboxes under the host file's run
 * directory, or --run-dir's (before a `--`: exec's command is its own). */
static int cmd_manage(const char *host_path, int argc, char **argv)
{
	static struct vj_host_config host;
	const char *run_dir;

	for (int i = 1; i + 1 < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--run-dir")) {
			run_dir = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 1) * sizeof(*argv));
			return vj_cli_main(run_dir, argc - 2, argv);
		}
	if (load_host(&host, host_path) < 0)
		return 1;
	return vj_cli_main(host.run_dir, argc, argv);
}

static int cmd_cleanup(int argc, char **argv)
{
	const char *run_dir = "/run/vmjail";
	int first = 1;

	if (argc > 2 && !strcmp(argv[1], "--run-dir")) {
		run_dir = argv[2];
		first = 3;
	}
	for (int i = first; i < argc; i++)
		if (argv[i][0] == '-') {
			vj_error("cleanup: unknown option %s", argv[i]);
			return VJ_LAUNCH_FAILED;
		}
	if (geteuid() != 0) {
		vj_error("cleanup: needs root");
		return VJ_LAUNCH_FAILED;
	}
	return vj_undo_ids(run_dir, argv + first, argc - first) < 0 ? VJ_LAUNCH_FAILED : 0;
}

int main(int argc, char **argv)
{
	uint64_t start_ns = now_ns();
	const char *host_path = NULL;

	vj_log_init("vmjail", VJ_LOG_WARN);
	if (ensure_stdio() < 0)
		return VJ_LAUNCH_FAILED;
	/* Installed (or linked) as vmjail-runc: the runc command line. */
	if (vj_oci_invoked(argv[0]))
		return vj_oci_main(argc, argv);
	if (argc > 2 && !strcmp(argv[1], "--host-config")) {
		host_path = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		usage(stderr);
		return VJ_LAUNCH_FAILED;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(host_path, argc - 1, argv + 1, start_ns);
	if (!strcmp(argv[1], "receive"))
		return cmd_receive(host_path, argc - 1, argv + 1, start_ns);
	if (!strcmp(argv[1], "check"))
		return cmd_check(host_path, argc - 1, argv + 1);
	if (!strcmp(argv[1], "cleanup"))
		return cmd_cleanup(argc - 1, argv + 1);
	if (vj_cli_is_verb(argv[1]))
		return cmd_manage(host_path, argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	vj_error("unknown command \"%s\" (vmjail help)", argv[1]);
	return VJ_LAUNCH_FAILED;
}
