#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

_Static_assert(VJ_EXEC_MAX <= 32, "an agent runs 32 exec servers at once at most");

static void slot_reset(struct vj_exec_slot *sl)
{
	for (int i = 0; i < 3; i++) {
		vj_closep(&sl->fds[i]);
		sl->fds[i] = -1;
	}
	vj_closep(&sl->cmd_read);
	vj_closep(&sl->cmd_write);
	sl->cmd_read = sl->cmd_write = -1;
	free(sl->strings);
	sl->strings = NULL;
	sl->busy = false;
	atomic_store(&sl->ended, false);
}

void vj_execs_init(struct vj_execs *x)
{
	memset(x, 0, sizeof(*x));
	x->done_fd = x->cancel_fd = -1;
	for (unsigned i = 0; i < VJ_EXEC_MAX; i++) {
		struct vj_exec_slot *sl = &x->slot[i];
		sl->owner = x;
		sl->listen_fd = sl->cmd_read = sl->cmd_write = -1;
		sl->fds[0] = sl->fds[1] = sl->fds[2] = -1;
	}
}

int vj_execs_listen(struct vj_execs *x, unsigned max,
		    int (*listen)(void *ctx, uint32_t port, int *fd, struct vj_err *e), void *ctx,
		    struct vj_err *e)
{
	int r;

	x->max = max < VJ_EXEC_MAX ? max : VJ_EXEC_MAX;
	for (unsigned i = 0; i < x->max; i++)
		if ((r = listen(ctx, VJ_EXEC_PORT_BASE + i, &x->slot[i].listen_fd, e)) < 0)
			return r;
	return 0;
}

/* The caller's descriptors must be what they stand for: stdin readable,
 * stdout and stderr writable, none an O_PATH. The launcher writes to them
 * as root: it must never reach further than the caller could. */
static int check_fds(const int fds[3], struct vj_err *e)
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };

	for (int i = 0; i < 3; i++) {
		int fl = fcntl(fds[i], F_GETFL), mode = fl & O_ACCMODE;
		bool ok = fl >= 0 && !(fl & O_PATH) &&
			  (i == 0 ? mode != O_WRONLY : mode != O_RDONLY);
		if (!ok)
			return vj_fail(e, -EBADF, "exec: the %s passed is not open for %s", names[i],
				       i == 0 ? "reading" : "writing");
	}
	return 0;
}

static int copy_workload(struct vj_exec_slot *sl, const struct vj_ctl_exec *rq, struct vj_err *e)
{
	size_t size = 0;
	char *at;

	for (uint32_t i = 0; i < rq->w.argc; i++)
		size += strlen(rq->w.argv[i]) + 1;
	for (uint32_t i = 0; i < rq->w.envc; i++)
		size += strlen(rq->w.env[i]) + 1;
	if (!(sl->strings = at = malloc(size + 1)))
		return vj_fail(e, -ENOMEM, "exec: out of memory");
	memset(&sl->w, 0, sizeof(sl->w));
	for (uint32_t i = 0; i < rq->w.argc; i++, sl->w.argc++) {
		sl->w.argv[i] = strcpy(at, rq->w.argv[i]);
		at += strlen(at) + 1;
	}
	for (uint32_t i = 0; i < rq->w.envc; i++, sl->w.envc++) {
		sl->w.env[i] = strcpy(at, rq->w.env[i]);
		at += strlen(at) + 1;
	}
	sl->xspec = (struct vj_agent_exec_spec){ 0 };
	if (rq->has_ids) {
		sl->xspec.flags |= VJ_AGENT_XSPEC_IDS;
		sl->xspec.uid = rq->uid;
		sl->xspec.gid = rq->gid;
	}
	if (rq->cwd[0]) {
		sl->xspec.flags |= VJ_AGENT_XSPEC_CWD;
		snprintf(sl->xspec.cwd, sizeof(sl->xspec.cwd), "%s", rq->cwd);
	}
	return 0;
}

/* A connection nobody asked for (a guest process that reached the port
 * between two execs) would otherwise be taken for this exec's. */
static void drain(int listen_fd)
{
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 ||
	       errno == EINTR || errno == ECONNABORTED)
		if (fd >= 0)
			close(fd);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The connection's first frame, ATTACH, is in whole before `until`: a
 * guest process that reaches the port and says nothing must not hold the
 * exec (and its caller) for as long as the sandbox lives. */
