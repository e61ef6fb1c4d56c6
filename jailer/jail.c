#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "creds.h"
#include "mounts.h"

static char *const empty_env[] = { NULL };

/* Blocks until the parent says go. 0 on go; -EPIPE when the parent died. */
static int wait_go(int sync_fd)
{
	char c;
	ssize_t n;

	do
		n = recv(sync_fd, &c, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 1 && c == 'g' ? 0 : -EPIPE;
}

/*
 * Makes the fd table exactly 0, 1, 2, then pass[] as 3.., and nothing
 * else but the program and the sync socket just above those, both
 * close-on-exec. Copies go above everything first, since a source may
 * sit where another one belongs.
 */
static int arrange_fds(struct vj_jail *w, struct vj_err *e)
{
	int top = 3 + (int)w->npass;
	int tmp[VJ_PASS_MAX], ex, sy, io[3] = { -1, -1, -1 };

	for (unsigned i = 0; i < w->npass; i++)
		if ((tmp[i] = fcntl(w->pass[i], F_DUPFD_CLOEXEC, top + 2)) < 0)
			return vj_fail_errno(e, -errno, "jail: duplicate fd %d", w->pass[i]);
	if ((ex = fcntl(w->exec_fd, F_DUPFD_CLOEXEC, top + 2)) < 0 ||
	    (sy = fcntl(w->sync_fd, F_DUPFD_CLOEXEC, top + 2)) < 0)
		return vj_fail_errno(e, -errno, "jail: duplicate fds");
	for (int k = 0; k < 3; k++)
		if (w->stdio[k] >= 0 && (io[k] = fcntl(w->stdio[k], F_DUPFD_CLOEXEC, top + 2)) < 0)
			return vj_fail_errno(e, -errno, "jail: duplicate stdio");
	for (unsigned i = 0; i < w->npass; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)
			return vj_fail_errno(e, -errno, "jail: place fd %u", 3 + i);
	for (int k = 0; k < 3; k++)
		if (io[k] >= 0 && dup2(io[k], k) < 0)
			return vj_fail_errno(e, -errno, "jail: place stdio");
	if (dup3(ex, top, O_CLOEXEC) < 0 || dup3(sy, top + 1, O_CLOEXEC) < 0)
		return vj_fail_errno(e, -errno, "jail: place the program and sync fds");
	w->exec_fd = top;
	w->sync_fd = top + 1;
	if (close_range((unsigned)top + 2, ~0u, 0) < 0)
		return vj_fail_errno(e, -errno, "jail: close_range");
	return 0;
}

/*
 * The signals this thread ignores (bit s - 1 for signal s), from
 * /proc/thread-self/status while the host's /proc is still visible; all
 * of them when it cannot be read.
 */
static uint64_t ignored_signals(void)
{
	static const char key[] = "\nSigIgn:\t";
	cleanup_fd int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
	char text[4096], *at;
	ssize_t n;

	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, text, sizeof(text) - 1);
	if (n <= 0)
		return UINT64_MAX;
	text[n] = '\0';
	if (!(at = strstr(text, key)))
		return UINT64_MAX;
	return strtoull(at + sizeof(key) - 1, NULL, 16);
}

/* exec keeps the signal mask and ignored signals: neither may leak from
 * the launcher into the VMM. Handled ones exec resets itself, so only
 * the ignored ones are set back, not all 64 with a system call each. */
static void reset_signals(uint64_t ignored)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG && s <= 64; s++)
		if (ignored & (1ull << (s - 1)))
			signal(s, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP, glibc's own */
}

/* The credential change cleared the parent-death signal; set it again and
 * make sure the parent did not die before it was armed. */
static int arm_parent_death(int sync_fd, struct vj_err *e)
{
	char c;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return vj_fail_errno(e, -errno, "jail: prctl(PR_SET_PDEATHSIG)");
	if (recv(sync_fd, &c, 1, MSG_DONTWAIT) == 0)
		return vj_fail(e, -EPIPE, "jail: the launcher is gone");
	return 0;
}

/*
 * The jail, in order. Each step needs the one before it:
 *  1. wait for go: the parent first places us in the sandbox's cgroup
 *     (on v2 we were cloned into it; on v1 it moves us), writes our
 *     uid/gid maps and learns our pid; nothing here may run uncounted or
 *     with unmapped ids.
 *  2. cgroup namespace: created now, not at clone(), so that its root is
 *     the sandbox's own cgroup.
 *  3. new session: no controlling terminal, so no terminal signals and no
 *     TIOCSTI into the launcher's terminal.
 *  4. hostname: the host's name does not leak through uname().
 *  5. the empty read-only root (pivot_root, old root detached). Needs
 *     CAP_SYS_ADMIN, so before the privilege drop.
 *  6. the fd table: exactly the passed set. Before the rlimits, since
 *     RLIMIT_NOFILE bounds the numbers dup2() may use.
 *  7. rlimits: before the privilege drop, since raising one needs
 *     CAP_SYS_RESOURCE.
 *  8. signals back to defaults (exec keeps masks and ignores; which
 *     are ignored is read before step 5 takes /proc away).
 *  9. privilege drop: groups, gid, uid, every capability, no_new_privs.
 * 10. parent-death signal, re-armed after step 9 reset it.
 * 11. execveat() the VMM from the fd opened before the pivot: there is no
 *     file to open in the jail. Empty environment.
 */
static int jail_build(struct vj_jail *w, struct vj_err *e)
{
	uint64_t ignored;
	int r;

	if (wait_go(w->sync_fd) < 0)
		return vj_fail(e, -EPIPE, "jail: the launcher is gone");
	if (w->new_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0)
		return vj_fail_errno(e, -errno, "jail: unshare(CLONE_NEWCGROUP)");
	if (setsid() < 0)
		return vj_fail_errno(e, -errno, "jail: setsid");
	if (w->new_uts && sethostname("vmjail", 6) < 0)
		return vj_fail_errno(e, -errno, "jail: sethostname");
	ignored = ignored_signals();
	if ((r = vj_mounts_enter_empty_root(w->mount_proc, e)) < 0 ||
	    (r = arrange_fds(w, e)) < 0 || (r = vj_rlimits_apply(w->rlimits, e)) < 0)
		return r;
	reset_signals(ignored);
	if ((r = vj_creds_drop(w->uid, w->gid, e)) < 0 ||
	    (r = arm_parent_death(w->sync_fd, e)) < 0)
		return r;
	execveat(w->exec_fd, "", w->argv, empty_env, AT_EMPTY_PATH);
	return vj_fail_errno(e, -errno, "jail: execute %s", w->argv[0]);
}

void vj_jail_enter(const struct vj_jail *j)
{
	struct vj_jail w = *j;
	struct vj_err e;

	close(w.parent_fd);
	if (jail_build(&w, &e) < 0)
		(void)!send(w.sync_fd, e.msg, strlen(e.msg), MSG_NOSIGNAL);
}

int vj_jail_send_go(int sync_fd)
{
	return send(sync_fd, "g", 1, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int vj_jail_wait_exec(int sync_fd, struct vj_err *e)
{
	ssize_t n;

	do
		n = recv(sync_fd, e->msg, sizeof(e->msg) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	e->msg[n] = '\0';
	return -EPERM;
}
