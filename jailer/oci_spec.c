#include "oci_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy_load.h"
#include "roots.h"
#include "scalar.h"

#define CFG "config.json"
#define MOUNTS_MAX 256
#define HOOKS_MAX 64

int vj_oci_canonical(const char *path, char out[VJ_PATH_MAX])
{
	cleanup_free char *full = realpath(path, NULL);

	if (!full)
		return -errno;
	if (strlen(full) >= VJ_PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(out, full);
	return 0;
}

/* "config.json: PATH: reason", the one line every refusal gives. */
__attribute__((format(printf, 3, 4))) static int bad(struct vj_err *e, const char *path,
						     const char *fmt, ...)
{
	char why[VJ_ERR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return vj_fail(e, -EINVAL, CFG ": %s: %s", path, why);
}

static void ignore(struct vj_oci_spec *s, const char *path)
{
	for (unsigned i = 0; i < s->nignored; i++)
		if (!strcmp(s->ignored[i], path))
			return;
	if (s->nignored < VJ_OCI_IGNORED_MAX)
		s->ignored[s->nignored++] = path;
}

/* Members present and not null: config.json writers often emit nulls. */
static const struct vj_json *member(const struct vj_json *obj, const char *key)
{
	const struct vj_json *v = vj_json_get(obj, key);

	return v && v->type != VJ_JSON_NULL ? v : NULL;
}

static int want_object(const struct vj_json *v, const char *path, struct vj_err *e)
{
	return v->type == VJ_JSON_OBJECT ? 0 : bad(e, path, "expected an object");
}

static int text(const struct vj_json *v, const char *path, char *out, size_t cap,
		struct vj_err *e)
{
	if (v->type != VJ_JSON_STRING)
		return bad(e, path, "expected a string");
	if (v->len >= cap)
		return bad(e, path, "expected at most %zu bytes, found %zu", cap - 1, v->len);
	memcpy(out, v->text, v->len + 1);
	return 0;
}

/* A signed JSON integer: limits are int64 in the spec, -1 or 0 meaning
 * "none" for most of them. */
static int integer(const struct vj_json *v, const char *path, int64_t *out, struct vj_err *e)
{
	if (vj_json_i64(v, out) < 0)
		return bad(e, path, "expected an integer");
	return 0;
}

static int u32_field(const struct vj_json *obj, const char *key, const char *path,
		     uint32_t *out, struct vj_err *e)
{
	const struct vj_json *v = member(obj, key);
	uint64_t x;

	if (!v)
		return bad(e, path, "is required");
	if (vj_json_u64(v, UINT32_MAX, &x) < 0)
		return bad(e, path, "expected an integer from 0 to %u", UINT32_MAX);
	*out = (uint32_t)x;
	return 0;
}

static int string_array(const struct vj_json *v, const char *path, unsigned max,
			const char **out, unsigned *n, struct vj_err *e)
{
	unsigned i = 0;

	if (v->type != VJ_JSON_ARRAY)
		return bad(e, path, "expected an array of strings");
	if (v->count > max)
		return bad(e, path, "expected at most %u entries, found %zu", max, v->count);
	for (const struct vj_json *c = v->child; c; c = c->next, i++) {
		if (c->type != VJ_JSON_STRING)
			return vj_fail(e, -EINVAL, CFG ": %s[%u]: expected a string", path, i);
		out[i] = c->text;
	}
	*n = i;
	return 0;
}

/* ---- process ------------------------------------------------------------- */

static int parse_env(struct vj_oci_spec *s, const struct vj_json *v, struct vj_err *e)
{
	int r = string_array(v, "process.env", VJ_MAX_ENV, s->env, &s->envc, e);

	for (unsigned i = 0; r == 0 && i < s->envc; i++) {
		const char *eq = strchr(s->env[i], '=');
		if (!eq || !vj_name_is_env(s->env[i], (size_t)(eq - s->env[i])))
			return vj_fail(e, -EINVAL,
				       CFG ": process.env[%u]: expected NAME=VALUE with NAME of "
				       "[A-Za-z_][A-Za-z0-9_]*", i);
	}
	return r;
}

/* The agent runs the workload as these ids inside the guest, where they
 * name no host user at all. Supplementary groups the agent cannot set. */
static int parse_user(struct vj_oci_spec *s, const struct vj_json *u, struct vj_err *e)
{
	const struct vj_json *v;
	int r;

	if ((r = want_object(u, "process.user", e)) < 0 ||
	    (r = u32_field(u, "uid", "process.user.uid", &s->uid, e)) < 0 ||
	    (r = u32_field(u, "gid", "process.user.gid", &s->gid, e)) < 0)
		return r;
	/* Orchestrators list the primary group there too (containerd's CRI
	 * does): that one the workload has anyway. */
	v = member(u, "additionalGids");
	if (v && v->type != VJ_JSON_ARRAY)
		return bad(e, "process.user.additionalGids", "expected an array of group ids");
	for (const struct vj_json *g = v ? v->child : NULL; g; g = g->next) {
		uint64_t gid;
		if (vj_json_u64(g, UINT32_MAX, &gid) < 0 || gid != s->gid)
			return bad(e, "process.user.additionalGids",
				   "supplementary groups are not supported yet (found %s)",
				   g->type == VJ_JSON_NUMBER ? g->text : "a non-number");
	}
	if (member(u, "umask"))
		ignore(s, "process.user.umask");
	return 0;
}

static int workload_bytes(const struct vj_oci_spec *s, struct vj_err *e)
{
	size_t bytes = 0;

	for (unsigned i = 0; i < s->argc; i++)
		bytes += strlen(s->argv[i]) + 1;
	for (unsigned i = 0; i < s->envc; i++)
		bytes += strlen(s->env[i]) + 1;
	if (bytes > VJ_WORKLOAD_BYTES_MAX)
		return bad(e, "process", "expected at most %d bytes of args and env in all, found %zu",
			   VJ_WORKLOAD_BYTES_MAX, bytes);
	return 0;
}

/* Inside the guest: the guest kernel and its agent enforce these for the
 * workload, and none of them can weaken the VM or the jail around it. */
static const char *const process_ignored[] = {
	"process.capabilities", "process.rlimits",	 "process.noNewPrivileges",
	"process.apparmorProfile", "process.selinuxLabel", "process.oomScoreAdj",
	"process.consoleSize",	"process.ioPriority",	 "process.scheduler",
	"process.execCPUAffinity",
};

static int parse_process(struct vj_oci_spec *s, const struct vj_json *p, struct vj_err *e)
{
	const struct vj_json *v;
	bool b;
	int r;

	if ((r = want_object(p, "process", e)) < 0)
		return r;
	if ((v = member(p, "terminal"))) {
		if (vj_json_bool(v, &b) < 0)
			return bad(e, "process.terminal", "expected true or false");
		if (b)
			return bad(e, "process.terminal", "true is not supported yet");
	}
	if (!(v = member(p, "args")))
		return bad(e, "process.args", "is required");
	if ((r = string_array(v, "process.args", VJ_MAX_ARGS, s->argv, &s->argc, e)) < 0)
		return r;
	if (s->argc == 0 || !s->argv[0][0])
		return bad(e, "process.args", "expected a program to run, found none");
	if ((v = member(p, "env")) && (r = parse_env(s, v, e)) < 0)
		return r;
	if ((r = workload_bytes(s, e)) < 0)
		return r;
	if (!(v = member(p, "cwd")))
		return bad(e, "process.cwd", "is required");
	if ((r = text(v, "process.cwd", s->cwd, sizeof(s->cwd), e)) < 0)
		return r;
	if (s->cwd[0] != '/')
		return bad(e, "process.cwd", "expected an absolute path, found \"%s\"", s->cwd);
	if ((v = member(p, "user")) && (r = parse_user(s, v, e)) < 0)
		return r;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(process_ignored); i++)
		if (member(p, process_ignored[i] + strlen("process.")))
			ignore(s, process_ignored[i]);
	return 0;
}

/* ---- root, hostname -------------------------------------------------------- */

static int parse_root(struct vj_oci_spec *s, const struct vj_json *root, const char *bundle,
		      struct vj_err *e)
{
	char raw[VJ_PATH_MAX], joined[2 * VJ_PATH_MAX + 2];
	const struct vj_json *v;
	struct stat st;
	int r;

	if ((r = want_object(root, "root", e)) < 0)
		return r;
	if (!(v = member(root, "path")))
		return bad(e, "root.path", "is required");
	if ((r = text(v, "root.path", raw, sizeof(raw), e)) < 0)
		return r;
	if (!raw[0])
		return bad(e, "root.path", "expected a directory, found \"\"");
	snprintf(joined, sizeof(joined), "%s%s%s", raw[0] == '/' ? "" : bundle,
		 raw[0] == '/' ? "" : "/", raw);
	if ((r = vj_oci_canonical(joined, s->root_path)) < 0)
		return vj_fail_errno(e, r, CFG ": root.path: %s", joined);
	if (stat(s->root_path, &st) < 0 || !S_ISDIR(st.st_mode))
		return bad(e, "root.path", "%s is not a directory", s->root_path);
	if ((v = member(root, "readonly")) && vj_json_bool(v, &s->root_readonly) < 0)
		return bad(e, "root.readonly", "expected true or false");
	return 0;
}

/* RFC 1123 labels: what the guest's sethostname() and every resolver take. */
static bool hostname_ok(const char *h)
{
	if (!h[0] || h[0] == '-' || h[0] == '.')
		return false;
	for (const char *c = h; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
			return false;
	return true;
}

static int parse_hostname(struct vj_oci_spec *s, const struct vj_json *v, struct vj_err *e)
{
	int r = text(v, "hostname", s->hostname, sizeof(s->hostname), e);

	if (r == 0 && s->hostname[0] && !hostname_ok(s->hostname))
		return bad(e, "hostname", "expected letters, digits, '-' and '.', found \"%s\"",
			   s->hostname);
	return r;
}

/* ---- mounts ------------------------------------------------------------------ */

static bool has_option(const struct vj_json *m, const char *opt)
{
	const struct vj_json *o = member(m, "options");

	if (!o || o->type != VJ_JSON_ARRAY)
		return false;
	for (const struct vj_json *c = o->child; c; c = c->next)
		if (c->type == VJ_JSON_STRING && !strcmp(c->text, opt))
			return true;
	return false;
}

/* Kernel filesystems the guest mounts for itself: a container's /proc is
 * the guest kernel's, whatever config.json asks. */
static bool guest_filesystem(const char *type)
{
	static const char *const types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue",
					     "cgroup", "cgroup2", "shm" };

	for (size_t i = 0; i < VJ_ARRAY_SIZE(types); i++)
		if (!strcmp(type, types[i]))
			return true;
	return false;
}

/* What an orchestrator binds into every container for name resolution,
 * termination messages and a pod's shared memory: the guest has its own
 * network configuration and /dev/shm, and nothing written inside the
 * guest reaches a host file. */
static bool orchestrator_file(const char *dest)
{
	static const char *const files[] = { "/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
					     "/dev/termination-log", "/dev/shm" };

	for (size_t i = 0; i < VJ_ARRAY_SIZE(files); i++)
		if (!strcmp(dest, files[i]))
			return true;
	return false;
}

static int parse_mount(struct vj_oci_spec *s, const struct vj_json *m, unsigned i,
		       struct vj_err *e)
{
	char dest[VJ_PATH_MAX], type[64] = "", path[32];
	const struct vj_json *v;
	int r;

	snprintf(path, sizeof(path), "mounts[%u]", i);
	if ((r = want_object(m, path, e)) < 0)
		return r;
	if (!(v = member(m, "destination")))
		return vj_fail(e, -EINVAL, CFG ": %s.destination: is required", path);
	if (v->type != VJ_JSON_STRING || v->len >= sizeof(dest) || v->text[0] != '/')
		return vj_fail(e, -EINVAL, CFG ": %s.destination: expected an absolute path", path);
	memcpy(dest, v->text, v->len + 1);
	if ((v = member(m, "type")) && (v->type != VJ_JSON_STRING || v->len >= sizeof(type)))
		return vj_fail(e, -EINVAL, CFG ": %s.type: expected a filesystem type", path);
	if (v)
		memcpy(type, v->text, v->len + 1);
	if ((v = member(m, "options")) && v->type != VJ_JSON_ARRAY)
		return vj_fail(e, -EINVAL, CFG ": %s.options: expected an array of strings", path);
	if (!strcmp(type, "bind") || has_option(m, "bind") || has_option(m, "rbind")) {
		if (orchestrator_file(dest)) {
			ignore(s, "mounts (the orchestrator's /etc/hosts, /etc/hostname, "
				  "/etc/resolv.conf, /dev/termination-log, /dev/shm)");
			return 0;
		}
		return vj_fail(e, -EINVAL,
			       CFG ": %s (%s): bind mounts of host paths are not supported yet",
			       path, dest);
	}
	if (guest_filesystem(type)) {
		ignore(s, "mounts (proc, sysfs, tmpfs, devpts, mqueue, cgroup: the guest's own)");
		return 0;
	}
	return vj_fail(e, -EINVAL, CFG ": %s (%s): mounts of type \"%s\" are not supported", path,
		       dest, type);
}

static int parse_mounts(struct vj_oci_spec *s, const struct vj_json *v, struct vj_err *e)
{
	unsigned i = 0;
	int r;

	if (v->type != VJ_JSON_ARRAY)
		return bad(e, "mounts", "expected an array");
	if (v->count > MOUNTS_MAX)
		return bad(e, "mounts", "expected at most %d entries, found %zu", MOUNTS_MAX,
			   v->count);
	for (const struct vj_json *m = v->child; m; m = m->next, i++)
		if ((r = parse_mount(s, m, i, e)) < 0)
			return r;
	return 0;
}

/* Hooks are host programs the runtime would run as root: a tenant's
 * config.json never gets that. */
static int parse_hooks(const struct vj_json *v, struct vj_err *e)
{
	int r;

	if ((r = want_object(v, "hooks", e)) < 0)
		return r;
	for (const struct vj_json *h = v->child; h; h = h->next) {
		if (h->type == VJ_JSON_NULL || (h->type == VJ_JSON_ARRAY && h->count == 0))
			continue;
		return vj_fail(e, -EINVAL,
			       CFG ": hooks.%s: running host programs is not supported", h->key);
	}
	return 0;
}

/* ---- annotations ------------------------------------------------------------- */

static int parse_annotations(struct vj_oci_spec *s, const struct vj_json *v, struct vj_err *e)
{
	int r;

	if ((r = want_object(v, "annotations", e)) < 0)
		return r;
	if (v->count > VJ_OCI_ANNOTATIONS_MAX)
		return bad(e, "annotations", "expected at most %d entries, found %zu",
			   VJ_OCI_ANNOTATIONS_MAX, v->count);
	for (const struct vj_json *a = v->child; a; a = a->next)
		if (a->type != VJ_JSON_STRING)
			return vj_fail(e, -EINVAL, CFG ": annotations.%s: expected a string",
				       a->key);
	if ((v = vj_json_get(v, VJ_OCI_POLICY_ANNOTATION)) &&
	    (r = text(v, "annotations." VJ_OCI_POLICY_ANNOTATION, s->policy, sizeof(s->policy),
		      e)) < 0)
		return r;
	return 0;
}

static int keep_annotations(struct vj_oci_spec *s, const struct vj_json *v, struct vj_err *e)
{
	struct vj_jw w;
	int r;

	vj_jw_init(&w, sizeof(s->annotations) - 1);
	if (v)
		vj_jw_tree(&w, v);
	else
		vj_jw_raw(&w, "{}", 2);
	if ((r = vj_jw_finish(&w)) < 0) {
		vj_jw_free(&w);
		return bad(e, "annotations", "expected at most %d bytes in all",
			   VJ_OCI_ANNOTATIONS_BYTES - 1);
	}
	memcpy(s->annotations, w.buf, w.len + 1);
	vj_jw_free(&w);
	return 0;
}

/* ---- linux ------------------------------------------------------------------- */

static int parse_memory(struct vj_oci_spec *s, const struct vj_json *m, struct vj_err *e)
{
	const struct vj_json *v;
	int64_t x;
	int r;

	if ((r = want_object(m, "linux.resources.memory", e)) < 0)
		return r;
	if ((v = member(m, "limit"))) {
		if ((r = integer(v, "linux.resources.memory.limit", &x, e)) < 0)
			return r;
		if (x > 0)
			s->memory_limit = (uint64_t)x;
	}
	for (const struct vj_json *c = m->child; c; c = c->next)
		if (strcmp(c->key, "limit") && c->type != VJ_JSON_NULL)
			ignore(s, "linux.resources.memory (but limit)");
	return 0;
}

static int parse_cpu(struct vj_oci_spec *s, const struct vj_json *c, struct vj_err *e)
{
	const struct vj_json *v;
	int64_t quota;
	uint64_t period = 100000;
	int r;

	if ((r = want_object(c, "linux.resources.cpu", e)) < 0)
		return r;
	if ((v = member(c, "period")) && vj_json_u64(v, 1000000, &period) < 0)
		return bad(e, "linux.resources.cpu.period", "expected 1000 to 1000000 (us)");
	if (period < 1000)
		return bad(e, "linux.resources.cpu.period",
			   "expected 1000 to 1000000 (us), found %" PRIu64, period);
	if ((v = member(c, "quota"))) {
		if ((r = integer(v, "linux.resources.cpu.quota", &quota, e)) < 0)
			return r;
		if (quota > 0 && quota < 1000)
			return bad(e, "linux.resources.cpu.quota",
				   "expected at least 1000 (us; the kernel's least), found %" PRId64,
				   quota);
		if (quota > 0) {
			s->cpu_quota_us = (uint64_t)quota;
			s->cpu_period_us = period;
		}
	}
	for (const struct vj_json *x = c->child; x; x = x->next)
		if (strcmp(x->key, "quota") && strcmp(x->key, "period") && x->type != VJ_JSON_NULL)
			ignore(s, "linux.resources.cpu (but quota and period)");
	return 0;
}

static int parse_resources(struct vj_oci_spec *s, const struct vj_json *res, struct vj_err *e)
{
	const struct vj_json *v;
	int64_t x;
	int r;

	if ((r = want_object(res, "linux.resources", e)) < 0)
		return r;
	if ((v = member(res, "memory")) && (r = parse_memory(s, v, e)) < 0)
		return r;
	if ((v = member(res, "cpu")) && (r = parse_cpu(s, v, e)) < 0)
		return r;
	if ((v = member(res, "pids"))) {
		if ((r = want_object(v, "linux.resources.pids", e)) < 0)
			return r;
		if ((v = member(v, "limit"))) {
			if ((r = integer(v, "linux.resources.pids.limit", &x, e)) < 0)
				return r;
			if (x > 0)
				s->pids_limit = (uint64_t)x;
		}
	}
	for (const struct vj_json *c = res->child; c; c = c->next)
		if (strcmp(c->key, "memory") && strcmp(c->key, "cpu") && strcmp(c->key, "pids") &&
		    c->type != VJ_JSON_NULL)
			ignore(s, "linux.resources (but memory, cpu and pids)");
	return 0;
}

/* What runc would set up around a process on the host. Here the process
 * is in a guest, and the VMM around the guest gets vmjail's own jail from
 * the policy and the host file, which config.json cannot weaken. */
static const char *const linux_ignored[] = {
	"linux.namespaces",   "linux.uidMappings",     "linux.gidMappings",
	"linux.devices",      "linux.seccomp",	       "linux.sysctl",
	"linux.maskedPaths",  "linux.readonlyPaths",   "linux.mountLabel",
	"linux.rootfsPropagation", "linux.cgroupsPath", "linux.intelRdt",
	"linux.personality",  "linux.timeOffsets",
};

static int parse_linux(struct vj_oci_spec *s, const struct vj_json *l, struct vj_err *e)
{
	const struct vj_json *v;
	int r;

	if ((r = want_object(l, "linux", e)) < 0)
		return r;
	if ((v = member(l, "resources")) && (r = parse_resources(s, v, e)) < 0)
		return r;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(linux_ignored); i++)
		if (member(l, linux_ignored[i] + strlen("linux.")))
			ignore(s, linux_ignored[i]);
	return 0;
}

