#include "snapshot_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "roots.h"

/* Below a root nothing may redirect the walk: no symlink, no "..", no
 * magic link, no other mount. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .resolve = BENEATH };
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Absolute, no empty, "." or ".." component, no trailing slash: the path
 * says lexically where it is, which the walk below then holds it to. */
static bool path_is_clean(const char *p)
{
	if (p[0] != '/' || !p[1])
		return false;
	for (const char *c = p + 1;;) {
		const size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!c[n])
			return true;
		c += n + 1;
	}
}

/*
 * DIR's parent, opened beneath the root it lies in, and DIR's last
 * component. Returns the parent's fd (O_PATH) or -errno with e set.
 */
static int open_parent(const char (*roots)[VJ_PATH_MAX], unsigned nroots, const char *dir,
		       char name[NAME_MAX + 1], struct vj_err *e)
{
	char parent[VJ_PATH_MAX];
	const char *slash;
	int fd;

	if (!nroots)
		return vj_fail(e, -EPERM, "snapshot %s: this host allows no snapshots (no "
			       "roots.snapshots in its host file)", dir);
	if (strlen(dir) >= VJ_PATH_MAX || !path_is_clean(dir))
		return vj_fail(e, -EINVAL, "snapshot %s: expected an absolute path without \".\", "
			       "\"..\" or empty components, shorter than %d bytes", dir, VJ_PATH_MAX);
	slash = strrchr(dir, '/');
	if (strlen(slash + 1) > NAME_MAX)
		return vj_fail(e, -ENAMETOOLONG, "snapshot %s: its name is longer than %d bytes", dir,
			       NAME_MAX);
	strcpy(name, slash + 1);
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash == dir ? 1 : slash - dir), dir);
	for (unsigned i = 0; i < nroots; i++) {
		const size_t n = strlen(roots[i]);
		cleanup_fd int root = -1;

		if (!vj_path_within(parent, roots[i]))
			continue;
		root = open(roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return vj_fail_errno(e, -errno, "snapshot %s: snapshot root %s", dir, roots[i]);
		fd = openat2_beneath(root, parent[n] ? parent + n + 1 : ".", O_PATH | O_DIRECTORY);
		if (fd < 0)
			return vj_fail_errno(e, fd, "snapshot %s: open %s beneath the snapshot root %s "
					     "(no symlinks)", dir, parent, roots[i]);
		return fd;
	}
	return vj_fail(e, -EPERM, "snapshot %s: %s is outside the snapshot roots (roots.snapshots)",
		       dir, parent);
}

/* ---- writing ------------------------------------------------------------ */

