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

#include "daemon.h"
#include "flags.h"
#include "launch.h"
#include "log.h"
#include "run.h"
#include "undo.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: vmjail run [OPTIONS]          launch one sandbox and wait for it\n"
		     "       vmjail cleanup [--run-dir DIR] [ID...]\n"
		     "                                     remove what a killed launcher left\n"
		     "       vmjail help                   this text; vmjail run --help for options\n"
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

static int cmd_run(int argc, char **argv, uint64_t start_ns)
{
	static struct vj_launch l; /* large: keep it off the stack */
	int report_fd = -1, status, r;
	struct vj_err e;

	vj_launch_init(&l);
	l.start_ns = start_ns;
	r = vj_flags_parse_run(&l, argc, argv, &e);
	if (r == 1) {
		vj_flags_usage_run(stdout);
		return 0;
	}
	if (r < 0) {
		vj_error("%s", e.msg);
		return VJ_LAUNCH_FAILED;
	}
	vj_log_set_level(l.verbosity >= 2 ? VJ_LOG_DEBUG : l.verbosity ? VJ_LOG_INFO : VJ_LOG_WARN);
	if (geteuid() != 0) {
		vj_error("run: needs root (namespaces, cgroups, changing ids)");
		return VJ_LAUNCH_FAILED;
	}
	if (l.daemonize) {
		r = vj_daemonize(&report_fd, &status, &e);
		if (r < 0) {
			vj_error("%s", e.msg);
			return VJ_LAUNCH_FAILED;
		}
		if (r == 1)
			return status;
	}
	status = vj_run(&l, &report_fd, &e);
	if (status < 0) {
		vj_error("%s", e.msg);
		status = VJ_LAUNCH_FAILED;
	}
	vj_daemon_report(&report_fd, VJ_LAUNCH_FAILED);
	return status;
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

	vj_log_init("vmjail", VJ_LOG_WARN);
	if (ensure_stdio() < 0)
		return VJ_LAUNCH_FAILED;
	if (argc < 2) {
		usage(stderr);
		return VJ_LAUNCH_FAILED;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1, start_ns);
	if (!strcmp(argv[1], "cleanup"))
		return cmd_cleanup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	vj_error("unknown command \"%s\" (vmjail help)", argv[1]);
	return VJ_LAUNCH_FAILED;
}
