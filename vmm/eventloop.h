/*
 * The VMM thread's event loop: one epoll set. Devices register an fd with
 * a handler; handlers run on the VMM thread, one at a time, so device
 * queue processing needs no lock against itself.
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
	int epfd;
	volatile bool stop;
};

int vj_loop_init(struct vj_loop *loop);
void vj_loop_destroy(struct vj_loop *loop);
/* The handler must outlive its registration. */
int vj_loop_add(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h);
int vj_loop_mod(struct vj_loop *loop, int fd, uint32_t events, struct vj_loop_handler *h);
int vj_loop_del(struct vj_loop *loop, int fd);
/* Runs handlers until loop->stop is set (by a handler). */
int vj_loop_run(struct vj_loop *loop);

#endif
