#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_parent.h"
#include "cleanup.h"
#include "log.h"
#include "parse.h"
#include "rundir.h"
#include "settings.h"

#define DEFAULT_CPU_PERIOD_US 100000u
#define RMDIR_WAIT_MS 10000 /* for a group whose processes are still exiting */

static const char *const ctl_names[VJ_CG_COUNT][2] = {
	[VJ_CG_CPU] = { "cpu", "cpu" },
	[VJ_CG_MEMORY] = { "memory", "memory" },
	[VJ_CG_PIDS] = { "pids", "pids" },
	[VJ_CG_CPUSET] = { "cpuset", "cpuset" },
	[VJ_CG_IO] = { "blkio", "io" },
};

const char *vj_cgroup_ctl_name(enum vj_cgroup_version v, enum vj_cgroup_ctl c)
{
	return ctl_names[c][v == VJ_CGROUP_V2];
}

/* ---- the plan: limits -> control files (pure) ------------------------ */

struct plan {
	const struct vj_cgroup_host *host;
	struct vj_cgroup_setting *out;
	size_t n;
	struct vj_err *e;
};

__attribute__((format(printf, 4, 5)))
static void plan_add(struct plan *p, enum vj_cgroup_ctl ctl, const char *file, const char *fmt,
		     ...)
{
	struct vj_cgroup_setting *s = &p->out[p->n++];
	va_list ap;

	s->ctl = ctl;
	s->file = file;
	va_start(ap, fmt);
	vsnprintf(s->value, sizeof(s->value), fmt, ap);
	va_end(ap);
}

/* The version of ctl, or an error naming the limit that needs it. */
static int plan_need(struct plan *p, enum vj_cgroup_ctl ctl, const char *limit,
		     enum vj_cgroup_version *v)
{
	*v = p->host->version[ctl];
	if (*v == VJ_CGROUP_NONE)
		return vj_fail(p->e, -EOPNOTSUPP, "%s: the host has no %s cgroup controller", limit,
			       ctl_names[ctl][0]);
	return 0;
}

static bool set(uint64_t v)
{
	return v != VJ_UNLIMITED;
}

static int plan_cpu(struct plan *p, const struct vj_cgroup_limits *lim)
{
	uint64_t period = set(lim->cpu_period_us) ? lim->cpu_period_us : DEFAULT_CPU_PERIOD_US;
	enum vj_cgroup_version v;
	int r;

	if (!set(lim->cpu_quota_us))
		return 0;
	if ((r = plan_need(p, VJ_CG_CPU, "cpu limit", &v)) < 0)
		return r;
	/* The kernel's bounds for both interfaces. */
	if (period < 1000 || period > 1000000)
		return vj_fail(p->e, -ERANGE, "cpu period: %" PRIu64 " us out of range 1000..1000000",
			       period);
	if (lim->cpu_quota_us < 1000)
		return vj_fail(p->e, -ERANGE, "cpu quota: %" PRIu64 " us is below 1000 us",
			       lim->cpu_quota_us);
	if (v == VJ_CGROUP_V2) {
		plan_add(p, VJ_CG_CPU, "cpu.max", "%" PRIu64 " %" PRIu64, lim->cpu_quota_us, period);
	} else {
		/* Period first: a quota is checked against the current period. */
		plan_add(p, VJ_CG_CPU, "cpu.cfs_period_us", "%" PRIu64, period);
		plan_add(p, VJ_CG_CPU, "cpu.cfs_quota_us", "%" PRIu64, lim->cpu_quota_us);
	}
	return 0;
}

static int plan_memory(struct plan *p, const struct vj_cgroup_limits *lim)
{
	enum vj_cgroup_version v;
	int r;

	if (set(lim->memory_max)) {
		if ((r = plan_need(p, VJ_CG_MEMORY, "memory limit", &v)) < 0)
			return r;
		plan_add(p, VJ_CG_MEMORY, v == VJ_CGROUP_V2 ? "memory.max" : "memory.limit_in_bytes",
			 "%" PRIu64, lim->memory_max);
	}
	if (!set(lim->memory_swap_max))
		return 0;
	if ((r = plan_need(p, VJ_CG_MEMORY, "swap limit", &v)) < 0)
		return r;
	if (v == VJ_CGROUP_V2) {
		plan_add(p, VJ_CG_MEMORY, "memory.swap.max", "%" PRIu64, lim->memory_swap_max);
		return 0;
	}
	/* v1 limits memory plus swap together, after the memory limit. */
	if (!p->host->memory_swap)
		return vj_fail(p->e, -EOPNOTSUPP,
			       "swap limit: the host's memory cgroup has no swap accounting "
			       "(memory.memsw.limit_in_bytes; boot with swapaccount=1)");
	if (!set(lim->memory_max))
		return vj_fail(p->e, -EINVAL, "swap limit: cgroup v1 needs a memory limit as well");
	if (lim->memory_swap_max > UINT64_MAX - lim->memory_max)
		return vj_fail(p->e, -ERANGE, "swap limit: memory + swap overflows");
	plan_add(p, VJ_CG_MEMORY, "memory.memsw.limit_in_bytes", "%" PRIu64,
		 lim->memory_max + lim->memory_swap_max);
	return 0;
}

