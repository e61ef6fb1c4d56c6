/*
 * What `vmjail run` is asked to do: one sandbox, described by a policy
 * (tenant data, already validated), and the operator's choices about how
 * to run it, which no policy can set.
 */
#ifndef VJ_LAUNCH_H
#define VJ_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"
#include "policy.h"

struct vj_root_image;

/* Exit statuses of `vmjail run` besides the VMM's own (vmm/exit.h), which
 * pass through unchanged. Documented in jailer/README.md. */
enum vj_launch_status {
	VJ_LAUNCH_TIMEOUT = 124,  /* the sandbox ran out of wall-clock time */
	VJ_LAUNCH_FAILED = 125,   /* the launcher could not build the sandbox */
	VJ_LAUNCH_SIGNALED = 128, /* + N: the VMM was killed by signal N */
};

#define VJ_TEST_ARGS_MAX 16

struct vj_launch {
	struct vj_policy policy;
	struct vj_host_config host;
	char policy_path[VJ_PATH_MAX]; /* the policy file; "" in the flags form */
	char vmm_path[VJ_PATH_MAX]; /* "" = vmjail-vmm next to vmjail */
	/*
	 * Test-only: run this static program in place of the VMM, with the
	 * same jail, fds and argv, plus test_args. Reachable only from the
	 * command line, never from a policy file.
	 */
	char test_exec[VJ_PATH_MAX];
	unsigned ntest_args;
	char *test_args[VJ_TEST_ARGS_MAX];
	/*
	 * Host ids the operator named (flags form: --uid/--gid without a user
	 * namespace, --userns HOST_UID:HOST_GID:COUNT); otherwise the sandbox
	 * gets a block of the host file's range. No other live sandbox has
	 * them either way (ids.h).
	 */
	bool host_ids_given;
	bool teardown_given; /* --teardown: host.teardown is the caller's */
	uint32_t host_uid, host_gid;
	/* In the background once the sandbox runs; its record (status, logs)
	 * stays after it ends until `vmjail rm`, unless rm. */
	bool detach, rm;
	/* Who besides root may control it: --owner, else the host file's. */
	bool owner_given;
	uid_t owner;
	char pid_file[VJ_PATH_MAX];
	/* Resume the snapshot in this directory instead of booting; "": boot. */
	char from_snapshot[VJ_PATH_MAX];
	/*
	 * The workload's ids, working directory and hostname inside the
	 * guest (the agent's WORKLOAD frame); zero: root in /, the guest's
	 * own name. Set from an OCI config.json (oci_spec.h).
	 */
	struct vj_agent_spec workload_spec;
	/*
	 * vmjail-runc's create (jailer/OCI.md): run in the background like
	 * detach, but the workload's streams stay the caller's stdio (the
	 * container's), and it starts only once a byte arrives on start_fd
	 * (the state directory's FIFO, opened read-write so that it never
	 * reports end of file); -1: at once.
	 */
	bool oci;
	int start_fd;
	/* Receive a live migration from this endpoint instead of booting
	 * (`vmjail receive`, jailer/migrate_transport.h); "": boot. migrate_fd is the
	 * stream once a source connected; insecure allows plain TCP on a
	 * non-loopback address. */
	char migrate_from[VJ_PATH_MAX];
	bool insecure;
	int migrate_fd;
	bool timing;   /* print the launcher's timestamps; the VMM prints its own */
	uint64_t start_ns; /* CLOCK_MONOTONIC at main(), for --timing */
	int verbosity; /* -v count, passed on to the VMM */
	/*
	 * A container image's root (jailer/image/image.h), from --image or from code
	 * (the OCI runtime's bundle): attached as a read-only drive after the
	 * policy's, mounted by vmjail-init under a writable overlay, its config
	 * honoured (policy argv, if any, replaces Cmd; policy env goes on top
	 * of the image's). NULL: the policy's own root. Not owned.
	 */
	const struct vj_root_image *root_image;
	char image[VJ_PATH_MAX]; /* --image: "" for none */
};

#endif
