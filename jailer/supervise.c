#include "supervise.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch.h"
#include "log.h"

#define STOP_GRACE_MS 3000

static int arm(int tfd, uint64_t ms)
{
	struct itimerspec its = { .it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L } };

	return timerfd_settime(tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

static int status_of(const siginfo_t *si, bool timed_out, uint64_t timeout_ms, const char *id)
{
	if (timed_out) {
		vj_error("sandbox %s: timed out after %" PRIu64 " ms", id, timeout_ms);
		return VJ_LAUNCH_TIMEOUT;
	}
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	if (si->si_status == SIGSYS)
		vj_error("sandbox %s: the VMM was killed by SIGSYS: a system call outside its "
			 "seccomp allowlist",
			 id);
	else
		vj_error("sandbox %s: the VMM was killed by signal %d (%s)", id, si->si_status,
			 strsignal(si->si_status));
	return VJ_LAUNCH_SIGNALED + si->si_status;
}

int vj_supervise(int pidfd, int sigfd, uint64_t timeout_ms, const char *id, struct vj_err *e)
{
	cleanup_fd int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct pollfd pf[3] = {
		{ .fd = pidfd, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = tfd, .events = POLLIN },
	};
	bool stopping = false, timed_out = false;
	siginfo_t si = { 0 };
	int r;

	if (tfd < 0)
		return vj_fail_errno(e, -errno, "timerfd_create");
	if (timeout_ms && (r = arm(tfd, timeout_ms)) < 0)
		return vj_fail_errno(e, r, "arm the sandbox timeout");
	while (!(pf[0].revents & POLLIN)) {
		struct signalfd_siginfo ssi;
		uint64_t ticks;
		int sig = 0;

		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return vj_fail_errno(e, -errno, "poll");
		}
		if ((pf[1].revents & POLLIN) && read(sigfd, &ssi, sizeof(ssi)) == sizeof(ssi)) {
			vj_info("sandbox %s: stopping on signal %u", id, ssi.ssi_signo);
			sig = stopping ? SIGKILL : SIGTERM;
		}
		if ((pf[2].revents & POLLIN) && read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
			timed_out |= !stopping;
			sig = stopping ? SIGKILL : SIGTERM;
			if (sig == SIGKILL)
				vj_warn("sandbox %s: the VMM did not stop within %d ms; killing it", id,
					STOP_GRACE_MS);
		}
		if (!sig)
			continue;
		/* ESRCH: it is exiting already; the pidfd says so next. */
		if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
			return vj_fail_errno(e, -errno, "signal the VMM");
		if (sig == SIGTERM && (r = arm(tfd, STOP_GRACE_MS)) < 0)
			return vj_fail_errno(e, r, "arm the stop grace period");
		stopping = true;
	}
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		return vj_fail_errno(e, -errno, "waitid");
	return status_of(&si, timed_out, timeout_ms, id);
}
