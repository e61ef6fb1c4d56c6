#include "eventloop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int vj_loop_init(struct vj_loop *loop)
{
	loop->stop = false;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void vj_loop_destroy(struct vj_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

static int loop_ctl(struct vj_loop *loop, int op, int fd, uint32_t events,
		    struct vj_loop_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(loop->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int vj_loop_add(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h)
{
	return loop_ctl(loop, EPOLL_CTL_ADD, fd, events, h);
}

int vj_loop_mod(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h)
{
	return loop_ctl(loop, EPOLL_CTL_MOD, fd, events, h);
}

int vj_loop_del(struct vj_loop *loop, int fd)
{
	return loop_ctl(loop, EPOLL_CTL_DEL, fd, 0, NULL);
}

int vj_loop_run(struct vj_loop *loop)
{
	struct epoll_event evs[16];

	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct vj_loop_handler *h = evs[i].data.ptr;
			h->fn(h->opaque, evs[i].events);
		}
	}
	return 0;
}
