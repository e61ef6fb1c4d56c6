/*
 * vmjail-runc: vmjail answering the runc command line, as containerd's
 * io.containerd.runc.v2 shim (and any runc caller) speaks it. The design,
 * the state directory and what config.json may say: jailer/OCI.md.
 */
#ifndef VJ_JAILER_OCI_H
#define VJ_JAILER_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define VJ_OCI_ROOT_DEFAULT "/run/vmjail-runc"
#define VJ_OCI_PROG "vmjail-runc"

/* Whether vmjail was started as vmjail-runc (argv[0]'s base name). */
bool vj_oci_invoked(const char *argv0);

/* The whole command line, argv[0] included; returns the exit status. */
int vj_oci_main(int argc, char **argv);

/* One container's record, <root>/<id>/state.json. */
struct vj_oci_state {
	char id[72];
	char bundle[VJ_PATH_MAX];
	char rootfs[VJ_PATH_MAX];
	char run_dir[VJ_PATH_MAX]; /* vmjail's own, where the sandbox's control socket is */
	int pid;            /* the launcher's: the container's init, as the caller sees it */
	uint64_t pid_start; /* its start time (status.h): the pid names no later process */
	uint64_t created_ns; /* CLOCK_REALTIME */
	char annotations[16 * 1024]; /* a JSON object */
};

/* The OCI state (runtime-spec "State") as `runc state` prints it, into
 * buf: status is "created", "running", "paused" or "stopped". */
int vj_oci_state_json(const struct vj_oci_state *st, const char *status, char *buf, size_t cap,
		      struct vj_err *e);

/* state.json's text <-> st. */
int vj_oci_state_format(const struct vj_oci_state *st, char *buf, size_t cap, struct vj_err *e);
int vj_oci_state_parse(const char *text, size_t len, struct vj_oci_state *st, struct vj_err *e);

#endif
