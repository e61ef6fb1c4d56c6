/* The operator's host file: where a policy's files may come from and how
 * much a policy may ask for. Schema in policy/README.md. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "policy_schema.h"
#include "roots.h"
#include "scalar.h"

void vj_host_config_defaults(struct vj_host_config *h)
{
	memset(h, 0, sizeof(*h));
	h->nkernel_roots = h->nimage_roots = h->nsocket_roots = 1;
	strcpy(h->kernel_roots[0], "/var/lib/vmjail/kernels");
	strcpy(h->image_roots[0], "/var/lib/vmjail/images");
	/* Apart from run_dir (host_roots_apart()). */
	strcpy(h->socket_roots[0], "/run/vmjail-sockets");
	h->uid_min = h->gid_min = VJ_IDS_DEFAULT_MIN;
	h->uid_max = h->gid_max = VJ_IDS_DEFAULT_MAX;
	h->id_block = VJ_IDS_DEFAULT_BLOCK;
	for (size_t i = 0; i < VJ_VM_NRESOURCES; i++)
		*vj_setting_field(&vj_vm_settings[i], &h->max_vm) = vj_vm_settings[i].host_max;
	h->max_cgroup.cpu_quota_us = VJ_UNLIMITED;
	h->max_cgroup.cpu_period_us = 100000;
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		*vj_setting_field(&vj_cgroup_settings[i], &h->max_cgroup) =
			vj_cgroup_settings[i].host_max;
	for (size_t i = 0; i < VJ_NRLIMITS; i++)
		*vj_setting_field(&vj_rlimit_settings[i], &h->max_rlimits) =
			vj_rlimit_settings[i].host_max;
	strcpy(h->cgroup_parent, "vmjail");
	strcpy(h->run_dir, "/run/vmjail");
	h->required_namespaces = VJ_NS_ALL_BUT_USER;
	h->memory_backing = VJ_MEMORY_THP;
	strcpy(h->image_cache, "/var/cache/vmjail/images");
	h->image_cache_max = 4ull << 30;
	h->image_max_files = 200000;
	h->image_max_bytes = 2ull << 30;
	h->exec_max = VJ_EXEC_SLOTS;
	h->teardown = VJ_TEARDOWN_WAIT;
	strcpy(h->source, "built-in defaults");
}

struct host_walk {
	struct vj_walk w;
	struct vj_host_config *h;
	const char *base_dir; /* relative paths in the file start here */
	char (*roots)[VJ_PATH_MAX];
	unsigned *nroots;
	const struct vj_ynode **root_nodes; /* where each root is written, when kept */
	const struct vj_ynode *uid_min, *gid_min; /* where a range's errors point */
	const struct vj_ynode *socket_roots[VJ_MAX_ROOTS], *run_dir;
	const struct vj_ynode *snapshot_roots[VJ_MAX_ROOTS];
};

/* A path in the host file, made absolute and canonical. */
static int host_path(struct host_walk *hw, const struct vj_ynode *n, char out[VJ_PATH_MAX])
{
	char raw[VJ_PATH_MAX], joined[2 * VJ_PATH_MAX];
	int r;

	if ((r = vj_walk_text(&hw->w, n, raw, sizeof(raw))) < 0)
		return r;
	if (!raw[0])
		return vj_walk_expected(&hw->w, n, "a path");
	snprintf(joined, sizeof(joined), "%s%s%s", raw[0] == '/' ? "" : hw->base_dir,
		 raw[0] == '/' ? "" : "/", raw);
	if (vj_root_canonical(joined, out, hw->w.err) < 0)
		return vj_walk_wrap(&hw->w, n);
	return 0;
}

static int root_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	struct host_walk *hw = obj;

	(void)w;
	*hw->nroots = (unsigned)i + 1;
	if (hw->root_nodes)
		hw->root_nodes[i] = n;
	return host_path(hw, n, hw->roots[i]);
}

static int roots_list(struct vj_walk *w, const struct vj_ynode *n, struct host_walk *hw,
		      char (*roots)[VJ_PATH_MAX], unsigned *nroots, const struct vj_ynode **nodes)
{
	hw->roots = roots;
	hw->nroots = nroots;
	hw->root_nodes = nodes;
	*nroots = 0;
	return vj_walk_seq(w, n, VJ_MAX_ROOTS, root_item, hw);
}

