/*
 * The launcher's cgroup steps without a VMM, against this host's real
 * cgroup filesystem, for jail-cgroup-parent.sh: a sandbox's groups are
 * created and undone exactly as `vmjail run` does (run directory, state
 * records, vj_cgroup_create(), vj_undo_records()), so that what happens
 * to their parent can be checked on a host without /dev/kvm.
 *
 *   [OPTION] parents PARENT
 *	prints the directory PARENT names in each hierarchy a sandbox joins
 *   [OPTION] sandbox RUN_DIR PARENT ID HOLD_MS
 *	creates sandbox ID's groups, prints "ready" and each group's
 *	directory, holds them HOLD_MS (or until SIGTERM), then undoes them
 *	(SIGKILL it to leave them to `vmjail cleanup`)
 *   [OPTION] race RUN_DIR PARENT WORKERS ROUNDS [same]
 *	WORKERS processes each create and undo ROUNDS sandboxes at once;
 *	every one must be created, in a directory of PARENT; with "same",
 *	PARENT must be the very directory that existed at the start
 *
 * OPTION "cpuset CPUS": the sandbox has that cpuset limit, and joins the
 * cpuset hierarchy too.
 *
 * OPTION "weight KEY=N": the sandbox has the cgroup limit of the policy
 * key jail.cgroup.KEY (policy/settings.h), N in the policy's grammar.
 *
 * OPTION "way MOUNT CTL": a group is made in the cgroup2 hierarchy at MOUNT
 * alone, with controller CTL enabled on the way, through the same steps
 * below vj_cgroup_create() (records, vj_cgroup_group_create()): for a
 * cgroup2 hierarchy that offers none of the controllers a sandbox joins,
 * as on a host whose controllers are bound to v1. Its parents are taken
 * from the hierarchy's root.
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
#include "cgroup_parent.h"
#include "policy/settings.h"
#include "log.h"
#include "rundir.h"
#include "undo.h"

#define DIR_MAX (3 * VJ_PATH_MAX)

static const char *way_mount, *way_ctl; /* "way MOUNT CTL" */
static const char *cpus = "";           /* "cpuset CPUS" */
static const char *limit;               /* "weight KEY=N" */

/* A sandbox's group directories, and where each one's parent must be. */
struct dirs {
	unsigned n;
	int ctl[VJ_CG_COUNT]; /* the controller of each hierarchy */
	char parent[VJ_CG_COUNT][DIR_MAX];
	char group[VJ_CG_COUNT][DIR_MAX];
};

static struct vj_cgroup_limits no_limits(void)
{
	struct vj_cgroup_limits l = { .cpu_quota_us = VJ_UNLIMITED,
				      .cpu_period_us = VJ_UNLIMITED };

	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		*vj_setting_field(&vj_cgroup_settings[i], &l) = VJ_UNLIMITED;
	return l;
}

static const char *skip_slashes(const char *s)
{
	while (*s == '/')
		s++;
	return s;
}

/* PARENT's directory in each hierarchy the sandbox joins (no io limit):
 * <mount>[/<own>]/<parent>. */