/* ---- the whole ----------------------------------------------------------------- */

static int parse_version(const struct vj_json *root, struct vj_err *e)
{
	const struct vj_json *v = member(root, "ociVersion");

	if (!v)
		return bad(e, "ociVersion", "is required");
	if (v->type != VJ_JSON_STRING || strncmp(v->text, "1.", 2))
		return bad(e, "ociVersion", "expected a 1.x version");
	return 0;
}

static int parse_root_object(struct vj_oci_spec *s, const struct vj_json *root, const char *bundle,
			     struct vj_err *e)
{
	const struct vj_json *v;
	int r;

	if ((r = want_object(root, "(top level)", e)) < 0 || (r = parse_version(root, e)) < 0)
		return r;
	if (!(v = member(root, "process")))
		return bad(e, "process", "is required");
	if ((r = parse_process(s, v, e)) < 0)
		return r;
	if (!(v = member(root, "root")))
		return bad(e, "root", "is required");
	if ((r = parse_root(s, v, bundle, e)) < 0)
		return r;
	if ((v = member(root, "hostname")) && (r = parse_hostname(s, v, e)) < 0)
		return r;
	if (member(root, "domainname"))
		ignore(s, "domainname");
	if ((v = member(root, "mounts")) && (r = parse_mounts(s, v, e)) < 0)
		return r;
	if ((v = member(root, "hooks")) && (r = parse_hooks(v, e)) < 0)
		return r;
	if ((v = member(root, "annotations")) && (r = parse_annotations(s, v, e)) < 0)
		return r;
	if ((r = keep_annotations(s, member(root, "annotations"), e)) < 0)
		return r;
	if ((v = member(root, "linux")) && (r = parse_linux(s, v, e)) < 0)
		return r;
	return 0;
}

