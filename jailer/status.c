#include "status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "rundir.h"
#include "scalar.h"

#define INFO_MAX (64 * 1024)

/* Writes data as NAME, by way of a temporary file renamed over it. */
static int replace_file(int dirfd, const char *name, const char *data, size_t len, uid_t owner)
{
	char tmp[64];
	cleanup_fd int fd = -1;
	int r = 0;

	/* The directory's launcher is the only writer: one fixed name, which
	 * vj_rundir_release() knows to remove. */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len ||
	    (owner != (uid_t)-1 && fchown(fd, owner, (gid_t)-1) < 0) ||
	    renameat(dirfd, tmp, dirfd, name) < 0)
		r = errno ? -errno : -EIO;
	if (r < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int vj_status_write(int dirfd, const char *state, int exit_status, uid_t owner)
{
	char line[64];
	int n = exit_status >= 0 ? snprintf(line, sizeof(line), "%s %d\n", state, exit_status)
				 : snprintf(line, sizeof(line), "%s\n", state);

	return replace_file(dirfd, VJ_STATUS_FILE, line, (size_t)n, owner);
}

static ssize_t read_file(int dirfd, const char *name, char *buf, size_t cap)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return (ssize_t)got;
}

int vj_status_read(int dirfd, char *state, size_t cap, int *exit_status)
{
	char line[64], word[16];
	int status;
	ssize_t n = read_file(dirfd, VJ_STATUS_FILE, line, sizeof(line));

	if (n < 0)
		return (int)n;
	*exit_status = -1;
	/* "cleaning": exited too, its teardown still under way (run.c) */
	if (sscanf(line, "%15s %d", word, &status) == 2 &&
	    (!strcmp(word, "exited") || !strcmp(word, "cleaning")))
		*exit_status = status;
	else if (sscanf(line, "%15s", word) != 1)
		return -EINVAL;
	snprintf(state, cap, "%s", word);
	return 0;
}

int vj_info_write(int dirfd, const struct vj_jw *w, uid_t owner)
{
	return replace_file(dirfd, VJ_INFO_FILE, w->buf, w->len, owner);
}

uint64_t vj_proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	cleanup_fd int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: fields start after the
	 * last ')'. Field 22 is the 20th after it. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

/* Fields 14 and 15 of /proc/PID/stat, in clock ticks. */
uint64_t vj_proc_cpu_usec(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	cleanup_fd int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0 || hz <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (int field = 3; field < 14 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu %llu", &utime, &stime) != 2)
		return 0;
	return (utime + stime) * 1000000ull / (unsigned long long)hz;
}

static void join_argv(const struct vj_json *argv, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (const struct vj_json *a = argv ? argv->child : NULL; a && o + 1 < cap; a = a->next) {
		if (a->type != VJ_JSON_STRING)
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", a->text);
		if (o >= cap)
			o = cap - 1;
	}
}

static void from_info(struct vj_ps_entry *p, const struct vj_json *root)
{
	uint64_t v;
	const char *s;

	if (vj_json_u64(vj_json_get(root, "launcher_pid"), INT32_MAX, &v) == 0)
		p->launcher_pid = (pid_t)v;
	if (vj_json_u64(vj_json_get(root, "vmm_pid"), INT32_MAX, &v) == 0)
		p->vmm_pid = (pid_t)v;
	if (vj_json_u64(vj_json_get(root, "owner"), UINT32_MAX - 1, &v) == 0)
		p->owner = (uid_t)v;
	(void)vj_json_u64(vj_json_get(root, "created_ms"), UINT64_MAX, &p->created_ms);
	if (vj_json_u64(vj_json_get(root, "vcpus"), UINT32_MAX, &v) == 0)
		p->vcpus = (uint32_t)v;
	(void)vj_json_u64(vj_json_get(root, "memory"), UINT64_MAX, &p->memory);
	if (vj_json_string(vj_json_get(root, "policy"), &s) == 0)
		snprintf(p->policy, sizeof(p->policy), "%s", s);
	join_argv(vj_json_get(root, "workload"), p->workload, sizeof(p->workload));
}

/* Its launcher still runs: the pid and its start time both match. */
static bool launcher_alive(const struct vj_json *root, pid_t pid)
{
	uint64_t start;

	if (pid <= 0 || vj_json_u64(vj_json_get(root, "launcher_start"), UINT64_MAX, &start) < 0)
		return false;
	return vj_proc_start_time(pid) == start;
}

int vj_ps_read(int dirfd, const char *id, struct vj_ps_entry *p)
{
	static char info[INFO_MAX];
	struct vj_json_doc doc;
	struct vj_err why;
	ssize_t n;
	int r;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->owner = (uid_t)-1;
	p->exit_status = -1;
	strcpy(p->state, "starting");
	if ((r = vj_status_read(dirfd, p->state, sizeof(p->state), &p->exit_status)) < 0 &&
	    r != -ENOENT)
		return r;
	n = read_file(dirfd, VJ_INFO_FILE, info, sizeof(info));
	if (n < 0)
		return n == -ENOENT ? 0 : (int)n;
	if (vj_json_parse(info, (size_t)n, 4096, &doc, &why) < 0)
		return -EINVAL;
	from_info(p, doc.root);
	if (strcmp(p->state, "exited") && !launcher_alive(doc.root, p->launcher_pid))
		strcpy(p->state, "stale");
	vj_json_free(&doc);
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct vj_ps_entry *)a)->id, ((const struct vj_ps_entry *)b)->id);
}

int vj_ps_list(const char *run_dir, struct vj_ps_entry **out, size_t *count, struct vj_err *e)
{
	cleanup_free struct vj_ps_entry *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;
	int base;

	*out = NULL;
	*count = 0;
	base = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return errno == ENOENT ? 0 : vj_fail_errno(e, -errno, "open run directory %s", run_dir);
	dir = fdopendir(base);
	if (!dir) {
		close(base);
		return vj_fail_errno(e, -errno, "read run directory %s", run_dir);
	}
	while ((d = readdir(dir))) {
		cleanup_fd int fd = -1;
		if (!vj_name_is_sandbox_id(d->d_name))
			continue;
		fd = openat(base, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (n == cap) {
			struct vj_ps_entry *b = realloc(list, (cap ? 2 * cap : 16) * sizeof(*list));
			if (!b) {
				closedir(dir);
				return vj_fail(e, -ENOMEM, "ps: out of memory");
			}
			list = b;
			cap = cap ? 2 * cap : 16;
		}
		/* What the caller may not read is not theirs to see. */
		if (vj_ps_read(fd, d->d_name, &list[n]) == 0)
			n++;
	}
	closedir(dir);
	qsort(list, n, sizeof(*list), by_id);
	*out = steal_ptr(&list);
	*count = n;
	return 0;
}
