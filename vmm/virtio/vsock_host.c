#include "virtio/vsock_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"
#include "socket_file.h"
#include "vsock_broker.h"
#include "virtio/vsock.h"
#include "virtio/vsock_conn.h"

#define ACCEPT_BATCH 16

ssize_t vj_vsock_host_send(int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	do
		r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	return r;
}

static ssize_t host_recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	return recvmsg(fd, &m, flags | MSG_DONTWAIT);
}

/* ---- host-initiated connections -------------------------------------- */

/* "CONNECT <port>\n", read without taking a byte past the newline: what
 * follows belongs to the stream. */
static void host_line(struct vj_vsock_conn *c)
{
	char peek[VJ_VSOCK_LINE_CAP];
	uint64_t port;
	ssize_t n = host_recv(c->fd, peek, VJ_VSOCK_LINE_CAP - c->line_len, MSG_PEEK);
	const char *nl;
	size_t take;

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->host_hup = false;
		vj_vsock_conn_rewatch(c);
		return;
	}
	if (n <= 0) {
		vj_vsock_conn_free(c);
		return;
	}
	nl = memchr(peek, '\n', (size_t)n);
	take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (host_recv(c->fd, c->line + c->line_len, take, 0) != (ssize_t)take) {
		vj_vsock_conn_free(c);
		return;
	}
	c->line_len += (unsigned)take;
	if (!nl) {
		if (c->line_len == VJ_VSOCK_LINE_CAP)
			vj_vsock_conn_free(c);
		return;
	}
	c->line[c->line_len - 1] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) || vj_parse_u64(c->line + 8, 0, UINT32_MAX, &port) < 0 ||
	    !vj_virtio_running(&c->v->vdev)) {
		vj_vsock_conn_free(c);
		return;
	}
	c->peer_port = (uint32_t)port;
	c->local_port = vj_vsock_conn_host_port(c->v);
	c->state = VJ_VSOCK_CONN_HOST_REQUEST;
	c->owe |= VJ_VSOCK_OWE_REQUEST;
	vj_vsock_conn_rewatch(c);
}

static void on_host(void *opaque, uint32_t events)
{
	struct vj_vsock_conn *c = opaque;
	struct vj_vsock *v = c->v;

	vj_virtio_lock(&v->vdev);
	/* Events are hints (the slot may have been reused since they were
	 * queued); the reads and writes below find out what is true. */
	if (c->state != VJ_VSOCK_CONN_FREE && (events & (EPOLLHUP | EPOLLERR))) {
		vj_vsock_conn_unwatch(c);
		c->host_hup = true;
		c->host_readable = true;
	}
	switch (c->state) {
	case VJ_VSOCK_CONN_HOST_LINE:
		host_line(c);
		break;
	case VJ_VSOCK_CONN_ESTABLISHED:
		if (events & EPOLLIN)
			c->host_readable = true;
		if (events & EPOLLOUT)
			vj_vsock_conn_drain(c);
		else
			vj_vsock_conn_rewatch(c);
		break;
	default:
		break; /* a hang-up before the guest answered: seen once established */
	}
	vj_vsock_rx_flush(v);
	vj_virtio_unlock(&v->vdev);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct vj_vsock *v = opaque;

	(void)events;
	vj_virtio_lock(&v->vdev);
	for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vj_vsock_conn *c;

		if (fd < 0)
			break;
		/* No driver, or no room: the host sees its connection close. */
		c = vj_virtio_running(&v->vdev) ? vj_vsock_conn_alloc(v) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = VJ_VSOCK_CONN_HOST_LINE;
		vj_vsock_conn_rewatch(c);
	}
	vj_virtio_unlock(&v->vdev);
}

/* ---- guest-initiated connections: the broker -------------------------- */

