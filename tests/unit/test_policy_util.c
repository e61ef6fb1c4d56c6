#include "test_policy_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tp_fixture tp;

static void mkdirs(const char *path)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		assert_true(mkdir(buf, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

const char *tp_path(const char *rel)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", tp.dir, rel);
	return buf;
}

void tp_touch(const char *rel)
{
	char path[1024], dir[sizeof(path)];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tp.dir, rel);
	memcpy(dir, path, sizeof(dir));
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tp_rmrf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tp_setup(void **state)
{
	struct vj_host_config *h = &tp.host;
	char tmpl[] = "/tmp/vj-policy-test-XXXXXX";
	char *real;

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	snprintf(tp.dir, sizeof(tp.dir), "%s", real);
	free(real);
	tp_touch("kernels/vmlinux");
	tp_touch("kernels/initrd.img");
	tp_touch("kernels/subdir/keep");
	tp_touch("images/root.ext4");
	tp_touch("images/data.ext4");
	tp_touch("sockets/keep");
	tp_touch("outside.txt");

	vj_host_config_defaults(h);
	snprintf(h->kernel_roots[0], VJ_PATH_MAX, "%s/kernels", tp.dir);
	snprintf(h->image_roots[0], VJ_PATH_MAX, "%s/images", tp.dir);
	snprintf(h->socket_roots[0], VJ_PATH_MAX, "%s/sockets", tp.dir);
	h->uid_min = h->gid_min = 1000;
	h->uid_max = h->gid_max = 1999;
	h->id_block = 100;
	h->max_vm.vcpus = 4;
	h->max_vm.memory = 1024ull << 20;
	h->max_vm.timeout = 600000;
	h->max_vm.console_output = 4u << 20;
	h->max_vm.output = 512u << 20;
	h->max_cgroup.memory_max = 2ull << 30;
	h->max_cgroup.pids_max = 128;
	h->max_cgroup.cpu_quota_us = 200000;
	h->max_cgroup.cpu_period_us = 100000;
	h->max_rlimits.core = 0;
	return 0;
}

int tp_teardown(void **state)
{
	(void)state;
	tp_rmrf(tp.dir);
	return 0;
}

int tp_load(const char *yaml, struct vj_policy *p, struct vj_err *err)
{
	struct vj_policy local;
	int r = vj_policy_load_buffer(p ? p : &local, "p.yaml", yaml, strlen(yaml), &tp.host, err);

	if (r == 0 && !p)
		vj_policy_free(&local);
	return r;
}

const char *tp_fmt(const char *fmt, ...)
{
	static char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}
