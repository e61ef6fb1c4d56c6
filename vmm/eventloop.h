/*
 * The VMM thread's event loop. Devices register an fd with a handler;
 * handlers run on the VMM thread, one at a time, so device queue
 * processing needs no lock against itself.
 *
 * Two epoll sets: the devices' own, and the VMM's (stop, signals, the
 * launcher's control channel), which holds the devices' set as one of its
 * fds. Pausing the VM takes the devices' set out of the VMM's, in one
 * step: no device runs, no fd is lost or spins, and the VMM still hears
 * its launcher.
 */
#ifndef VJ_EVENTLOOP_H
#define VJ_EVENTLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vj_loop_handler {
	void (*fn)(void *opaque, uint32_t events);
	void *opaque;
};

struct vj_loop {
	int epfd;     /* the VMM's own fds, and dev_epfd */
	int dev_epfd; /* the devices' fds */
	bool devices_on;
	struct vj_loop_handler devices; /* dev_epfd's entry in epfd */
	volatile bool stop;
};

int vj_loop_init(struct vj_loop *loop);
void vj_loop_destroy(struct vj_loop *loop);
/* A device's fd. The handler must outlive its registration. */
int vj_loop_add(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h);
int vj_loop_mod(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h);
int vj_loop_del(struct vj_loop *loop, int fd);
/* One of the VMM's own fds, served while the devices are paused too. */
int vj_loop_add_own(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h);
int vj_loop_del_own(struct vj_loop *loop, int fd);
/* Stops (false) or resumes (true) serving the devices' fds. */
int vj_loop_devices(struct vj_loop *loop, bool on);
/* Runs handlers until loop->stop is set (by a handler). */
int vj_loop_run(struct vj_loop *loop);
/* Runs the handlers of what is ready within timeout_ms, once (tests). */
int vj_loop_poll(struct vj_loop *loop, int timeout_ms);

#endif