static int wait_attach(struct vj_exec_slot *sl, int conn, uint64_t until)
{
	uint8_t first[VJ_AGENT_HDR_LEN + 4 + VJ_AGENT_TOKEN_LEN];
	struct pollfd pf[2] = { { .fd = conn, .events = POLLIN },
				{ .fd = sl->owner->cancel_fd, .events = POLLIN } };

	for (;;) {
		const uint64_t now = mono_ms();
		ssize_t n = recv(conn, first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);

		/* Whole, or the stream ended or failed: the session says how. */
		if (n == (ssize_t)sizeof(first) || n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (now >= until)
			return vj_fail(&sl->e, -ETIMEDOUT, "the guest's connection for exec %u sent no "
				       "ATTACH within %u ms", sl->id, VJ_EXEC_ATTACH_MS);
		if (poll(pf, 2, (int)(until - now)) > 0 && pf[1].revents)
			return vj_fail(&sl->e, -ECANCELED, "the sandbox ended before exec %u ran",
				       sl->id);
		/* Readable but not whole yet: a short wait for the rest. */
		if (pf[0].revents)
			usleep(1000);
	}
}

static void *exec_main(void *arg)
{
	struct vj_exec_slot *sl = arg;
	struct vj_execs *x = sl->owner;
	const struct vj_agent_spec unused = { 0 };
	struct pollfd pf[2] = { { .fd = sl->listen_fd, .events = POLLIN },
				{ .fd = x->cancel_fd, .events = POLLIN } };
	cleanup_fd int conn = -1;
	const uint64_t one = 1, until = mono_ms() + VJ_EXEC_ATTACH_MS;
	int n;

	do
		n = poll(pf, 2, VJ_EXEC_ATTACH_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		sl->r = vj_fail(&sl->e, -ETIMEDOUT, "the guest agent did not connect for exec %u "
				"within %u ms", sl->id, VJ_EXEC_ATTACH_MS);
	else
		sl->r = vj_agent_accept(sl->listen_fd, x->cancel_fd, x->broker_pid, &conn, &sl->e);
	if (sl->r == 0)
		sl->r = wait_attach(sl, conn, until);
	if (sl->r == 0)
		sl->r = vj_agent_session(conn, &unused, &sl->w, &sl->io, &sl->res, &sl->e);
	atomic_store(&sl->ended, true);
	if (write(x->done_fd, &one, sizeof(one)) != sizeof(one))
		vj_error("exec %u: wake the supervisor: %s", sl->id, strerror(errno));
	return NULL;
}

static struct vj_exec_slot *free_slot(struct vj_execs *x)
{
	for (unsigned i = 0; i < VJ_EXEC_MAX; i++)
		if (!x->slot[i].busy && x->slot[i].listen_fd >= 0)
			return &x->slot[i];
	return NULL;
}

static int check_agent(struct vj_execs *x, struct vj_err *e)
{
	const unsigned v = x->agent.version ? x->agent.version(x->agent.ctx) : 0;

	/* A sandbox with a workload has a session, or is about to: the guest
	 * is still booting. */
	if (v == 0)
		return vj_fail(e, -EAGAIN, "the guest agent has not connected yet (the guest is "
			       "starting)");
	if (v < VJ_AGENT_VERSION_EXEC)
		return vj_fail(e, -EPROTONOSUPPORT, "this guest's agent does not support exec (it "
			       "speaks agent protocol version %u; exec needs %u): build the guest "
			       "image with a newer vmjail-init", v, VJ_AGENT_VERSION_EXEC);
	return 0;
}

static int prepare(struct vj_exec_slot *sl, const struct vj_ctl_exec *rq, struct vj_err *e)
{
	struct vj_execs *x = sl->owner;
	int p[2], r;

	if ((r = copy_workload(sl, rq, e)) < 0)
		return r;
	if (getrandom(sl->exec.token, sizeof(sl->exec.token), 0) != (ssize_t)sizeof(sl->exec.token))
		return vj_fail_errno(e, -errno, "exec: getrandom");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) < 0)
		return vj_fail_errno(e, -errno, "exec: socketpair for its signals");
	sl->cmd_read = p[0];
	sl->cmd_write = p[1];
	sl->exec.id = sl->id;
	sl->exec.port = VJ_EXEC_PORT_BASE + (uint32_t)(sl - x->slot);
	sl->res = (struct vj_agent_result){ 0 };
	sl->r = 0;
	sl->io = (struct vj_agent_io){
		.in_fd = sl->fds[0], .out_fd = sl->fds[1], .err_fd = sl->fds[2],
		.out_cap = x->out_cap, .err_cap = x->out_cap,
		.out_terminal = isatty(sl->fds[1]), .err_terminal = isatty(sl->fds[2]),
		.cmd_fd = sl->cmd_read, .cancel_fd = x->cancel_fd,
		.exec = &sl->exec, .xspec = &sl->xspec,
	};
	return 0;
}

int vj_execs_start(struct vj_execs *x, const struct vj_ctl_exec *rq, int fds[3], uint64_t client,
		   struct vj_err *e)
{
	struct vj_agent_cmd c = { .op = VJ_AGENT_CMD_EXEC };
	struct vj_exec_slot *sl;
	int r;