static int create_file(struct vj_snapshot_dir *sd, const char *file, int *fd, struct vj_err *e)
{
	*fd = openat(sd->tmp_fd, file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0 || fchmod(*fd, 0600) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: create %s", sd->path, file);
	return 0;
}

static int make_tmp(struct vj_snapshot_dir *sd, struct vj_err *e)
{
	uint32_t rnd = 0;
	int fd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	snprintf(sd->tmp_name, sizeof(sd->tmp_name), ".%.200s.partial-%08x", sd->name, rnd);
	if (mkdirat(sd->parent_fd, sd->tmp_name, 0700) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: create %s beside it", sd->path,
				     sd->tmp_name);
	fd = openat2_beneath(sd->parent_fd, sd->tmp_name, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		(void)unlinkat(sd->parent_fd, sd->tmp_name, AT_REMOVEDIR);
		return vj_fail_errno(e, fd, "snapshot %s: open %s", sd->path, sd->tmp_name);
	}
	sd->tmp_fd = fd;
	/* The umask must not decide who reads a guest's memory. */
	if (fchmod(fd, 0700) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: chmod %s", sd->path, sd->tmp_name);
	return 0;
}

int vj_snapshot_dir_begin(const char (*roots)[VJ_PATH_MAX], unsigned nroots, const char *dir,
			  struct vj_snapshot_dir *sd, struct vj_err *e)
{
	struct stat st;
	int r;

	*sd = (struct vj_snapshot_dir){ .parent_fd = -1, .tmp_fd = -1, .state_fd = -1,
					.memory_fd = -1 };
	snprintf(sd->path, sizeof(sd->path), "%s", dir);
	if ((sd->parent_fd = open_parent(roots, nroots, dir, sd->name, e)) < 0)
		return sd->parent_fd;
	r = fstatat(sd->parent_fd, sd->name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? -EEXIST : -errno;
	if (r != -ENOENT) {
		vj_snapshot_dir_abort(sd);
		return r == -EEXIST ? vj_fail(e, r, "snapshot %s: exists already (a snapshot is never "
					      "written over)", dir)
				    : vj_fail_errno(e, r, "snapshot %s", dir);
	}
	if ((r = make_tmp(sd, e)) < 0 ||
	    (r = create_file(sd, VJ_SNAPSHOT_STATE_FILE, &sd->state_fd, e)) < 0 ||
	    (r = create_file(sd, VJ_SNAPSHOT_MEMORY_FILE, &sd->memory_fd, e)) < 0) {
		vj_snapshot_dir_abort(sd);
		return r;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_meta(struct vj_snapshot_dir *sd, const struct vj_snapshot_meta *m,
		      struct vj_err *e)
{
	cleanup_free char *text = NULL;
	cleanup_fd int fd = -1;
	size_t len;
	int r;

	if ((r = vj_snapshot_meta_format(m, &text, &len)) < 0)
		return vj_fail_errno(e, r, "snapshot %s: %s", sd->path, VJ_SNAPSHOT_META_FILE);
	if ((r = create_file(sd, VJ_SNAPSHOT_META_FILE, &fd, e)) < 0)
		return r;
	if ((r = write_all(fd, text, len)) < 0 || (fsync(fd) < 0 && (r = -errno)))
		return vj_fail_errno(e, r, "snapshot %s: write %s", sd->path, VJ_SNAPSHOT_META_FILE);
	return 0;
}

int vj_snapshot_dir_commit(struct vj_snapshot_dir *sd, struct vj_snapshot_meta *m,
			   struct vj_err *e)
{
	struct vj_snapshot_summary sum;
	char why[sizeof(e->msg)];
	int r;

	/* The VMM wrote it: what it wrote is checked like any snapshot. */
	if ((r = vj_snapshot_read_summary(sd->state_fd, &sum, e)) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return vj_fail(e, r, "snapshot %s: the VMM's state file is unusable: %s", sd->path,
			       why);
	}
	m->state_version = sum.version;
	m->vcpus = sum.config.vcpus;
	m->memory_mib = sum.config.memory_mib;
	if ((r = write_meta(sd, m, e)) < 0)
		return r;
	if (fsync(sd->state_fd) < 0 || fsync(sd->memory_fd) < 0 || fsync(sd->tmp_fd) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: sync", sd->path);
	if (renameat2(sd->parent_fd, sd->tmp_name, sd->parent_fd, sd->name, RENAME_NOREPLACE) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: rename %s into place", sd->path,
				     sd->tmp_name);
	sd->tmp_name[0] = '\0';
	/* The rename itself is on disk once the parent is: O_PATH cannot
	 * fsync, so the parent is opened again for it. */
	{
		cleanup_fd int p = openat(sd->parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p >= 0)
			(void)fsync(p);
	}
	vj_snapshot_dir_abort(sd);
	return 0;
}

void vj_snapshot_dir_abort(struct vj_snapshot_dir *sd)
{
	static const char *const files[] = { VJ_SNAPSHOT_STATE_FILE, VJ_SNAPSHOT_MEMORY_FILE,
					     VJ_SNAPSHOT_META_FILE };

	if (sd->tmp_fd >= 0 && sd->tmp_name[0]) {
		for (size_t i = 0; i < VJ_ARRAY_SIZE(files); i++)
			(void)unlinkat(sd->tmp_fd, files[i], 0);
		(void)unlinkat(sd->parent_fd, sd->tmp_name, AT_REMOVEDIR);
	}
	vj_closep(&sd->state_fd);
	vj_closep(&sd->memory_fd);
	vj_closep(&sd->tmp_fd);
	vj_closep(&sd->parent_fd);
	sd->state_fd = sd->memory_fd = sd->tmp_fd = sd->parent_fd = -1;
	sd->tmp_name[0] = '\0';
}

/* ---- snapshot.json -------------------------------------------------------- */

int vj_snapshot_meta_format(const struct vj_snapshot_meta *m, char **text, size_t *len)
{
	struct vj_jw w;
	int r;

	vj_jw_init(&w, VJ_SNAPSHOT_META_MAX);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "version");
	vj_jw_u64(&w, VJ_SNAPSHOT_META_VERSION);
	vj_jw_key(&w, "owner");
	if (m->owner == (uid_t)-1)
		vj_jw_null(&w);
	else
		vj_jw_u64(&w, m->owner);
	vj_jw_key(&w, "source");
	vj_jw_string(&w, m->source);
	vj_jw_key(&w, "created_ms");
	vj_jw_u64(&w, m->created_ms);
	vj_jw_key(&w, "policy");
	vj_jw_string(&w, m->policy);
	vj_jw_key(&w, "agent");
	vj_jw_bool(&w, m->agent);
	vj_jw_key(&w, "state_version");
	vj_jw_u64(&w, m->state_version);
	vj_jw_key(&w, "vcpus");
	vj_jw_u64(&w, m->vcpus);
	vj_jw_key(&w, "memory_mib");
	vj_jw_u64(&w, m->memory_mib);
	vj_jw_object_end(&w);
	if ((r = vj_jw_finish(&w)) < 0) {
		vj_jw_free(&w);
		return r;
	}
	*len = strlen(w.buf) + 1;
	*text = w.buf; /* handed over: freed by the caller */
	(*text)[*len - 1] = '\n';
	w.buf = NULL;
	vj_jw_free(&w);
	return 0;
}

static int meta_string(const struct vj_json *root, const char *key, char *out, size_t cap,
		       const char *name, struct vj_err *e)
{
	const char *s;

	if (vj_json_string(vj_json_get(root, key), &s) < 0 || strlen(s) >= cap)
		return vj_fail(e, -EINVAL, "%s: \"%s\": expected a string of at most %zu bytes",
			       name, key, cap - 1);
	strcpy(out, s);
	return 0;
}

static int meta_u64(const struct vj_json *root, const char *key, uint64_t max, uint64_t *out,
		    const char *name, struct vj_err *e)
{
	if (vj_json_u64(vj_json_get(root, key), max, out) < 0)
		return vj_fail(e, -EINVAL, "%s: \"%s\": expected a number up to %llu", name, key,
			       (unsigned long long)max);
	return 0;
}

int vj_snapshot_meta_parse(const char *text, size_t len, const char *name,
			   struct vj_snapshot_meta *m, struct vj_err *e)
{
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	const struct vj_json *owner;
	uint64_t v;
	int r;

	memset(m, 0, sizeof(*m));
	if (vj_json_parse(text, len, 64, &doc, e) < 0)
		return vj_wrap(e, "%s: not JSON", name);
	if (doc.root->type != VJ_JSON_OBJECT)
		return vj_fail(e, -EINVAL, "%s: expected a JSON object", name);
	if ((r = meta_u64(doc.root, "version", UINT32_MAX, &v, name, e)) < 0)
		return r;
	if (v != VJ_SNAPSHOT_META_VERSION)
		return vj_fail(e, -EPROTO, "%s: version %llu, this launcher reads version %d", name,
			       (unsigned long long)v, VJ_SNAPSHOT_META_VERSION);
	owner = vj_json_get(doc.root, "owner");
	m->owner = (uid_t)-1;
	if (owner && owner->type != VJ_JSON_NULL) {
		if ((r = meta_u64(doc.root, "owner", UINT32_MAX - 1, &v, name, e)) < 0)
			return r;
		m->owner = (uid_t)v;
	} else if (!owner) {
		return vj_fail(e, -EINVAL, "%s: \"owner\": missing (a uid, or null)", name);
	}
	if ((r = meta_string(doc.root, "source", m->source, sizeof(m->source), name, e)) < 0 ||
	    (r = meta_string(doc.root, "policy", m->policy, sizeof(m->policy), name, e)) < 0 ||
	    (r = meta_u64(doc.root, "created_ms", UINT64_MAX, &m->created_ms, name, e)) < 0 ||
	    (r = meta_u64(doc.root, "vcpus", VJ_VCPUS_MAX, &v, name, e)) < 0)
		return r;
	m->vcpus = (uint32_t)v;
	if ((r = meta_u64(doc.root, "memory_mib", VJ_MEMORY_MIB_MAX, &m->memory_mib, name, e)) < 0 ||
	    (r = meta_u64(doc.root, "state_version", UINT32_MAX, &v, name, e)) < 0)
		return r;
	m->state_version = (uint32_t)v;
	if (vj_json_bool(vj_json_get(doc.root, "agent"), &m->agent) < 0)
		return vj_fail(e, -EINVAL, "%s: \"agent\": expected true or false", name);
	return 0;
}

/* ---- restoring ------------------------------------------------------------- */

static int open_regular(int dirfd, const char *dir, const char *file, struct vj_err *e)
{
	cleanup_fd int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: open %s", dir, file);
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: stat %s", dir, file);
	if (!S_ISREG(st.st_mode))
		return vj_fail(e, -EINVAL, "snapshot %s: %s is not a regular file", dir, file);
	return vj_steal_fd(&fd);
}

static int read_meta(int dirfd, struct vj_snapshot_source *src, struct vj_err *e)
{
	cleanup_fd int fd = open_regular(dirfd, src->path, VJ_SNAPSHOT_META_FILE, e);
	cleanup_free char *buf = NULL;
	char name[VJ_PATH_MAX + 32];
	ssize_t n;

	if (fd < 0)
		return fd;
	if (!(buf = malloc(VJ_SNAPSHOT_META_MAX + 1)))
		return vj_fail(e, -ENOMEM, "snapshot %s: out of memory", src->path);
	n = pread(fd, buf, VJ_SNAPSHOT_META_MAX + 1, 0);
	if (n < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: read %s", src->path,
				     VJ_SNAPSHOT_META_FILE);
	snprintf(name, sizeof(name), "%s/%s", src->path, VJ_SNAPSHOT_META_FILE);
	if (n > VJ_SNAPSHOT_META_MAX)
		return vj_fail(e, -EFBIG, "%s: larger than %d bytes", name, VJ_SNAPSHOT_META_MAX);
	return vj_snapshot_meta_parse(buf, (size_t)n, name, &src->meta, e);
}

static int check_memory_file(const struct vj_snapshot_source *src, struct vj_err *e)
{
	const uint64_t want = src->summary.config.memory_mib << 20;
	struct stat st;

	if (fstat(src->memory_fd, &st) < 0)
		return vj_fail_errno(e, -errno, "snapshot %s: stat memory", src->path);
	if ((uint64_t)st.st_size != want)
		return vj_fail(e, -EINVAL, "snapshot %s: memory is %lld bytes, but its state file "
			       "says the guest had %llu MiB (%llu bytes)", src->path,
			       (long long)st.st_size,
			       (unsigned long long)src->summary.config.memory_mib,
			       (unsigned long long)want);
	return 0;
}

static int open_source(const char (*roots)[VJ_PATH_MAX], unsigned nroots, uid_t caller_uid,
		       struct vj_snapshot_source *src, struct vj_err *e)
{
	char name[NAME_MAX + 1];
	cleanup_fd int parent = open_parent(roots, nroots, src->path, name, e);
	cleanup_fd int dir = -1;
	int r;

	if (parent < 0)
		return parent;
	dir = openat2_beneath(parent, name, O_PATH | O_DIRECTORY);
	if (dir < 0)
		return vj_fail_errno(e, dir, "snapshot %s", src->path);
	if ((r = read_meta(dir, src, e)) < 0)
		return r;
	/* Whose guest memory this is decides who may run it again. */
	if (caller_uid != 0 && caller_uid != src->meta.owner)
		return vj_fail(e, -EACCES, "snapshot %s: belongs to %s; uid %u may not restore it",
			       src->path, src->meta.owner == (uid_t)-1 ? "root alone" : "another uid",
			       (unsigned)caller_uid);
	if ((r = open_regular(dir, src->path, VJ_SNAPSHOT_STATE_FILE, e)) < 0)
		return r;
	src->state_fd = r;
	if ((r = open_regular(dir, src->path, VJ_SNAPSHOT_MEMORY_FILE, e)) < 0)
		return r;
	src->memory_fd = r;
	if ((r = vj_snapshot_read_summary(src->state_fd, &src->summary, e)) < 0)
		return r;
	return check_memory_file(src, e);
}

int vj_snapshot_open(const char (*roots)[VJ_PATH_MAX], unsigned nroots, const char *dir,
		     uid_t caller_uid, struct vj_snapshot_source *src, struct vj_err *e)
{
	int r;

	memset(src, 0, sizeof(*src));
	src->state_fd = src->memory_fd = -1;
	snprintf(src->path, sizeof(src->path), "%s", dir);
	if ((r = open_source(roots, nroots, caller_uid, src, e)) < 0)
		vj_snapshot_source_close(src);
	return r;
}

void vj_snapshot_source_close(struct vj_snapshot_source *src)
{
	vj_closep(&src->state_fd);
	vj_closep(&src->memory_fd);
	src->state_fd = src->memory_fd = -1;
}

/* ---- the policy against the snapshot ---------------------------------------- */

/* Device i of the slot order, as a policy key: vm.drives[1], vm.nets[0]. */
static void device_key(const struct vj_snap_config *c, unsigned i, char *out, size_t len)
{
	unsigned drives = 0, nets = 0;

	for (unsigned k = 0; k < i; k++) {
		drives += c->dev[k].kind == VJ_SNAP_DEV_BLK;
		nets += c->dev[k].kind == VJ_SNAP_DEV_NET;
	}
	switch (c->dev[i].kind) {
	case VJ_SNAP_DEV_BLK:
		snprintf(out, len, "vm.drives[%u]", drives);
		break;
	case VJ_SNAP_DEV_NET:
		snprintf(out, len, "vm.nets[%u]", nets);
		break;
	case VJ_SNAP_DEV_VSOCK:
		snprintf(out, len, "vm.vsock");
		break;
	default:
		snprintf(out, len, "vm.rng");
	}
}

static int check_device(const struct vj_snap_config *snap, const struct vj_snap_config *pol,
			unsigned i, const char *dir, struct vj_err *e)
{
	const struct vj_snap_device *s = &snap->dev[i], *p = &pol->dev[i];
	char key[32];

	device_key(pol, i, key, sizeof(key));
	if (s->kind != p->kind)
		return vj_fail(e, -EINVAL, "%s: the policy has a %s device in virtio slot %u, the "
			       "snapshot %s a %s device", key, vj_snap_device_kind_name(p->kind), i,
			       dir, vj_snap_device_kind_name(s->kind));
	if (s->kind == VJ_SNAP_DEV_BLK && s->read_only != p->read_only)
		return vj_fail(e, -EINVAL, "%s: the policy's drive is %s, the snapshot %s's %s", key,
			       p->read_only ? "read-only" : "writable", dir,
			       s->read_only ? "read-only" : "writable");
	if (s->kind == VJ_SNAP_DEV_VSOCK && s->guest_cid != p->guest_cid)
		return vj_fail(e, -EINVAL, "vm.vsock.cid: the policy says %u, the snapshot %s has %u",
			       p->guest_cid, dir, s->guest_cid);
	/* vm.nets[i].mac may differ from the snapshot's: the clone gets its
	 * own, in the device and, through RESTORED, on the guest's eth<i>. */
	return 0;
}

static const char *kinds_text(const struct vj_snap_config *c, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < c->ndevices && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "",
					 vj_snap_device_kind_name(c->dev[i].kind));
	return c->ndevices ? out : "none";
}

int vj_snapshot_check_policy(const struct vj_snapshot_summary *s, const struct vj_vm_config *vm,
			     const char *dir, struct vj_err *e)
{
	const struct vj_snap_config *snap = &s->config;
	struct vj_snap_config pol;
	char a[160], b[160];
	int r;

	vj_snapshot_config_from(vm, &pol);
	if (snap->vcpus != pol.vcpus)
		return vj_fail(e, -EINVAL, "vm.vcpus: the policy says %u, the snapshot %s was taken "
			       "with %u", pol.vcpus, dir, snap->vcpus);
	if (snap->memory_mib != pol.memory_mib)
		return vj_fail(e, -EINVAL, "vm.memory: the policy says %llu MiB, the snapshot %s was "
			       "taken with %llu MiB", (unsigned long long)pol.memory_mib, dir,
			       (unsigned long long)snap->memory_mib);
	for (unsigned i = 0; i < snap->ndevices && i < pol.ndevices; i++)
		if ((r = check_device(snap, &pol, i, dir, e)) < 0)
			return r;
	if (snap->ndevices != pol.ndevices)
		return vj_fail(e, -EINVAL, "devices: the policy has %u (%s), the snapshot %s %u (%s)",
			       pol.ndevices, kinds_text(&pol, a, sizeof(a)), dir, snap->ndevices,
			       kinds_text(snap, b, sizeof(b)));
	return 0;
}