void vj_vsock_host_connect(struct vj_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct vj_vsock_conn *c = v->broker_fd >= 0 ? vj_vsock_conn_alloc(v) : NULL;
	struct vj_vsock_broker_request rq;
	struct iovec iov = { &rq, sizeof(rq) };

	if (!c) {
		vj_vsock_owe_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->state = VJ_VSOCK_CONN_CONNECTING;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->cookie = ++v->next_cookie;
	rq = (struct vj_vsock_broker_request){ .cookie = c->cookie, .port = h->dst_port };
	if (vj_vsock_host_send(v->broker_fd, &iov, 1) != sizeof(rq))
		vj_vsock_conn_reset(c);
}

static int broker_receive(int fd, struct vj_vsock_broker_answer *a, int *sock)
{
	struct iovec iov = { a, sizeof(*a) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*sock = -1;
	if (n <= 0)
		return n == 0 || (errno != EAGAIN && errno != EINTR) ? -EPIPE : -EAGAIN;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(sock, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(*a) || (m.msg_flags & MSG_CTRUNC))
		a->error = -EPROTO;
	return 0;
}

static void broker_gone(struct vj_vsock *v)
{
	vj_warn("%s: the connection broker went away; guest connections are refused",
		v->vdev.name);
	vj_loop_del(v->loop, v->broker_fd);
	v->broker_fd = -1;
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == VJ_VSOCK_CONN_CONNECTING)
			vj_vsock_conn_reset(&v->conns[i]);
}

static void on_broker(void *opaque, uint32_t events)
{
	struct vj_vsock *v = opaque;
	struct vj_vsock_broker_answer a;
	struct vj_vsock_conn *c;
	int sock, r;

	(void)events;
	vj_virtio_lock(&v->vdev);
	while (v->broker_fd >= 0 && (r = broker_receive(v->broker_fd, &a, &sock)) != -EAGAIN) {
		if (r < 0) {
			broker_gone(v);
			break;
		}
		c = vj_vsock_conn_connecting(v, a.cookie);
		if (!c || a.error || sock < 0) {
			if (sock >= 0)
				close(sock);
			if (c) {
				vj_debug("%s: host port %u: %s", v->vdev.name, c->local_port,
					 strerror(a.error < 0 ? -a.error : EPROTO));
				vj_vsock_conn_reset(c);
			}
			continue;
		}
		c->fd = sock;
		c->owe |= VJ_VSOCK_OWE_RESPONSE;
		if (vj_vsock_conn_establish(c) < 0)
			vj_vsock_conn_reset(c);
	}
	vj_vsock_rx_flush(v);
	vj_virtio_unlock(&v->vdev);
}

/* ---- set-up ---------------------------------------------------------- */

int vj_vsock_open_inputs(struct vj_vsock_config *cfg)
{
	struct vj_err e;
	pid_t broker;
	int r;

	/* A socket handed over by the launcher comes with its broker, or
	 * with none: the VMM starts one only for a socket it made itself. */
	if (!cfg->enabled || cfg->uds.fd >= 0)
		return 0;
	if ((r = vj_sockfile_listen_own(cfg->uds.name, &cfg->uds.fd, &e)) < 0) {
		vj_error("%s", e.msg);
		return r;
	}
	if (cfg->broker.fd < 0 && (r = vj_vsock_broker_start(cfg->uds.name, &cfg->broker.fd, &broker)) < 0) {
		vj_error("vsock connection broker for %s_<port>: %s", cfg->uds.name, strerror(-r));
		return r;
	}
	return 0;
}

int vj_vsock_host_start(struct vj_vsock *v)
{
	int r;

	v->listen_h = (struct vj_loop_handler){ on_listen, v };
	v->broker_h = (struct vj_loop_handler){ on_broker, v };
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		v->conns[i].h = (struct vj_loop_handler){ on_host, &v->conns[i] };
	r = vj_loop_add(v->loop, v->listen_fd, EPOLLIN, &v->listen_h);
	if (r == 0 && v->broker_fd >= 0)
		r = vj_loop_add(v->loop, v->broker_fd, EPOLLIN, &v->broker_h);
	return r;
}