int vj_oci_spec_parse(struct vj_oci_spec *s, const char *buf, size_t len, const char *bundle,
		      struct vj_err *e)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->memory_limit = s->cpu_quota_us = s->cpu_period_us = s->pids_limit = VJ_UNLIMITED;
	if (len > VJ_OCI_CONFIG_MAX)
		return vj_fail(e, -EFBIG, CFG ": expected at most %d bytes, found %zu",
			       VJ_OCI_CONFIG_MAX, len);
	if ((r = vj_json_parse(buf, len, VJ_OCI_VALUES_MAX, &s->doc, e)) < 0)
		return vj_wrap(e, CFG);
	if ((r = parse_root_object(s, s->doc.root, bundle, e)) < 0)
		vj_oci_spec_free(s);
	return r;
}

int vj_oci_spec_load(struct vj_oci_spec *s, const char *bundle, struct vj_err *e)
{
	cleanup_free char *buf = NULL;
	cleanup_fd int dir = -1;
	cleanup_fd int fd = -1;
	size_t len = 0;
	ssize_t n;

	dir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return vj_fail_errno(e, -errno, "bundle %s", bundle);
	fd = openat(dir, CFG, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "bundle %s: " CFG, bundle);
	if (!(buf = malloc(VJ_OCI_CONFIG_MAX + 1)))
		return vj_fail(e, -ENOMEM, "bundle %s: " CFG ": out of memory", bundle);
	while ((n = read(fd, buf + len, VJ_OCI_CONFIG_MAX + 1 - len)) > 0 &&
	       len + (size_t)n <= VJ_OCI_CONFIG_MAX)
		len += (size_t)n;
	if (n < 0)
		return vj_fail_errno(e, -errno, "bundle %s: read " CFG, bundle);
	if (n > 0)
		return vj_fail(e, -EFBIG, "bundle %s: " CFG ": expected at most %d bytes", bundle,
			       VJ_OCI_CONFIG_MAX);
	return vj_oci_spec_parse(s, buf, len, bundle, e);
}