static int roots_kernels(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->kernel_roots, &hw->h->nkernel_roots, NULL);
}

static int roots_images(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->image_roots, &hw->h->nimage_roots, NULL);
}

static int roots_sockets(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->socket_roots, &hw->h->nsocket_roots,
			  hw->socket_roots);
}

static int roots_snapshots(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->snapshot_roots, &hw->h->nsnapshot_roots,
			  hw->snapshot_roots);
}

static int roots_shared(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->shared_roots, &hw->h->nshared_roots, NULL);
}

static const struct vj_key roots_keys[] = {
	{ "kernels", roots_kernels, false },
	{ "images", roots_images, false },
	{ "sockets", roots_sockets, false },
	{ "snapshots", roots_snapshots, false },
	{ "shared", roots_shared, false },
};

static int host_roots(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, roots_keys, VJ_ARRAY_SIZE(roots_keys), obj);
}

/* Id 0 is never handed out: the VMM must not run as root. (uint32_t)-1
 * means "no change" to set*id(). */
static int host_id(struct vj_walk *w, const struct vj_ynode *n, uint32_t *out)
{
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(1, UINT32_MAX - 1),
			       false, &v);

	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

static int ids_uid_min(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	hw->uid_min = n;
	return host_id(w, n, &hw->h->uid_min);
}

static int ids_uid_max(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return host_id(w, n, &((struct host_walk *)obj)->h->uid_max);
}

static int ids_gid_min(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	hw->gid_min = n;
	return host_id(w, n, &hw->h->gid_min);
}

static int ids_gid_max(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return host_id(w, n, &((struct host_walk *)obj)->h->gid_max);
}

/* At most what a user namespace maps. */
static int ids_block(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(1, VJ_USERNS_IDS_MAX), NULL, &v);

	if (r == 0)
		((struct host_walk *)obj)->h->id_block = (uint32_t)v;
	return r;
}

static const struct vj_key ids_keys[] = {
	{ "uid_min", ids_uid_min, false },
	{ "uid_max", ids_uid_max, false },
	{ "gid_min", ids_gid_min, false },
	{ "gid_max", ids_gid_max, false },
	{ "block", ids_block, false },
};

/*
 * One range, uids or gids: it must hold a block, and it must not hold
 * nobody's id, which processes of all kinds share (NFS, user namespaces'
 * overflow id, daemons): a sandbox running as it would share it with them.
 */
static int check_id_range(struct vj_walk *w, const struct vj_ynode *n, const char *kind,
			  uint32_t min, uint32_t max, uint32_t block)
{
	if (min > max)
		return vj_walk_fail(w, n, "%s_min %u is above %s_max %u", kind, min, kind, max);
	if ((uint64_t)max - min + 1 < block)
		return vj_walk_fail(w, n, "%ss %u..%u hold no block of %u ids (ids.block)", kind,
				    min, max, block);
	if (min <= VJ_NOBODY_ID && max >= VJ_NOBODY_ID)
		return vj_walk_fail(w, n, "%ss %u..%u include %u (nobody), which other processes "
				    "share", kind, min, max, VJ_NOBODY_ID);
	return 0;
}

static int host_ids(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	const struct vj_host_config *h = hw->h;
	int r = vj_walk_map(w, n, ids_keys, VJ_ARRAY_SIZE(ids_keys), obj);

	if (r < 0 || (r = check_id_range(w, hw->uid_min ? hw->uid_min : n, "uid", h->uid_min,
					 h->uid_max, h->id_block)) < 0)
		return r;
	return check_id_range(w, hw->gid_min ? hw->gid_min : n, "gid", h->gid_min, h->gid_max,
			      h->id_block);
}

static int max_cg_cpus(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_cgroup_limits *c = &((struct host_walk *)obj)->h->max_cgroup;
	uint64_t milli;
	/* As a quota per 100 ms period; 0.01 CPU is the kernel's 1 ms floor. */
	int r = vj_walk_number(w, n, VJ_UNIT_DECIMAL,
			       vj_range(10, (uint64_t)VJ_CPUSET_NR * 1000), VJ_UNLIMITED_WORD,
			       &milli);

	if (r < 0)
		return r;
	c->cpu_period_us = 100000;
	c->cpu_quota_us = milli == VJ_UNLIMITED ? VJ_UNLIMITED : milli * 100;
	return 0;
}

