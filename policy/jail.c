/* The policy's jail section: ids, namespaces, cgroup limits, rlimits. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cleanup.h"
#include "policy_schema.h"
#include "scalar.h"
#include "settings.h"

const char *const vj_ns_names[7] = { "mount", "pid", "ipc", "uts", "net", "cgroup", "user" };

static struct vj_policy_walk *pw_of(void *obj)
{
	return obj;
}

/* Host maximum of jail.cgroup.cpus in thousandths of a CPU. */
static uint64_t host_cpus_milli(const struct vj_host_config *h)
{
	const struct vj_cgroup_limits *c = &h->max_cgroup;

	if (c->cpu_quota_us == VJ_UNLIMITED || !c->cpu_period_us)
		return VJ_UNLIMITED;
	return c->cpu_quota_us * 1000 / c->cpu_period_us;
}

void vj_jail_defaults(struct vj_jail_policy *j, const struct vj_host_config *h)
{
	const struct vj_cgroup_limits *m = &h->max_cgroup;
	uint64_t milli = host_cpus_milli(h);

	memset(j, 0, sizeof(*j));
	j->namespaces = VJ_NS_ALL_BUT_USER | h->required_namespaces;
	j->cgroup.cpu_period_us = 100000;
	j->cgroup.cpu_quota_us = milli == VJ_UNLIMITED ? VJ_UNLIMITED : milli * 100;
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++) {
		const struct vj_setting *s = &vj_cgroup_settings[i];
		*vj_setting_field(s, &j->cgroup) = s->word ? vj_setting_get(s, m) : VJ_UNLIMITED;
	}
	strcpy(j->cgroup.cpuset_cpus, m->cpuset_cpus);
	strcpy(j->cgroup.cpuset_mems, m->cpuset_mems);
	/* Unset rlimits get the launcher's defaults; with an operator's
	 * maximum the default is that maximum, as the launcher's own could be
	 * higher. core is never dumped unless asked for. */
	j->rlimits = h->max_rlimits;
	j->rlimits.core = 0;
}

static int ns_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	uint32_t *mask = obj;
	unsigned bit;
	int r = vj_walk_enum(w, n, vj_ns_names, VJ_ARRAY_SIZE(vj_ns_names), &bit);

	(void)i;
	if (r < 0)
		return r;
	if (*mask & (1u << bit))
		return vj_walk_fail(w, n, "duplicate namespace \"%s\"", vj_ns_names[bit]);
	*mask |= 1u << bit;
	return 0;
}

int vj_walk_namespaces(struct vj_walk *w, const struct vj_ynode *n, uint32_t *out)
{
	uint32_t mask = 0;
	int r = vj_walk_seq(w, n, VJ_ARRAY_SIZE(vj_ns_names), ns_item, &mask);

	if (r == 0)
		*out = mask;
	return r;
}

static int walk_id(struct vj_walk *w, const struct vj_ynode *n, uint32_t *out)
{
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(0, UINT32_MAX - 1), NULL,
			       &v);

	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

static int jail_uid(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	pw_of(obj)->uid = n;
	return walk_id(w, n, &pw_of(obj)->p->jail.uid);
}

static int jail_gid(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	pw_of(obj)->gid = n;
	return walk_id(w, n, &pw_of(obj)->p->jail.gid);
}

/* Known keys, so that a policy written for a launcher that let it choose
 * its host ids is told why, not just that the key is unknown. */
static int userns_host_id(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)obj;
	return vj_walk_fail(w, n, "host ids are not a policy's to choose: the launcher gives each "
			    "sandbox a block of the host's ids of its own; give only count");
}

static int userns_count(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	uint64_t v;
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(1, VJ_USERNS_IDS_MAX), NULL, &v);

	if (r < 0)
		return r;
	if (v > pw->h->id_block)
		return vj_walk_fail(w, n, "expected at most %u, the ids the host gives each sandbox "
				    "(ids.block), found %llu", pw->h->id_block,
				    (unsigned long long)v);
	pw->p->jail.userns_count = (uint32_t)v;
	return 0;
}