/* "0-3,5": the kernel parses it again, but a clear message beats EINVAL. */
static bool cpu_list_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == ',' || *s == '-'))
			return false;
	return true;
}

static int plan_cpuset(struct plan *p, const struct vj_cgroup_limits *lim)
{
	enum vj_cgroup_version v;
	int r;

	if (!lim->cpuset_cpus[0] && !lim->cpuset_mems[0])
		return 0;
	if ((r = plan_need(p, VJ_CG_CPUSET, "cpuset", &v)) < 0)
		return r;
	if (lim->cpuset_mems[0]) {
		if (!cpu_list_valid(lim->cpuset_mems))
			return vj_fail(p->e, -EINVAL, "cpuset mems \"%s\": not a list like 0-1,3",
				       lim->cpuset_mems);
		plan_add(p, VJ_CG_CPUSET, "cpuset.mems", "%s", lim->cpuset_mems);
	}
	if (lim->cpuset_cpus[0]) {
		if (!cpu_list_valid(lim->cpuset_cpus))
			return vj_fail(p->e, -EINVAL, "cpuset cpus \"%s\": not a list like 0-1,3",
				       lim->cpuset_cpus);
		plan_add(p, VJ_CG_CPUSET, "cpuset.cpus", "%s", lim->cpuset_cpus);
	}
	return 0;
}

/* A v2 weight (1..VJ_WEIGHT_MAX) on ctl's hierarchy: its version, or an
 * error naming the limit. */
static int plan_weight(struct plan *p, enum vj_cgroup_ctl ctl, const char *limit, uint64_t w,
		       enum vj_cgroup_version *v)
{
	int r = plan_need(p, ctl, limit, v);

	if (r < 0)
		return r;
	if (w < 1 || w > VJ_WEIGHT_MAX)
		return vj_fail(p->e, -ERANGE, "%s: %" PRIu64 " out of range 1..%u", limit, w,
			       VJ_WEIGHT_MAX);
	return 0;
}

static int plan_cpu_weight(struct plan *p, const struct vj_cgroup_limits *lim)
{
	enum vj_cgroup_version v;
	uint64_t shares;
	int r;

	if (!set(lim->cpu_weight))
		return 0;
	if ((r = plan_weight(p, VJ_CG_CPU, "cpu weight", lim->cpu_weight, &v)) < 0)
		return r;
	if (v == VJ_CGROUP_V2) {
		plan_add(p, VJ_CG_CPU, "cpu.weight", "%" PRIu64, lim->cpu_weight);
		return 0;
	}
	/* v1 shares default to 1024 where v2 weights do to 100: the scaling
	 * the kernel's own cgroup v1/v2 conversion and systemd use. */
	shares = lim->cpu_weight * 1024 / 100;
	plan_add(p, VJ_CG_CPU, "cpu.shares", "%" PRIu64, shares < 2 ? 2 : shares);
	return 0;
}

static int plan_io(struct plan *p, const struct vj_cgroup_limits *lim)
{
	enum vj_cgroup_version v;
	uint64_t w;
	int r;

	if (!set(lim->io_weight))
		return 0;
	if ((r = plan_weight(p, VJ_CG_IO, "io weight", lim->io_weight, &v)) < 0)
		return r;
	if (v == VJ_CGROUP_V2) {
		plan_add(p, VJ_CG_IO, "io.weight", "default %" PRIu64, lim->io_weight);
		return 0;
	}
	/* v1 weights are 10..1000 with 500 the default where v2 has 100:
	 * the same scaling systemd uses. */
	w = lim->io_weight * 5;
	plan_add(p, VJ_CG_IO, "blkio.weight", "%" PRIu64, w < 10 ? 10 : w > 1000 ? 1000 : w);
	return 0;
}

int vj_cgroup_plan(const struct vj_cgroup_host *host, const struct vj_cgroup_limits *lim,
		   struct vj_cgroup_setting out[VJ_CGROUP_SETTINGS_MAX], size_t *n,
		   struct vj_err *e)
{
	struct plan p = { .host = host, .out = out, .n = 0, .e = e };
	int r;

	if ((r = plan_cpu(&p, lim)) < 0 || (r = plan_cpu_weight(&p, lim)) < 0 ||
	    (r = plan_memory(&p, lim)) < 0 || (r = plan_cpuset(&p, lim)) < 0 ||
	    (r = plan_io(&p, lim)) < 0)
		return r;
	if (set(lim->pids_max)) {
		enum vj_cgroup_version v;
		if ((r = plan_need(&p, VJ_CG_PIDS, "pids limit", &v)) < 0)
			return r;
		if (lim->pids_max < 1)
			return vj_fail(e, -ERANGE, "pids limit: must be at least 1");
		plan_add(&p, VJ_CG_PIDS, "pids.max", "%" PRIu64, lim->pids_max);
	}
	*n = p.n;
	return 0;
}