/* The operator's maximum of a settings row: within the row's own bound,
 * and "unlimited" for none where the row has a word for unset. */
static int max_setting(struct vj_walk *w, const struct vj_ynode *n, const struct vj_setting *s,
		       void *family)
{
	uint64_t *v = vj_setting_field(s, family);
	int r = vj_walk_number(w, n, s->unit, vj_range(s->min, s->max),
			       s->word ? VJ_UNLIMITED_WORD : NULL, v);

	if (r == 0 && s->whole_mi && *v != VJ_UNLIMITED && *v % (1u << 20))
		return vj_walk_expected(w, n, "a whole number of Mi");
	return r;
}

/* max_CGL_<field>, max_RL_<field>, max_VM_<field>: a key handler per row
 * of a family. */
#define MAX_KEY(family, table, member, field, ...)                                             \
	static int max_##family##_##field(struct vj_walk *w, const struct vj_ynode *n,         \
					  void *obj)                                           \
	{                                                                                      \
		return max_setting(w, n, &table[VJ_##family##_##field],                        \
				   &((struct host_walk *)obj)->h->member);                     \
	}
#define MAX_CGROUP_KEY(...) MAX_KEY(CGL, vj_cgroup_settings, max_cgroup, __VA_ARGS__)
#define MAX_RLIMIT_KEY(...) MAX_KEY(RL, vj_rlimit_settings, max_rlimits, __VA_ARGS__)
#define MAX_VM_KEY(field, ...) MAX_KEY(VM, vj_vm_settings, max_vm, field)
VJ_CGROUP_LIMITS(MAX_CGROUP_KEY)
VJ_RLIMITS(MAX_RLIMIT_KEY)
VJ_VM_RESOURCES(MAX_VM_KEY)

static int cpuset(struct vj_walk *w, const struct vj_ynode *n, char out[VJ_CPUSET_MAX])
{
	struct vj_cpuset set;
	int r = vj_walk_text(w, n, out, VJ_CPUSET_MAX);

	if (r < 0)
		return r;
	if (out[0] && vj_cpuset_parse(out, &set) < 0)
		return vj_walk_expected(w, n, "a list of numbers below 1024 and ranges (\"0-3,8\")");
	return 0;
}

static int max_cg_cpuset_cpus(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return cpuset(w, n, ((struct host_walk *)obj)->h->max_cgroup.cpuset_cpus);
}

static int max_cg_cpuset_mems(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return cpuset(w, n, ((struct host_walk *)obj)->h->max_cgroup.cpuset_mems);
}

#define KEY_ROW(field, key, ...) { key, max_CGL_##field, false },
static const struct vj_key max_cgroup_keys[] = {
	{ "cpus", max_cg_cpus, false },
	{ "cpuset_cpus", max_cg_cpuset_cpus, false },
	{ "cpuset_mems", max_cg_cpuset_mems, false },
	VJ_CGROUP_LIMITS(KEY_ROW)
};
#undef KEY_ROW

static int max_cgroup(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, max_cgroup_keys, VJ_ARRAY_SIZE(max_cgroup_keys), obj);
}

#define KEY_ROW(field, key, ...) { key, max_RL_##field, false },
static const struct vj_key max_rlimits_keys[] = { VJ_RLIMITS(KEY_ROW) };
#undef KEY_ROW

static int max_rlimits(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, max_rlimits_keys, VJ_ARRAY_SIZE(max_rlimits_keys), obj);
}

#define KEY_ROW(field, section, key, ...) { key, max_VM_##field, false },
static const struct vj_key max_keys[] = {
	VJ_VM_RESOURCES(KEY_ROW)
	{ "cgroup", max_cgroup, false },
	{ "rlimits", max_rlimits, false },
};

#undef KEY_ROW

static int host_max(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, max_keys, VJ_ARRAY_SIZE(max_keys), obj);
}

static int ns_required(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_namespaces(w, n, &((struct host_walk *)obj)->h->required_namespaces);
}

static const struct vj_key ns_keys[] = {
	{ "required", ns_required, false },
};

static int host_namespaces(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, ns_keys, VJ_ARRAY_SIZE(ns_keys), obj);
}

