/* A tenant policy file: the top level, limits, seccomp and workload
 * sections, defaults, and the checks that span sections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy_schema.h"
#include "scalar.h"

static struct vj_policy_walk *pw_of(void *obj)
{
	return obj;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void policy_defaults(struct vj_policy *p, const struct vj_host_config *h)
{
	const uint64_t console = min_u64(1u << 20, h->max_vm.console_output);

	memset(p, 0, sizeof(*p));
	p->version = VJ_POLICY_VERSION;
	vj_config_init(&p->vm);
	p->vm.memory_mib = min_u64(p->vm.memory_mib, h->max_vm.memory >> 20);
	p->vm.console_limit = console;
	p->vm.memory_backing = h->memory_backing;
	vj_jail_defaults(&p->jail, h);
	vj_vm_resource_set(p, VJ_VM_timeout, h->max_vm.timeout);
	p->limits.console_bytes = console;
	/* `vmjail run -- CMD` should behave like CMD: as much output as the
	 * operator allows. */
	p->limits.output_bytes = h->max_vm.output;
	p->seccomp = VJ_SECCOMP_ENFORCE;
}

int vj_workload_dup(char **slot, const char *a, const char *b, size_t *bytes)
{
	size_t n = strlen(a) + 1 + (b ? strlen(b) + 1 : 0);
	char *s;

	if (n > VJ_WORKLOAD_BYTES_MAX - *bytes)
		return -E2BIG;
	if (!(s = malloc(n)))
		return -ENOMEM;
	if (b)
		snprintf(s, n, "%s=%s", a, b);
	else
		memcpy(s, a, n);
	*slot = s;
	*bytes += n;
	return 0;
}

static int workload_fail(struct vj_policy_walk *pw, const struct vj_ynode *n, int r)
{
	if (r == -ENOMEM)
		return vj_fail(pw->w.err, r, "%s: out of memory", pw->w.name);
	return vj_walk_fail(&pw->w, n, "expected at most %d bytes of arguments and environment "
			    "in all", VJ_WORKLOAD_BYTES_MAX);
}

static int argv_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	struct vj_workload *wl = &pw->p->workload;
	const char *s;
	int r = vj_walk_string(w, n, VJ_WORKLOAD_BYTES_MAX, &s);

	if (r < 0)
		return r;
	if (i == 0 && !*s)
		return vj_walk_expected(w, n, "a program name");
	if ((r = vj_workload_dup(&wl->argv[i], s, NULL, &pw->workload_bytes)) < 0)
		return workload_fail(pw, n, r);
	wl->argc = (uint32_t)i + 1;
	return 0;
}

static int workload_argv(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_seq(w, n, VJ_MAX_ARGS, argv_item, obj);
}

static int workload_env(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	struct vj_workload *wl = &pw->p->workload;
	const size_t saved = strlen(w->path);

	if (n->kind != VJ_YMAP)
		return vj_walk_expected(w, n, "a mapping of variable names to strings");
	if (n->nkids / 2 > VJ_MAX_ENV)
		return vj_walk_fail(w, n, "expected at most %d variables, found %zu", VJ_MAX_ENV,
				    n->nkids / 2);
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct vj_ynode *k = n->kids[i], *v = n->kids[i + 1];
		const char *value;
		int r;
		vj_path_key(w->path, sizeof(w->path), k->str, k->len);
		if (!vj_name_is_env(k->str, k->len))
			return vj_walk_fail(w, k, "expected a variable name ([A-Za-z_][A-Za-z0-9_]*)");
		if ((r = vj_walk_string(w, v, VJ_WORKLOAD_BYTES_MAX, &value)) < 0)
			return r;
		if ((r = vj_workload_dup(&wl->env[wl->envc], k->str, value,
					 &pw->workload_bytes)) < 0)
			return workload_fail(pw, v, r);
		wl->envc++;
		w->path[saved] = '\0';
	}
	return 0;
}

static const struct vj_key workload_keys[] = {
	{ "argv", workload_argv, false },
	{ "env", workload_env, false },
};

static int top_workload(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, workload_keys, VJ_ARRAY_SIZE(workload_keys), obj);
}

#define LIMITS_ROW(field, section, key, ...)                                                \
	VJ_VM_IN_##section##_limits(VJ_VM_RESOURCE_HANDLER, field, key)
VJ_VM_RESOURCES(LIMITS_ROW)
#undef LIMITS_ROW

#define LIMITS_ROW(field, section, key, ...)                                                \
	VJ_VM_IN_##section##_limits(VJ_VM_RESOURCE_KEY, field, key)
static const struct vj_key limits_keys[] = { VJ_VM_RESOURCES(LIMITS_ROW) };
#undef LIMITS_ROW

static int top_limits(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, limits_keys, VJ_ARRAY_SIZE(limits_keys), obj);
}