/* ---- the host ----------------------------------------------------------- */

int vj_cgroup_own_path(const char *proc_cgroup, enum vj_cgroup_version v, const char *ctl_name,
		       char *out, size_t outlen)
{
	size_t ctl_len = strlen(ctl_name);

	/* Lines are "ID:CONTROLLERS:PATH"; v2 is "0::PATH". */
	for (const char *line = proc_cgroup; line && *line;) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		bool match = false;

		if (c2 && v == VJ_CGROUP_V2) {
			match = c2 == c1 + 1;
		} else if (c2) {
			for (const char *t = c1 + 1; t < c2;) {
				const char *comma = memchr(t, ',', (size_t)(c2 - t));
				const char *tend = comma ? comma : c2;
				if ((size_t)(tend - t) == ctl_len && !memcmp(t, ctl_name, ctl_len))
					match = true;
				t = tend + 1;
			}
		}
		if (match) {
			size_t len = (size_t)(end - c2 - 1);
			if (len == 0 || c2[1] != '/' || len >= outlen)
				return -EINVAL;
			memcpy(out, c2 + 1, len);
			out[len] = '\0';
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

static int read_text(const char *path, char *buf, size_t len)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/*
 * The error when the host has none of the accounting controllers, saying
 * what its cgroup2 mount offers if there is one (on a host whose
 * controllers are all bound to v1 it is "hugetlb", or nothing). Read only
 * on this failure, not on every start.
 */
static int no_controllers(struct vj_err *e)
{
	cleanup_free char *mounts = malloc(65536);
	char path[VJ_PATH_MAX + 32], offers[128] = "";

	if (mounts && read_text("/proc/self/mounts", mounts, 65536) < 0)
		mounts[0] = '\0';
	for (char *save = NULL, *l = mounts ? strtok_r(mounts, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char dir[VJ_PATH_MAX], type[32];
		if (sscanf(l, "%*s %511s %31s", dir, type) != 2 || strcmp(type, "cgroup2"))
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
		if (read_text(path, offers, sizeof(offers)) == 0)
			offers[strcspn(offers, "\n")] = '\0';
		return vj_fail(e, -EOPNOTSUPP,
			       "cgroups: none of the cpu, memory, pids controllers is available "
			       "(cgroup2 at %s offers \"%s\")",
			       dir, offers);
	}
	return vj_fail(e, -EOPNOTSUPP,
		       "cgroups: none of the cpu, memory, pids controllers is mounted");
}

/* Whether the list, separated by any of seps, has word. */
static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, seps);
		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
		p += strspn(p, seps);
	}
	return false;
}

/* A mountinfo path field in place, its octal escapes (\040 for a space)
 * undone. */
