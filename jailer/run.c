#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "exec.h"
#include "broker.h"
#include "cgroup.h"
#include "cleanup.h"
#include "clone.h"
#include "control_socket.h"
#include "daemon.h"
#include "ids.h"
#include "image_launch.h"
#include "jail.h"
#include "log.h"
#include "netns.h"
#include "policy_load.h"
#include "resources.h"
#include "rlimits.h"
#include "rundir.h"
#include "snapshot_dir.h"
#include "status.h"
#include "supervisor.h"
#include "undo.h"
#include "vmm_ctl.h"

/*
 * The launcher's phases, in the order they end, for --timing: where a
 * sandbox's start-up and tear-down time goes (bench/startup.md).
 */
enum phase {
	PHASE_ID,	 /* run directory, id lock, state file */
	PHASE_IDS,	 /* host uid/gid block */
	PHASE_NETNS,	 /* network namespace created and entered */
	PHASE_RESOURCES, /* files opened, control socket */
	PHASE_CGROUP,	 /* cgroup probed, made, limits written, opened */
	PHASE_BROKER,	 /* vsock broker, agent socket, configuration sealed */
	PHASE_CLONE,	 /* clone3 into the namespaces (and the v2 cgroup) */
	PHASE_PLACED,	 /* netns left, v1 moves, id maps */
	PHASE_EXEC,	 /* the jail built in the child and the VMM exec'd */
	PHASE_REAPED,	 /* the VMM's exit seen (its VM torn down by then) */
	PHASE_PROCS,	 /* broker stopped, descriptors closed */
	PHASE_UNDONE,	 /* state replayed: cgroup, sockets, run directory gone */
	PHASE_DONE,	 /* host ids released, watchers told */
	PHASE_COUNT
};

static const char *const phase_names[PHASE_COUNT] = {
	"id", "ids", "netns", "resources", "cgroup", "broker", "clone",
	"placed", "exec", "reaped", "procs", "undone", "done",
};

struct sandbox {
	const struct vj_launch *l;
	bool migrated; /* it runs on another host now: its record goes too */
	struct vj_rundir rd;
	struct vj_ids ids; /* the sandbox's own host uids and gids */
	struct vj_netns netns;
	struct vj_resources res;
	struct vj_cgroup_host cghost;
	struct vj_cgroup cg;
	int cgroup_fd; /* the v2 group the broker and the VMM are cloned into;
			* -1 on v1, where both are moved after their clone */
	char cgroup_path[2 * VJ_PATH_MAX]; /* its path; empty without one */
	struct vj_broker broker;
	int agent_listen; /* "<vsock uds>_1024": -1 without a workload or a received one */
	/* `vmjail receive`: the source had a guest agent's session, which
	 * this launcher continues (VJ_VMM_MIGRATE_AGENT in RECEIVED) */
	bool received_agent;
	/* stdout and stderr are terminals, so that the workload's output
	 * must be made harmless there (termsafe.h): decided once, before
	 * the guest runs. */
	bool out_terminal, err_terminal;
	int sync[2]; /* [0] the launcher's end, [1] the child's */
	int vmm_ctl; /* the launcher's end of the VMM's channel (common/vmm_ctl.h) */
	struct vj_ctl_server ctl; /* the sandbox's control socket (CONTROL.md) */
	uid_t owner; /* who besides root may control it; (uid_t)-1: nobody */
	uint64_t created_ms;
	struct agent_run *agent; /* while a workload's session runs */
	/* the launcher's end of the session's commands (struct vj_agent_cmd
	 * per packet); -1 while no session runs */
	int agent_cmd;
	/* `exec`: a port and a thread per process beside the workload */
	struct vj_execs execs;
	/* --from-snapshot: the snapshot, open until the VMM has its copies */
	struct vj_snapshot_source snap;
	int pidfd;
	pid_t pid;
	bool reaped;
	/* The VMM reported its end and is exiting (VJ_VMM_CTL_EVENT_ENDED):
	 * what remains of the teardown may go on behind the caller. */
	bool exiting;
	/* The process that finishes the teardown, once it is not the
	 * launcher that started it; 0 before. */
	pid_t teardown_pid;
	char *argv[VJ_TEST_ARGS_MAX + 8];
	char config_fd_arg[16];
	char name[VJ_PATH_MAX];
	uint64_t clone_ns, exec_ns;
	/* --timing: CLOCK_MONOTONIC at the end of each phase (enum phase);
	 * 0 for a phase never reached. Stamped only with --timing. */
	uint64_t phase_ns[PHASE_COUNT];
	long phase_faults[PHASE_COUNT]; /* the launcher's page faults by then */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long page_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) < 0 ? 0 : ru.ru_minflt + ru.ru_majflt;
}

static void stamp(struct sandbox *sb, enum phase p)
{
	if (!sb->l->timing)
		return;
	sb->phase_ns[p] = now_ns();
	sb->phase_faults[p] = page_faults();
}

/* One line: each phase's duration from the end of the one before it
 * (from main() for the first), in ms; phases never reached left out. */
static void print_phases(const struct sandbox *sb)
{
	uint64_t prev = sb->l->start_ns;
	long before = 0;

	fprintf(stderr, "vmjail: timing phases");
	for (int p = 0; p < PHASE_COUNT; p++) {
		if (!sb->phase_ns[p])
			continue;
		fprintf(stderr, " %s=%.3f", phase_names[p], (double)(sb->phase_ns[p] - prev) / 1e6);
		prev = sb->phase_ns[p];
	}
	fprintf(stderr, " total=%.3f ms\n", (double)(prev - sb->l->start_ns) / 1e6);
	/* The same phases in page faults, which do not depend on how fast
	 * the machine is: the launcher's own (the child's and the VMM's are
	 * theirs). */
	fprintf(stderr, "vmjail: timing faults");
	for (int p = 0; p < PHASE_COUNT; p++) {
		if (!sb->phase_ns[p])
			continue;
		fprintf(stderr, " %s=%ld", phase_names[p], sb->phase_faults[p] - before);
		before = sb->phase_faults[p];
	}
	fprintf(stderr, " total=%ld\n", before);
}

static int record_number(struct vj_rundir *rd, const char *kind, long v, struct vj_err *e)
{
	char buf[24];
	int r;

	snprintf(buf, sizeof(buf), "%ld", v);
	if ((r = vj_rundir_record(rd, kind, buf)) < 0)
		return vj_fail_errno(e, r, "record %s in %s/state", kind, rd->path);
	return 0;
}

/* The run directory and the id's lock; a dead launcher's leftovers under
 * the same id are removed before the id is reused. */
static int take_id(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	bool stale = false;
	int r;

	if ((r = vj_rundir_acquire(&sb->rd, l->host.run_dir, l->policy.id, &stale, e)) < 0)
		return r;
	if (stale && (r = vj_undo_records(&sb->rd, e)) < 0)
		return vj_wrap(e, "sandbox %s: an earlier run's leftovers remain", l->policy.id);
	if (stale && (r = vj_rundir_release(&sb->rd)) < 0)
		return vj_fail_errno(e, r, "remove stale %s", sb->rd.path);
	if (stale)
		return take_id(sb, e);
	return record_number(&sb->rd, "launcher", (long)getpid(), e);
}

