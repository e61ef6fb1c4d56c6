/*
 * libvmjail-policy: YAML policy and host files -> validated structs.
 *
 * The launcher loads the operator's host configuration first, then a
 * tenant policy against it, then applies the per-request overrides:
 *
 *	struct vj_host_config host;
 *	struct vj_policy p;
 *	struct vj_err err;
 *
 *	if (vj_host_config_load(&host, host_path_or_NULL, &err) < 0 ||
 *	    vj_policy_load_file(&p, "fn.yaml", &host, &err) < 0)
 *		die("%s", err.msg);
 *	if (vj_policy_apply_overrides(&p, &ov, &host, &err) < 0) ...
 *	...
 *	vj_policy_free(&p);
 *
 * Every failing call fills err.msg with one line:
 *	FILE:LINE:COL: KEY.PATH: what was expected, what was found
 * Functions return 0 or a negative errno.
 */
#ifndef VJ_POLICY_LOAD_H
#define VJ_POLICY_LOAD_H

#include <stddef.h>
#include <stdio.h>

#include "common/error.h"
#include "policy.h"
#include "vm_resources.h"

#define VJ_HOST_CONFIG_DEFAULT "/etc/vmjail/host.yaml"
#define VJ_POLICY_FILE_MAX (64 * 1024)      /* bytes, policy and host files */
#define VJ_POLICY_DEPTH_MAX 16              /* nesting of YAML collections */
#define VJ_POLICY_CMDLINE_MAX 1024          /* leaves room for VMM device entries */
#define VJ_WORKLOAD_BYTES_MAX (64 * 1024)   /* argv + env strings, terminators included */
#define VJ_VSOCK_UDS_MAX 96 /* sun_path (108) minus the "_<port>" the VMM appends */

/* The built-in operator defaults, documented in policy/README.md. */
void vj_host_config_defaults(struct vj_host_config *host);

/*
 * Loads the operator's host file. path NULL means VJ_HOST_CONFIG_DEFAULT,
 * and then a missing file is not an error: the built-in defaults apply.
 * A path given explicitly must exist. Relative paths inside the file are
 * relative to the file's directory.
 */
int vj_host_config_load(struct vj_host_config *host, const char *path,
			struct vj_err *err);

/* Same from memory; relative paths are taken relative to base_dir (the
 * current directory when NULL). name labels messages. */
int vj_host_config_load_buffer(struct vj_host_config *host, const char *name, const char *buf,
			       size_t len, const char *base_dir, struct vj_err *err);

/*
 * Loads and validates a tenant policy against host: schema, bounds, and
 * every path resolved (symlinks, "..") and required to lie under the
 * host's roots of its kind. On success p holds canonical absolute paths
 * and every default filled in; release it with vj_policy_free(). On
 * failure there is nothing to release.
 */
int vj_policy_load_file(struct vj_policy *p, const char *path,
			const struct vj_host_config *host, struct vj_err *err);
int vj_policy_load_buffer(struct vj_policy *p, const char *name, const char *buf, size_t len,
			  const struct vj_host_config *host, struct vj_err *err);

/* Frees the workload strings; the struct may then be reloaded. Safe on a
 * zeroed policy. */
void vj_policy_free(struct vj_policy *p);

/*
 * Per-request changes, written in the policy file's syntax ("512Mi",
 * "30s") and checked against the same bounds. NULL / 0 fields keep the
 * policy's value. argv, when set_argv, replaces the workload's argv; env
 * entries "NAME=VALUE" set or replace variables. All or nothing: on
 * failure p is unchanged.
 */
struct vj_policy_overrides {
	const char *id;
#define VJ_OVERRIDE_FIELD(field, ...) const char *field;
	VJ_VM_RESOURCES(VJ_OVERRIDE_FIELD) /* vcpus, memory, timeout, ... */
#undef VJ_OVERRIDE_FIELD
	bool set_argv;
	unsigned argc;
	char *const *argv;
	unsigned envc;
	char *const *env;
};

int vj_policy_apply_overrides(struct vj_policy *p, const struct vj_policy_overrides *o,
			      const struct vj_host_config *host, struct vj_err *err);

/*
 * The effective policy, every default filled in. The YAML form is itself
 * a valid policy (loading it gives the same struct); the JSON form gives
 * sizes in bytes, durations in the unit its key names, and null for
 * "unlimited". Return 0 or -EIO.
 */
int vj_policy_print_yaml(const struct vj_policy *p, FILE *out);
int vj_policy_print_json(const struct vj_policy *p, FILE *out);

/* The first of vm's writable drives that lies beneath none of the host's
 * shared roots (roots.shared): a drive that cannot migrate. -1: none. */
int vj_host_local_writable_drive(const struct vj_host_config *host,
				 const struct vj_vm_config *vm);

#endif