static void unescape(char *f)
{
	char *o = f;

	for (char *p = f; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/*
 * One mountinfo line ("ID PARENT MAJ:MIN ROOT DIR OPTS [OPTIONAL...] -
 * TYPE SOURCE SUPEROPTS"), split in place: its mount directory, file
 * system type and super options. False for a line that is not one.
 */
static bool split_mount(char *line, char **dir, char **type, char **opts)
{
	char *sep = strstr(line, " - "), *save = NULL, *f;
	int i = 0;

	if (!sep)
		return false;
	*sep = '\0';
	for (f = strtok_r(line, " ", &save); f && i < 4; f = strtok_r(NULL, " ", &save))
		i++;
	if (!f)
		return false;
	*dir = f;
	save = NULL;
	*type = strtok_r(sep + 3, " ", &save);
	if (!*type || !strtok_r(NULL, " ", &save) || !(*opts = strtok_r(NULL, " ", &save)))
		return false;
	unescape(*dir);
	return true;
}

int vj_cgroup_find_mount(const char *mountinfo, const char *ctl_name,
			 bool (*v2_offers)(const char *mount, const char *ctl_name, void *ctx),
			 void *ctx, char *out, size_t outlen, enum vj_cgroup_version *v)
{
	/* v1 first: a controller bound to a v1 hierarchy is in no cgroup2
	 * mount's cgroup.controllers, and one that is not can be mounted
	 * only by cgroup2. */
	for (int pass = VJ_CGROUP_V1; pass <= VJ_CGROUP_V2; pass++) {
		for (const char *p = mountinfo; p && *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char line[4096], *dir, *type, *opts;

			if (len >= sizeof(line)) {
				p = nl ? nl + 1 : NULL;
				continue;
			}
			memcpy(line, p, len);
			line[len] = '\0';
			p = nl ? nl + 1 : NULL;
			if (!split_mount(line, &dir, &type, &opts))
				continue;
			if (pass == VJ_CGROUP_V1 ? strcmp(type, "cgroup") || !has_word(opts, ctl_name, ",")
						 : strcmp(type, "cgroup2") || !v2_offers(dir, ctl_name, ctx))
				continue;
			if (vj_strlcpy_checked(out, dir, outlen) < 0)
				return -ENAMETOOLONG;
			*v = (enum vj_cgroup_version)pass;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The root of a cgroup2 mount offers ctl_name (its cgroup.controllers).
 * Read once per mount and kept, like the mount table: what the root
 * offers changes only when a v1 hierarchy is mounted or unmounted.
 */
static bool root_offers(const char *mount, const char *ctl_name, void *ctx)
{
	static char seen[VJ_PATH_MAX], text[512];
	char path[VJ_PATH_MAX + 32];
	cleanup_fd int fd = -1;
	ssize_t n;

	(void)ctx;
	if (strcmp(seen, mount)) {
		text[0] = '\0';
		snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
		    (n = read(fd, text, sizeof(text) - 1)) < 0)
			return false;
		text[n] = '\0';
		if (vj_strlcpy_checked(seen, mount, sizeof(seen)) < 0)
			seen[0] = '\0';
	}
	return has_word(text, ctl_name, " \n");
}

/*
 * This process's mount table, read once: the removal at its end looks in
 * the hierarchies its groups were made in. NULL when it cannot be read.
 */
static const char *mountinfo(void)
{
	static char *text;
	size_t cap = 65536, n = 0;
	cleanup_fd int fd = -1;
	ssize_t r;

	if (text)
		return text;
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0 || !(text = malloc(cap)))
		return NULL;
	while ((r = read(fd, text + n, cap - n - 1)) > 0) {
		char *bigger;
		n += (size_t)r;
		if (n + 1 < cap)
			continue;
		if (cap >= (64u << 20) || !(bigger = realloc(text, cap * 2)))
			break;
		text = bigger;
		cap *= 2;
	}
	if (r < 0) {
		free(text);
		text = NULL;
		return NULL;
	}
	text[n] = '\0';
	return text;
}

/*
 * Where ctl_name is mounted. Found here rather than through libcgroup,
 * which vmjail used before: its set-up alone (cgroup_init()) zeroed about
 * a MiB of tables, some 220 page faults per launch, more than making the
 * sandbox's groups.
 */
static int mount_of(const char *ctl_name, char *out, size_t len, enum vj_cgroup_version *v)
{
	const char *mi = mountinfo();

	if (!mi)
		return -EIO;
	return vj_cgroup_find_mount(mi, ctl_name, root_offers, NULL, out, len, v);
}

int vj_cgroup_host_probe(struct vj_cgroup_host *host, struct vj_err *e)
{
	char self[4096];
	int r;

	memset(host, 0, sizeof(*host));
	if (!mountinfo())
		return vj_fail_errno(e, -errno, "read /proc/self/mountinfo");
	if (!strstr(mountinfo(), " - cgroup ") && !strstr(mountinfo(), " - cgroup2 "))
		return vj_fail(e, -ENOENT, "cgroups: no cgroup hierarchy is mounted");
	if ((r = read_text("/proc/self/cgroup", self, sizeof(self))) < 0)
		return vj_fail_errno(e, r, "read /proc/self/cgroup");
	for (int c = 0; c < VJ_CG_COUNT; c++) {
		for (int v = VJ_CGROUP_V1; v <= VJ_CGROUP_V2; v++) {
			const char *name = vj_cgroup_ctl_name((enum vj_cgroup_version)v,
							      (enum vj_cgroup_ctl)c);
			char mp[VJ_PATH_MAX];
			enum vj_cgroup_version found;

			if (mount_of(name, mp, sizeof(mp), &found) < 0 || (int)found != v)
				continue;
			if (vj_strlcpy_checked(host->mount[c], mp, sizeof(host->mount[c])) < 0 ||
			    vj_cgroup_own_path(self, found, name, host->own[c],
					       sizeof(host->own[c])) < 0)
				return vj_fail(e, -EINVAL, "cgroups: cannot tell where %s is (%s)", name,
					       mp);
			host->version[c] = found;
			break;
		}
	}
	if (host->version[VJ_CG_MEMORY] == VJ_CGROUP_V1) {
		char probe[VJ_PATH_MAX + 64];
		snprintf(probe, sizeof(probe), "%s/memory.memsw.limit_in_bytes",
			 host->mount[VJ_CG_MEMORY]);
		host->memory_swap = access(probe, F_OK) == 0;
	}
	return 0;
}

/* ---- one sandbox's groups ------------------------------------------------ */

/* <own>/<parent>/<id> or <parent>/<id>, without the leading '/'. */
static int group_name(const struct vj_cgroup_host *host, enum vj_cgroup_ctl c,
		      const char *parent, const char *id, char *out, size_t len)
{
	const char *base = parent[0] == '/' ? "" : host->own[c];
	int n;

	while (*base == '/')
		base++;
	while (*parent == '/')
		parent++;
	n = snprintf(out, len, "%s%s%s%s%s", base, *base ? "/" : "", parent, *parent ? "/" : "", id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ctl_list(const struct vj_cgroup_host *host, unsigned ctls, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int c = 0; c < VJ_CG_COUNT; c++) {
		int n;
		if (!(ctls & (1u << c)))
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? "," : "",
			     vj_cgroup_ctl_name(host->version[c], (enum vj_cgroup_ctl)c));
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	return 0;
}

/* A control file of the group, written directly (either version): one
 * write(), whose error is the kernel's verdict on the value. */
static int write_file(const char *mount, const char *name, const char *file, const char *value,
		      struct vj_err *e)
{
	char path[3 * VJ_PATH_MAX];
	cleanup_fd int fd = -1;
	size_t len = strlen(value);

	snprintf(path, sizeof(path), "%s/%s/%s", mount, name, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, value, len) != (ssize_t)len)
		return vj_fail_errno(e, -errno, "cgroup %s/%s = %s", name, file, value);
	return 0;
}

static int write_value(const struct vj_cgroup_host *host, enum vj_cgroup_ctl which,
		       const char *name, const char *file, const char *value, struct vj_err *e)
{
	return write_file(host->mount[which], name, file, value, e);
}

/* Which controllers the sandbox joins: the accounting ones whenever the
 * host has them, the others only to enforce a limit. */
static unsigned joined_ctls(const struct vj_cgroup_host *host, const struct vj_cgroup_limits *lim)
{
	unsigned ctls = 0;

	for (int c = VJ_CG_CPU; c <= VJ_CG_PIDS; c++)
		if (host->version[c] != VJ_CGROUP_NONE)
			ctls |= 1u << c;
	if (lim->cpuset_cpus[0] || lim->cpuset_mems[0])
		ctls |= 1u << VJ_CG_CPUSET;
	if (lim->io_weight != VJ_UNLIMITED)
		ctls |= 1u << VJ_CG_IO;
	return ctls;
}

static int group_of(const struct vj_cgroup *cg, enum vj_cgroup_ctl c)
{
	for (unsigned i = 0; i < cg->ngroups; i++)
		if (cg->groups[i].ctls & (1u << c))
			return (int)i;
	return -1;
}

/* Groups the joined controllers by path, one group per path. */
static int layout_groups(struct vj_cgroup *cg, unsigned ctls, const char *parent, const char *id,
			 struct vj_err *e)
{
	for (int c = 0; c < VJ_CG_COUNT; c++) {
		char name[VJ_PATH_MAX];
		unsigned i;

		if (!(ctls & (1u << c)))
			continue;
		if (group_name(cg->host, (enum vj_cgroup_ctl)c, parent, id, name, sizeof(name)) < 0)
			return vj_fail(e, -ENAMETOOLONG, "cgroup parent \"%s\": path too long", parent);
		for (i = 0; i < cg->ngroups; i++)
			if (!strcmp(cg->groups[i].name, name))
				break;
		if (i == cg->ngroups) {
			strcpy(cg->groups[i].name, name);
			cg->groups[i].ctls = 0;
			cg->ngroups++;
		}
		cg->groups[i].ctls |= 1u << c;
	}
	return 0;
}

/* How much of a group's name is the launcher's own cgroup, which exists
 * and is never vmjail's to create. */
static size_t own_part(const struct vj_cgroup_host *host, enum vj_cgroup_ctl c, const char *parent)
{
	const char *own = host->own[c];

	if (parent[0] == '/')
		return 0;
	while (*own == '/')
		own++;
	return strlen(own);
}

/* The controllers of ctls that live in the same hierarchy as the first. */
static unsigned same_mount(const struct vj_cgroup_host *host, unsigned ctls)
{
	const char *mount = host->mount[__builtin_ctz(ctls)];
	unsigned out = 0;

	for (int c = 0; c < VJ_CG_COUNT; c++)
		if ((ctls & (1u << c)) && !strcmp(host->mount[c], mount))
			out |= 1u << c;
	return out;
}

/* Group name in the hierarchy of ctls (all in one), through its parent. */
static int make_group_dir(const struct vj_cgroup_host *host, unsigned ctls, const char *name,
			  size_t keep, int run_dir_fd, int *lock, struct vj_err *e)
{
	enum vj_cgroup_ctl first = (enum vj_cgroup_ctl)__builtin_ctz(ctls);
	char parent[VJ_PATH_MAX], enable[128] = "";
	struct vj_cgroup_way w = {
		.mount = host->mount[first],
		.parent = parent,
		.keep = keep,
		.version = host->version[first],
		.enable = enable,
		.cpuset = host->version[first] == VJ_CGROUP_V1 && (ctls & (1u << VJ_CG_CPUSET)),
		.lock = lock,
	};
	const char *slash = strrchr(name, '/');

	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - name) : 0, name);
	for (int c = 0; w.version == VJ_CGROUP_V2 && c < VJ_CG_COUNT; c++) {
		size_t used = strlen(enable);
		if (ctls & (1u << c))
			snprintf(enable + used, sizeof(enable) - used, "%s%s", used ? " " : "",
				 vj_cgroup_ctl_name(w.version, (enum vj_cgroup_ctl)c));
	}
	return vj_cgroup_group_create(&w, name, run_dir_fd, e);
}

/*
 * Group i found in mount, where vmjail was to make it: someone else's.
 * What vmjail made of it in other hierarchies (done) goes, and its record
 * is withdrawn, so that no exit path removes their group and kills what
 * runs in it.
 */
static int group_not_ours(const struct vj_cgroup *cg, unsigned i, unsigned done, const char *mount,
			  const char *record, struct vj_rundir *rd, struct vj_err *e)
{
	const char *name = cg->groups[i].name;
	int r;

	while (done) {
		unsigned these = same_mount(cg->host, done);
		char path[2 * VJ_PATH_MAX + 2];

		snprintf(path, sizeof(path), "%s/%s", cg->host->mount[__builtin_ctz(these)], name);
		if (rmdir(path) < 0)
			return vj_fail_errno(e, -errno,
					     "cgroup %s/%s already exists, not made by vmjail; remove %s",
					     mount, name, path);
		done &= ~these;
	}
	if ((r = vj_rundir_withdraw(rd, "cgroup", record)) < 0)
		return vj_fail_errno(e, r,
				     "cgroup %s/%s already exists, not made by vmjail; withdraw its "
				     "record in %s",
				     mount, name, rd->path);
	return vj_fail(e, -EEXIST, "cgroup %s/%s already exists, not made by vmjail", mount, name);
}

/*
 * Group i in each of its hierarchies. Recorded first (the parent, for its
 * removal once empty, then the group), created with mkdir(), which fails
 * on a group that exists: vmjail must know what it made.
 */
static int create_group(struct vj_cgroup *cg, unsigned i, const char *parent, struct vj_rundir *rd,
			int *lock, struct vj_err *e)
{
	const struct vj_cgroup_host *host = cg->host;
	const char *name = cg->groups[i].name, *slash = strrchr(name, '/');
	enum vj_cgroup_ctl first = (enum vj_cgroup_ctl)__builtin_ctz(cg->groups[i].ctls);
	size_t keep = own_part(host, first, parent);
	char ctls[128], record[VJ_PATH_MAX + 160];
	unsigned done = 0;
	int r;

	if (ctl_list(host, cg->groups[i].ctls, ctls, sizeof(ctls)) < 0)
		return vj_fail(e, -ENAMETOOLONG, "cgroup %s: too many controllers", name);
	if (slash) {
		snprintf(record, sizeof(record), "%s %.*s", ctls, (int)(slash - name), name);
		if ((r = vj_rundir_record(rd, "cgroup-parent", record)) < 0)
			return vj_fail_errno(e, r, "record cgroup %.*s in %s", (int)(slash - name),
					     name, rd->path);
	}
	snprintf(record, sizeof(record), "%s %s", ctls, name);
	if ((r = vj_rundir_record(rd, "cgroup", record)) < 0)
		return vj_fail_errno(e, r, "record cgroup %s in %s", name, rd->path);
	while (done != cg->groups[i].ctls) {
		unsigned these = same_mount(host, cg->groups[i].ctls & ~done);
		const char *mount = host->mount[__builtin_ctz(these)];

		r = make_group_dir(host, these, name, keep, rd->basefd, lock, e);
		if (r == -EEXIST)
			return group_not_ours(cg, i, done, mount, record, rd, e);
		if (r < 0)
			return r;
		done |= these;
	}
	return 0;
}

int vj_cgroup_create(struct vj_cgroup *cg, const struct vj_cgroup_host *host, const char *parent,
		     const char *id, const struct vj_cgroup_limits *lim, struct vj_rundir *rd,
		     struct vj_err *e)
{
	struct vj_cgroup_setting settings[VJ_CGROUP_SETTINGS_MAX];
	unsigned ctls = joined_ctls(host, lim);
	/* the parents' lock, once one hierarchy needed it: held for the
	 * others, released before the limits are written */
	cleanup_fd int lock = -1;
	size_t n;
	int r;

	memset(cg, 0, sizeof(*cg));
	cg->host = host;
	if ((r = vj_cgroup_plan(host, lim, settings, &n, e)) < 0)
		return r;
	if (!ctls)
		return no_controllers(e);
	if ((r = layout_groups(cg, ctls, parent, id, e)) < 0)
		return r;
	for (unsigned i = 0; i < cg->ngroups; i++)
		if ((r = create_group(cg, i, parent, rd, &lock, e)) < 0)
			return r;
	vj_closep(&lock);
	lock = -1;
	for (size_t i = 0; i < n; i++) {
		const struct vj_cgroup_setting *s = &settings[i];
		const char *name = cg->groups[group_of(cg, s->ctl)].name;
		char path[2 * VJ_PATH_MAX + 64];

		/* An I/O weight needs a weight-based I/O scheduler (BFQ, or
		 * CFQ on old kernels); without one it is a best effort. */
		snprintf(path, sizeof(path), "%s/%s/%s", host->mount[s->ctl], name, s->file);
		if (s->ctl == VJ_CG_IO && access(path, F_OK) < 0) {
			vj_warn("io weight: not available on this host (no %s); not applied", s->file);
			continue;
		}
		if ((r = write_value(host, s->ctl, name, s->file, s->value, e)) < 0)
			return r;
	}
	return 0;
}

static unsigned ctls_of_version(const struct vj_cgroup_host *host, unsigned ctls,
				enum vj_cgroup_version v)
{
	unsigned out = 0;

	for (int c = 0; c < VJ_CG_COUNT; c++)
		if ((ctls & (1u << c)) && host->version[c] == v)
			out |= 1u << c;
	return out;
}

int vj_cgroup_open_v2(const struct vj_cgroup *cg, char *path, size_t len, int *fd,
		      struct vj_err *e)
{
	*fd = -1;
	for (unsigned i = 0; i < cg->ngroups; i++) {
		unsigned v2 = ctls_of_version(cg->host, cg->groups[i].ctls, VJ_CGROUP_V2);
		int n;

		if (!v2)
			continue;
		n = snprintf(path, len, "%s/%s", cg->host->mount[__builtin_ctz(v2)],
			     cg->groups[i].name);
		if (n < 0 || (size_t)n >= len)
			return vj_fail(e, -ENAMETOOLONG, "cgroup %s: path too long", cg->groups[i].name);
		/* O_PATH is enough: clone3() only needs to know the directory.
		 * A failure here is an error, never "no v2 group": the child
		 * would run outside its limits. */
		*fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return *fd < 0 ? vj_fail_errno(e, -errno, "open cgroup %s", path) : 0;
	}
	return 0;
}

int vj_cgroup_memory_usage(const struct vj_cgroup *cg, uint64_t *bytes)
{
	const struct vj_cgroup_host *h = cg->host;

	for (unsigned i = 0; h && i < cg->ngroups; i++) {
		enum vj_cgroup_version v = h->version[VJ_CG_MEMORY];
		char path[3 * VJ_PATH_MAX], buf[32];
		ssize_t n;
		int fd;

		if (!(cg->groups[i].ctls & (1u << VJ_CG_MEMORY)))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", h->mount[VJ_CG_MEMORY], cg->groups[i].name,
			 v == VJ_CGROUP_V2 ? "memory.current" : "memory.usage_in_bytes");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -EIO;
		buf[n] = '\0';
		*bytes = strtoull(buf, NULL, 10);
		return 0;
	}
	return -ENOENT;
}