static int parent_dirs(const char *parent, struct dirs *d)
{
	struct vj_cgroup_host h;
	struct vj_err e;

	d->n = 0;
	if (way_mount) {
		snprintf(d->parent[d->n++], DIR_MAX, "%s/%s", way_mount, skip_slashes(parent));
		return 0;
	}
	if (vj_cgroup_host_probe(&h, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	for (int c = VJ_CG_CPU; c <= VJ_CG_CPUSET; c++) {
		const char *own = parent[0] == '/' ? "" : skip_slashes(h.own[c]);
		if (h.version[c] == VJ_CGROUP_NONE || (c == VJ_CG_CPUSET && !cpus[0]))
			continue;
		d->ctl[d->n] = c;
		snprintf(d->parent[d->n++], DIR_MAX, "%s/%s%s%s", h.mount[c], own, *own ? "/" : "",
			 skip_slashes(parent));
	}
	return 0;
}

static int cmd_parents(const char *parent)
{
	struct dirs d;

	if (parent_dirs(parent, &d) < 0)
		return 1;
	for (unsigned i = 0; i < d.n; i++)
		printf("%s\n", d.parent[i]);
	return 0;
}

/* What create_group() in cgroup.c does for one hierarchy. */
static int create_way(const char *parent, const char *id, struct vj_rundir *rd, struct vj_err *e)
{
	struct vj_cgroup_way w = { .mount = way_mount, .parent = skip_slashes(parent),
				   .version = VJ_CGROUP_V2, .enable = way_ctl };
	char name[VJ_PATH_MAX], record[VJ_PATH_MAX + 64];
	int r;

	snprintf(name, sizeof(name), "%s/%s", w.parent, id);
	snprintf(record, sizeof(record), "%s %s", way_ctl, w.parent);
	if ((r = vj_rundir_record(rd, "cgroup-parent", record)) < 0)
		return vj_fail_errno(e, r, "record");
	snprintf(record, sizeof(record), "%s %s", way_ctl, name);
	if ((r = vj_rundir_record(rd, "cgroup", record)) < 0)
		return vj_fail_errno(e, r, "record");
	r = vj_cgroup_group_create(&w, name, rd->basefd, e);
	return r == -EEXIST ? vj_fail(e, r, "cgroup %s exists", name) : r;
}

/* KEY=N: a row of the cgroup table by its policy key. */
static int set_limit(struct vj_cgroup_limits *lim, const char *kv, struct vj_err *e)
{
	const char *eq = strchr(kv, '=');

	for (size_t i = 0; eq && i < VJ_CGROUP_NLIMITS; i++) {
		const struct vj_setting *s = &vj_cgroup_settings[i];
		if (strlen(s->key) != (size_t)(eq - kv) || strncmp(kv, s->key, (size_t)(eq - kv)))
			continue;
		if (vj_setting_parse(s, eq + 1, VJ_UNLIMITED, vj_setting_field(s, lim), e) < 0)
			return vj_wrap(e, "jail.cgroup.%s", s->key);
		return 0;
	}
	return vj_fail(e, -EINVAL, "weight %s: not KEY=N of jail.cgroup", kv);
}

/* Makes the groups; d gets their directories. */
static int create(const char *parent, const char *id, struct vj_rundir *rd, struct dirs *d,
		  struct vj_err *e)
{
	struct vj_cgroup_limits lim = no_limits();
	struct vj_cgroup_host h;
	struct vj_cgroup cg;
	int r;

	snprintf(lim.cpuset_cpus, sizeof(lim.cpuset_cpus), "%s", cpus);
	if (limit && (r = set_limit(&lim, limit, e)) < 0)
		return r;
	if (parent_dirs(parent, d) < 0)
		return vj_fail(e, -EIO, "probe");
	if (way_mount) {
		snprintf(d->group[0], DIR_MAX, "%s/%s/%s", way_mount, skip_slashes(parent), id);
		return create_way(parent, id, rd, e);
	}
	if ((r = vj_cgroup_host_probe(&h, e)) < 0 ||
	    (r = vj_cgroup_create(&cg, &h, parent, id, &lim, rd, e)) < 0)
		return r;
	for (unsigned i = 0; i < d->n; i++) {
		d->group[i][0] = '\0';
		for (unsigned g = 0; g < cg.ngroups; g++)
			if (cg.groups[g].ctls & (1u << d->ctl[i]))
				snprintf(d->group[i], DIR_MAX, "%s/%s", h.mount[d->ctl[i]],
					 cg.groups[g].name);
	}
	return 0;
}

/* Every group must be <its parent>/<id>, and exist: a sandbox outside its
 * parent would escape the parent's limits. With inos, each parent must
 * still be the directory found at the start. */
static int check_inside(const struct dirs *d, const char *id, const ino_t *inos)
{
	for (unsigned i = 0; i < d->n; i++) {
		char want[DIR_MAX + VJ_ID_MAX + 2];
		struct stat st;

		snprintf(want, sizeof(want), "%s/%s", d->parent[i], id);
		if (strcmp(d->group[i], want) || stat(want, &st) < 0) {
			fprintf(stderr, "sandbox %s: group \"%s\" is not %s, or missing\n", id,
				d->group[i], want);
			return -1;
		}
		if (inos && (stat(d->parent[i], &st) < 0 || st.st_ino != inos[i])) {
			fprintf(stderr, "sandbox %s: parent %s is not the one that was there\n", id,
				d->parent[i]);
			return -1;
		}
	}
	return 0;
}

/* The launcher's steps: id lock (replaying a dead launcher's records),
 * groups recorded and created; teardown replays the records. hold_ms >= 0:
 * print the groups and hold them. */
static int one_sandbox(const char *run_dir, const char *parent, const char *id, const ino_t *inos,
		       long hold_ms)
{
	struct vj_rundir rd;
	struct dirs d;
	struct vj_err e;
	bool stale;
	int r;

	if (vj_rundir_acquire(&rd, run_dir, id, &stale, &e) < 0) {
		fprintf(stderr, "sandbox %s: %s\n", id, e.msg);
		return -1;
	}
	if (stale) {
		if (vj_undo_records(&rd, &e) < 0) {
			fprintf(stderr, "sandbox %s: earlier leftovers: %s\n", id, e.msg);
			return -1;
		}
		vj_rundir_release(&rd);
		return one_sandbox(run_dir, parent, id, inos, hold_ms);
	}
	if ((r = create(parent, id, &rd, &d, &e)) < 0)
		fprintf(stderr, "sandbox %s: %s\n", id, e.msg);
	if (r == 0)
		r = check_inside(&d, id, inos);
	if (r == 0 && hold_ms >= 0) {
		struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
		sigset_t set;

		printf("ready\n");
		for (unsigned i = 0; i < d.n; i++)
			printf("%s\n", d.group[i]);
		fflush(stdout);
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigtimedwait(&set, NULL, &ts);
	}
	if (vj_undo_records(&rd, &e) < 0) {
		fprintf(stderr, "sandbox %s: undo: %s\n", id, e.msg);
		return -1;
	}
	vj_rundir_release(&rd);
	return r;
}

static int cmd_sandbox(const char *run_dir, const char *parent, const char *id, long hold_ms)
{
	sigset_t set;

	/* SIGTERM ends the hold early, like a launcher's stop signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return one_sandbox(run_dir, parent, id, NULL, hold_ms < 0 ? 0 : hold_ms) < 0;
}

static int worker(const char *run_dir, const char *parent, int w, int rounds, const ino_t *inos)
{
	int failed = 0;

	for (int i = 0; i < rounds; i++) {
		char id[32];
		snprintf(id, sizeof(id), "race-%d-%d", w, i);
		if (one_sandbox(run_dir, parent, id, inos, -1) < 0)
			failed++;
	}
	return failed ? 1 : 0;
}

static int cmd_race(const char *run_dir, const char *parent, int workers, int rounds, bool same)
{
	ino_t inos[VJ_CG_COUNT] = { 0 };
	struct dirs d;
	int failed = 0;

	if (parent_dirs(parent, &d) < 0)
		return 1;
	for (unsigned i = 0; same && i < d.n; i++) {
		struct stat st;
		if (stat(d.parent[i], &st) < 0) {
			perror(d.parent[i]);
			return 1;
		}
		inos[i] = st.st_ino;
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
	if (argc > 4 && !strcmp(argv[1], "way")) {
		way_mount = argv[2];
		way_ctl = argv[3];
		argc -= 3;
		argv += 3;
	} else if (argc > 3 && !strcmp(argv[1], "cpuset")) {
		cpus = argv[2];
		argc -= 2;
		argv += 2;
	} else if (argc > 3 && !strcmp(argv[1], "weight")) {
		limit = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc == 3 && !strcmp(argv[1], "parents"))
		return cmd_parents(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "sandbox"))
		return cmd_sandbox(argv[2], argv[3], argv[4], atol(argv[5]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "race"))
		return cmd_race(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]),
				argc == 7 && !strcmp(argv[6], "same"));
	fprintf(stderr, "usage: jail-cgroup-parent [way MOUNT CTL | cpuset CPUS | weight KEY=N] "
			"COMMAND\n"
			"  COMMAND: parents PARENT\n"
			"           sandbox RUN_DIR PARENT ID HOLD_MS\n"
			"           race RUN_DIR PARENT WORKERS ROUNDS [same]\n");
	return 2;
}
