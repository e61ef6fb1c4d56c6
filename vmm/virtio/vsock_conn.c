#include "virtio/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "virtio/vsock.h"
#include "virtio/vsock_host.h"

/* ---- the table and event-loop registration ------------------------- */

void vj_vsock_conn_unwatch(struct vj_vsock_conn *c)
{
	if (c->watched)
		vj_loop_del(c->v->loop, c->fd);
	c->watched = false;
}

static uint32_t wanted_events(const struct vj_vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->state == VJ_VSOCK_CONN_HOST_LINE)
		return EPOLLIN;
	if (c->state != VJ_VSOCK_CONN_ESTABLISHED)
		return 0; /* hang-ups only */
	if (!c->host_readable && !c->host_eof && !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV))
		ev |= EPOLLIN;
	if (c->buf_len)
		ev |= EPOLLOUT;
	return ev;
}

/* After a hang-up the socket stays out of the loop (a hang-up cannot be
 * masked) and reads find out the rest. */
void vj_vsock_conn_rewatch(struct vj_vsock_conn *c)
{
	uint32_t ev = wanted_events(c);

	if (c->fd < 0 || c->host_hup)
		return;
	if (!c->watched) {
		if (vj_loop_add(c->v->loop, c->fd, ev, &c->h) == 0) {
			c->watched = true;
			c->events = ev;
		}
	} else if (ev != c->events && vj_loop_mod(c->v->loop, c->fd, ev, &c->h) == 0) {
		c->events = ev;
	}
}

void vj_vsock_conn_free(struct vj_vsock_conn *c)
{
	struct vj_vsock *v = c->v;
	struct vj_loop_handler h = c->h;

	vj_vsock_conn_unwatch(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->h = h;
	c->fd = -1;
}

void vj_vsock_owe_rst(struct vj_vsock *v, uint32_t local_port, uint32_t peer_port)
{
	if (v->nrst < VJ_VSOCK_RST_BACKLOG) {
		v->rst[v->nrst].src_port = local_port;
		v->rst[v->nrst].dst_port = peer_port;
		v->nrst++;
	}
}

void vj_vsock_conn_reset(struct vj_vsock_conn *c)
{
	if (c->state != VJ_VSOCK_CONN_HOST_LINE)
		vj_vsock_owe_rst(c->v, c->local_port, c->peer_port);
	vj_vsock_conn_free(c);
}

struct vj_vsock_conn *vj_vsock_conn_find(struct vj_vsock *v, uint32_t local_port,
					 uint32_t peer_port)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		struct vj_vsock_conn *c = &v->conns[i];
		if (c->state > VJ_VSOCK_CONN_HOST_LINE && c->local_port == local_port &&
		    c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

struct vj_vsock_conn *vj_vsock_conn_alloc(struct vj_vsock *v)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == VJ_VSOCK_CONN_FREE)
			return &v->conns[i];
	return NULL;
}

struct vj_vsock_conn *vj_vsock_conn_connecting(struct vj_vsock *v, uint32_t cookie)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == VJ_VSOCK_CONN_CONNECTING && v->conns[i].cookie == cookie)
			return &v->conns[i];
	return NULL;
}

static bool port_in_use(struct vj_vsock *v, uint32_t port)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state > VJ_VSOCK_CONN_HOST_LINE && v->conns[i].local_port == port)
			return true;
	return false;
}

uint32_t vj_vsock_conn_host_port(struct vj_vsock *v)
{
	do {
		v->next_port = v->next_port + 1 >= (1u << 31) ? VJ_VSOCK_FIRST_HOST_PORT : v->next_port + 1;
	} while (port_in_use(v, v->next_port));
	return v->next_port;
}

int vj_vsock_conn_establish(struct vj_vsock_conn *c)
{
	c->buf = malloc(VJ_VSOCK_BUF_ALLOC);
	if (!c->buf)
		return -ENOMEM;
	c->state = VJ_VSOCK_CONN_ESTABLISHED;
	vj_vsock_conn_rewatch(c);
	return 0;
}

/* ---- credit ----------------------------------------------------------- */

uint32_t vj_vsock_conn_guest_credit(const struct vj_vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool vj_vsock_conn_wants_to_send(const struct vj_vsock_conn *c)
{
	if (c->owe)
		return true;
	return c->state == VJ_VSOCK_CONN_ESTABLISHED && c->host_readable &&
	       !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	       (vj_vsock_conn_guest_credit(c) > 0 || !c->credit_asked);
}

void vj_vsock_conn_peer_credit(struct vj_vsock_conn *c, const struct virtio_vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vj_vsock_conn_guest_credit(c))
		c->credit_asked = false;
}