/* The process part's messages, named after the file they came from:
 * "config.json: process.args: ..." -> "process.json: args: ...". */
static int process_file_error(struct vj_err *e)
{
	static const char from[] = CFG ": process";
	const char *p = e->msg + sizeof(from) - 1;
	char rest[VJ_ERR_MAX];

	if (strncmp(e->msg, from, sizeof(from) - 1))
		return e->code;
	p += *p == '.' ? 1 : *p == ':' ? 2 : 0;
	snprintf(rest, sizeof(rest), "%s", p);
	snprintf(e->msg, sizeof(e->msg), "process.json: %.*s", VJ_ERR_MAX - 16, rest);
	return e->code;
}

int vj_oci_process_parse(struct vj_oci_spec *s, const char *buf, size_t len, struct vj_err *e)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->memory_limit = s->cpu_quota_us = s->cpu_period_us = s->pids_limit = VJ_UNLIMITED;
	if (len > VJ_OCI_CONFIG_MAX)
		return vj_fail(e, -EFBIG, "process.json: expected at most %d bytes, found %zu",
			       VJ_OCI_CONFIG_MAX, len);
	if ((r = vj_json_parse(buf, len, VJ_OCI_VALUES_MAX, &s->doc, e)) < 0)
		return vj_wrap(e, "process.json");
	if ((r = parse_process(s, s->doc.root, e)) < 0) {
		vj_oci_spec_free(s);
		return process_file_error(e);
	}
	return 0;
}