static const struct vj_key userns_keys[] = {
	{ "count", userns_count, true },
	{ "host_uid", userns_host_id, false },
	{ "host_gid", userns_host_id, false },
};

static int jail_user_namespace(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	pw_of(obj)->userns = n;
	return vj_walk_map(w, n, userns_keys, VJ_ARRAY_SIZE(userns_keys), obj);
}

static int jail_namespaces(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	pw_of(obj)->namespaces = n;
	return vj_walk_namespaces(w, n, &pw_of(obj)->p->jail.namespaces);
}

static int jail_netns(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	char *netns = pw->p->jail.netns;
	char allowed[VJ_MAX_ROOTS * (VJ_NETNS_NAME_MAX + 2) + 8] = "none";
	size_t o = 0;
	int r = vj_walk_name(w, n, vj_name_is_netns,
			     "a network namespace name ([A-Za-z0-9_.-], 1 to 64)", netns,
			     sizeof(pw->p->jail.netns));

	if (r < 0)
		return r;
	pw->netns = n;
	for (unsigned i = 0; i < pw->h->nnetns; i++) {
		if (!strcmp(pw->h->allowed_netns[i], netns))
			return 0;
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", i ? ", " : "",
				      pw->h->allowed_netns[i]);
	}
	return vj_walk_fail(w, n, "expected a network namespace the host allows (%s), found \"%s\"",
			    allowed, netns);
}

static int jail_mount_proc(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_bool(w, n, &pw_of(obj)->p->jail.mount_proc);
}

static int cg_cpus(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);

	pw->cg_cpus = n;
	return vj_walk_number(w, n, VJ_UNIT_DECIMAL,
			      vj_bound_host(1, VJ_CPUS_MILLI_MAX, host_cpus_milli(pw->h)),
			      VJ_UNLIMITED_WORD, &pw->cpus_milli);
}

static int cg_cpu_period(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	uint64_t *period = &pw->p->jail.cgroup.cpu_period_us;
	/* The kernel's range for a CFS period is 1 ms to 1 s. */
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(1000, 1000000), NULL,
			       period);

	if (r == 0 && *period % 1000)
		return vj_walk_expected(w, n, "a whole number of milliseconds (a multiple of 1000)");
	pw->cg_period = n;
	return r;
}

/* A row of a settings table, within the host's maximum of it. */
static int walk_setting(struct vj_walk *w, const struct vj_ynode *n, const struct vj_setting *s,
			const void *host_family, void *family)
{
	return vj_walk_number(w, n, s->unit, vj_setting_bound(s, vj_setting_get(s, host_family)),
			      s->word, vj_setting_field(s, family));
}

