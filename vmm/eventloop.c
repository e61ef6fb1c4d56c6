#include "eventloop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BATCH 16

static void serve_devices(void *opaque, uint32_t events);

int vj_loop_init(struct vj_loop *loop)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &loop->devices };

	loop->stop = false;
	loop->devices = (struct vj_loop_handler){ serve_devices, loop };
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->dev_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0 || loop->dev_epfd < 0)
		return -errno;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->dev_epfd, &ev) < 0)
		return -errno;
	loop->devices_on = true;
	return 0;
}

void vj_loop_destroy(struct vj_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->dev_epfd >= 0)
		close(loop->dev_epfd);
	loop->epfd = loop->dev_epfd = -1;
}

static int ctl(int epfd, int op, int fd, uint32_t events, struct vj_loop_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int vj_loop_add(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h)
{
	return ctl(loop->dev_epfd, EPOLL_CTL_ADD, fd, events, h);
}

int vj_loop_mod(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h)
{
	return ctl(loop->dev_epfd, EPOLL_CTL_MOD, fd, events, h);
}

int vj_loop_del(struct vj_loop *loop, int fd)
{
	return ctl(loop->dev_epfd, EPOLL_CTL_DEL, fd, 0, NULL);
}

int vj_loop_add_own(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h)
{
	return ctl(loop->epfd, EPOLL_CTL_ADD, fd, events, h);
}

int vj_loop_del_own(struct vj_loop *loop, int fd)
{
	return ctl(loop->epfd, EPOLL_CTL_DEL, fd, 0, NULL);
}

int vj_loop_devices(struct vj_loop *loop, bool on)
{
	int r;

	if (loop->devices_on == on)
		return 0;
	r = ctl(loop->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, loop->dev_epfd, EPOLLIN,
		&loop->devices);
	if (r == 0)
		loop->devices_on = on;
	return r;
}

/* Calls the handlers of up to BATCH ready fds of epfd; stops early when a
 * handler stopped the loop or paused the devices it is serving. */
static int dispatch(struct vj_loop *loop, int epfd, int timeout_ms)
{
	struct epoll_event evs[BATCH];
	int n = epoll_wait(epfd, evs, BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !loop->stop; i++) {
		struct vj_loop_handler *h = evs[i].data.ptr;
		if (epfd == loop->dev_epfd && !loop->devices_on)
			break;
		h->fn(h->opaque, evs[i].events);
	}
	return n;
}

static void serve_devices(void *opaque, uint32_t events)
{
	struct vj_loop *loop = opaque;

	(void)events;
	(void)dispatch(loop, loop->dev_epfd, 0);
}

int vj_loop_run(struct vj_loop *loop)
{
	while (!loop->stop) {
		int r = dispatch(loop, loop->epfd, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

int vj_loop_poll(struct vj_loop *loop, int timeout_ms)
{
	return dispatch(loop, loop->epfd, timeout_ms);
}
