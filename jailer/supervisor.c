#include "supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch.h"
#include "log.h"
#include "snapshot_dir.h"
#include "vmm_ctl.h"
#include "../vmm/exit.h"

/* A stopped VMM gets this long between SIGTERM and SIGKILL. */
#define STOP_GRACE_MS 3000
/* The VMM answers its channel within microseconds; this bounds a stuck one. */
#define VMM_REPLY_MS 5000
/* ... but a snapshot writes all of guest RAM first. */
#define VMM_SNAPSHOT_MS (10 * 60 * 1000)
/* ... and a migration all of it, and again what the guest dirtied. */
#define VMM_MIGRATE_MS (30 * 60 * 1000)

enum source { SRC_PIDFD = 1, SRC_SIGNAL, SRC_TIMER, SRC_VMM, SRC_LISTEN, SRC_CLIENT, SRC_EXEC };

static const char *const state_names[VJ_SB_STATES] = {
	[VJ_SB_STARTING] = "starting", [VJ_SB_RUNNING] = "running", [VJ_SB_PAUSED] = "paused",
	[VJ_SB_STOPPING] = "stopping", [VJ_SB_EXITED] = "exited",
};

const char *vj_sandbox_state_name(enum vj_sandbox_state s)
{
	return s < VJ_SB_STATES ? state_names[s] : "?";
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int watch(struct vj_supervisor *s, int op, int fd, uint32_t events, enum source src,
		 unsigned index)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)src << 32 | index };

	return epoll_ctl(s->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void set_state(struct vj_supervisor *s, enum vj_sandbox_state st)
{
	if (s->state == st)
		return;
	s->state = st;
	if (s->ops && s->ops->state_changed)
		s->ops->state_changed(s->ctx, st);
}

/* An event's line up to its data object, which the caller fills. */
static void event_begin(const struct vj_supervisor *s, struct vj_jw *w, const char *name)
{
	vj_jw_init(w, 4096);
	vj_ctl_write_event(w, name, s->id, wall_ms());
	vj_jw_object_begin(w);
}

/* Closes the data object and sends the line to every subscriber. */
static void event_send(const struct vj_supervisor *s, struct vj_jw *w)
{
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
	if (vj_jw_finish(w) == 0)
		vj_ctl_broadcast(s->ctl, w);
	vj_jw_free(w);
}

void vj_supervisor_event(struct vj_supervisor *s, const char *name, const char *data_key,
			 int64_t data_value)
{
	struct vj_jw w;

	if (!s->ctl)
		return;
	event_begin(s, &w, name);
	if (data_key) {
		vj_jw_key(&w, data_key);
		vj_jw_i64(&w, data_value);
	}
	event_send(s, &w);
}

static void event_str(struct vj_supervisor *s, const char *name, const char *key, const char *val,
		      const char *key2, uint64_t val2)
{
	struct vj_jw w;

	if (!s->ctl)
		return;
	event_begin(s, &w, name);
	vj_jw_key(&w, key);
	vj_jw_string(&w, val);
	vj_jw_key(&w, key2);
	vj_jw_u64(&w, val2);
	event_send(s, &w);
}

/* The one timer holds the nearest of the wall-clock limit and a stop's
 * deadline. */
static int rearm(struct vj_supervisor *s)
{
	uint64_t at = s->deadline_ns;
	struct itimerspec its = { 0 };

	if (s->timeout_at_ns && !s->timed_out && (!at || s->timeout_at_ns < at))
		at = s->timeout_at_ns;
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000000u);
		its.it_value.tv_nsec = (long)(at % 1000000000u);
	}
	return timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static void signal_vmm(struct vj_supervisor *s, int sig)
{
	/* ESRCH: it is exiting already; the pidfd says so next. */
	if (pidfd_send_signal(s->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		vj_error("sandbox %s: signal the VMM: %s", s->id, strerror(errno));
}

/* Stopping by signal or by the wall-clock limit: SIGTERM now (the VMM
 * stops its VM and exits 5), SIGKILL after the grace period; at once for
 * a second one. */
static void terminate(struct vj_supervisor *s)
{
	if (s->killing) {
		signal_vmm(s, SIGKILL);
		return;
	}
	if (s->state == VJ_SB_STOPPING && s->deadline_ns) {
		/* A second request while the first waits: no more waiting. */
		s->killing = true;
		signal_vmm(s, SIGKILL);
		return;
	}
	set_state(s, VJ_SB_STOPPING);
	signal_vmm(s, SIGTERM);
	s->deadline_ns = mono_ns() + STOP_GRACE_MS * 1000000ull;
	s->killing = true;
	(void)rearm(s);
}

static void on_timer(struct vj_supervisor *s)
{
	uint64_t ticks, now = mono_ns();

	if (read(s->tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	if (s->deadline_ns && now >= s->deadline_ns) {
		vj_warn("sandbox %s: the VMM did not stop in time; killing it", s->id);
		s->deadline_ns = 0;
		signal_vmm(s, SIGKILL);
	} else if (s->timeout_at_ns && !s->timed_out && now >= s->timeout_at_ns) {
		s->timed_out = true;
		vj_error("sandbox %s: timed out after %" PRIu64 " ms", s->id, s->timeout_ms);
		vj_supervisor_event(s, "timeout", "timeout_ms", (int64_t)s->timeout_ms);
		s->killing = false;
		s->deadline_ns = 0;
		terminate(s);
		return;
	}
	(void)rearm(s);
}

static void on_signal(struct vj_supervisor *s)
{
	struct signalfd_siginfo ssi;

	if (read(s->sigfd, &ssi, sizeof(ssi)) != sizeof(ssi))
		return;
	/* As with a local process, the first stop signal is the workload's
	 * to act on; a second one, or one no workload can take, stops the
	 * sandbox. A SIGTERM or SIGHUP passed on (a request to end, from an
	 * operator or a session going away) still ends it within the grace
	 * period; Ctrl-C is only passed on, as a shell would. */
	if (!s->forwarded && s->state == VJ_SB_RUNNING && s->has_agent &&
	    s->ops->agent_signal(s->ctx, (int)ssi.ssi_signo) == 0) {
		s->forwarded = true;
		vj_info("sandbox %s: signal %u passed to the workload", s->id, ssi.ssi_signo);
		if (ssi.ssi_signo != SIGINT) {
			set_state(s, VJ_SB_STOPPING);
			event_str(s, "stopping", "how", "agent", "timeout_ms", STOP_GRACE_MS);
			s->deadline_ns = mono_ns() + STOP_GRACE_MS * 1000000ull;
			s->killing = true;
			(void)rearm(s);
		}
		return;
	}
	vj_info("sandbox %s: stopping on signal %u", s->id, ssi.ssi_signo);
	terminate(s);
}

/* ---- the VMM's channel -------------------------------------------------- */

static void vmm_event(struct vj_supervisor *s, const struct vj_vmm_ctl_msg *m)
{
	/* A status is an exit status: anything else from the channel is
	 * not believed, and the pidfd decides. */
	if (m->op == VJ_VMM_CTL_EVENT_ENDED && m->status >= 0 && m->status <= 255) {
		s->ended = true;
		s->ended_status = m->status;
	}
	if (m->op == VJ_VMM_CTL_EVENT_BOOT_MARKER && m->data.u64 >= s->vmm_exec_ns)
		vj_supervisor_event(s, "boot-marker", "ms",
				    (int64_t)((m->data.u64 - s->vmm_exec_ns) / 1000000u));
}

static void on_vmm(struct vj_supervisor *s)
{
	struct vj_vmm_ctl_msg m;
	ssize_t n;

	while ((n = recv(s->vmm_ctl, &m, sizeof(m), MSG_DONTWAIT)) == (ssize_t)sizeof(m))
		vmm_event(s, &m);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* The VMM is gone or going; its pidfd says how. */
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->vmm_ctl, NULL);
		vj_closep(&s->vmm_ctl);
		s->vmm_ctl = -1;
	}
}

/* Sends one request, with descriptors (SCM_RIGHTS) when nfds > 0. */
static int vmm_send(struct vj_supervisor *s, const struct vj_vmm_ctl_msg *m, const int *fds,
		    unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds > 2)
		return -EINVAL;
	if (nfds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	if (sendmsg(s->vmm_ctl, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(*m))
		return -errno;
	return 0;
}

/* One request to the VMM and its reply, within timeout_ms; events that
 * arrive meanwhile are passed on. 0 and the reply, or -errno. */
/*
 * Waits for the VMM's message op (with seq, for a reply) for up to
 * timeout_ms, into *m; the events that come meanwhile are handled as
 * they come. 0, or -errno.
 */
static int vmm_wait(struct vj_supervisor *s, uint32_t op, uint64_t seq, uint64_t timeout_ms,
		    struct vj_vmm_ctl_msg *m)
{
	struct pollfd p = { .fd = s->vmm_ctl, .events = POLLIN };
	uint64_t until = mono_ns() + timeout_ms * 1000000ull;

	for (;;) {
		uint64_t now = mono_ns();
		ssize_t n;
		if (now >= until)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((until - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return -errno;
		n = recv(s->vmm_ctl, m, sizeof(*m), MSG_DONTWAIT);
		if (n == 0)
			return -ENOTCONN;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (n != (ssize_t)sizeof(*m) || m->version != VJ_VMM_CTL_VERSION)
			return -EPROTO;
		if (m->op == op && (op != VJ_VMM_CTL_REPLY || m->seq == seq))
			return 0;
		vmm_event(s, m);
	}
}

static int vmm_send_request(struct vj_supervisor *s, const struct vj_vmm_ctl_msg *req,
			    const int *fds, unsigned nfds, uint64_t timeout_ms,
			    struct vj_vmm_ctl_msg *reply)
{
	int r;

	if (s->vmm_ctl < 0)
		return -ENOTCONN;
	if ((r = vmm_send(s, req, fds, nfds)) < 0 ||
	    (r = vmm_wait(s, VJ_VMM_CTL_REPLY, req->seq, timeout_ms, reply)) < 0)
		return r;
	return reply->status;
}

static int vmm_request_fds(struct vj_supervisor *s, uint32_t op, const int *fds, unsigned nfds,
			   uint64_t timeout_ms, struct vj_vmm_ctl_msg *reply)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .seq = ++s->seq };

	return vmm_send_request(s, &m, fds, nfds, timeout_ms, reply);
}

static int vmm_request(struct vj_supervisor *s, uint32_t op, struct vj_vmm_ctl_msg *reply)
{
	return vmm_request_fds(s, op, NULL, 0, VMM_REPLY_MS, reply);
}

/* ---- commands ------------------------------------------------------------- */

static void reply_ok(struct vj_jw *w, const char *id)
{
	vj_ctl_write_return(w, id);
	vj_jw_object_begin(w);
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

static void reply_failed(struct vj_jw *w, const char *id, enum vj_ctl_class class,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_failed(struct vj_jw *w, const char *id, enum vj_ctl_class class,
			 const char *fmt, ...)
{
	char desc[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	vj_ctl_write_error(w, id, class, desc);
}

static void cmd_pause(struct vj_supervisor *s, const char *id, struct vj_jw *w)
{
	struct vj_vmm_ctl_msg r;
	int rc;

	if (s->state != VJ_SB_RUNNING) {
		reply_failed(w, id, VJ_CTL_WRONG_STATE, "sandbox %s is %s, not running", s->id,
			     vj_sandbox_state_name(s->state));
		return;
	}
	if ((rc = vmm_request(s, VJ_VMM_CTL_PAUSE, &r)) < 0) {
		reply_failed(w, id, VJ_CTL_FAILED, "sandbox %s: pause: %s", s->id, strerror(-rc));
		return;
	}
	set_state(s, VJ_SB_PAUSED);
	vj_supervisor_event(s, "paused", NULL, 0);
	reply_ok(w, id);
}

static int resume(struct vj_supervisor *s)
{
	struct vj_vmm_ctl_msg r;
	int rc = vmm_request(s, VJ_VMM_CTL_RESUME, &r);

	if (rc < 0)
		return rc;
	set_state(s, VJ_SB_RUNNING);
	vj_supervisor_event(s, "resumed", NULL, 0);
	/* The guest's kvmclock skipped the pause; its wall clock is told. */
	if (s->has_agent && s->ops->agent_settime)
		(void)s->ops->agent_settime(s->ctx);
	return 0;
}

static void cmd_resume(struct vj_supervisor *s, const char *id, struct vj_jw *w)
{
	int rc;

	if (s->state != VJ_SB_PAUSED) {
		reply_failed(w, id, VJ_CTL_WRONG_STATE, "sandbox %s is %s, not paused", s->id,
			     vj_sandbox_state_name(s->state));
		return;
	}
	if ((rc = resume(s)) < 0) {
		reply_failed(w, id, VJ_CTL_FAILED, "sandbox %s: resume: %s", s->id,
			     rc == -ENOLCK ? "a writable drive is locked by another VMM (a migration's "
					     "destination?): resume once it has ended"
					   : strerror(-rc));
		return;
	}
	reply_ok(w, id);
}

/* Asks the guest to shut down: the workload gets SIGTERM from the agent;
 * without one, Ctrl-Alt-Del reaches the guest kernel through its i8042;
 * failing both, the VM is killed. Whatever happens, after timeout_ms the
 * VMM is killed. */
static void cmd_stop(struct vj_supervisor *s, const struct vj_ctl_request *req, struct vj_jw *w)
{
	struct vj_vmm_ctl_msg r;
	const char *how = "kill";

	if (s->state == VJ_SB_STOPPING) {
		reply_failed(w, req->id, VJ_CTL_WRONG_STATE, "sandbox %s is stopping already", s->id);
		return;
	}
	/* A held guest could not act on being asked. */
	if (s->state == VJ_SB_PAUSED && resume(s) < 0)
		how = "kill";
	else if (s->has_agent && s->ops->agent_signal(s->ctx, SIGTERM) == 0)
		how = "agent";
	else if (vmm_request(s, VJ_VMM_CTL_CTRL_ALT_DEL, &r) == 0)
		how = "ctrl-alt-del";
	set_state(s, VJ_SB_STOPPING);
	event_str(s, "stopping", "how", how, "timeout_ms", req->timeout_ms);
	if (!strcmp(how, "kill") || req->timeout_ms == 0) {
		signal_vmm(s, SIGKILL);
	} else {
		s->deadline_ns = mono_ns() + req->timeout_ms * 1000000ull;
		s->killing = true;
		(void)rearm(s);
	}
	reply_ok(w, req->id);
}

static void cmd_kill(struct vj_supervisor *s, const struct vj_ctl_request *req, struct vj_jw *w)
{
	int rc;

	if (!req->vm && s->has_agent) {
		if ((rc = s->ops->agent_signal(s->ctx, (int)req->signal)) < 0)
			reply_failed(w, req->id, VJ_CTL_FAILED,
				     "sandbox %s: signal %u to the workload: %s", s->id, req->signal,
				     strerror(-rc));
		else
			reply_ok(w, req->id);
		return;
	}
	set_state(s, VJ_SB_STOPPING);
	event_str(s, "stopping", "how", "kill", "timeout_ms", 0);
	signal_vmm(s, SIGKILL);
	reply_ok(w, req->id);
}

static void cmd_stats(struct vj_supervisor *s, const char *id, struct vj_jw *w)
{
	uint64_t cpu = 0, mem = 0;
	struct vj_vmm_ctl_msg r = { 0 };
	const struct vj_vmm_stats *st = &r.data.stats;
	int vmm = vmm_request(s, VJ_VMM_CTL_STATS, &r);

	(void)s->ops->cgroup_stats(s->ctx, &cpu, &mem);
	vj_ctl_write_return(w, id);
	vj_jw_object_begin(w);
	vj_jw_key(w, "state");
	vj_jw_string(w, vj_sandbox_state_name(s->state));
	vj_jw_key(w, "cpu_usec");
	vj_jw_u64(w, cpu);
	vj_jw_key(w, "memory_bytes");
	vj_jw_u64(w, mem);
	vj_jw_key(w, "agent");
	vj_jw_string(w, s->ops->agent_state(s->ctx));
	if (vmm == 0) {
		vj_jw_key(w, "paused_ms");
		vj_jw_u64(w, st->paused_ns / 1000000u);
		vj_jw_key(w, "exits");
		vj_jw_object_begin(w);
		vj_jw_key(w, "io");
		vj_jw_u64(w, st->exits_io);
		vj_jw_key(w, "mmio");
		vj_jw_u64(w, st->exits_mmio);
		vj_jw_key(w, "hlt");
		vj_jw_u64(w, st->exits_hlt);
		vj_jw_key(w, "other");
		vj_jw_u64(w, st->exits_other);
		vj_jw_object_end(w);
		vj_jw_key(w, "devices");
		vj_jw_array_begin(w);
		for (unsigned i = 0; i < VJ_VMM_STATS_DEVICES && st->dev[i].name[0]; i++) {
			const struct vj_vmm_dev_stats *d = &st->dev[i];
			vj_jw_object_begin(w);
			vj_jw_key(w, "name");
			vj_jw_string_n(w, d->name, strnlen(d->name, sizeof(d->name)));
			vj_jw_key(w, "requests");
			vj_jw_u64(w, d->requests);
			vj_jw_key(w, "bytes");
			vj_jw_u64(w, d->bytes);
			vj_jw_key(w, "throttled");
			vj_jw_u64(w, d->throttled);
			vj_jw_object_end(w);
		}
		vj_jw_array_end(w);
	}
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

static void cmd_status(struct vj_supervisor *s, const char *id, struct vj_jw *w, bool config)
{
	vj_ctl_write_return(w, id);
	vj_jw_object_begin(w);
	if (config) {
		vj_jw_key(w, "config");
		s->ops->config(s->ctx, w);
		vj_jw_key(w, "status");
		vj_jw_object_begin(w);
	}
	vj_jw_key(w, "state");
	vj_jw_string(w, vj_sandbox_state_name(s->state));
	s->ops->status(s->ctx, w);
	if (config)
		vj_jw_object_end(w);
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

/* What the VMM's refusal of a snapshot means, in one line. */
static void snapshot_refused(int rc, char *why, size_t len)
{
	switch (rc) {
	case -EROFS:
		snprintf(why, len, "it has a writable drive, and clones must never write one image");
		break;
	case -EFBIG:
		snprintf(why, len, "guest RAM is larger than the VMM may write (jail.rlimits.fsize)");
		break;
	case -EBUSY:
		snprintf(why, len, "the VM was not paused");
		break;
	default:
		snprintf(why, len, "the VMM could not write it: %s", strerror(-rc));
	}
}

/* Writes the snapshot of a paused VM into sd and commits it; the VM
 * stays paused whatever happens. */
static int take_snapshot(struct vj_supervisor *s, struct vj_snapshot_dir *sd, struct vj_err *e)
{
	struct vj_snapshot_meta m = { .owner = s->owner, .created_ms = wall_ms(),
				      .agent = s->has_agent };
	const int fds[2] = { sd->state_fd, sd->memory_fd };
	struct vj_vmm_ctl_msg r;
	char why[160];
	int rc = vmm_request_fds(s, VJ_VMM_CTL_SNAPSHOT, fds, 2, VMM_SNAPSHOT_MS, &r);

	if (rc < 0) {
		snapshot_refused(rc, why, sizeof(why));
		return vj_fail(e, rc, "sandbox %s: snapshot %s: %s", s->id, sd->path, why);
	}
	snprintf(m.source, sizeof(m.source), "%s", s->id);
	snprintf(m.policy, sizeof(m.policy), "%s", s->policy_path ? s->policy_path : "(flags)");
	return vj_snapshot_dir_commit(sd, &m, e);
}

/*
 * snapshot: the directory made beside DIR first (bad input fails before
 * the guest is touched), then pause (unless it is paused already), the
 * VMM writes state and memory, the launcher snapshot.json, the directory
 * is renamed into place, and the guest resumes, or stops with `stop`.
 * On any failure the temporary directory goes and the guest resumes.
 * The loop serves nothing else meanwhile: writing guest RAM takes what
 * it takes.
 */
static void cmd_snapshot(struct vj_supervisor *s, const struct vj_ctl_request *req,
			 struct vj_jw *w)
{
	const bool was_running = s->state == VJ_SB_RUNNING;
	const uint64_t t0 = mono_ns();
	struct vj_snapshot_dir sd;
	struct vj_vmm_ctl_msg r;
	struct vj_err e;
	int rc;

	if (!was_running && s->state != VJ_SB_PAUSED) {
		reply_failed(w, req->id, VJ_CTL_WRONG_STATE, "sandbox %s is %s, not running or paused",
			     s->id, vj_sandbox_state_name(s->state));
		return;
	}
	if (s->writable_drive >= 0) {
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: cannot be snapshotted: its drive "
			     "vm.drives[%d] is writable, and clones must never write one image",
			     s->id, s->writable_drive);
		return;
	}
	if ((rc = vj_snapshot_dir_begin(s->snapshot_roots, s->nsnapshot_roots, req->dir, &sd, &e)) <
	    0) {
		reply_failed(w, req->id, VJ_CTL_FAILED, "%s", e.msg);
		return;
	}
	if (was_running && (rc = vmm_request(s, VJ_VMM_CTL_PAUSE, &r)) < 0) {
		vj_snapshot_dir_abort(&sd);
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: pause for a snapshot: %s", s->id,
			     strerror(-rc));
		return;
	}
	if (was_running)
		set_state(s, VJ_SB_PAUSED);
	rc = take_snapshot(s, &sd, &e);
	vj_snapshot_dir_abort(&sd);
	if (rc == 0 && req->stop) {
		event_str(s, "snapshot-taken", "dir", req->dir, "ms", (mono_ns() - t0) / 1000000u);
		event_str(s, "stopping", "how", "snapshot", "timeout_ms", STOP_GRACE_MS);
		terminate(s);
		reply_ok(w, req->id);
		return;
	}
	if (was_running && resume(s) < 0)
		vj_error("sandbox %s: resume after a snapshot failed; it stays paused", s->id);
	if (rc < 0) {
		vj_error("%s", e.msg);
		reply_failed(w, req->id, VJ_CTL_FAILED, "%s", e.msg);
		return;
	}
	vj_info("sandbox %s: snapshot %s taken", s->id, req->dir);
	event_str(s, "snapshot-taken", "dir", req->dir, "ms", (mono_ns() - t0) / 1000000u);
	reply_ok(w, req->id);
}

/*
 * exec: a process beside the workload, with the caller's descriptors.
 * Only in a running sandbox: a paused guest could not start it, and the
 * caller would wait without knowing why; it is refused, to be asked again
 * after `resume`.
 */
static void cmd_exec(struct vj_supervisor *s, struct vj_ctl_client *c,
		     const struct vj_ctl_request *req, struct vj_jw *w)
{
	int fds[3] = { -1, -1, -1 };
	struct vj_err e;
	int id;

	if (c->nfds != 3) {
		for (int i = 0; i < c->nfds; i++)
			vj_closep(&c->fds[i]);
		c->nfds = 0;
		reply_failed(w, req->id, VJ_CTL_BAD_REQUEST, "exec: the request must come with "
			     "exactly 3 descriptors (SCM_RIGHTS): stdin, stdout and stderr");
		return;
	}
	memcpy(fds, c->fds, sizeof(fds));
	c->nfds = 0;
	if (s->state != VJ_SB_RUNNING || !s->execs) {
		for (int i = 0; i < 3; i++)
			vj_closep(&fds[i]);
		if (!s->execs)
			reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s runs no workload, so no "
				     "guest agent to start a process", s->id);
		else
			reply_failed(w, req->id, VJ_CTL_WRONG_STATE, "sandbox %s is %s, not running%s",
				     s->id, vj_sandbox_state_name(s->state),
				     s->state == VJ_SB_PAUSED ? " (resume it first)" : "");
		return;
	}
	if ((id = vj_execs_start(s->execs, req->exec, fds, c->serial, &e)) < 0) {
		reply_failed(w, req->id, id == -EAGAIN ? VJ_CTL_NOT_READY : VJ_CTL_FAILED,
			     "sandbox %s: %s", s->id, e.msg);
		return;
	}
	vj_ctl_write_return(w, req->id);
	vj_jw_object_begin(w);
	vj_jw_key(w, "exec");
	vj_jw_u64(w, (uint64_t)id);
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

/* ---- migrate ------------------------------------------------------------------ */

/* The migration's figures, as `vmjail migrate` prints them. */
static void migration_figures(struct vj_jw *w, const struct vj_vmm_migration *o)
{
	vj_jw_key(w, "total_ms");
	vj_jw_u64(w, o->total_ns / 1000000u);
	vj_jw_key(w, "downtime_ms");
	vj_jw_u64(w, o->downtime_ns / 1000000u);
	vj_jw_key(w, "bytes");
	vj_jw_u64(w, o->bytes);
	vj_jw_key(w, "rounds");
	vj_jw_u64(w, o->rounds);
	vj_jw_key(w, "round_limit");
	vj_jw_bool(w, o->round_limit != 0);
	vj_jw_key(w, "pages");
	vj_jw_array_begin(w);
	for (unsigned i = 0; i < o->rounds && i < VJ_VMM_MIGRATE_ROUNDS_MAX; i++)
		vj_jw_u64(w, o->pages[i]);
	vj_jw_array_end(w);
}


/*
 * migrate: the stream to the destination came with the request (the
 * client opened it with its own rights: the launcher connects nowhere on
 * anyone's behalf). The VMM runs the migration; the loop serves nothing
 * else meanwhile, as for a snapshot. On success the VMM ends with
 * VJ_EXIT_MIGRATED and the sandbox ends here; on failure the guest runs
 * on.
 */
static void cmd_migrate(struct vj_supervisor *s, struct vj_ctl_client *c,
			const struct vj_ctl_request *req, struct vj_jw *w)
{
	struct vj_vmm_ctl_msg r = { 0 }, ev = { 0 };
	cleanup_fd int stream = c->nfds == 1 ? c->fds[0] : -1;
	int rc;

	if (c->nfds != 1) {
		for (int i = 0; i < c->nfds; i++)
			vj_closep(&c->fds[i]);
		c->nfds = 0;
		reply_failed(w, req->id, VJ_CTL_BAD_REQUEST, "migrate: the request must come with "
			     "exactly one descriptor (SCM_RIGHTS): the stream to the destination");
		return;
	}
	c->nfds = 0;
	if (s->state != VJ_SB_RUNNING) {
		reply_failed(w, req->id, VJ_CTL_WRONG_STATE, "sandbox %s is %s, not running", s->id,
			     vj_sandbox_state_name(s->state));
		return;
	}
	if (s->local_drive >= 0) {
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: cannot migrate: its drive "
			     "vm.drives[%d] (%s) is writable and local: only a writable drive "
			     "beneath a shared root of the host file (roots.shared) migrates", s->id,
			     s->local_drive, s->local_drive_path);
		return;
	}
	{
		struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION,
					    .op = VJ_VMM_CTL_MIGRATE_SEND, .seq = ++s->seq };
		m.data.migrate = (struct vj_vmm_migrate){
			.max_downtime_ns = req->max_downtime_ms * 1000000ull,
			.max_rounds = req->max_rounds,
			/* The destination's launcher continues the agent's
			 * session: the stream tells it there is one. */
			.flags = (s->writable_drive >= 0 ? VJ_VMM_MIGRATE_SHARED_DRIVES : 0) |
				 (s->has_agent ? VJ_VMM_MIGRATE_AGENT : 0) };
		rc = vmm_send_request(s, &m, &stream, 1, VMM_REPLY_MS, &r);
	}
	if (rc < 0) {
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: migrate: %s", s->id,
			     rc == -EROFS ? "a writable drive" : strerror(-rc));
		return;
	}
	vj_supervisor_event(s, "migrating", NULL, 0);
	if ((rc = vmm_wait(s, VJ_VMM_CTL_EVENT_MIGRATED, 0, VMM_MIGRATE_MS, &ev)) < 0) {
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: migrate: no outcome from the "
			     "VMM: %s", s->id, strerror(-rc));
		return;
	}
	ev.data.migration.reason[sizeof(ev.data.migration.reason) - 1] = '\0';
	if (ev.status == -ENOLCK) {
		/* The source had let its drives go and another VMM holds one:
		 * the guest must not write, so it waits paused (vmm/MIGRATION.md). */
		set_state(s, VJ_SB_PAUSED);
		vj_error("sandbox %s: migration failed: %s", s->id, ev.data.migration.reason);
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: migration failed: %s (vmjail "
			     "resume %s once the drive is free)", s->id, ev.data.migration.reason, s->id);
		return;
	}
	if (ev.status < 0) {
		vj_error("sandbox %s: migration failed, it runs on here: %s", s->id,
			 ev.data.migration.reason);
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: migration failed, it runs on "
			     "here: %s", s->id, ev.data.migration.reason);
		return;
	}
	vj_info("sandbox %s: migrated in %llu ms, downtime %llu ms", s->id,
		(unsigned long long)(ev.data.migration.total_ns / 1000000u),
		(unsigned long long)(ev.data.migration.downtime_ns / 1000000u));
	vj_supervisor_event(s, "migrated", "downtime_ms",
			    (int64_t)(ev.data.migration.downtime_ns / 1000000u));
	/* The VMM ends by itself (VJ_EXIT_MIGRATED); its exit ends the
	 * sandbox here as any exit does. */
	set_state(s, VJ_SB_STOPPING);
	s->migrated = true;
	vj_ctl_write_return(w, req->id);
	vj_jw_object_begin(w);
	migration_figures(w, &ev.data.migration);
	vj_jw_object_end(w);
	vj_ctl_write_end(w);
}

static void cmd_exec_kill(struct vj_supervisor *s, const struct vj_ctl_request *req,
			  struct vj_jw *w)
{
	int rc = s->execs ? vj_execs_signal(s->execs, req->exec_id, (int)req->signal) : -ESRCH;

	if (rc == -ESRCH)
		reply_failed(w, req->id, VJ_CTL_WRONG_STATE, "sandbox %s: no exec %u runs", s->id,
			     req->exec_id);
	else if (rc < 0)
		reply_failed(w, req->id, VJ_CTL_FAILED, "sandbox %s: signal %u to exec %u: %s", s->id,
			     req->signal, req->exec_id, strerror(-rc));
	else
		reply_ok(w, req->id);
}

/* How an exec ended: to the connection that started it (gone, for a
 * detached one: then to nobody), and to every subscriber. */
static void exec_ended(struct vj_supervisor *s, const struct vj_exec_end *end)
{
	struct vj_ctl_client *origin = NULL;
	struct vj_jw w;

	if (end->status >= 0)
		vj_info("sandbox %s: exec %u exited with status %d", s->id, end->id, end->status);
	else
		vj_info("sandbox %s: exec %u ended without a status: %s", s->id, end->id, end->why);
	if (!s->ctl)
		return;
	event_begin(s, &w, "exec-exited");
	vj_jw_key(&w, "exec");
	vj_jw_u64(&w, end->id);
	vj_jw_key(&w, "status");
	if (end->status >= 0)
		vj_jw_i64(&w, end->status);
	else
		vj_jw_null(&w);
	if (end->status < 0) {
		vj_jw_key(&w, "sandbox_ended");
		vj_jw_bool(&w, end->sandbox_ended);
		vj_jw_key(&w, "error");
		vj_jw_string(&w, end->why);
	}
	vj_jw_key(&w, "dropped");
	vj_jw_array_begin(&w);
	for (int i = 0; i < 2; i++)
		if (end->dropped[i][0])
			vj_jw_string(&w, end->dropped[i]);
	vj_jw_array_end(&w);
	vj_jw_object_end(&w);
	vj_ctl_write_end(&w);
	if (vj_jw_finish(&w) == 0) {
		for (unsigned i = 0; i < VJ_CTL_CLIENTS_MAX; i++)
			if (s->ctl->clients[i].fd >= 0 && s->ctl->clients[i].serial == end->client)
				origin = &s->ctl->clients[i];
		if (origin && !origin->subscribed)
			vj_ctl_send(s->ctl, origin, w.buf, w.len);
		vj_ctl_broadcast(s->ctl, &w);
	}
	vj_jw_free(&w);
}

static void on_exec(struct vj_supervisor *s)
{
	struct vj_exec_end end;

	while (vj_execs_reap(s->execs, &end))
		exec_ended(s, &end);
}

static void dispatch(void *ctx, struct vj_ctl_client *c, const struct vj_ctl_request *req,
		     struct vj_jw *w)
{
	struct vj_supervisor *s = ctx;

	switch (req->command) {
	case VJ_CTL_QUERY_STATUS:
		cmd_status(s, req->id, w, false);
		return;
	case VJ_CTL_INSPECT:
		cmd_status(s, req->id, w, true);
		return;
	case VJ_CTL_PAUSE:
		cmd_pause(s, req->id, w);
		return;
	case VJ_CTL_RESUME:
		cmd_resume(s, req->id, w);
		return;
	case VJ_CTL_STOP:
		cmd_stop(s, req, w);
		return;
	case VJ_CTL_KILL:
		cmd_kill(s, req, w);
		return;
	case VJ_CTL_STATS:
		cmd_stats(s, req->id, w);
		return;
	case VJ_CTL_SUBSCRIBE:
		c->subscribed = true;
		reply_ok(w, req->id);
		return;
	case VJ_CTL_SNAPSHOT:
		cmd_snapshot(s, req, w);
		return;
	case VJ_CTL_EXEC:
		cmd_exec(s, c, req, w);
		return;
	case VJ_CTL_EXEC_KILL:
		cmd_exec_kill(s, req, w);
		return;
	case VJ_CTL_MIGRATE:
		cmd_migrate(s, c, req, w);
		return;
	case VJ_CTL_COMMANDS:
		break;
	}
	vj_ctl_write_error(w, req->id, VJ_CTL_UNKNOWN_COMMAND, "unknown command");
}

static void client_watch(void *ctx, struct vj_ctl_client *c, bool writable, bool closed)
{
	struct vj_supervisor *s = ctx;
	unsigned i = (unsigned)(c - s->ctl->clients);

	if (closed) {
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		return;
	}
	/* ADD the first time, MOD after: EEXIST tells which. */
	if (watch(s, EPOLL_CTL_ADD, c->fd, EPOLLIN | (writable ? EPOLLOUT : 0), SRC_CLIENT, i) ==
	    -EEXIST)
		(void)watch(s, EPOLL_CTL_MOD, c->fd, EPOLLIN | (writable ? EPOLLOUT : 0), SRC_CLIENT,
			    i);
}

/* ---- the loop -------------------------------------------------------------- */

static int setup(struct vj_supervisor *s, struct vj_err *e)
{
	int r;

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->epfd < 0 || s->tfd < 0)
		return vj_fail_errno(e, -errno, "supervise: epoll/timerfd");
	if ((r = watch(s, EPOLL_CTL_ADD, s->pidfd, EPOLLIN, SRC_PIDFD, 0)) < 0 ||
	    (r = watch(s, EPOLL_CTL_ADD, s->sigfd, EPOLLIN, SRC_SIGNAL, 0)) < 0 ||
	    (r = watch(s, EPOLL_CTL_ADD, s->tfd, EPOLLIN, SRC_TIMER, 0)) < 0 ||
	    (s->vmm_ctl >= 0 && (r = watch(s, EPOLL_CTL_ADD, s->vmm_ctl, EPOLLIN, SRC_VMM, 0)) < 0) ||
	    (s->execs && (r = watch(s, EPOLL_CTL_ADD, s->execs->done_fd, EPOLLIN, SRC_EXEC, 0)) < 0))
		return vj_fail_errno(e, r, "supervise: epoll_ctl");
	if (s->ctl) {
		s->ctl->dispatch = dispatch;
		s->ctl->watch = client_watch;
		s->ctl->ctx = s;
		if ((r = watch(s, EPOLL_CTL_ADD, s->ctl->listen_fd, EPOLLIN, SRC_LISTEN, 0)) < 0)
			return vj_fail_errno(e, r, "supervise: epoll_ctl");
	}
	if (s->timeout_ms)
		s->timeout_at_ns = mono_ns() + s->timeout_ms * 1000000ull;
	return rearm(s) < 0 ? vj_fail_errno(e, -errno, "arm the sandbox timeout") : 0;
}