static int netns_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	struct vj_host_config *h = ((struct host_walk *)obj)->h;
	int r = vj_walk_text(w, n, h->allowed_netns[i], sizeof(h->allowed_netns[i]));

	if (r < 0)
		return r;
	if (!vj_name_is_netns(h->allowed_netns[i]))
		return vj_walk_expected(w, n, "a network namespace name ([A-Za-z0-9_.-], 1 to 64)");
	h->nnetns = (unsigned)i + 1;
	return 0;
}

static int host_netns_allowed(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	((struct host_walk *)obj)->h->nnetns = 0;
	return vj_walk_seq(w, n, VJ_MAX_ROOTS, netns_item, obj);
}

static int host_cgroup_parent(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_host_config *h = ((struct host_walk *)obj)->h;
	int r = vj_walk_text(w, n, h->cgroup_parent, sizeof(h->cgroup_parent));

	if (r == 0 && !vj_name_is_cgroup_parent(h->cgroup_parent))
		return vj_walk_expected(w, n, "a cgroup path, relative (under vmjail's own "
				     "cgroup) or absolute, without . or .. components "
				     "([A-Za-z0-9_.-] separated by /)");
	return r;
}

static int host_run_dir(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;

	(void)w;
	hw->run_dir = n;
	return host_path(hw, n, hw->h->run_dir);
}

static int seccomp_allow_log(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_bool(w, n, &((struct host_walk *)obj)->h->allow_seccomp_log);
}

static const struct vj_key seccomp_keys[] = {
	{ "allow_log", seccomp_allow_log, false },
};

static int host_seccomp(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, seccomp_keys, VJ_ARRAY_SIZE(seccomp_keys), obj);
}

/* A uid that may control every sandbox of this host besides root
 * (jailer/CONTROL.md): a platform's service user, say. */
static int host_owner(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_host_config *h = ((struct host_walk *)obj)->h;
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(0, UINT32_MAX - 1), NULL, &v);

	if (r == 0) {
		h->owner = (uint32_t)v;
		h->has_owner = true;
	}
	return r;
}

/* How many `vmjail exec`s may run at once in one sandbox; 0 turns exec
 * off. */
static int host_exec_max(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_host_config *h = ((struct host_walk *)obj)->h;
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(0, VJ_EXEC_SLOTS), NULL, &v);

	if (r == 0)
		h->exec_max = (uint32_t)v;
	return r;
}

static int host_memory_backing(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = VJ_MEMORY_BACKING_NAMES;
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r == 0)
		((struct host_walk *)obj)->h->memory_backing = (enum vj_memory_backing)i;
	return r;
}

/* A file. Like a root it may not exist yet (a host file is often read
 * where its policies are not, as by `vmjail check`): vmjail-runc then
 * says so when it loads it. One that exists is taken canonical and must
 * be a regular file. */
static int oci_policy(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	char raw[VJ_PATH_MAX], joined[2 * VJ_PATH_MAX];
	cleanup_free char *full = NULL;
	struct stat st;
	int r;

	if ((r = vj_walk_text(w, n, raw, sizeof(raw))) < 0)
		return r;
	if (!raw[0])
		return vj_walk_expected(w, n, "a policy file");
	snprintf(joined, sizeof(joined), "%s%s%s", raw[0] == '/' ? "" : hw->base_dir,
		 raw[0] == '/' ? "" : "/", raw);
	full = realpath(joined, NULL);
	if (full && (stat(full, &st) < 0 || !S_ISREG(st.st_mode)))
		return vj_walk_expected(w, n, "a policy file");
	if (strlen(full ? full : joined) >= sizeof(hw->h->oci_policy))
		return vj_walk_expected(w, n, "a shorter path");
	strcpy(hw->h->oci_policy, full ? full : joined);
	return 0;
}

static int oci_policy_roots(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;
	return roots_list(w, n, hw, hw->h->oci_policy_roots, &hw->h->noci_policy_roots, NULL);
}

static const struct vj_key oci_keys[] = {
	{ "policy", oci_policy, false },
	{ "policy_roots", oci_policy_roots, false },
};

/* vmjail-runc's defaults: jailer/OCI.md. */
static int host_oci(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, oci_keys, VJ_ARRAY_SIZE(oci_keys), obj);
}

/* images: where container images' root images are cached (image/), and
 * the bounds on the cache and on each image. */