void vj_oci_spec_free(struct vj_oci_spec *s)
{
	vj_json_free(&s->doc);
	memset(&s->doc, 0, sizeof(s->doc));
}

/* ---- onto the policy ------------------------------------------------------------- */

int vj_oci_spec_policy(const struct vj_oci_spec *s, const struct vj_host_config *h,
		       char out[VJ_PATH_MAX], struct vj_err *e)
{
	if (!s->policy[0]) {
		if (!h->oci_policy[0])
			return vj_fail(e, -EINVAL,
				       CFG ": no policy: the host file (%s) names no oci.policy and "
				       "annotations." VJ_OCI_POLICY_ANNOTATION " is not set",
				       h->source);
		snprintf(out, VJ_PATH_MAX, "%s", h->oci_policy);
		return 0;
	}
	int r = vj_oci_canonical(s->policy, out);

	if (r < 0)
		return vj_fail_errno(e, r, CFG ": annotations." VJ_OCI_POLICY_ANNOTATION ": %s",
				     s->policy);
	for (unsigned i = 0; i < h->noci_policy_roots; i++)
		if (vj_path_within(out, h->oci_policy_roots[i]))
			return 0;
	return vj_fail(e, -EACCES,
		       CFG ": annotations." VJ_OCI_POLICY_ANNOTATION ": %s is not under any of the "
		       "host file's oci.policy_roots", out);
}

