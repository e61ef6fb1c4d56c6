/*
 * An OCI bundle's config.json (runtime-spec 1.x) as vmjail understands
 * it: what maps onto a sandbox, read into struct vj_oci_spec, and then
 * laid over a loaded policy by vj_oci_spec_apply(). config.json is the
 * tenant's, like a policy: every size, count and string is bounded, and
 * nothing in it can raise a limit past the operator's host file.
 *
 * Every refusal is one line naming the JSON path:
 *   config.json: process.terminal: true is not supported yet
 * What is ignored, and why, is listed in jailer/OCI.md.
 */
#ifndef VJ_JAILER_OCI_SPEC_H
#define VJ_JAILER_OCI_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_proto.h"
#include "error.h"
#include "json.h"
#include "launch.h"

#define VJ_OCI_CONFIG_MAX (1024 * 1024) /* bytes of config.json */
#define VJ_OCI_VALUES_MAX 65536         /* JSON values in it */
#define VJ_OCI_ANNOTATIONS_MAX 64
#define VJ_OCI_ANNOTATIONS_BYTES (16 * 1024) /* their JSON text, as `state` prints it */
#define VJ_OCI_IGNORED_MAX 32
#define VJ_OCI_POLICY_ANNOTATION "io.vmjail.policy"
/* Guest RAM comes in 2 MiB steps: what a huge page backs. */
#define VJ_OCI_MEMORY_STEP (2u << 20)
/* The cgroup holds the VMM as well as guest RAM: its page tables, queues
 * and stacks. A limit of exactly the guest's size would kill the VMM the
 * first time the guest touched all its memory. */
#define VJ_OCI_VMM_OVERHEAD (64u << 20)

struct vj_oci_spec {
	/* process: argv and env point into doc. */
	unsigned argc, envc;
	const char *argv[VJ_MAX_ARGS];
	const char *env[VJ_MAX_ENV];
	char cwd[VJ_AGENT_CWD_MAX + 1];
	uint32_t uid, gid;
	/* root.path, resolved against the bundle: an existing directory. */
	char root_path[VJ_PATH_MAX];
	bool root_readonly;
	char hostname[VJ_AGENT_HOSTNAME_MAX + 1]; /* "": not set */
	/* linux.resources; VJ_UNLIMITED where config.json says nothing. */
	uint64_t memory_limit; /* bytes, as written */
	uint64_t cpu_quota_us, cpu_period_us;
	uint64_t pids_limit;
	/* annotations["io.vmjail.policy"], "" without one. */
	char policy[VJ_PATH_MAX];
	/* The annotations as a compact JSON object, for `state`. */
	char annotations[VJ_OCI_ANNOTATIONS_BYTES];
	/* JSON paths present but deliberately not applied (OCI.md says why
	 * for each): logged at create so that an operator sees them. */
	unsigned nignored;
	const char *ignored[VJ_OCI_IGNORED_MAX];
	struct vj_json_doc doc;
};

/* realpath() into a VJ_PATH_MAX buffer: 0, or -errno (-ENAMETOOLONG
 * for a result that does not fit). */
int vj_oci_canonical(const char *path, char out[VJ_PATH_MAX]);

/* Reads and checks buf (config.json's text). bundle is the bundle's
 * absolute directory, against which root.path is resolved. On failure
 * there is nothing to free. */
int vj_oci_spec_parse(struct vj_oci_spec *s, const char *buf, size_t len, const char *bundle,
		      struct vj_err *e);

/* The same from <bundle>/config.json. */
int vj_oci_spec_load(struct vj_oci_spec *s, const char *bundle, struct vj_err *e);

/* `runc exec --process FILE`: FILE's text, one runtime-spec process
 * object under the same rules as config.json's; only the process fields
 * of s are filled. Messages name process.json. */
int vj_oci_process_parse(struct vj_oci_spec *s, const char *buf, size_t len, struct vj_err *e);

void vj_oci_spec_free(struct vj_oci_spec *s);

/*
 * The policy file this container runs under: the io.vmjail.policy
 * annotation, which must name a file under one of the host file's
 * oci.policy_roots, else the host file's oci.policy. Canonical, in out.
 */
int vj_oci_spec_policy(const struct vj_oci_spec *s, const struct vj_host_config *h,
		       char out[VJ_PATH_MAX], struct vj_err *e);

/*
 * Lays s over l->policy (loaded against l->host): the sandbox id, the
 * workload (argv, env, cwd, ids, hostname), guest memory and vCPUs and
 * the cgroup limits, each checked against the host file's maxima. All or
 * nothing: on failure l->policy is unchanged.
 */
int vj_oci_spec_apply(const struct vj_oci_spec *s, const char *id, struct vj_launch *l,
		      struct vj_err *e);

#endif