static int status_of(struct vj_supervisor *s, const siginfo_t *si)
{
	if (s->timed_out)
		return VJ_LAUNCH_TIMEOUT;
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	if (si->si_status == SIGSYS)
		vj_error("sandbox %s: the VMM was killed by SIGSYS: a system call outside its "
			 "seccomp allowlist",
			 s->id);
	else if (!(s->state == VJ_SB_STOPPING && si->si_status == SIGKILL))
		vj_error("sandbox %s: the VMM was killed by signal %d (%s)", s->id, si->si_status,
			 strsignal(si->si_status));
	return VJ_LAUNCH_SIGNALED + si->si_status;
}

/* What the guest did to end its VM, for watchers: the VMM's own statuses
 * say (vmm/exit.h). A reset or power-off nobody asked for is news; one
 * after `stop` is the answer to it. */
static void guest_event(struct vj_supervisor *s, const siginfo_t *si)
{
	if (si->si_code != CLD_EXITED || s->timed_out)
		return;
	if (si->si_status == VJ_EXIT_GUEST_PANIC)
		vj_supervisor_event(s, "guest-panicked", NULL, 0);
	else if (si->si_status == VJ_EXIT_TRIPLE_FAULT)
		vj_supervisor_event(s, "guest-crashed", NULL, 0);
	else if (si->si_status == VJ_EXIT_GUEST_RESET && s->state != VJ_SB_STOPPING &&
		 !s->has_agent)
		vj_supervisor_event(s, "guest-reset", NULL, 0);
}