int vj_cgroup_attach_v1(const struct vj_cgroup *cg, pid_t pid, struct vj_err *e)
{
	char value[16];
	int len = snprintf(value, sizeof(value), "%d", (int)pid);

	for (unsigned i = 0; i < cg->ngroups; i++) {
		unsigned v1 = ctls_of_version(cg->host, cg->groups[i].ctls, VJ_CGROUP_V1);

		/* Each hierarchy once: controllers mounted together share it. */
		while (v1) {
			unsigned these = same_mount(cg->host, v1);
			char path[3 * VJ_PATH_MAX];
			cleanup_fd int fd = -1;

			snprintf(path, sizeof(path), "%s/%s/cgroup.procs",
				 cg->host->mount[__builtin_ctz(these)], cg->groups[i].name);
			if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 ||
			    write(fd, value, (size_t)len) != len)
				return vj_fail_errno(e, -errno, "move pid %d into cgroup %s", (int)pid,
						     path);
			v1 &= ~these;
		}
	}
	return 0;
}

bool vj_cgroup_has_v1(const struct vj_cgroup *cg)
{
	for (unsigned i = 0; i < cg->ngroups; i++)
		if (ctls_of_version(cg->host, cg->groups[i].ctls, VJ_CGROUP_V1))
			return true;
	return false;
}

