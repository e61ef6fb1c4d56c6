/*
 * The launcher's cgroup steps without a VMM, against this host's real
 * cgroup filesystem, for jail-cgroup-parent.sh: a sandbox's groups are
 * created and undone exactly as `vmjail run` does (run directory, state
 * records, vj_cgroup_create(), vj_undo_records()), so that what happens
 * to their parent can be checked on a host without /dev/kvm.
 *
 *   parents PARENT
 *	prints the directory PARENT names in each hierarchy a sandbox joins
 *   sandbox RUN_DIR PARENT ID HOLD_MS
 *	creates sandbox ID's groups, prints "ready" and each group's
 *	directory, holds them HOLD_MS (or until SIGTERM), then undoes them
 *	(SIGKILL it to leave them to `vmjail cleanup`)
 *   race RUN_DIR PARENT WORKERS ROUNDS [same]
 *	WORKERS processes each create and undo ROUNDS sandboxes at once;
 *	every one must be created, in a directory of PARENT; with "same",
 *	PARENT must be the very directory that existed at the start
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "rundir.h"
#include "undo.h"

static struct vj_cgroup_limits no_limits(void)
{
	return (struct vj_cgroup_limits){
		.cpu_quota_us = VJ_UNLIMITED, .cpu_period_us = VJ_UNLIMITED,
		.memory_max = VJ_UNLIMITED, .memory_swap_max = VJ_UNLIMITED,
		.pids_max = VJ_UNLIMITED, .io_weight = VJ_UNLIMITED,
	};
}

/* The hierarchies a sandbox without cpuset or io limits joins. */
static bool joined(const struct vj_cgroup_host *h, int c)
{
	return c <= VJ_CG_PIDS && h->version[c] != VJ_CGROUP_NONE;
}

/* <mount>[/<own>]/<parent>: where PARENT lies in controller c's hierarchy. */
static void parent_dir(const struct vj_cgroup_host *h, int c, const char *parent, char *out,
		       size_t len)
{
	const char *own = parent[0] == '/' ? "" : h->own[c];

	while (*own == '/')
		own++;
	while (*parent == '/')
		parent++;
	snprintf(out, len, "%s/%s%s%s", h->mount[c], own, *own ? "/" : "", parent);
}