#define CGROUP_KEY(field, ...)                                                                \
	static int cg_##field(struct vj_walk *w, const struct vj_ynode *n, void *obj)          \
	{                                                                                      \
		struct vj_policy_walk *pw = pw_of(obj);                                        \
		pw->cg_limit[VJ_CGL_##field] = n;                                              \
		return walk_setting(w, n, &vj_cgroup_settings[VJ_CGL_##field],                 \
				    &pw->h->max_cgroup, &pw->p->jail.cgroup);                  \
	}
VJ_CGROUP_LIMITS(CGROUP_KEY)

static int cg_cpuset(struct vj_walk *w, const struct vj_ynode *n, const char *host,
		     const char *what, char out[VJ_CPUSET_MAX])
{
	struct vj_cpuset mine, allowed;
	char expected[96 + VJ_CPUSET_MAX];
	int r = vj_walk_text(w, n, out, VJ_CPUSET_MAX);

	if (r < 0)
		return r;
	if (!out[0])
		return 0;
	if (vj_cpuset_parse(out, &mine) < 0)
		return vj_walk_expected(w, n, "a list of numbers below 1024 and ranges (\"0-3,8\")");
	if (host[0] && vj_cpuset_parse(host, &allowed) == 0 && !vj_cpuset_subset(&mine, &allowed)) {
		snprintf(expected, sizeof(expected), "%s within the host's set %s", what, host);
		return vj_walk_expected(w, n, expected);
	}
	return 0;
}

static int cg_cpuset_cpus(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	return cg_cpuset(w, n, pw->h->max_cgroup.cpuset_cpus, "CPUs",
			 pw->p->jail.cgroup.cpuset_cpus);
}

static int cg_cpuset_mems(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	return cg_cpuset(w, n, pw->h->max_cgroup.cpuset_mems, "memory nodes",
			 pw->p->jail.cgroup.cpuset_mems);
}

#define KEY_ROW(field, key, ...) { key, cg_##field, false },
static const struct vj_key cgroup_keys[] = {
	{ "cpus", cg_cpus, false },
	{ "cpu_period_us", cg_cpu_period, false },
	{ "cpuset_cpus", cg_cpuset_cpus, false },
	{ "cpuset_mems", cg_cpuset_mems, false },
	VJ_CGROUP_LIMITS(KEY_ROW)
};
#undef KEY_ROW

static int jail_cgroup(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, cgroup_keys, VJ_ARRAY_SIZE(cgroup_keys), obj);
}

#define RLIMIT_KEY(field, ...)                                                                \
	static int rl_##field(struct vj_walk *w, const struct vj_ynode *n, void *obj)          \
	{                                                                                      \
		struct vj_policy_walk *pw = pw_of(obj);                                        \
		return walk_setting(w, n, &vj_rlimit_settings[VJ_RL_##field],                  \
				    &pw->h->max_rlimits, &pw->p->jail.rlimits);                \
	}
VJ_RLIMITS(RLIMIT_KEY)

#define KEY_ROW(field, key, ...) { key, rl_##field, false },
static const struct vj_key rlimit_keys[] = { VJ_RLIMITS(KEY_ROW) };
#undef KEY_ROW

static int jail_rlimits(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, rlimit_keys, VJ_ARRAY_SIZE(rlimit_keys), obj);
}

static const struct vj_key jail_keys[] = {
	{ "uid", jail_uid, false },
	{ "gid", jail_gid, false },
	{ "user_namespace", jail_user_namespace, false },
	{ "namespaces", jail_namespaces, false },
	{ "netns", jail_netns, false },
	{ "mount_proc", jail_mount_proc, false },
	{ "cgroup", jail_cgroup, false },
	{ "rlimits", jail_rlimits, false },
};

int vj_walk_jail(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, jail_keys, VJ_ARRAY_SIZE(jail_keys), obj);
}

