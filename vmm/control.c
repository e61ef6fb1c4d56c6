#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/i8042.h"
#include "log.h"
#include "migrate.h"
#include "persist.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "vm.h"
#include "vmm_ctl.h"

/* A message the launcher cannot take now is dropped: the VMM never waits
 * on its launcher, which times the request out. */
static void send_msg(struct vj_control *c, const struct vj_vmm_ctl_msg *m)
{
	if (write(c->fd, m, sizeof(*m)) != (ssize_t)sizeof(*m))
		vj_debug("control channel: reply dropped: %s", strerror(errno));
}

static void put_dev(struct vj_vmm_stats *s, unsigned *i, const char *name,
		    const struct vj_virtio_dev *d)
{
	struct vj_vmm_dev_stats *o;

	if (*i == VJ_VMM_STATS_DEVICES)
		return;
	o = &s->dev[(*i)++];
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->requests = d->stat_requests;
	o->bytes = d->stat_bytes;
	o->throttled = d->stat_throttled;
}

static void collect(const struct vj_control *c, struct vj_vmm_stats *s)
{
	const struct vj_virtio_devices *d = c->devs;
	const struct vj_vm *vm = c->vm;
	unsigned n = 0;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct vj_vcpu *v = &vm->vcpus[i];
		s->exits_io += atomic_load(&v->exits[VJ_EXIT_KIND_IO]);
		s->exits_mmio += atomic_load(&v->exits[VJ_EXIT_KIND_MMIO]);
		s->exits_hlt += atomic_load(&v->exits[VJ_EXIT_KIND_HLT]);
		s->exits_other += atomic_load(&v->exits[VJ_EXIT_KIND_OTHER]);
	}
	s->paused_ns = vm->paused_ns + (vj_vm_paused(vm) ? vj_now_ns() - vm->paused_at_ns : 0);
	for (unsigned i = 0; i < d->nblk; i++)
		put_dev(s, &n, "blk", &d->blk[i]->vdev);
	for (unsigned i = 0; i < d->nnet; i++)
		put_dev(s, &n, "net", &d->net[i]->vdev);
	if (d->vsock)
		put_dev(s, &n, "vsock", &d->vsock->vdev);
	if (d->rng)
		put_dev(s, &n, "rng", &d->rng->vdev);
}

/* One request and the descriptors that came with it: at most two
 * (SNAPSHOT's), any more or a truncated set is a malformed request. */
static ssize_t receive(struct vj_control *c, struct vj_vmm_ctl_msg *m, int fds[2], unsigned *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (n < 0)
		return n;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (*nfds < 2)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		return -2; /* malformed; what did arrive is closed by the caller */
	return n;
}

static int32_t snapshot(struct vj_control *c, const int fds[2], unsigned nfds)
{
	int32_t r;

	if (nfds != 2) {
		vj_info("control: snapshot: %u descriptors, expected the state and memory files",
			nfds);
		return -EBADF;
	}
	r = vj_machine_snapshot(c->machine, fds[0], fds[1]);
	vj_info("control: snapshot: %s", r ? strerror(-r) : "written");
	return r;
}

/* Returns the status; *taken when the migration kept the descriptor. */
static int32_t migrate_send(struct vj_control *c, const struct vj_vmm_ctl_msg *m, const int fds[2],
			    unsigned nfds, bool *taken)
{
	int32_t r;

	*taken = false;
	if (nfds != 1) {
		vj_info("control: migrate: %u descriptors, expected the stream to the destination",
			nfds);
		return -EBADF;
	}
	if (!c->migration)
		return -EOPNOTSUPP;
	r = vj_migration_start(c->migration, fds[0], &m->data.migrate);
	*taken = r == 0;
	vj_info("control: migrate: %s", r ? strerror(-r) : "started");
	return r;
}

void vj_control_event(struct vj_control *c, uint32_t op, uint64_t u64)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .data.u64 = u64 };

	if (c->fd >= 0)
		send_msg(c, &m);
}

void vj_control_ended(struct vj_control *c, int status)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = VJ_VMM_CTL_EVENT_ENDED,
				    .status = status };

	if (c->fd >= 0)
		send_msg(c, &m);
}

void vj_control_migrated(void *ctx, int status, const struct vj_vmm_migration *out)
{
	struct vj_control *c = ctx;
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = VJ_VMM_CTL_EVENT_MIGRATED,
				    .status = status };

	if (c->fd < 0)
		return;
	m.data.migration = *out;
	send_msg(c, &m);
}