static uint64_t round_up(uint64_t v, uint64_t step)
{
	return v > UINT64_MAX - step ? UINT64_MAX : (v + step - 1) / step * step;
}

static int apply_memory(const struct vj_oci_spec *s, const struct vj_host_config *h,
			struct vj_policy *q, char *text, size_t cap, struct vj_err *e)
{
	const uint64_t guest = round_up(s->memory_limit, VJ_OCI_MEMORY_STEP);
	char have[32], most[32];

	if (s->memory_limit == VJ_UNLIMITED)
		return 0;
	if (guest > h->max_vm.memory) {
		vj_format_size(guest, have, sizeof(have));
		vj_format_size(h->max_vm.memory, most, sizeof(most));
		return bad(e, "linux.resources.memory.limit",
			   "expected at most %s (the host's max.vm.memory), found %s", most, have);
	}
	/* The cgroup's limit follows, with room for the VMM itself, within
	 * the host's bound; it can never be below the guest's RAM. */
	q->jail.cgroup.memory_max = guest + VJ_OCI_VMM_OVERHEAD;
	if (h->max_cgroup.memory_max != VJ_UNLIMITED && q->jail.cgroup.memory_max > h->max_cgroup.memory_max)
		q->jail.cgroup.memory_max = h->max_cgroup.memory_max;
	if (q->jail.cgroup.memory_max < guest) {
		vj_format_size(guest, have, sizeof(have));
		vj_format_size(h->max_cgroup.memory_max, most, sizeof(most));
		return bad(e, "linux.resources.memory.limit",
			   "expected at most %s (the host's max.cgroup.memory), found %s", most,
			   have);
	}
	snprintf(text, cap, "%" PRIu64, guest);
	return 0;
}