/* Regular-file stdout/stderr, like a console file, grow with the
 * guest's console output: the fsize default leaves room for it. */
static void note_stream(struct vj_rlimit_inputs *in, int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	in->stream_is_file = true;
	if ((uint64_t)st.st_size > in->largest_stream)
		in->largest_stream = (uint64_t)st.st_size;
}

static void resolve_rlimits(const struct sandbox *sb, struct vj_rlimit_value out[])
{
	const struct vj_vm_config *c = &sb->res.cfg;
	struct vj_rlimit_inputs in = { .console_limit = c->console_limit };
	struct stat st;

	for (uint32_t i = 0; i < c->ndrives; i++)
		if (!c->drives[i].read_only && fstat(c->drives[i].file.fd, &st) == 0 &&
		    (uint64_t)st.st_size > in.largest_drive)
			in.largest_drive = (uint64_t)st.st_size;
	/* The VMM writes guest RAM (and a state file of a few MiB at most)
	 * into a snapshot, where the host allows them. */
	if (sb->l->host.nsnapshot_roots)
		in.snapshot_bytes = (c->memory_mib << 20) + VJ_SNAPSHOT_MAX_BYTES;
	note_stream(&in, c->console_file.fd);
	if (!sb->l->detach) {
		note_stream(&in, STDOUT_FILENO);
		note_stream(&in, STDERR_FILENO);
	}
	vj_rlimits_resolve(&sb->l->policy.jail.rlimits, &in, out);
}

/* argv of the program in the jail: the VMM's, or the test program's with
 * its extra arguments. */
static void build_argv(struct sandbox *sb)
{
	const struct vj_launch *l = sb->l;
	unsigned n = 0;

	snprintf(sb->name, sizeof(sb->name), "%s", l->test_exec[0] ? l->test_exec : "vmjail-vmm");
	sb->argv[n++] = basename(sb->name);
	for (int i = 0; i < l->verbosity && i < 3 && !l->test_exec[0]; i++)
		sb->argv[n++] = "-v";
	snprintf(sb->config_fd_arg, sizeof(sb->config_fd_arg), "%d", sb->res.config_fd);
	sb->argv[n++] = "--config-fd";
	sb->argv[n++] = sb->config_fd_arg;
	for (unsigned i = 0; i < l->ntest_args; i++)
		sb->argv[n++] = l->test_args[i];
	sb->argv[n] = NULL;
}

/* The host ids the VMM runs as, with a user namespace the ones its ids
 * inside map to; outside the jail, the vsock broker runs as them. */
static void host_ids(const struct sandbox *sb, uint32_t *uid, uint32_t *gid)
{
	const struct vj_jail_policy *jp = &sb->l->policy.jail;
	bool userns = jp->namespaces & VJ_NS_USER;

	*uid = sb->ids.uid + (userns ? jp->uid : 0);
	*gid = sb->ids.gid + (userns ? jp->gid : 0);
}

/* Facts for whoever reads the state (nothing to undo), and for -v. */
static int record_ids(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	const struct vj_jail_policy *jp = &l->policy.jail;
	char map[48];
	uint32_t uid, gid;
	int r;

	host_ids(sb, &uid, &gid);
	if ((r = record_number(&sb->rd, "uid", uid, e)) < 0 ||
	    (r = record_number(&sb->rd, "gid", gid, e)) < 0)
		return r;
	if (!(jp->namespaces & VJ_NS_USER)) {
		vj_info("sandbox %s: runs as host uid %u, gid %u", l->policy.id, uid, gid);
		return 0;
	}
	snprintf(map, sizeof(map), "%u:%u:%u", sb->ids.uid, sb->ids.gid, jp->userns_count);
	if ((r = vj_rundir_record(&sb->rd, "userns", map)) < 0)
		return vj_fail_errno(e, r, "record userns in %s/state", sb->rd.path);
	vj_info("sandbox %s: runs as host uid %u, gid %u (%u:%u in its user namespace, which "
		"maps ids 0..%u to host uids %u.., gids %u..)",
		l->policy.id, uid, gid, jp->uid, jp->gid, jp->userns_count - 1, sb->ids.uid,
		sb->ids.gid);
	return 0;
}

/*
 * Host ids of the sandbox's own (ids.h), before anything is made for
 * them: the broker, the agent's socket and the VMM run as them, or map
 * to them. The operator's, in the flags form, or a block of the host's.
 */
static int take_ids(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	const struct vj_jail_policy *jp = &l->policy.jail;
	const bool userns = jp->namespaces & VJ_NS_USER;
	int r;

	if (l->host_ids_given)
		r = vj_ids_reserve(&sb->ids, VJ_IDS_LOCK, l->host_uid, l->host_gid,
				   userns ? jp->userns_count : 1, e);
	else if (userns && jp->userns_count > l->host.id_block)
		return vj_fail(e, -EINVAL, "jail: a user namespace of %u ids is more than the %u "
			       "the host gives each sandbox (ids.block in %s)",
			       jp->userns_count, l->host.id_block, l->host.source);
	else
		r = vj_ids_allocate(&sb->ids, VJ_IDS_LOCK, &l->host, e);
	return r < 0 ? r : record_ids(sb, e);
}

static int start_broker(struct sandbox *sb, struct vj_err *e)
{
	uint32_t uid, gid;

	host_ids(sb, &uid, &gid);
	return vj_broker_start(&sb->broker, sb->res.cfg.vsock.uds.name, uid, gid, sb->cgroup_fd,
			       &sb->res.cfg.vsock.broker.fd, e);
}

/* A workload runs through the guest agent (rootfs/PROTOCOL.md); the test
 * program never has one. */
static bool has_workload(const struct vj_launch *l)
{
	return l->policy.workload.argc > 0 && !l->test_exec[0];
}

/*
 * The agent reaches the launcher over vsock, and the workload's output
 * goes to the launcher's stdout and stderr (a detached sandbox's logs):
 * so a workload needs a vsock device and a console that is not stdout.
 */
static int check_workload(const struct vj_launch *l, struct vj_err *e)
{
	if (!has_workload(l))
		return 0;
	if (!l->policy.vm.vsock.enabled)
		return vj_fail(e, -EINVAL, "workload: the policy has no vm.vsock, which the guest "
			       "agent needs");
	if (l->policy.vm.console == VJ_CONSOLE_STDOUT)
		return vj_fail(e, -EINVAL, "workload: vm.console is stdout, where the workload's "
			       "output goes; set console: none");
	return 0;
}

/*
 * --from-snapshot: the snapshot is opened and checked before anything is
 * made for the sandbox: who may restore it, its files, the policy against
 * it. A snapshot in which a guest agent ran is one whose agent waits for
 * a launcher to reconnect to: it needs a workload, and one without an
 * agent cannot run one.
 */
