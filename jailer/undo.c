#include "undo.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "scalar.h"
#include "sockfile.h"

#define RECORDS_MAX 64

struct record {
	char kind[16];
	char value[VJ_RUNDIR_LINE_MAX];
};

struct records {
	unsigned n;
	struct record r[RECORDS_MAX];
};

static int collect(void *ctx, const char *kind, const char *value)
{
	struct records *rs = ctx;

	if (rs->n == RECORDS_MAX)
		return -E2BIG;
	snprintf(rs->r[rs->n].kind, sizeof(rs->r[rs->n].kind), "%s", kind);
	snprintf(rs->r[rs->n].value, sizeof(rs->r[rs->n].value), "%s", value);
	rs->n++;
	return 0;
}

static int undo(const struct record *rec, int run_dir_fd, struct vj_err *e)
{
	if (!strcmp(rec->kind, "cgroup") || !strcmp(rec->kind, "cgroup-parent"))
		return vj_cgroup_remove_recorded(rec->kind, rec->value, run_dir_fd, e);
	if (!strcmp(rec->kind, "socket"))
		return vj_sockfile_remove_recorded(rec->value, e);
	if (!strcmp(rec->kind, "pidfile")) {
		if (unlink(rec->value) < 0 && errno != ENOENT)
			return vj_fail_errno(e, -errno, "remove pid file %s", rec->value);
		return 0;
	}
	/* Facts about the sandbox, nothing to undo. */
	if (!strcmp(rec->kind, "launcher") || !strcmp(rec->kind, "vmm") ||
	    !strcmp(rec->kind, "uid") || !strcmp(rec->kind, "gid") || !strcmp(rec->kind, "userns"))
		return 0;
	return vj_fail(e, -EINVAL, "state record \"%s\": unknown kind", rec->kind);
}

int vj_undo_records(struct vj_rundir *rd, struct vj_err *e)
{
	struct records *rs = calloc(1, sizeof(*rs));
	struct vj_err one;
	int first = 0, r;

	if (!rs)
		return vj_fail(e, -ENOMEM, "clean up %s: out of memory", rd->path);
	r = vj_rundir_state_foreach(rd, collect, rs);
	if (r < 0)
		first = vj_fail_errno(e, r, "read %s/state", rd->path);
	for (unsigned i = rs->n; i-- > 0;) {
		r = undo(&rs->r[i], rd->basefd, &one);
		if (r < 0 && !first) {
			first = r;
			*e = one;
		} else if (r < 0) {
			vj_error("%s", one.msg);
		}
	}
	free(rs);
	return first;
}

static int cleanup_one(const char *run_dir, const char *id)
{
	struct vj_rundir rd;
	struct vj_err e;
	bool stale = false;
	int r;

	r = vj_rundir_acquire(&rd, run_dir, id, &stale, &e);
	if (r == -EBUSY) {
		printf("%s: running (its launcher is alive); stop it first\n", id);
		return r;
	}
	if (r < 0) {
		vj_error("%s", e.msg);
		return r;
	}
	r = vj_undo_records(&rd, &e);
	if (r < 0) {
		vj_error("%s", e.msg);
		/* Keep the state: a later cleanup may succeed. */
		vj_rundir_close(&rd);
		return r;
	}
	r = vj_rundir_release(&rd);
	if (r < 0) {
		vj_error("remove %s/%s: %s", run_dir, id, strerror(-r));
		return r;
	}
	printf("%s: %s\n", id, stale ? "cleaned up" : "nothing left");
	return 0;
}

int vj_undo_ids(const char *run_dir, char *const *ids, int nids)
{
	DIR *d;
	struct dirent *de;
	int first = 0, r;

	for (int i = 0; i < nids; i++)
		if ((r = cleanup_one(run_dir, ids[i])) < 0 && !first)
			first = r;
	if (nids)
		return first;
	d = opendir(run_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !vj_name_is_sandbox_id(de->d_name))
			continue;
		if ((r = cleanup_one(run_dir, de->d_name)) < 0 && !first)
			first = r;
	}
	closedir(d);
	return first;
}