static void on_request(void *opaque, uint32_t events)
{
	struct vj_control *c = opaque;
	struct vj_vmm_ctl_msg m, reply = { .version = VJ_VMM_CTL_VERSION, .op = VJ_VMM_CTL_REPLY };
	int fds[2] = { -1, -1 };
	unsigned nfds;
	bool taken = false;
	ssize_t n = receive(c, &m, fds, &nfds);

	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR) || (events & EPOLLHUP)) {
		/* The launcher is gone; its death signal ends the VMM. */
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		vj_loop_del_own(&c->vm->loop, c->fd);
		return;
	}
	if (n == -1)
		return;
	reply.seq = n >= (ssize_t)offsetof(struct vj_vmm_ctl_msg, status) ? m.seq : 0;
	if (n != (ssize_t)sizeof(m) || m.version != VJ_VMM_CTL_VERSION) {
		reply.status = -EPROTO;
	} else if (m.op == VJ_VMM_CTL_PAUSE) {
		reply.status = vj_vm_pause(c->vm);
		vj_info("control: pause: %s", reply.status ? strerror(-reply.status) : "paused");
	} else if (m.op == VJ_VMM_CTL_RESUME) {
		/* A migration's own pause ends with the migration: resumed if
		 * it fails, the VM gone if it succeeds. */
		reply.status = !c->migration ? vj_vm_resume(c->vm)
			       : vj_migration_holds_pause(c->migration) ? -EBUSY
			       : vj_migration_retake_drives(c->migration) < 0 ? -ENOLCK
									       : vj_vm_resume(c->vm);
		vj_info("control: resume: %s", reply.status ? strerror(-reply.status) : "running");
	} else if (m.op == VJ_VMM_CTL_STATS) {
		collect(c, &reply.data.stats);
	} else if (m.op == VJ_VMM_CTL_CTRL_ALT_DEL) {
		reply.status = vj_i8042_ctrl_alt_del(c->i8042);
		vj_info("control: Ctrl-Alt-Del: %s",
			reply.status ? strerror(-reply.status) : "typed");
	} else if (m.op == VJ_VMM_CTL_SNAPSHOT) {
		reply.status = snapshot(c, fds, nfds);
	} else if (m.op == VJ_VMM_CTL_MIGRATE_SEND) {
		reply.status = migrate_send(c, &m, fds, nfds, &taken);
	} else {
		reply.status = -EOPNOTSUPP;
	}
	/* The VMM keeps no descriptor it was sent but a migration's stream,
	 * which the migration closes: a snapshot's files are written and
	 * done with. */
	for (unsigned i = taken ? 1 : 0; i < nfds; i++)
		close(fds[i]);
	send_msg(c, &reply);
}

static void on_marker(void *opaque, uint32_t events)
{
	struct vj_control *c = opaque;
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION,
				    .op = VJ_VMM_CTL_EVENT_BOOT_MARKER };
	uint64_t n;

	(void)events;
	if (read(c->marker_efd, &n, sizeof(n)) != sizeof(n) || c->fd < 0)
		return;
	m.data.u64 = atomic_load(&c->vm->timing.marker_ns);
	send_msg(c, &m);
}

int vj_control_init(struct vj_control *c, const struct vj_machine *machine)
{
	*c = (struct vj_control){ .vm = machine->vm, .devs = machine->virtio,
				  .i8042 = machine->i8042, .machine = machine, .fd = -1 };
	c->marker_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return c->marker_efd < 0 ? -errno : 0;
}

int vj_control_start(struct vj_control *c, int fd)
{
	int r;

	c->marker_h = (struct vj_loop_handler){ on_marker, c };
	if ((r = vj_loop_add_own(&c->vm->loop, c->marker_efd, EPOLLIN, &c->marker_h)) < 0 ||
	    fd < 0)
		return r;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	c->fd = fd;
	c->fd_h = (struct vj_loop_handler){ on_request, c };
	return vj_loop_add_own(&c->vm->loop, fd, EPOLLIN, &c->fd_h);
}

void vj_control_destroy(struct vj_control *c)
{
	if (c->marker_efd >= 0)
		close(c->marker_efd);
	c->marker_efd = -1;
}