	if ((r = check_agent(x, e)) < 0 || (r = check_fds(fds, e)) < 0)
		goto refused;
	if (!x->max) {
		r = vj_fail(e, -EPERM, "this host allows no exec (exec_max: 0 in its host file)");
		goto refused;
	}
	if (!(sl = free_slot(x))) {
		r = vj_fail(e, -EBUSY, "%u execs run already, the most this host allows "
			    "(exec_max in its host file)", x->max);
		goto refused;
	}
	sl->busy = true;
	sl->client = client;
	sl->id = ++x->next_id ? x->next_id : ++x->next_id;
	for (int i = 0; i < 3; i++) {
		sl->fds[i] = fds[i];
		fds[i] = -1;
	}
	drain(sl->listen_fd);
	if ((r = prepare(sl, rq, e)) < 0)
		goto failed;
	c.arg = sl->id;
	c.arg64 = sl->exec.port;
	memcpy(c.token, sl->exec.token, sizeof(c.token));
	if ((r = x->agent.command(x->agent.ctx, &c)) < 0) {
		r = vj_fail_errno(e, r, "exec: ask the guest agent");
		goto failed;
	}
	if ((r = pthread_create(&sl->thread, NULL, exec_main, sl)) != 0) {
		r = vj_fail_errno(e, -r, "exec: start its thread");
		goto failed;
	}
	vj_info("exec %u: %s (port %u)", sl->id, sl->w.argv[0], sl->exec.port);
	return (int)sl->id;
failed:
	explicit_bzero(sl->exec.token, sizeof(sl->exec.token));
	slot_reset(sl);
	return r;
refused:
	for (int i = 0; i < 3; i++) {
		vj_closep(&fds[i]);
		fds[i] = -1;
	}
	return r;
}

static struct vj_exec_slot *running(struct vj_execs *x, uint32_t id)
{
	for (unsigned i = 0; i < VJ_EXEC_MAX; i++)
		if (x->slot[i].busy && x->slot[i].id == id && !atomic_load(&x->slot[i].ended))
			return &x->slot[i];
	return NULL;
}

int vj_execs_signal(struct vj_execs *x, uint32_t id, int sig)
{
	struct vj_exec_slot *sl = running(x, id);
	const struct vj_agent_cmd c = { .op = VJ_AGENT_CMD_SIGNAL, .arg = (uint32_t)sig };

	if (!sl)
		return -ESRCH;
	if (send(sl->cmd_write, &c, sizeof(c), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(c))
		return -errno;
	return 0;
}

static void describe_end(struct vj_exec_slot *sl, struct vj_exec_end *end)
{
	static const enum vj_agent_type streams[] = { VJ_AGENT_STDOUT, VJ_AGENT_STDERR };

	*end = (struct vj_exec_end){ .id = sl->id, .client = sl->client, .status = -1 };
	/* The guest's processes all end with the workload (its agent, as
	 * PID 1, kills them): the exec's connection closes, or the VM is
	 * gone first. */
	end->sandbox_ended = sl->r == -ECANCELED || sl->r == -ECONNRESET;
	if (sl->r == 0)
		end->status = sl->res.status;
	else if (end->sandbox_ended)
		snprintf(end->why, sizeof(end->why), "the sandbox's workload ended while exec %u ran, "
			 "and every process of the guest with it", sl->id);
	else
		snprintf(end->why, sizeof(end->why), "%s", sl->e.msg);
	for (int i = 0; i < 2; i++)
		if (!vj_agent_drop_line(&sl->io, &sl->res, streams[i], "limits.output",
					end->dropped[i], sizeof(end->dropped[i])))
			end->dropped[i][0] = '\0';
}

bool vj_execs_reap(struct vj_execs *x, struct vj_exec_end *end)
{
	uint64_t n;

	(void)!read(x->done_fd, &n, sizeof(n));
	for (unsigned i = 0; i < VJ_EXEC_MAX; i++) {
		struct vj_exec_slot *sl = &x->slot[i];
		if (!sl->busy || !atomic_load(&sl->ended))
			continue;
		pthread_join(sl->thread, NULL);
		describe_end(sl, end);
		explicit_bzero(sl->exec.token, sizeof(sl->exec.token));
		slot_reset(sl);
		return true;
	}
	return false;
}

void vj_execs_close(struct vj_execs *x)
{
	for (unsigned i = 0; i < VJ_EXEC_MAX; i++) {
		struct vj_exec_slot *sl = &x->slot[i];
		if (sl->busy)
			pthread_join(sl->thread, NULL);
		slot_reset(sl);
		vj_closep(&sl->listen_fd);
		sl->listen_fd = -1;
	}
}