static int open_snapshot(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	const char *dir = l->from_snapshot;
	int r;

	if ((r = vj_snapshot_open(l->host.snapshot_roots, l->host.nsnapshot_roots, dir, getuid(),
				  &sb->snap, e)) < 0 ||
	    (r = vj_snapshot_check_policy(&sb->snap.summary, &l->policy.vm, dir, e)) < 0)
		return r;
	if (sb->snap.meta.agent && !has_workload(l))
		return vj_fail(e, -EINVAL, "snapshot %s: its guest agent waits for a workload to run; "
			       "give one (-- ARGV, or workload.argv in the policy)", dir);
	if (!sb->snap.meta.agent && has_workload(l))
		return vj_fail(e, -EINVAL, "snapshot %s: no guest agent ran in its sandbox, so it "
			       "cannot run a workload; restore it without one", dir);
	vj_info("sandbox %s: resumes snapshot %s (of sandbox %s)", l->policy.id, dir,
		sb->snap.meta.source);
	return 0;
}

/* A received guest may have a guest agent whose workload runs on: whether
 * it does, only the stream says, once the VMM has received it; the
 * launcher listens for it from the start, as for a workload of its own. */
static bool may_receive_agent(const struct vj_launch *l)
{
	return l->migrate_from[0] && l->policy.vm.vsock.enabled;
}

static int listen_port(void *ctx, uint32_t port, int *fd, struct vj_err *e)
{
	struct sandbox *sb = ctx;
	uint32_t uid, gid;

	host_ids(sb, &uid, &gid);
	return vj_resources_listen_port(&sb->res, port, &sb->rd, uid, gid, fd, e);
}

/* The workload's port, and every exec slot's: made now, while the
 * launcher is one thread (socket files are made through the umask). */
static int listen_agent(struct sandbox *sb, struct vj_err *e)
{
	int r = listen_port(sb, VJ_AGENT_DEFAULT_PORT, &sb->agent_listen, e);

	return r < 0 ? r : vj_execs_listen(&sb->execs, sb->l->host.exec_max, listen_port, sb, e);
}

static uint64_t clone_flags(uint32_t ns)
{
	uint64_t f = CLONE_NEWNS | CLONE_NEWPID;

	if (ns & VJ_NS_IPC)
		f |= CLONE_NEWIPC;
	if (ns & VJ_NS_UTS)
		f |= CLONE_NEWUTS;
	if (ns & VJ_NS_USER)
		f |= CLONE_NEWUSER;
	return f;
}

/*
 * What the VMM gets as 0, 1 and 2. It reads no terminal, so stdin is
 * /dev/null; stdout is the launcher's only when the guest console goes
 * there (or a test program in the VMM's place reports there): with a
 * workload, stdout carries the workload's output alone, through the agent.
 * stderr stays the launcher's for the VMM's own messages. A detached
 * sandbox keeps nothing of its caller's.
 */
static void vmm_stdio(const struct sandbox *sb, int stdio[3])
{
	const struct vj_launch *l = sb->l;
	const int null = sb->res.devnull;
	const bool console = l->policy.vm.console == VJ_CONSOLE_STDOUT || l->test_exec[0];

	stdio[0] = null;
	stdio[1] = console && !l->detach ? -1 : null;
	stdio[2] = l->detach ? null : -1;
}

/* The child: from here on it only builds its jail and execs. */
static int clone_child(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_jail_policy *jp = &sb->l->policy.jail;
	const bool userns = jp->namespaces & VJ_NS_USER;
	struct vj_jail j = {
		/* In a user namespace the ids inside it, which its map makes
		 * the sandbox's host ids. */
		.uid = userns ? jp->uid : sb->ids.uid,
		.gid = userns ? jp->gid : sb->ids.gid,
		.new_cgroup_ns = jp->namespaces & VJ_NS_CGROUP,
		.new_uts = jp->namespaces & VJ_NS_UTS,
		.mount_proc = jp->mount_proc,
		.exec_fd = sb->res.exec_fd,
		.pass = sb->res.pass,
		.npass = sb->res.npass,
		.argv = sb->argv,
	};
	pid_t pid;

	vmm_stdio(sb, j.stdio);
	resolve_rlimits(sb, j.rlimits);
	build_argv(sb);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sb->sync) < 0)
		return vj_fail_errno(e, -errno, "socketpair");
	j.sync_fd = sb->sync[1];
	j.parent_fd = sb->sync[0];
	sb->clone_ns = now_ns();
	pid = vj_clone(clone_flags(jp->namespaces), sb->cgroup_fd, &sb->pidfd);
	if (pid < 0 && sb->cgroup_fd >= 0)
		return vj_fail_errno(e, pid, "clone3 into new namespaces and cgroup %s",
				     sb->cgroup_path);
	if (pid < 0)
		return vj_fail_errno(e, pid, "clone3 into new namespaces");
	if (pid == 0) {
		vj_jail_enter(&j);
		_exit(VJ_LAUNCH_FAILED);
	}
	sb->pid = pid;
	close(sb->sync[1]);
	sb->sync[1] = -1;
	return record_number(&sb->rd, "vmm", pid, e);
}

static int write_id_map(pid_t pid, const char *file, uint32_t base, uint32_t count,
			struct vj_err *e)
{
	char path[64], map[64];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(map, sizeof(map), "0 %u %u\n", base, count);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, (size_t)n) != n) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		return vj_fail_errno(e, r, "write %s (0 %u %u)", path, base, count);
	}
	close(fd);
	return 0;
}

static void log_placement(const struct sandbox *sb)
{
	const char *id = sb->l->policy.id;
	bool v1 = vj_cgroup_has_v1(&sb->cg);

	/* The path stays empty without a v2 group; the fd is closed by now. */
	if (sb->cgroup_path[0] && v1)
		vj_info("sandbox %s: VMM cloned into cgroup %s, moved into its v1 cgroups", id,
			sb->cgroup_path);
	else if (sb->cgroup_path[0])
		vj_info("sandbox %s: VMM cloned into cgroup %s", id, sb->cgroup_path);
	else
		vj_info("sandbox %s: VMM moved into its cgroups", id);
}

/* From outside, before the child runs any code of its own. */
static int place_child(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_jail_policy *jp = &sb->l->policy.jail;
	int r;

	if ((r = vj_cgroup_attach_v1(&sb->cg, sb->pid, e)) < 0 ||
	    (sb->broker.pid && (r = vj_cgroup_attach_v1(&sb->cg, sb->broker.pid, e)) < 0))
		return r;
	log_placement(sb);
	if (!(jp->namespaces & VJ_NS_USER))
		return 0;
	if ((r = write_id_map(sb->pid, "uid_map", sb->ids.uid, jp->userns_count, e)) < 0 ||
	    (r = write_id_map(sb->pid, "gid_map", sb->ids.gid, jp->userns_count, e)) < 0)
		return r;
	return 0;
}

static int check_jail(const struct vj_jail_policy *jp, struct vj_err *e)
{
	/* The jail is built on these two: pivot_root needs its own mount
	 * namespace, and the pid namespace takes every process with it when
	 * the VMM ends. */
	if ((jp->namespaces & (VJ_NS_MOUNT | VJ_NS_PID)) != (VJ_NS_MOUNT | VJ_NS_PID))
		return vj_fail(e, -EINVAL, "jail: the mount and pid namespaces cannot be turned off");
	if ((jp->namespaces & VJ_NS_USER) &&
	    (jp->uid >= jp->userns_count || jp->gid >= jp->userns_count))
		return vj_fail(e, -EINVAL,
			       "jail: uid %u / gid %u do not exist in a user namespace of %u ids",
			       jp->uid, jp->gid, jp->userns_count);
	return 0;
}