static int images_cache(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct host_walk *hw = obj;

	(void)w;
	return host_path(hw, n, hw->h->image_cache);
}

static int images_max_size(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_number(w, n, VJ_UNIT_SIZE, vj_range(1u << 20, VJ_UNLIMITED - 1), NULL,
			      &((struct host_walk *)obj)->h->image_cache_max);
}

static int images_max_files(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(1, 100000000), NULL,
			      &((struct host_walk *)obj)->h->image_max_files);
}

static int images_max_bytes(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_number(w, n, VJ_UNIT_SIZE, vj_range(1u << 20, 1ull << 44), NULL,
			      &((struct host_walk *)obj)->h->image_max_bytes);
}

static int images_format(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = { "erofs", "ext4" };
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r == 0)
		((struct host_walk *)obj)->h->image_ext4 = i == 1;
	return r;
}

static const struct vj_key images_keys[] = {
	{ "format", images_format, false },
	{ "cache", images_cache, false },
	{ "max_size", images_max_size, false },
	{ "max_files", images_max_files, false },
	{ "max_bytes", images_max_bytes, false },
};

static int host_images(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, images_keys, VJ_ARRAY_SIZE(images_keys), obj);
}

static int host_version(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)obj;
	return vj_walk_version(w, n);
}

static int host_teardown(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = VJ_TEARDOWN_NAMES;
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r == 0)
		((struct host_walk *)obj)->h->teardown = (enum vj_teardown)i;
	return r;
}

static const struct vj_key host_keys[] = {
	{ "version", host_version, true },
	{ "roots", host_roots, false },
	{ "ids", host_ids, false },
	{ "max", host_max, false },
	{ "namespaces", host_namespaces, false },
	{ "netns_allowed", host_netns_allowed, false },
	{ "cgroup_parent", host_cgroup_parent, false },
	{ "run_dir", host_run_dir, false },
	{ "seccomp", host_seccomp, false },
	{ "memory_backing", host_memory_backing, false },
	{ "owner", host_owner, false },
	{ "oci", host_oci, false },
	{ "images", host_images, false },
	{ "exec_max", host_exec_max, false },
	{ "teardown", host_teardown, false },
};

/* How path a stands to path b, for messages; NULL: apart. */
static const char *overlap(const char *a, const char *b)
{
	if (!strcmp(a, b))
		return "is";
	if (vj_path_within(a, b))
		return "lies inside";
	return vj_path_within(b, a) ? "holds" : NULL;
}

#define APART_WHY                                                                          \
	": a policy could name the launcher's own files there; keep socket roots and the "  \
	"run directory apart"

/*
 * A policy names sockets under the socket roots; the launcher keeps its
 * own files in run_dir: <id>/ with its lock and state, cgroup.parents,
 * the default sockets <id>.vsock. A socket root at, inside or above
 * run_dir would let a policy name those: block an id for good, or take
 * another sandbox's socket. Reported where the file says the root, or else
 * where it says run_dir (the built-in defaults are apart).
 */
static int host_roots_apart(struct host_walk *hw)
{
	const struct vj_host_config *h = hw->h;

	for (unsigned i = 0; i < h->nsocket_roots; i++) {
		const char *root = h->socket_roots[i], *how = overlap(root, h->run_dir);
		if (!how)
			continue;
		if (hw->socket_roots[i]) {
			snprintf(hw->w.path, sizeof(hw->w.path), "roots.sockets[%u]", i);
			if (!strcmp(how, "is"))
				return vj_walk_fail(&hw->w, hw->socket_roots[i],
						    "%s is the run directory (run_dir)" APART_WHY, root);
			return vj_walk_fail(&hw->w, hw->socket_roots[i],
					    "%s %s the run directory %s (run_dir)" APART_WHY, root, how,
					    h->run_dir);
		}
		snprintf(hw->w.path, sizeof(hw->w.path), "run_dir");
		how = overlap(h->run_dir, root);
		return vj_walk_fail(&hw->w, hw->run_dir,
				    "%s %s the socket root %s (roots.sockets)" APART_WHY, h->run_dir,
				    how, root);
	}
	return 0;
}