__attribute__((format(printf, 4, 5)))
static int fail_key(struct vj_policy_walk *pw, const struct vj_ynode *n, const char *path,
		    const char *fmt, ...)
{
	const struct vj_ynode *at = n ? n : pw->jail ? pw->jail : pw->root;
	va_list ap;

	snprintf(pw->w.path, sizeof(pw->w.path), "%s", path);
	va_start(ap, fmt);
	vj_fail_key_at(pw->w.err, pw->w.name, at->line, at->col, pw->w.path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void ns_list(uint32_t mask, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < VJ_ARRAY_SIZE(vj_ns_names) && o < len; i++) {
		if (mask & (1u << i))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", vj_ns_names[i]);
	}
}

static int check_namespaces(struct vj_policy_walk *pw)
{
	struct vj_jail_policy *j = &pw->p->jail;
	const uint32_t required = pw->h->required_namespaces;
	char want[128], missing[128];

	if (pw->userns) {
		if (pw->namespaces && !(j->namespaces & VJ_NS_USER))
			return fail_key(pw, pw->userns, "jail.user_namespace",
					"needs \"user\" in jail.namespaces");
		j->namespaces |= VJ_NS_USER;
	} else if (j->namespaces & VJ_NS_USER) {
		if (!pw->namespaces)
			return fail_key(pw, NULL, "jail", "the host requires a user namespace: "
					"expected jail.user_namespace (the id map)");
		return fail_key(pw, pw->namespaces, "jail.namespaces",
				"\"user\" needs jail.user_namespace (the id map)");
	}
	if (required & ~j->namespaces) {
		ns_list(required, want, sizeof(want));
		ns_list(required & ~j->namespaces, missing, sizeof(missing));
		return fail_key(pw, pw->namespaces, "jail.namespaces",
				"expected the namespaces the host requires (%s), missing %s", want,
				missing);
	}
	if (j->netns[0] && !(j->namespaces & VJ_NS_NET))
		return fail_key(pw, pw->netns, "jail.netns", "needs \"net\" in jail.namespaces");
	/* The launcher would otherwise create the taps in its own network
	 * namespace, the host's. */
	if (pw->p->vm.nnets && !(j->namespaces & VJ_NS_NET))
		return fail_key(pw, pw->namespaces, "jail.namespaces",
				"vm.net needs \"net\": taps are created only in the sandbox's own "
				"network namespace");
	return 0;
}

static int check_userns_ids(struct vj_policy_walk *pw)
{
	const struct vj_jail_policy *j = &pw->p->jail;
	const uint32_t count = j->userns_count;

	if (!pw->uid || !pw->gid)
		return fail_key(pw, pw->userns, "jail.user_namespace",
				"with a user namespace, jail.uid and jail.gid (ids inside it) are "
				"required");
	if (j->uid >= count)
		return fail_key(pw, pw->uid, "jail.uid", "expected an id inside the user namespace "
				"(0..%u), found %u", count - 1, j->uid);
	if (j->gid >= count)
		return fail_key(pw, pw->gid, "jail.gid", "expected an id inside the user namespace "
				"(0..%u), found %u", count - 1, j->gid);
	return 0;
}

/*
 * Host ids are the launcher's: each sandbox gets its own, so that no
 * sandbox can run as another's uid (and reach its processes). A policy
 * names ids only inside a user namespace.
 */
static int check_ids(struct vj_policy_walk *pw)
{
	const struct vj_ynode *named = pw->uid ? pw->uid : pw->gid;

	if (pw->p->jail.namespaces & VJ_NS_USER)
		return check_userns_ids(pw);
	if (named)
		return fail_key(pw, named, pw->uid ? "jail.uid" : "jail.gid",
				"host ids are not a policy's to choose: the launcher gives each "
				"sandbox its own from the host's range; a policy names ids only "
				"inside jail.user_namespace");
	return 0;
}

/* cpus becomes a CFS quota per period; the kernel refuses quotas below
 * 1 ms. */
static int check_cpu_quota(struct vj_policy_walk *pw)
{
	struct vj_cgroup_limits *c = &pw->p->jail.cgroup;
	const uint64_t milli = pw->cg_cpus ? pw->cpus_milli : host_cpus_milli(pw->h);
	const uint64_t period_ms = c->cpu_period_us / 1000;
	char least[32], found[32];

	if (milli == VJ_UNLIMITED) {
		c->cpu_quota_us = VJ_UNLIMITED;
		return 0;
	}
	c->cpu_quota_us = milli * period_ms;
	if (c->cpu_quota_us >= 1000)
		return 0;
	vj_format_milli((1000 + period_ms - 1) / period_ms, least, sizeof(least));
	vj_format_milli(milli, found, sizeof(found));
	return fail_key(pw, pw->cg_cpus ? pw->cg_cpus : pw->cg_period, "jail.cgroup.cpus",
			"expected at least %s with a %llu us period (a quota of at least 1 ms), "
			"found %s", least, (unsigned long long)c->cpu_period_us, found);
}

int vj_jail_check(struct vj_policy_walk *pw)
{
	int r;

	if ((r = check_namespaces(pw)) < 0 || (r = check_ids(pw)) < 0)
		return r;
	return check_cpu_quota(pw);
}