static int probe(struct vj_cgroup_host *h)
{
	struct vj_err e;

	if (vj_cgroup_host_probe(h, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

static int cmd_parents(const char *parent)
{
	struct vj_cgroup_host h;
	char dir[3 * VJ_PATH_MAX];

	if (probe(&h) < 0)
		return 1;
	for (int c = 0; c < VJ_CG_COUNT; c++) {
		if (!joined(&h, c))
			continue;
		parent_dir(&h, c, parent, dir, sizeof(dir));
		printf("%s\n", dir);
	}
	return 0;
}

/* Every group of cg must be the directory <parent dir>/<id>, and exist:
 * a sandbox outside its parent would escape the parent's limits. With
 * inos, each parent must still be the directory found at the start. */
static int check_inside(const struct vj_cgroup_host *h, const struct vj_cgroup *cg,
			const char *parent, const char *id, const ino_t *inos)
{
	for (unsigned i = 0; i < cg->ngroups; i++) {
		int c = __builtin_ctz(cg->groups[i].ctls);
		char want[3 * VJ_PATH_MAX], group[4 * VJ_PATH_MAX], got[3 * VJ_PATH_MAX];
		struct stat st;

		parent_dir(h, c, parent, want, sizeof(want));
		snprintf(group, sizeof(group), "%s/%s", want, id);
		snprintf(got, sizeof(got), "%s/%s", h->mount[c], cg->groups[i].name);
		if (strcmp(got, group) || stat(got, &st) < 0) {
			fprintf(stderr, "sandbox %s: group %s is not %s, or missing\n", id, got, group);
			return -1;
		}
		if (inos && (stat(want, &st) < 0 || st.st_ino != inos[c])) {
			fprintf(stderr, "sandbox %s: parent %s is not the one that was there\n", id,
				want);
			return -1;
		}
	}
	return 0;
}

/* The launcher's steps: id lock, groups recorded and created; teardown
 * replays the records. hold: called between the two. */
static int one_sandbox(const char *run_dir, const char *parent, const char *id, const ino_t *inos,
		       void (*hold)(const struct vj_cgroup_host *, const struct vj_cgroup *, long),
		       long hold_ms)
{
	struct vj_cgroup_limits lim = no_limits();
	struct vj_cgroup_host h;
	struct vj_cgroup cg;
	struct vj_rundir rd;
	struct vj_err e;
	bool stale;
	int r, r2;

	if (vj_rundir_acquire(&rd, run_dir, id, &stale, &e) < 0) {
		fprintf(stderr, "sandbox %s: %s\n", id, e.msg);
		return -1;
	}
	/* A dead launcher's records are replayed first, as run.c does. */
	if (stale) {
		if (vj_undo_records(&rd, &e) < 0) {
			fprintf(stderr, "sandbox %s: earlier leftovers: %s\n", id, e.msg);
			return -1;
		}
		vj_rundir_release(&rd);
		return one_sandbox(run_dir, parent, id, inos, hold, hold_ms);
	}
	r = probe(&h);
	if (r == 0 && (r = vj_cgroup_create(&cg, &h, parent, id, &lim, &rd, &e)) < 0)
		fprintf(stderr, "sandbox %s: %s\n", id, e.msg);
	if (r == 0)
		r = check_inside(&h, &cg, parent, id, inos);
	if (r == 0 && hold)
		hold(&h, &cg, hold_ms);
	if ((r2 = vj_undo_records(&rd, &e)) < 0) {
		fprintf(stderr, "sandbox %s: undo: %s\n", id, e.msg);
		return -1;
	}
	vj_rundir_release(&rd);
	return r < 0 || r2 < 0 ? -1 : 0;
}

static void print_and_wait(const struct vj_cgroup_host *h, const struct vj_cgroup *cg, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t set;

	printf("ready\n");
	for (unsigned i = 0; i < cg->ngroups; i++)
		printf("%s/%s\n", h->mount[__builtin_ctz(cg->groups[i].ctls)], cg->groups[i].name);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigtimedwait(&set, NULL, &ts);
}

static int cmd_sandbox(const char *run_dir, const char *parent, const char *id, long hold_ms)
{
	sigset_t set;

	/* SIGTERM ends the hold early, like a launcher's stop signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return one_sandbox(run_dir, parent, id, NULL, print_and_wait, hold_ms) < 0;
}

static int worker(const char *run_dir, const char *parent, int w, int rounds, const ino_t *inos)
{
	int failed = 0;

	for (int i = 0; i < rounds; i++) {
		char id[32];
		snprintf(id, sizeof(id), "race-%d-%d", w, i);
		if (one_sandbox(run_dir, parent, id, inos, NULL, 0) < 0)
			failed++;
	}
	return failed ? 1 : 0;
}

static int cmd_race(const char *run_dir, const char *parent, int workers, int rounds, bool same)
{
	ino_t inos[VJ_CG_COUNT] = { 0 };
	struct vj_cgroup_host h;
	int failed = 0;

	if (probe(&h) < 0)
		return 1;
	for (int c = 0; same && c < VJ_CG_COUNT; c++) {
		char dir[3 * VJ_PATH_MAX];
		struct stat st;
		if (!joined(&h, c))
			continue;
		parent_dir(&h, c, parent, dir, sizeof(dir));
		if (stat(dir, &st) < 0) {
			perror(dir);
			return 1;
		}
		inos[c] = st.st_ino;
	}
	for (int w = 0; w < workers; w++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(worker(run_dir, parent, w, rounds, same ? inos : NULL));
	}
	for (int w = 0; w < workers; w++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	if (failed)
		fprintf(stderr, "race: %d of %d workers saw a failure\n", failed, workers);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	vj_log_init("jail-cgroup-parent", VJ_LOG_WARN);
	if (argc == 3 && !strcmp(argv[1], "parents"))
		return cmd_parents(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "sandbox"))
		return cmd_sandbox(argv[2], argv[3], argv[4], atol(argv[5]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "race"))
		return cmd_race(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]),
				argc == 7 && !strcmp(argv[6], "same"));
	fprintf(stderr, "usage: jail-cgroup-parent parents PARENT\n"
			"       jail-cgroup-parent sandbox RUN_DIR PARENT ID HOLD_MS\n"
			"       jail-cgroup-parent race RUN_DIR PARENT WORKERS ROUNDS [same]\n");
	return 2;
}