static uint64_t host_cpus_milli(const struct vj_host_config *h)
{
	const struct vj_cgroup_limits *c = &h->max_cgroup;

	if (c->cpu_quota_us == VJ_UNLIMITED || !c->cpu_period_us)
		return VJ_UNLIMITED;
	return c->cpu_quota_us * 1000 / c->cpu_period_us;
}

static int apply_cpu(const struct vj_oci_spec *s, const struct vj_host_config *h,
		     struct vj_policy *q, char *text, size_t cap, struct vj_err *e)
{
	const uint64_t most = host_cpus_milli(h);
	uint64_t milli, vcpus;

	if (s->cpu_quota_us == VJ_UNLIMITED)
		return 0;
	/* Bounded before multiplying: quota is at most INT64_MAX. */
	if (s->cpu_quota_us / s->cpu_period_us > 1024)
		return bad(e, "linux.resources.cpu.quota", "expected at most 1024 CPUs' worth");
	milli = s->cpu_quota_us * 1000 / s->cpu_period_us;
	vcpus = (s->cpu_quota_us + s->cpu_period_us - 1) / s->cpu_period_us;
	if (most != VJ_UNLIMITED && milli > most)
		return bad(e, "linux.resources.cpu.quota",
			   "expected at most %" PRIu64 ".%03" PRIu64 " CPUs (the host's "
			   "max.cgroup.cpus), found %" PRIu64 ".%03" PRIu64,
			   most / 1000, most % 1000, milli / 1000, milli % 1000);
	if (vcpus > h->max_vm.vcpus)
		return bad(e, "linux.resources.cpu.quota",
			   "expected at most %" PRIu64 " vCPUs (the host's max.vm.vcpus), found %" PRIu64
			   " (quota %" PRIu64 " / period %" PRIu64 ")",
			   h->max_vm.vcpus, vcpus, s->cpu_quota_us, s->cpu_period_us);
	q->jail.cgroup.cpu_quota_us = s->cpu_quota_us;
	q->jail.cgroup.cpu_period_us = s->cpu_period_us;
	snprintf(text, cap, "%" PRIu64, vcpus);
	return 0;
}