/* One snapshot root against one list of other roots. */
static int snapshot_root_apart(struct host_walk *hw, unsigned i, const char (*others)[VJ_PATH_MAX],
			       unsigned n, const char *key)
{
	const char *root = hw->h->snapshot_roots[i];

	for (unsigned k = 0; k < n; k++) {
		const char *how = overlap(root, others[k]);
		if (!how)
			continue;
		snprintf(hw->w.path, sizeof(hw->w.path), "roots.snapshots[%u]", i);
		return vj_walk_fail(&hw->w, hw->snapshot_roots[i],
				    "%s %s %s (%s): a snapshot's files (guest memory, the VM's "
				    "state) must be out of every policy's reach, and out of the "
				    "launcher's own; keep snapshot roots apart",
				    root, how, others[k], key);
	}
	return 0;
}

/*
 * A snapshot holds a guest's memory: a policy that could name it as a
 * drive or a kernel would read another sandbox's secrets, and one in
 * run_dir could meet the launcher's own files. Snapshot roots are apart
 * from all of them. (They come only from the file, so the nodes exist.)
 */
static int host_snapshot_roots_apart(struct host_walk *hw)
{
	const struct vj_host_config *h = hw->h;
	const char (*run_dir)[VJ_PATH_MAX] = (const char (*)[VJ_PATH_MAX])h->run_dir;
	int r = 0;

	for (unsigned i = 0; i < h->nsnapshot_roots && r == 0; i++)
		if ((r = snapshot_root_apart(hw, i, run_dir, 1, "the run directory, run_dir")) ||
		    (r = snapshot_root_apart(hw, i, h->kernel_roots, h->nkernel_roots,
					     "a kernel root, roots.kernels")) ||
		    (r = snapshot_root_apart(hw, i, h->image_roots, h->nimage_roots,
					     "an image root, roots.images")))
			break;
		else
			r = snapshot_root_apart(hw, i, h->socket_roots, h->nsocket_roots,
						"a socket root, roots.sockets");
	return r;
}

int vj_host_config_load_buffer(struct vj_host_config *host, const char *name, const char *buf,
			       size_t len, const char *base_dir, struct vj_err *err)
{
	struct host_walk hw = { .w = { .name = name, .err = err }, .base_dir = base_dir ? base_dir : "." };
	struct vj_host_config *h = calloc(1, sizeof(*h));
	struct vj_ydoc doc;
	int r;

	if (!h)
		return vj_fail(err, -ENOMEM, "%s: out of memory", name);
	/* Built in a scratch copy: on failure host is left as it was. */
	vj_host_config_defaults(h);
	hw.h = h;
	if ((r = vj_ydoc_parse(&doc, name, buf, len, err)) == 0) {
		r = vj_walk_map(&hw.w, doc.root, host_keys, VJ_ARRAY_SIZE(host_keys), &hw);
		if (r == 0)
			r = host_roots_apart(&hw);
		if (r == 0)
			r = host_snapshot_roots_apart(&hw);
		vj_ydoc_free(&doc);
	}
	if (r == 0) {
		snprintf(h->source, sizeof(h->source), "%s", name);
		*host = *h;
	}
	free(h);
	return r;
}

int vj_host_config_load_from(struct vj_host_config *host, const char *path,
			     const char *default_path, struct vj_err *err)
{
	const char *file = path ? path : default_path;
	cleanup_free char *buf = NULL, *dir_copy = NULL;
	size_t len;
	int r = vj_read_small_file(file, &buf, &len, err);

	if (r == -ENOENT && !path) {
		vj_host_config_defaults(host);
		return 0;
	}
	if (r < 0)
		return r;
	if (!(dir_copy = strdup(file)))
		return vj_fail(err, -ENOMEM, "%s: out of memory", file);
	return vj_host_config_load_buffer(host, file, buf, len, dirname(dir_copy), err);
}

int vj_host_config_load(struct vj_host_config *host, const char *path,
			struct vj_err *err)
{
	return vj_host_config_load_from(host, path, VJ_HOST_CONFIG_DEFAULT, err);
}

int vj_host_local_writable_drive(const struct vj_host_config *host,
				 const struct vj_vm_config *vm)
{
	for (uint32_t i = 0; i < vm->ndrives; i++) {
		bool shared = false;
		if (vm->drives[i].read_only)
			continue;
		for (unsigned k = 0; k < host->nshared_roots && !shared; k++)
			shared = vj_path_within(vm->drives[i].file.name, host->shared_roots[k]);
		if (!shared)
			return (int)i;
	}
	return -1;
}
