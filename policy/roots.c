#include "roots.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "policy_load.h"

/* p lies beneath root (or is root, when allow_equal). Both canonical. */
static bool beneath(const char *p, const char *root, bool allow_equal)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return allow_equal || strcmp(p, "/");
	if (strncmp(p, root, n))
		return false;
	return p[n] == '/' || (allow_equal && p[n] == '\0');
}

bool vj_path_within(const char *p, const char *root)
{
	return beneath(p, root, true);
}

static bool beneath_any(const struct vj_roots *r, const char *p, bool allow_equal)
{
	for (unsigned i = 0; i < r->n; i++) {
		if (beneath(p, r->dirs[i], allow_equal))
			return true;
	}
	return false;
}

static void root_list(const struct vj_roots *r, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", r->dirs[i]);
}

static int canonical(const char *path, char out[VJ_PATH_MAX], struct vj_err *err)
{
	cleanup_free char *real = realpath(path, NULL);

	if (!real)
		return vj_fail_errno(err, -errno, "%s", path);
	if (strlen(real) >= VJ_PATH_MAX)
		return vj_fail(err, -ENAMETOOLONG, "%s: resolved path longer than %d bytes", path,
			 VJ_PATH_MAX - 1);
	strcpy(out, real);
	return 0;
}

static int join(const char *dir, const char *name, char out[VJ_PATH_MAX], struct vj_err *err)
{
	const char *sep = strcmp(dir, "/") ? "/" : "";

	if ((size_t)snprintf(out, VJ_PATH_MAX, "%s%s%s", dir, sep, name) >= VJ_PATH_MAX)
		return vj_fail(err, -ENAMETOOLONG, "%s/%s: path longer than %d bytes", dir, name,
			 VJ_PATH_MAX - 1);
	return 0;
}

/* Absolute name: itself. Relative: under the first root where it exists
 * (a missing entry, or a missing directory on the way, means "try the
 * next root"). */
static int lookup(const struct vj_roots *r, const char *name, char out[VJ_PATH_MAX], struct vj_err *err)
{
	char candidate[VJ_PATH_MAX], roots[VJ_MAX_ROOTS * VJ_PATH_MAX];
	int rc;

	if (name[0] == '/')
		return canonical(name, out, err);
	for (unsigned i = 0; i < r->n; i++) {
		if ((rc = join(r->dirs[i], name, candidate, err)) < 0)
			return rc;
		rc = canonical(candidate, out, err);
		if (rc != -ENOENT && rc != -ENOTDIR)
			return rc;
	}
	root_list(r, roots, sizeof(roots));
	return vj_fail(err, -ENOENT, "%s: not found under the %s roots (%s)", name, r->what, roots);
}

static int outside(const struct vj_roots *r, const char *name, const char *real,
		   struct vj_err *err)
{
	char roots[VJ_MAX_ROOTS * VJ_PATH_MAX];

	root_list(r, roots, sizeof(roots));
	if (strcmp(name, real))
		return vj_fail(err, -EACCES,
			       "%s (resolves to %s) is outside the allowed %s roots (%s)", name, real,
			       r->what, roots);
	return vj_fail(err, -EACCES, "%s is outside the allowed %s roots (%s)", name, r->what,
		       roots);
}

static int check_type(const struct vj_roots *r, const char *real, struct vj_err *err)
{
	struct stat st;

	if (stat(real, &st) < 0)
		return vj_fail_errno(err, -errno, "%s", real);
	if (S_ISREG(st.st_mode) || (r->kind == VJ_ROOT_IMAGE && S_ISBLK(st.st_mode)))
		return 0;
	return vj_fail(err, -EINVAL, "%s: expected a regular file%s", real,
		 r->kind == VJ_ROOT_IMAGE ? " or a block device" : "");
}

/* The socket's directory must exist and lie within a root; the socket
 * itself is created later by the launcher. */