static int seccomp_mode(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = { "enforce", "log" };
	struct vj_policy_walk *pw = pw_of(obj);
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r < 0)
		return r;
	if (i == 1 && !pw->h->allow_seccomp_log)
		return vj_walk_expected(w, n, "enforce (this host does not allow log)");
	pw->p->seccomp = i == 1 ? VJ_SECCOMP_LOG : VJ_SECCOMP_ENFORCE;
	return 0;
}

static const struct vj_key seccomp_keys[] = {
	{ "mode", seccomp_mode, false },
};

static int top_seccomp(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, seccomp_keys, VJ_ARRAY_SIZE(seccomp_keys), obj);
}

static int top_version(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)obj;
	return vj_walk_version(w, n);
}

static int top_id(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy *p = pw_of(obj)->p;
	return vj_walk_name(w, n, vj_name_is_sandbox_id, "a sandbox id ([A-Za-z0-9-], 1 to 64)",
			    p->id, sizeof(p->id));
}

static int top_jail(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	pw_of(obj)->jail = n;
	return vj_walk_jail(w, n, obj);
}

static const struct vj_key top_keys[] = {
	{ "version", top_version, true },
	{ "id", top_id, false },
	{ "vm", vj_walk_vm, true },
	{ "jail", top_jail, false },
	{ "limits", top_limits, false },
	{ "seccomp", top_seccomp, false },
	{ "workload", top_workload, false },
};

bool vj_memory_fits_cgroup(const struct vj_policy *p)
{
	const uint64_t limit = p->jail.cgroup.memory_max;
	return limit == VJ_UNLIMITED || limit >= p->vm.memory_mib << 20;
}

/* The VMM maps all of the guest's memory: a cgroup limit below it
 * would kill the VMM when the guest touches its memory. */
static int check_memory_fits(struct vj_policy_walk *pw)
{
	const struct vj_policy *p = pw->p;
	char limit[32], need[32];

	if (vj_memory_fits_cgroup(p))
		return 0;
	vj_format_size(p->jail.cgroup.memory_max, limit, sizeof(limit));
	vj_format_size(p->vm.memory_mib << 20, need, sizeof(need));
	if (pw->cg_limit[VJ_CGL_memory_max]) {
		snprintf(pw->w.path, sizeof(pw->w.path), "jail.cgroup.memory");
		return vj_walk_fail(&pw->w, pw->cg_limit[VJ_CGL_memory_max], "expected at least %s (vm.memory), "
				    "found %s", need, limit);
	}
	snprintf(pw->w.path, sizeof(pw->w.path), "vm.memory");
	return vj_walk_fail(&pw->w, pw->vm_res[VJ_VM_memory] ? pw->vm_res[VJ_VM_memory] : pw->root,
			    "expected at most %s (the host's maximum for jail.cgroup.memory), "
			    "found %s", limit, need);
}

/* The version comes first: a newer file's other keys would otherwise be
 * reported as unknown, hiding the real problem. */
static int walk_policy(struct vj_policy_walk *pw)
{
	const struct vj_ynode *version = vj_map_get(pw->root, "version");
	int r;

	if (version) {
		snprintf(pw->w.path, sizeof(pw->w.path), "version");
		if ((r = vj_walk_version(&pw->w, version)) < 0)
			return r;
		pw->w.path[0] = '\0';
	}
	if ((r = vj_walk_map(&pw->w, pw->root, top_keys, VJ_ARRAY_SIZE(top_keys), pw)) < 0 ||
	    (r = vj_jail_check(pw)) < 0 || (r = check_memory_fits(pw)) < 0)
		return r;
	pw->p->vm.seccomp = pw->p->seccomp;
	return 0;
}

int vj_policy_load_buffer(struct vj_policy *p, const char *name, const char *buf, size_t len,
			  const struct vj_host_config *host, struct vj_err *err)
{
	struct vj_policy_walk pw = {
		.w = { .name = name, .err = err, .host = host },
		.p = p,
		.h = host,
	};
	struct vj_ydoc doc;
	int r;

	policy_defaults(p, host);
	if ((r = vj_ydoc_parse(&doc, name, buf, len, err)) < 0)
		return r;
	pw.root = doc.root;
	r = walk_policy(&pw);
	vj_ydoc_free(&doc);
	if (r < 0)
		vj_policy_free(p);
	return r;
}

int vj_policy_load_file(struct vj_policy *p, const char *path,
			const struct vj_host_config *host, struct vj_err *err)
{
	cleanup_free char *buf = NULL;
	size_t len;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = vj_read_small_file(path, &buf, &len, err)) < 0)
		return r;
	return vj_policy_load_buffer(p, path, buf, len, host, err);
}

void vj_policy_free(struct vj_policy *p)
{
	struct vj_workload *wl = &p->workload;

	for (uint32_t i = 0; i < wl->argc; i++)
		free(wl->argv[i]);
	for (uint32_t i = 0; i < wl->envc; i++)
		free(wl->env[i]);
	memset(wl, 0, sizeof(*wl));
}