/* The control socket in the run directory, and the VMM's private channel:
 * its end is one of the resources the VMM gets. */
static int open_control(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	int sv[2], r;

	sb->owner = l->owner_given ? l->owner : l->host.has_owner ? l->host.owner : (uid_t)-1;
	if ((r = vj_ctl_server_open(&sb->ctl, sb->rd.dirfd, VJ_RUNDIR_CONTROL, sb->owner,
				    l->policy.id, e)) < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vj_fail_errno(e, -errno, "the VMM's control channel: socketpair");
	sb->vmm_ctl = sv[0];
	sb->res.cfg.control.fd = sv[1];
	snprintf(sb->res.cfg.control.name, sizeof(sb->res.cfg.control.name), "control channel");
	return 0;
}

/*
 * The jail, launcher side, in order:
 *  1. the id's lock and run directory: first, because everything created
 *     after it is recorded there, so that any exit path (or `vmjail
 *     cleanup` after a SIGKILL) can undo it.
 *  2. the sandbox's own host ids: the broker, the agent's socket and the
 *     VMM below are made for them. Then its control socket, so that it
 *     can be watched from its start.
 *  3. the network namespace the VMM will live in, entered by the launcher
 *     itself: taps must be attached there, and the child inherits it.
 *  4. every resource opened: bad input fails here, before anything costly
 *     exists, and the jail never needs a path. (A snapshot to resume is
 *     opened and checked even before step 1.)
 *  5. the cgroup with its limits: before any process of the sandbox
 *     exists, so that none ever runs unlimited. On v2 its directory is
 *     opened, so that each process is cloned straight into it.
 *  6. the vsock broker (in the cgroup on v2) and, with a workload, the
 *     launcher's own socket where the guest agent connects; then the VM
 *     configuration, which names the broker's socket, is sealed.
 *  7. clone() into new mount, pid, ipc, uts (and user) namespaces (and
 *     the v2 cgroup); the child waits.
 *  8. back to the host's network namespace.
 *  9. the child placed from outside: moved into its v1 cgroups (the
 *     broker too), uid/gid maps written.
 * 10. go: the child builds the rest of the jail (jail.c) and execs the
 *     VMM; its end of the socket closes on exec, or carries its error.
 */
/*
 * Whether this run's teardown may finish behind its caller: the host
 * file's choice, for a foreground `vmjail run` only. A detached
 * sandbox's launcher is nobody's to wait for anyway; vmjail-runc's state
 * machine and a received guest keep the exact order they document; host
 * ids given by hand stay held until the teardown ends, and the next run
 * given the same ones would find them taken.
 */
static bool teardown_behind(const struct vj_launch *l)
{
	return l->host.teardown == VJ_TEARDOWN_BACKGROUND && !l->detach && !l->oci &&
	       !l->migrate_from[0] && !l->host_ids_given;
}

static int start(struct sandbox *sb, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	const struct vj_jail_policy *jp = &l->policy.jail;
	int r;

	if (l->migrate_from[0] && has_workload(l))
		return vj_fail(e, -EINVAL, "receive: the received guest runs its own workload; the "
			       "policy may name none (workload.argv)");
	if ((r = check_jail(jp, e)) < 0 || (r = check_workload(l, e)) < 0 ||
	    (l->from_snapshot[0] && (r = open_snapshot(sb, e)) < 0) || (r = take_id(sb, e)) < 0)
		return r;
	stamp(sb, PHASE_ID);
	if ((r = take_ids(sb, e)) < 0)
		return r;
	stamp(sb, PHASE_IDS);
	if ((jp->namespaces & VJ_NS_NET) && (r = vj_netns_enter(&sb->netns, jp->netns, e)) < 0)
		return r;
	stamp(sb, PHASE_NETNS);
	if ((r = vj_resources_open(&sb->res, l, &sb->rd, e)) < 0 || (r = open_control(sb, e)) < 0)
		return r;
	/* A launcher that returns before the VM's teardown needs the VMM to
	 * let go of the caller's stdio first. */
	sb->res.cfg.release_stdio = teardown_behind(l);
	if (l->from_snapshot[0] &&
	    (r = vj_resources_restore(&sb->res, l->from_snapshot, sb->snap.state_fd,
				      sb->snap.memory_fd, e)) < 0)
		return r;
	/* The VMM's copy of the stream only: a destination that dies must
	 * look dead to its source. */
	if (l->migrate_from[0]) {
		struct vj_file *f = &sb->res.cfg.migrate_from;
		snprintf(f->name, sizeof(f->name), "migration stream (%.200s)", l->migrate_from);
		f->fd = l->migrate_fd;
		((struct vj_launch *)l)->migrate_fd = -1;
	}
	vj_snapshot_source_close(&sb->snap);
	stamp(sb, PHASE_RESOURCES);
	if ((r = vj_cgroup_host_probe(&sb->cghost, e)) < 0 ||
	    (r = vj_cgroup_create(&sb->cg, &sb->cghost, l->host.cgroup_parent, l->policy.id,
				  &jp->cgroup, &sb->rd, e)) < 0 ||
	    (r = vj_cgroup_open_v2(&sb->cg, sb->cgroup_path, sizeof(sb->cgroup_path),
				   &sb->cgroup_fd, e)) < 0)
		return r;
	stamp(sb, PHASE_CGROUP);
	if ((l->policy.vm.vsock.enabled && (r = start_broker(sb, e)) < 0) ||
	    ((has_workload(l) || may_receive_agent(l)) && (r = listen_agent(sb, e)) < 0) ||
	    (r = vj_resources_seal(&sb->res, e)) < 0)
		return r;
	stamp(sb, PHASE_BROKER);
	r = clone_child(sb, e);
	vj_closep(&sb->cgroup_fd);
	sb->cgroup_fd = -1;
	if (r < 0)
		return r;
	stamp(sb, PHASE_CLONE);
	if ((r = vj_netns_leave(&sb->netns, e)) < 0 || (r = place_child(sb, e)) < 0)
		return r;
	stamp(sb, PHASE_PLACED);
	if ((r = vj_jail_send_go(sb->sync[0])) < 0)
		return vj_fail_errno(e, r, "start the jail");
	r = vj_jail_wait_exec(sb->sync[0], e);
	sb->exec_ns = now_ns();
	if (r == 0)
		stamp(sb, PHASE_EXEC);
	vj_closep(&sb->sync[0]);
	sb->sync[0] = -1;
	return r;
}

/* A VMM that reported its end only closes its descriptors and exits
 * (KVM's teardown runs in its exit); one that takes longer than this is
 * not believed and killed. */
#define VMM_EXIT_GRACE_MS 10000

static void kill_and_reap(struct sandbox *sb)
{
	if (sb->pidfd < 0 || sb->reaped)
		return;
	if (!sb->exiting || vj_pidfd_wait(sb->pidfd, VMM_EXIT_GRACE_MS) < 0)
		pidfd_send_signal(sb->pidfd, SIGKILL, NULL, 0);
	(void)vj_pidfd_wait(sb->pidfd, -1);
	sb->reaped = true;
}

/* The state replayed and the run directory gone, or kept for `vmjail
 * cleanup` when a record could not be undone. */
static void undo_state(struct sandbox *sb, int status)
{
	/* A migrated sandbox is the destination's: its status, logs and id
	 * are gone from here, as with --rm (README: live migration). */
	const bool keep = sb->l->detach && !sb->l->rm && status >= 0 && !sb->migrated;
	struct vj_err e;
	int r;

	if (sb->rd.dirfd < 0)
		return;
	if ((r = vj_undo_records(&sb->rd, &e)) < 0) {
		vj_error("%s (state kept in %s for `vmjail cleanup %s`)", e.msg, sb->rd.path,
			 sb->rd.id);
		vj_rundir_close(&sb->rd);
		return;
	}
	/* A detached sandbox's status and logs outlive it, for `vmjail
	 * wait` and `logs`, until `vmjail rm`. */
	if (keep && (r = vj_status_write(sb->rd.dirfd, vj_sandbox_state_name(VJ_SB_EXITED), status,
					 sb->owner)) < 0)
		vj_error("write %s/%s: %s", sb->rd.path, VJ_RUNDIR_STATUS, strerror(-r));
	r = keep ? vj_rundir_retire(&sb->rd) : vj_rundir_release(&sb->rd);
	if (r < 0)
		vj_error("remove %s: %s", sb->rd.path, strerror(-r));
}

/* Every exit path ends here. The VMM is dead by now (or never existed);
 * its pid namespace took any other process with it. */
static void teardown(struct sandbox *sb, int status)
{
	struct vj_err e;

	if (vj_netns_leave(&sb->netns, &e) < 0)
		vj_error("%s", e.msg);
	kill_and_reap(sb);
	if (!sb->phase_ns[PHASE_REAPED] && sb->pid > 0)
		stamp(sb, PHASE_REAPED);
	vj_broker_stop(&sb->broker);
	vj_closep(&sb->agent_listen);
	vj_execs_close(&sb->execs);
	vj_closep(&sb->vmm_ctl);
	vj_ctl_server_stop_listening(&sb->ctl);
	vj_closep(&sb->cgroup_fd);
	vj_closep(&sb->pidfd);
	vj_closep(&sb->sync[0]);
	vj_closep(&sb->sync[1]);
	vj_snapshot_source_close(&sb->snap);
	vj_resources_close(&sb->res);
	stamp(sb, PHASE_PROCS);
	undo_state(sb, status);
	stamp(sb, PHASE_UNDONE);
	/* Last: no process of the sandbox is left, nor a socket it owns. */
	vj_ids_release(&sb->ids);
}

static int stop_signals_fd(struct vj_err *e)
{
	static const int sigs[] = VJ_STOP_SIGNALS;
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < VJ_ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return vj_fail_errno(e, -errno, "block stop signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? vj_fail_errno(e, -errno, "signalfd") : fd;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What sandbox.json and query-status say that does not change. */
static void info_fields(const struct sandbox *sb, struct vj_jw *w)
{
	const struct vj_launch *l = sb->l;
	const struct vj_workload *wl = &l->policy.workload;
	/* the process finishing a teardown in the background, once there is one */
	const pid_t launcher = sb->teardown_pid ? sb->teardown_pid : getpid();

	vj_jw_key(w, "id");
	vj_jw_string(w, l->policy.id);
	vj_jw_key(w, "launcher_pid");
	vj_jw_i64(w, launcher);
	vj_jw_key(w, "launcher_start");
	vj_jw_u64(w, vj_proc_start_time(launcher));
	vj_jw_key(w, "vmm_pid");
	vj_jw_i64(w, sb->pid);
	vj_jw_key(w, "owner");
	if (sb->owner == (uid_t)-1)
		vj_jw_null(w);
	else
		vj_jw_u64(w, sb->owner);
	vj_jw_key(w, "created_ms");
	vj_jw_u64(w, sb->created_ms);
	vj_jw_key(w, "vcpus");
	vj_jw_u64(w, l->policy.vm.vcpus);
	vj_jw_key(w, "memory");
	vj_jw_u64(w, l->policy.vm.memory_mib << 20);
	vj_jw_key(w, "policy");
	vj_jw_string(w, l->policy_path[0] ? l->policy_path : "(flags)");
	vj_jw_key(w, "workload");
	vj_jw_array_begin(w);
	for (uint32_t i = 0; has_workload(l) && i < wl->argc; i++)
		vj_jw_string(w, wl->argv[i]);
	vj_jw_array_end(w);
	vj_jw_key(w, "detached");
	vj_jw_bool(w, l->detach);
}

/* sandbox.json from info_fields(): 0 or -errno. */
static int write_info_only(struct sandbox *sb)
{
	struct vj_jw w;
	int r;

	vj_jw_init(&w, 1u << 20);
	vj_jw_object_begin(&w);
	info_fields(sb, &w);
	vj_jw_object_end(&w);
	r = vj_jw_finish(&w);
	if (r == 0)
		r = vj_info_write(sb->rd.dirfd, &w, sb->owner);
	vj_jw_free(&w);
	return r;
}

static int write_info(struct sandbox *sb, struct vj_err *e)
{
	int r = write_info_only(sb);

	if (r == 0)
		r = vj_status_write(sb->rd.dirfd, vj_sandbox_state_name(VJ_SB_RUNNING), -1,
				    sb->owner);
	return r < 0 ? vj_fail_errno(e, r, "write %s/%s", sb->rd.path, VJ_RUNDIR_INFO) : 0;
}

/* How long a received guest may take to arrive, all of its memory. */
#define RECEIVE_MS (30 * 60 * 1000)

/*
 * `vmjail receive`: the sandbox runs once its VMM received the guest
 * (VJ_VMM_CTL_EVENT_RECEIVED); a VMM that refused it or lost its source
 * has said why on stderr and exits, which closes its channel.
 */
static int await_received(struct sandbox *sb, struct vj_err *e)
{
	struct pollfd p = { .fd = sb->vmm_ctl, .events = POLLIN };
	struct vj_vmm_ctl_msg m;

	for (int waited = 0; waited < RECEIVE_MS; waited += 1000) {
		ssize_t n;
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = recv(sb->vmm_ctl, &m, sizeof(m), 0);
		if (n <= 0)
			return vj_fail(e, -EPROTO, "sandbox %s: the migration was not received (the "
				       "VMM's message above says why)", sb->l->policy.id);
		if (n == (ssize_t)sizeof(m) && m.op == VJ_VMM_CTL_EVENT_RECEIVED) {
			sb->received_agent = m.data.u64 & VJ_VMM_MIGRATE_AGENT;
			return 0;
		}
	}
	return vj_fail(e, -ETIMEDOUT, "sandbox %s: no migration received within %d minutes",
		       sb->l->policy.id, RECEIVE_MS / 60000);
}

static int announce(struct sandbox *sb, int *report_fd, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	int r;

	if (l->migrate_from[0] && (r = await_received(sb, e)) < 0)
		return r;
	/* No session came with the guest: nothing will connect. */
	if (l->migrate_from[0] && !sb->received_agent) {
		vj_closep(&sb->agent_listen);
		sb->agent_listen = -1;
	}
	if (sb->received_agent && sb->agent_listen < 0)
		return vj_fail(e, -EINVAL, "sandbox %s: the received guest's agent runs a workload, "
			       "but the policy has no vm.vsock to reach it", l->policy.id);
	if (l->timing)
		fprintf(stderr, "vmjail: timing start_ns=%" PRIu64 " clone_ns=%" PRIu64
				" exec_ns=%" PRIu64 "\n",
			l->start_ns, sb->clone_ns, sb->exec_ns);
	vj_info("sandbox %s: running, VMM pid %d", l->policy.id, (int)sb->pid);
	if ((r = write_info(sb, e)) < 0)
		return r;
	if (*report_fd < 0)
		return 0;
	if (l->pid_file[0]) {
		if ((r = vj_rundir_record(&sb->rd, "pidfile", l->pid_file)) < 0)
			return vj_fail_errno(e, r, "record pid file in %s", sb->rd.path);
		if ((r = vj_pidfile_write(l->pid_file, (int)getpid(), !l->oci, e)) < 0)
			return r;
	}
	if (l->oci)
		vj_daemon_report_keep_stdio(report_fd);
	else
		vj_daemon_report(report_fd, 0);
	return 0;
}

_Static_assert(VJ_MAX_NETS <= VJ_AGENT_NETS_MAX, "RESTORED can name every interface's MAC");
_Static_assert(VJ_UNLIMITED == VJ_AGENT_UNCAPPED, "an unlimited limits.output is no cap");

enum agent_phase { AGENT_WAITING, AGENT_CONNECTED, AGENT_DONE };

/* The agent's side of a run, in a thread beside the supervisor. */
struct agent_run {
	const struct sandbox *sb;
	struct vj_agent_io io; /* its cancel_fd: an eventfd, written once the VMM has ended */
	_Atomic int phase;     /* enum agent_phase */
	_Atomic unsigned version; /* the protocol version agreed; 0 before */
	struct vj_agent_restored restored; /* what a resumed snapshot's agent is told */
	int r;
	struct vj_agent_result res;
	struct vj_err e;
};

/*
 * A resumed snapshot's guest shares its random state, clock and name
 * with every other clone: it gets 64 fresh bytes of the host's entropy,
 * the host's clock as the session starts, the sandbox's own id as its
 * hostname (ids are [A-Za-z0-9-], a valid hostname), and the MAC of each
 * interface its policy names one for (vm.net[i] is the guest's eth<i>).
 */
static int fill_restored(struct agent_run *a, struct vj_err *e)
{
	struct vj_agent_restored *x = &a->restored;
	const struct vj_vm_config *vm = &a->sb->l->policy.vm;
	struct timespec now;

	if (getrandom(x->entropy, sizeof(x->entropy), 0) != (ssize_t)sizeof(x->entropy))
		return vj_fail_errno(e, -errno, "getrandom: entropy for the restored guest");
	clock_gettime(CLOCK_REALTIME, &now);
	x->realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	snprintf(x->hostname, sizeof(x->hostname), "%s", a->sb->l->policy.id);
	x->nmacs = 0;
	for (uint32_t i = 0; i < vm->nnets; i++) {
		if (!vm->nets[i].has_mac)
			continue;
		x->macs[x->nmacs].index = (uint8_t)i;
		memcpy(x->macs[x->nmacs++].mac, vm->nets[i].mac, 6);
	}
	a->io.restored = x;
	return 0;
}

/*
 * vmjail-runc's create/start split: the guest has booted and its agent is
 * connected, and the workload waits for `start`'s byte on the FIFO (or
 * for the end of the VM: `kill` or `delete` of a created container).
 */
static int wait_start(int start_fd, int cancel_fd, struct vj_err *e)
{
	struct pollfd p[2] = { { .fd = start_fd, .events = POLLIN },
			       { .fd = cancel_fd, .events = POLLIN } };
	char byte;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vj_fail_errno(e, -errno, "wait for start");
		}
		if (p[1].revents)
			return vj_fail(e, -ECANCELED, "the VM ended before start");
		if (p[0].revents && read(start_fd, &byte, 1) == 1)
			return 0;
	}
}

static void *agent_main(void *arg)
{
	struct agent_run *a = arg;
	const struct vj_launch *l = a->sb->l;
	struct vj_agent_spec spec = l->workload_spec;
	cleanup_fd int conn = -1;

	a->r = vj_agent_accept(a->sb->agent_listen, a->io.cancel_fd, a->sb->broker.pid, &conn,
			       &a->e);
	if (a->r == 0 && l->from_snapshot[0])
		a->r = fill_restored(a, &a->e);
	if (l->root_image && l->root_image->config.working_dir)
		snprintf(spec.cwd, sizeof(spec.cwd), "%s", l->root_image->config.working_dir);
	if (a->r == 0 && l->start_fd >= 0)
		a->r = wait_start(l->start_fd, a->io.cancel_fd, &a->e);
	if (a->r == 0) {
		atomic_store(&a->phase, AGENT_CONNECTED);
		a->r = vj_agent_session(conn, &spec, &a->sb->l->policy.workload, &a->io, &a->res,
					&a->e);
	}
	atomic_store(&a->phase, AGENT_DONE);
	explicit_bzero(a->restored.entropy, sizeof(a->restored.entropy));
	return NULL;
}

/* Output that never reached the user is never dropped silently: one line
 * per stream once the run is over, with the total and the reason. */
static void report_dropped(const struct agent_run *a)
{
	static const enum vj_agent_type streams[] = { VJ_AGENT_STDOUT, VJ_AGENT_STDERR };
	char line[256];

	for (size_t i = 0; i < VJ_ARRAY_SIZE(streams); i++)
		if (vj_agent_drop_line(&a->io, &a->res, streams[i], "limits.output", line,
				       sizeof(line)))
			vj_warn("sandbox %s: %s", a->sb->l->policy.id, line);
}

/*
 * The workload's status when the agent reported its end; otherwise the
 * VMM's (a timeout, a failure), or the agent's error when the VM ended
 * cleanly without one.
 */
static int workload_status(const struct agent_run *a, int vmm_status, struct vj_err *e)
{
	if (a->r == 0)
		return a->res.status;
	if (vmm_status != 0)
		return vmm_status;
	return vj_fail(e, a->r, "guest agent: %s", a->e.msg);
}

/* ---- what the supervisor asks of the sandbox --------------------------- */

static void op_status(void *ctx, struct vj_jw *w)
{
	const struct sandbox *sb = ctx;
	const uint64_t now = wall_ms();

	info_fields(sb, w);
	vj_jw_key(w, "uptime_ms");
	vj_jw_u64(w, now > sb->created_ms ? now - sb->created_ms : 0);
}

/* The policy as `vmjail check --json` prints it, made one line again: a
 * reply is one line. */
static void op_config(void *ctx, struct vj_jw *w)
{
	const struct sandbox *sb = ctx;
	cleanup_free char *text = NULL;
	struct vj_json_doc doc;
	size_t len = 0;
	struct vj_err why;
	FILE *f = open_memstream(&text, &len);
	int r = f ? vj_policy_print_json(&sb->l->policy, f) : -ENOMEM;

	if (f && fclose(f) != 0)
		r = -EIO;
	if (r == 0 && vj_json_parse(text, len, 1u << 16, &doc, &why) == 0) {
		vj_jw_tree(w, doc.root);
		vj_json_free(&doc);
	} else {
		vj_jw_null(w);
	}
}

static int op_cgroup_stats(void *ctx, uint64_t *cpu_usec, uint64_t *memory_bytes)
{
	const struct sandbox *sb = ctx;

	*cpu_usec = vj_proc_cpu_usec(sb->pid) + (sb->broker.pid ? vj_proc_cpu_usec(sb->broker.pid) : 0);
	return vj_cgroup_memory_usage(&sb->cg, memory_bytes);
}

static const char *op_agent_state(void *ctx)
{
	static const char *const names[] = { "waiting", "connected", "done" };
	const struct sandbox *sb = ctx;

	return sb->agent ? names[atomic_load(&sb->agent->phase)] : "none";
}

static int agent_command(const struct sandbox *sb, const struct vj_agent_cmd *c)
{
	/* Only to a session that runs: before the agent connects, and once
	 * the session has ended, no one would act on a command. */
	if (!sb->agent || sb->agent_cmd < 0 || atomic_load(&sb->agent->phase) != AGENT_CONNECTED)
		return -ENOTCONN;
	if (send(sb->agent_cmd, c, sizeof(*c), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(*c))
		return errno == EPIPE || errno == ECONNRESET ? -ENOTCONN : -errno;
	return 0;
}

static int exec_agent_command(void *ctx, const struct vj_agent_cmd *c)
{
	return agent_command(ctx, c);
}

static unsigned exec_agent_version(void *ctx)
{
	const struct sandbox *sb = ctx;

	if (!sb->agent || atomic_load(&sb->agent->phase) != AGENT_CONNECTED)
		return 0;
	return atomic_load(&sb->agent->version);
}

static int op_agent_signal(void *ctx, int sig)
{
	const struct vj_agent_cmd c = { .op = VJ_AGENT_CMD_SIGNAL, .arg = (uint32_t)sig };

	if (sig < 1 || (unsigned)sig > VJ_AGENT_SIGNAL_MAX)
		return -EINVAL;
	return agent_command(ctx, &c);
}

/* The guest's wall clock, after a pause: kvmclock hid the paused time
 * from the guest, so its CLOCK_REALTIME is behind by as much. */
static int op_agent_settime(void *ctx)
{
	struct vj_agent_cmd c = { .op = VJ_AGENT_CMD_SETTIME };
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -errno;
	c.arg64 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return agent_command(ctx, &c);
}

static void op_state_changed(void *ctx, enum vj_sandbox_state st)
{
	struct sandbox *sb = ctx;
	int r = vj_status_write(sb->rd.dirfd, vj_sandbox_state_name(st), -1, sb->owner);

	if (r < 0)
		vj_warn("sandbox %s: write %s/%s: %s", sb->l->policy.id, sb->rd.path,
			VJ_RUNDIR_STATUS, strerror(-r));
}

static const struct vj_supervisor_ops sandbox_ops = {
	.status = op_status,
	.config = op_config,
	.cgroup_stats = op_cgroup_stats,
	.agent_state = op_agent_state,
	.agent_signal = op_agent_signal,
	.agent_settime = op_agent_settime,
	.state_changed = op_state_changed,
};

/* A detached sandbox's workload writes to its logs in the run directory,
 * the owner's to read. */
static int open_log(struct sandbox *sb, const char *name, int *fd, struct vj_err *e)
{
	*fd = openat(sb->rd.dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return vj_fail_errno(e, -errno, "create %s/%s", sb->rd.path, name);
	if (sb->owner != (uid_t)-1 && fchown(*fd, sb->owner, (gid_t)-1) < 0)
		return vj_fail_errno(e, -errno, "give %s/%s to uid %u", sb->rd.path, name,
				     (unsigned)sb->owner);
	return 0;
}

/* The session's command channel: the agent's thread reads one end, the
 * supervisor writes the other without ever waiting on it. */
static int open_commands(int *rd, int *wr, struct vj_err *e)
{
	int p[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) < 0)
		return vj_fail_errno(e, -errno, "socketpair for the guest agent's commands");
	*rd = p[0];
	*wr = p[1];
	return 0;
}

static int first_writable_drive(const struct vj_vm_config *vm)
{
	for (uint32_t i = 0; i < vm->ndrives; i++)
		if (!vm->drives[i].read_only)
			return (int)i;
	return -1;
}

static int supervise(struct sandbox *sb, int sigfd, struct vj_err *e)
{
	const struct vj_launch *l = sb->l;
	const uint64_t cap = l->policy.limits.output_bytes;
	struct vj_supervisor s = {
		.id = l->policy.id,
		.pidfd = sb->pidfd,
		.sigfd = sigfd,
		.vmm_ctl = sb->vmm_ctl,
		.timeout_ms = l->policy.limits.timeout_ms,
		.has_agent = sb->agent_listen >= 0,
		.snapshot_roots = (const char (*)[VJ_PATH_MAX])l->host.snapshot_roots,
		.nsnapshot_roots = l->host.nsnapshot_roots,
		.writable_drive = first_writable_drive(&l->policy.vm),
		.local_drive = vj_host_local_writable_drive(&l->host, &l->policy.vm),
		.owner = sb->owner,
		.policy_path = l->policy_path[0] ? l->policy_path : "(flags)",
		.ctl = &sb->ctl,
		.ops = &sandbox_ops,
		.ctx = sb,
		.vmm_exec_ns = sb->exec_ns,
	};
	struct agent_run a = {
		.sb = sb,
		.io = { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO,
			.out_cap = cap, .err_cap = cap, .out_terminal = sb->out_terminal,
			.err_terminal = sb->err_terminal, .cmd_fd = -1,
			.continue_run = sb->received_agent },
		.phase = AGENT_WAITING,
		.r = -ECANCELED,
	};
	struct vj_agent_root root;
	cleanup_fd int cancel = -1;
	cleanup_fd int cmd_read = -1;
	cleanup_fd int cmd_write = -1;
	cleanup_fd int log_out = -1;
	cleanup_fd int log_err = -1;
	cleanup_fd int exec_done = -1;
	const uint64_t one = 1;
	pthread_t t;
	int status, r;

	if (s.local_drive >= 0)
		s.local_drive_path = l->policy.vm.drives[s.local_drive].file.name;
	s.end_early = teardown_behind(l);
	if (sb->agent_listen < 0) {
		status = vj_supervise(&s, e);
		sb->vmm_ctl = s.vmm_ctl;
		sb->exiting = s.left_exiting;
		sb->reaped = status >= 0 && !s.left_exiting;
		sb->migrated = s.migrated;
		return status;
	}
	/* A received workload's stdin ended with the source's session. */
	if (sb->received_agent)
		a.io.in_fd = -1;
	if (l->detach) {
		if ((r = open_log(sb, VJ_RUNDIR_STDOUT, &log_out, e)) < 0 ||
		    (r = open_log(sb, VJ_RUNDIR_STDERR, &log_err, e)) < 0)
			return r;
		a.io.in_fd = -1;
		a.io.out_fd = log_out;
		a.io.err_fd = log_err;
		a.io.out_terminal = a.io.err_terminal = false;
	}
	/* A reader of the workload's output that goes away is the workload's
	 * business (it gets EPIPE's equivalent: its output is discarded). */
	signal(SIGPIPE, SIG_IGN);
	if ((cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return vj_fail_errno(e, -errno, "eventfd");
	a.io.cancel_fd = cancel;
	if (l->root_image) {
		vj_launch_root_frame(l, &root);
		a.io.root = &root;
	}
	if ((r = open_commands(&cmd_read, &cmd_write, e)) < 0)
		return r;
	a.io.cmd_fd = cmd_read;
	a.io.version = &a.version;
	sb->agent_cmd = cmd_write;
	if ((exec_done = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return vj_fail_errno(e, -errno, "eventfd");
	sb->execs.done_fd = exec_done;
	sb->execs.cancel_fd = cancel;
	sb->execs.broker_pid = sb->broker.pid;
	sb->execs.out_cap = cap;
	sb->execs.agent = (struct vj_exec_agent){ .version = exec_agent_version,
						  .command = exec_agent_command, .ctx = sb };
	s.execs = &sb->execs;
	if ((r = pthread_create(&t, NULL, agent_main, &a)) != 0)
		return vj_fail_errno(e, -r, "start the guest agent's thread");
	sb->agent = &a;
	status = vj_supervise(&s, e);
	sb->vmm_ctl = s.vmm_ctl;
	sb->exiting = s.left_exiting;
	sb->reaped = status >= 0 && !s.left_exiting;
	sb->migrated = s.migrated;
	if (write(cancel, &one, sizeof(one)) != sizeof(one))
		vj_error("wake the guest agent's thread: %s", strerror(errno));
	pthread_join(t, NULL);
	/* The execs' threads saw the same cancellation. */
	vj_execs_close(&sb->execs);
	sb->execs.done_fd = sb->execs.cancel_fd = -1;
	sb->agent = NULL;
	sb->agent_cmd = -1;
	report_dropped(&a);
	return status < 0 ? status : workload_status(&a, status, e);
}

/* The last word to whoever watches: how it ended, then that it is all
 * gone; the socket closes after that. */
static void farewell(struct sandbox *sb, int status)
{
	struct vj_supervisor s = { .id = sb->l->policy.id, .ctl = &sb->ctl };

	if (!sb->ctl.sandbox[0])
		return; /* it never had one */
	if (status >= 0)
		vj_supervisor_event(&s, "exited", "status", status);
	vj_supervisor_event(&s, "cleanup-done", NULL, 0);
	vj_ctl_server_finish(&sb->ctl);
}

/*
 * The teardown's own process: a new session, so that no terminal's
 * signals reach it, and none of the caller's stdio, so that a reader of
 * `vmjail run`'s output sees EOF as the launcher returns. What goes wrong
 * here reaches no one's stderr: it goes to the host's log (syslog), and
 * a record that could not be undone keeps the run directory for `vmjail
 * cleanup` as ever.
 */
static _Noreturn void finish_behind(struct sandbox *sb, int status)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	(void)setsid();
	if (null >= 0) {
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(null, STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	vj_log_set_syslog(true);
	teardown(sb, status);
	farewell(sb, status);
	_exit(0);
}

/*
 * The workload's status is known and its output delivered; the VMM is
 * exiting, KVM tearing its VM down. The rest (the VMM's exit, the
 * broker, the records, the cgroup, the run directory, the host ids, the
 * watchers' last events) is handed to a child, and the launcher returns.
 * The id's lock and the host ids' locks are open file descriptions the
 * child shares, so they stay held until it is done; meanwhile the
 * status file says "cleaning STATUS" and sandbox.json names the child as
 * the launcher, so that `vmjail ps` shows the state and a `vmjail run`
 * of the same id waits for it (rundir.c). 0 once the child runs; -errno
 * when the teardown must be done here after all.
 */
static int go_behind(struct sandbox *sb, int status)
{
	pid_t pid;
	int r;

	if ((r = vj_status_write(sb->rd.dirfd, "cleaning", status, sb->owner)) < 0) {
		vj_warn("sandbox %s: write %s/%s: %s; tearing down before returning",
			sb->l->policy.id, sb->rd.path, VJ_RUNDIR_STATUS, strerror(-r));
		return r;
	}
	vj_ctl_server_stop_listening(&sb->ctl);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		vj_warn("sandbox %s: fork for the teardown: %s; tearing down before returning",
			sb->l->policy.id, strerror(errno));
		return r;
	}
	if (pid == 0)
		finish_behind(sb, status);
	sb->teardown_pid = pid;
	if ((r = write_info_only(sb)) < 0)
		vj_warn("sandbox %s: write %s/%s: %s", sb->l->policy.id, sb->rd.path,
			VJ_RUNDIR_INFO, strerror(-r));
	return 0;
}

int vj_run(const struct vj_launch *l, int *report_fd, struct vj_err *e)
{
	/*
	 * Static, not on the stack: the control server's client slots make
	 * it over 2 MiB, and an initializer zeroed all of it, some 500 page
	 * faults per launch; in zero-filled memory only the pages used are
	 * touched. One sandbox per launcher, so one vj_run() per process.
	 */
	static struct sandbox sb;
	cleanup_fd int sigfd = -1;
	int status;

	sb.l = l;
	sb.rd = (struct vj_rundir){ .basefd = -1, .dirfd = -1, .lockfd = -1, .statefd = -1 };
	sb.ids = (struct vj_ids){ .lock_fd = -1 };
	sb.netns = (struct vj_netns){ .host_fd = -1 };
	sb.cgroup_fd = -1;
	sb.broker = (struct vj_broker){ .pidfd = -1 };
	sb.agent_listen = -1;
	sb.agent_cmd = -1;
	sb.out_terminal = isatty(STDOUT_FILENO);
	sb.err_terminal = isatty(STDERR_FILENO);
	sb.sync[0] = sb.sync[1] = -1;
	sb.vmm_ctl = -1;
	sb.ctl.listen_fd = -1;
	sb.owner = (uid_t)-1;
	sb.created_ms = wall_ms();
	sb.pidfd = -1;
	sb.snap = (struct vj_snapshot_source){ .state_fd = -1, .memory_fd = -1 };
	vj_resources_init(&sb.res);
	vj_execs_init(&sb.execs);
	sigfd = stop_signals_fd(e);
	if (sigfd < 0)
		return sigfd;
	status = start(&sb, e);
	/* The VMM holds its own copies now; the launcher needs none of them
	 * (and its copies would keep taps and drive locks alive). */
	vj_resources_close(&sb.res);
	if (status == 0)
		status = announce(&sb, report_fd, e);
	/* The start's records are made: the supervising launcher holds no
	 * more descriptors than it needs. */
	vj_rundir_state_done(&sb.rd);
	if (status == 0) {
		status = supervise(&sb, sigfd, e);
		stamp(&sb, PHASE_REAPED);
	}
	if (status >= 0 && sb.exiting && !sb.reaped && go_behind(&sb, status) == 0) {
		if (l->timing)
			print_phases(&sb);
		return status;
	}
	teardown(&sb, status);
	farewell(&sb, status);
	stamp(&sb, PHASE_DONE);
	if (l->timing)
		print_phases(&sb);
	return status;
}