static int resolve_socket(const struct vj_roots *r, const char *name, char out[VJ_PATH_MAX],
			  struct vj_err *err)
{
	char dir[VJ_PATH_MAX], real[VJ_PATH_MAX];
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	struct stat st;
	int rc;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return vj_fail(err, -EINVAL, "%s: expected a socket file name at the end", name);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == name)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
	if ((rc = lookup(r, dir, real, err)) < 0 ||
	    (rc = join(real, base, out, err)) < 0)
		return rc;
	if (!beneath_any(r, real, true))
		return outside(r, name, out, err);
	if (strlen(out) > VJ_VSOCK_UDS_MAX)
		return vj_fail(err, -ENAMETOOLONG, "%s: expected a socket path of at most %d bytes, found %zu",
			 out, VJ_VSOCK_UDS_MAX, strlen(out));
	if (lstat(out, &st) == 0 && !S_ISSOCK(st.st_mode))
		return vj_fail(err, -EEXIST, "%s exists and is not a socket", out);
	return 0;
}

int vj_roots_resolve(const struct vj_roots *r, const char *name, char out[VJ_PATH_MAX],
		     struct vj_err *err)
{
	char real[VJ_PATH_MAX];
	int rc;

	if (!r->n)
		return vj_fail(err, -EACCES, "no %s roots are configured on this host", r->what);
	if (r->kind == VJ_ROOT_SOCKET)
		return resolve_socket(r, name, out, err);
	if ((rc = lookup(r, name, real, err)) < 0)
		return rc;
	if (!beneath_any(r, real, false))
		return outside(r, name, real, err);
	if ((rc = check_type(r, real, err)) < 0)
		return rc;
	strcpy(out, real);
	return 0;
}

static int must_be_dir(const char *path, struct vj_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return vj_fail_errno(err, -errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return vj_fail(err, -ENOTDIR, "%s: not a directory", path);
	return 0;
}

/* A component that names a child, not "", "." or "..". */
static bool plain_component(const char *s, size_t n)
{
	return n && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

/* The nearest existing ancestor of dir made canonical, with the missing
 * components appended. Those may not be "." or "..", which only the file
 * system could resolve. */
static int canonical_missing(const char *dir, char out[VJ_PATH_MAX], struct vj_err *err)
{
	char head[VJ_PATH_MAX];
	size_t cut = strlen(dir), start;
	int rc;

	for (;;) {
		size_t end;
		start = cut;
		while (start > 0 && dir[start - 1] != '/')
			start--;
		if (!plain_component(dir + start, cut - start))
			return vj_fail(err, -ENOENT, "%s: %s", dir, strerror(ENOENT));
		end = start;
		while (end > 1 && dir[end - 1] == '/')
			end--;
		if (start)
			snprintf(head, sizeof(head), "%.*s", (int)end, dir);
		else
			snprintf(head, sizeof(head), ".");
		if ((rc = canonical(head, out, err)) == 0)
			break;
		if (rc != -ENOENT || start == 0 || !strcmp(head, "/"))
			return rc;
		cut = end;
	}
	if ((rc = must_be_dir(out, err)) < 0)
		return rc;
	for (const char *p = dir + start; *p;) {
		size_t n = strcspn(p, "/");
		char component[VJ_PATH_MAX];
		if (n) {
			if (!plain_component(p, n))
				return vj_fail(err, -ENOENT, "%s: %s", dir, strerror(ENOENT));
			snprintf(component, sizeof(component), "%.*s", (int)n, p);
			snprintf(head, sizeof(head), "%s", out);
			if ((rc = join(head, component, out, err)) < 0)
				return rc;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

int vj_root_canonical(const char *dir, char out[VJ_PATH_MAX], struct vj_err *err)
{
	char trimmed[VJ_PATH_MAX];
	size_t n = strlen(dir);
	int rc;

	if (n >= sizeof(trimmed))
		return vj_fail(err, -ENAMETOOLONG, "%s: path longer than %d bytes", dir, VJ_PATH_MAX - 1);
	memcpy(trimmed, dir, n + 1);
	while (n > 1 && trimmed[n - 1] == '/')
		trimmed[--n] = '\0';
	rc = canonical(trimmed, out, err);
	if (rc == 0)
		return must_be_dir(out, err);
	if (rc != -ENOENT)
		return rc;
	return canonical_missing(trimmed, out, err);
}