static void credit_check(struct vj_vsock_conn *c)
{
	/* The guest thinks it may still send buf_alloc - (rx_cnt -
	 * fwd_cnt_sent); tell it about the room we made once that falls
	 * below half. */
	if (c->fwd_cnt != c->fwd_cnt_sent && c->rx_cnt - c->fwd_cnt_sent > VJ_VSOCK_BUF_ALLOC / 2)
		c->owe |= VJ_VSOCK_OWE_CREDIT_UPDATE;
}

/* ---- guest to host ---------------------------------------------------- */

/* Once the guest has shut both directions and the host took every byte:
 * the connection ends, with the reset the guest waits for. */
static void maybe_finish(struct vj_vsock_conn *c)
{
	if (c->buf_len)
		return;
	if ((c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->host_shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->host_shut_wr = true;
	}
	if (c->guest_shutdown == VJ_VSOCK_SHUTDOWN_BOTH)
		vj_vsock_conn_reset(c);
}

void vj_vsock_conn_drain(struct vj_vsock_conn *c)
{
	while (c->buf_len) {
		uint32_t run = VJ_VSOCK_BUF_ALLOC - c->buf_head;
		struct iovec iov = { c->buf + c->buf_head, run < c->buf_len ? run : c->buf_len };
		ssize_t n = vj_vsock_host_send(c->fd, &iov, 1);
		if (n < 0) {
			vj_vsock_conn_reset(c);
			return;
		}
		if (n == 0)
			break;
		c->buf_head = (c->buf_head + (uint32_t)n) % VJ_VSOCK_BUF_ALLOC;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	credit_check(c);
	vj_vsock_conn_rewatch(c);
	maybe_finish(c);
}

static void buffer_append(struct vj_vsock_conn *c, const struct vj_chain *ch, uint64_t off,
			  uint32_t len)
{
	while (len) {
		uint32_t tail = (c->buf_head + c->buf_len) % VJ_VSOCK_BUF_ALLOC;
		uint32_t run = VJ_VSOCK_BUF_ALLOC - tail;
		size_t n = vj_chain_read(ch, off, c->buf + tail, run < len ? run : len);
		c->buf_len += (uint32_t)n;
		off += n;
		len -= (uint32_t)n;
	}
}

void vj_vsock_conn_guest_rw(struct vj_vsock_conn *c, const struct vj_chain *ch, uint32_t len)
{
	struct vj_vsock *v = c->v;
	ssize_t sent = 0;
	int k;

	if (c->state != VJ_VSOCK_CONN_ESTABLISHED ||
	    (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) || c->host_shut_wr) {
		vj_vsock_conn_reset(c);
		return;
	}
	/* Beyond the credit we gave: the guest broke the protocol. */
	if (len > VJ_VSOCK_BUF_ALLOC - c->buf_len) {
		vj_debug("%s: guest port %u sent %u bytes beyond its credit", v->vdev.name,
			 c->peer_port, len);
		vj_vsock_conn_reset(c);
		return;
	}
	if (!len)
		return;
	if (!c->buf_len) {
		k = vj_chain_iov(ch, false, VJ_VSOCK_HDR_LEN, len, v->iov, VJ_VSOCK_QUEUE_SIZE);
		sent = k > 0 ? vj_vsock_host_send(c->fd, v->iov, k) : -1;
		if (sent < 0) {
			vj_vsock_conn_reset(c);
			return;
		}
	}
	buffer_append(c, ch, VJ_VSOCK_HDR_LEN + (uint64_t)sent, len - (uint32_t)sent);
	vj_virtio_count(&v->vdev, len);
	c->rx_cnt += len;
	c->fwd_cnt += (uint32_t)sent;
	credit_check(c);
	vj_vsock_conn_rewatch(c);
}

void vj_vsock_conn_guest_response(struct vj_vsock_conn *c)
{
	char ok[24];
	struct iovec iov;
	int n;

	if (c->state != VJ_VSOCK_CONN_HOST_REQUEST) {
		vj_vsock_conn_reset(c);
		return;
	}
	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	iov = (struct iovec){ ok, (size_t)n };
	if (vj_vsock_host_send(c->fd, &iov, 1) != n || vj_vsock_conn_establish(c) < 0)
		vj_vsock_conn_reset(c);
}

void vj_vsock_conn_guest_shutdown(struct vj_vsock_conn *c, uint32_t flags)
{
	if (c->state != VJ_VSOCK_CONN_ESTABLISHED) {
		vj_vsock_conn_reset(c);
		return;
	}
	c->guest_shutdown |= flags & VJ_VSOCK_SHUTDOWN_BOTH;
	vj_vsock_conn_rewatch(c);
	maybe_finish(c);
}