static void handle(struct vj_supervisor *s, uint64_t what, bool *exited)
{
	enum source src = (enum source)(what >> 32);
	unsigned i = (unsigned)what;

	switch (src) {
	case SRC_PIDFD:
		*exited = true;
		break;
	case SRC_SIGNAL:
		on_signal(s);
		break;
	case SRC_TIMER:
		on_timer(s);
		break;
	case SRC_VMM:
		on_vmm(s);
		break;
	case SRC_LISTEN:
		vj_ctl_server_accept(s->ctl);
		break;
	case SRC_CLIENT:
		vj_ctl_client_readable(s->ctl, &s->ctl->clients[i]);
		vj_ctl_client_writable(s->ctl, &s->ctl->clients[i]);
		break;
	case SRC_EXEC:
		on_exec(s);
		break;
	}
}

/* The VMM said how it ended and the caller need not see it exit; a
 * migrated one is waited for as ever (its drives' locks went to the
 * destination with the guest, and the source's record must go with it). */
static bool ended_early(const struct vj_supervisor *s)
{
	return s->end_early && s->ended && !s->migrated;
}

int vj_supervise(struct vj_supervisor *s, struct vj_err *e)
{
	siginfo_t si = { 0 };
	bool exited = false;
	int r;

	s->epfd = s->tfd = -1;
	s->left_exiting = false;
	r = setup(s, e);
	set_state(s, VJ_SB_RUNNING);
	vj_supervisor_event(s, "started", NULL, 0);
	while (r == 0 && !exited && !ended_early(s)) {
		struct epoll_event ev[16];
		int n = epoll_wait(s->epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR)
			r = vj_fail_errno(e, -errno, "supervise: epoll_wait");
		for (int k = 0; k < n; k++)
			handle(s, ev[k].data.u64, &exited);
	}
	if (r == 0 && !exited) {
		/* What waitid would say of a VMM that exits with the status it
		 * reported; it is reaped (or waited for) by the teardown. */
		si.si_code = CLD_EXITED;
		si.si_status = s->ended_status;
		s->left_exiting = true;
	} else if (r == 0 && waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED) < 0) {
		r = vj_fail_errno(e, -errno, "waitid");
	}
	if (r == 0)
		guest_event(s, &si);
	if (s->ctl) {
		/* The clients outlive this loop: what remains for them is
		 * written without it (vj_ctl_server_finish). */
		s->ctl->watch = NULL;
		s->ctl->ctx = NULL;
	}
	vj_closep(&s->epfd);
	vj_closep(&s->tfd);
	if (r < 0)
		return r;
	s->status = status_of(s, &si);
	return s->status;
}