static int apply_pids(const struct vj_oci_spec *s, const struct vj_host_config *h,
		      struct vj_policy *q, struct vj_err *e)
{
	if (s->pids_limit == VJ_UNLIMITED)
		return 0;
	/* The guest's processes are not the host's: the VMM's threads are
	 * what the cgroup counts, and the policy's own limit stays if lower. */
	if (h->max_cgroup.pids_max != VJ_UNLIMITED && s->pids_limit > h->max_cgroup.pids_max)
		return bad(e, "linux.resources.pids.limit",
			   "expected at most %" PRIu64 " (the host's max.cgroup.pids), found %" PRIu64,
			   h->max_cgroup.pids_max, s->pids_limit);
	if (q->jail.cgroup.pids_max == VJ_UNLIMITED || s->pids_limit < q->jail.cgroup.pids_max)
		q->jail.cgroup.pids_max = s->pids_limit;
	return 0;
}

int vj_oci_spec_apply(const struct vj_oci_spec *s, const char *id, struct vj_launch *l,
		      struct vj_err *e)
{
	char memory[32], vcpus[32];
	struct vj_policy_overrides o = {
		.id = id,
		.set_argv = true,
		.argc = s->argc,
		.argv = (char *const *)s->argv,
		.envc = s->envc,
		.env = (char *const *)s->env,
	};
	struct vj_policy q = l->policy;
	int r;

	if ((r = apply_memory(s, &l->host, &q, memory, sizeof(memory), e)) < 0 ||
	    (r = apply_cpu(s, &l->host, &q, vcpus, sizeof(vcpus), e)) < 0 ||
	    (r = apply_pids(s, &l->host, &q, e)) < 0)
		return r;
	if (s->memory_limit != VJ_UNLIMITED)
		o.memory = memory;
	if (s->cpu_quota_us != VJ_UNLIMITED)
		o.vcpus = vcpus;
	/* The overrides copy the workload; q shares the policy's strings
	 * until then, and replaces them only on success. */
	if ((r = vj_policy_apply_overrides(&q, &o, &l->host, e)) < 0)
		return vj_wrap(e, CFG);
	l->policy = q;
	l->workload_spec.uid = s->uid;
	l->workload_spec.gid = s->gid;
	snprintf(l->workload_spec.cwd, sizeof(l->workload_spec.cwd), "%s", s->cwd);
	snprintf(l->workload_spec.hostname, sizeof(l->workload_spec.hostname), "%s",
		 s->hostname[0] ? s->hostname : id);
	return 0;
}