/* ---- removal (every exit path, and `vmjail cleanup`) ------------------ */

/* True when /proc/<pid>/cgroup still puts pid in name for ctl: checked
 * through a pidfd, so that a recycled pid is never signalled. */
static bool still_member(pid_t pid, const char *ctl, const char *name)
{
	char path[VJ_PATH_MAX + 32], text[4096], own[VJ_PATH_MAX], mp[VJ_PATH_MAX];
	enum vj_cgroup_version v;

	if (mount_of(ctl, mp, sizeof(mp), &v) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_text(path, text, sizeof(text)) < 0 ||
	    vj_cgroup_own_path(text, v, ctl, own, sizeof(own)) < 0)
		return false;
	return !strcmp(own + 1, name);
}

/* SIGKILLs whatever is still in the group; returns how many were left. */
static int kill_members(const char *name, const char *ctl)
{
	char mp[VJ_PATH_MAX], path[2 * VJ_PATH_MAX + 16], line[32];
	enum vj_cgroup_version v;
	FILE *f;
	int n = 0;

	if (mount_of(ctl, mp, sizeof(mp), &v) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", mp, name);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		pid_t pid = (pid_t)strtol(line, NULL, 10);
		cleanup_fd int pidfd = pid > 0 ? pidfd_open(pid, 0) : -1;
		n++;
		if (pidfd >= 0 && still_member(pid, ctl, name))
			pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	}
	fclose(f);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Whether the group's directory still exists in any of its hierarchies
 * (once rmdir_group() has said none was busy: checked, not assumed). */
static bool group_exists(const char *ctls, const char *name)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", ctls);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char path[2 * VJ_PATH_MAX], mp[VJ_PATH_MAX];
		enum vj_cgroup_version v;
		if (mount_of(t, mp, sizeof(mp), &v) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", mp, name);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/*
 * rmdir() of the group in each hierarchy of ctls: 0 when each is gone or
 * was never there, 1 when one still has processes (EBUSY), else -errno
 * with the hierarchy named in e.
 */
static int rmdir_group(const char *ctls, const char *name, struct vj_err *e)
{
	char buf[128], *save = NULL;
	int busy = 0;

	snprintf(buf, sizeof(buf), "%s", ctls);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char path[2 * VJ_PATH_MAX], mp[VJ_PATH_MAX];
		enum vj_cgroup_version v;
		if (mount_of(t, mp, sizeof(mp), &v) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", mp, name);
		if (rmdir(path) == 0 || errno == ENOENT)
			continue;
		if (errno == EBUSY) {
			busy = 1;
			continue;
		}
		return vj_fail_errno(e, -errno, "remove cgroup %s (%s)", name, ctls);
	}
	return busy;
}

static int remove_group(const char *ctls, const char *name, struct vj_err *e)
{
	char first[32];
	int r = 0;

	snprintf(first, sizeof(first), "%.*s", (int)strcspn(ctls, ","), ctls);
	for (int waited = 0;; waited += 10) {
		int left = kill_members(name, first);
		if ((r = rmdir_group(ctls, name, e)) < 0)
			break;
		r = 0;
		if (!group_exists(ctls, name))
			break;
		/* A killed process leaves its group once it is reaped; one
		 * whose launcher died waits for init to reap it. */
		if (waited >= RMDIR_WAIT_MS) {
			r = vj_fail(e, -EBUSY, "remove cgroup %s (%s): still busy after %d ms (%d %s)",
				    name, ctls, RMDIR_WAIT_MS, left,
				    left == 1 ? "process" : "processes");
			break;
		}
		sleep_ms(10);
	}
	return r;
}

/* Each hierarchy of ctls once (v2 controllers share one). */
static int remove_parent(const char *ctls, const char *name, int run_dir_fd, struct vj_err *e)
{
	char buf[128], mounts[VJ_CG_COUNT][VJ_PATH_MAX], *save = NULL;
	unsigned n = 0;
	int first = 0;

	snprintf(buf, sizeof(buf), "%s", ctls);
	for (char *t = strtok_r(buf, ",", &save); t && n < VJ_CG_COUNT;
	     t = strtok_r(NULL, ",", &save)) {
		char mp[VJ_PATH_MAX];
		enum vj_cgroup_version v;
		struct vj_err one;
		unsigned j;
		int r;

		if (mount_of(t, mp, sizeof(mp), &v) < 0)
			continue;
		for (j = 0; j < n && strcmp(mounts[j], mp); j++)
			;
		if (j < n || vj_strlcpy_checked(mounts[n++], mp, sizeof(mounts[0])) < 0)
			continue;
		r = vj_cgroup_parent_release(mp, name, run_dir_fd, &one);
		if (r < 0 && !first) {
			first = r;
			*e = one;
		}
	}
	return first;
}

int vj_cgroup_remove_recorded(const char *kind, const char *value, int run_dir_fd,
			      struct vj_err *e)
{
	char ctls[128];
	const char *sp = strchr(value, ' ');

	if (!sp || (size_t)(sp - value) >= sizeof(ctls) || !sp[1])
		return vj_fail(e, -EINVAL, "state record \"%s %s\": malformed", kind, value);
	memcpy(ctls, value, (size_t)(sp - value));
	ctls[sp - value] = '\0';
	if (!strcmp(kind, "cgroup"))
		return remove_group(ctls, sp + 1, e);
	return remove_parent(ctls, sp + 1, run_dir_fd, e);
}
