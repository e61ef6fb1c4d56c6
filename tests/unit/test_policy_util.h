/* Shared fixtures of the policy library's unit tests: a scratch directory
 * tree and a host configuration whose roots point into it. */
#ifndef VJ_TEST_POLICY_UTIL_H
#define VJ_TEST_POLICY_UTIL_H

#include "unit.h"

#include "policy/policy_load.h"

/*
 * <dir>/kernels/{vmlinux,initrd.img}, <dir>/kernels/subdir/,
 * <dir>/images/{root.ext4,data.ext4}, <dir>/sockets/, <dir>/outside.txt
 * and a host configuration: those three roots, ids 1000..1999, at most 4
 * vCPUs, 1 GiB of memory, a 10 minute timeout, 4 MiB of console output,
 * cgroup memory 2 GiB, pids 128, cpus 2, core dumps 0.
 */
struct tp_fixture {
	char dir[256];
	struct vj_host_config host;
};

extern struct tp_fixture tp;

/* cmocka group setup/teardown creating and removing tp. */
int tp_setup(void **state);
int tp_teardown(void **state);

/* Creates a file (and its directories) under tp.dir / removes a tree. */
void tp_touch(const char *rel);
void tp_rmrf(const char *path);

/* tp.dir + "/" + rel, in a static buffer (one at a time). */
const char *tp_path(const char *rel);

/* Loads yaml as "p.yaml" against tp.host; the policy is freed again
 * unless p is given. Returns the load's result; err always filled. */
int tp_load(const char *yaml, struct vj_policy *p, struct vj_err *err);

/* Asserts that yaml fails to load with exactly msg. */
#define tp_assert_error(yaml_, want_)                                                           \
	do {                                                                                 \
		struct vj_err e_;                                                   \
		assert_int_not_equal(tp_load(yaml_, NULL, &e_), 0);                           \
		assert_string_equal(e_.msg, want_);                                            \
	} while (0)

/* printf into a static buffer, for expected messages holding tp.dir. */
const char *tp_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
