#include "virtio/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "cleanup.h"
#include "log.h"
#include "vm.h"
#include "virtio/chain.h"
#include "virtio/vsock_conn.h"
#include "virtio/vsock_host.h"

#define container_of_vsock(d) \
	((struct vj_vsock *)((char *)(d) - offsetof(struct vj_vsock, vdev)))

/* ---- device to guest: the receive queue ---------------------------- */

static struct virtio_vsock_hdr header(const struct vj_vsock *v, uint32_t src_port,
				      uint32_t dst_port, uint16_t op)
{
	return vj_vsock_pkt_header(v->cfg->guest_cid, src_port, dst_port, op);
}

/* The next receive buffer into v->chain. Unusable buffers go back empty. */
static bool rx_buffer(struct vj_vsock *v, struct vj_virtq *q, bool *used)
{
	for (unsigned i = 0; i < q->size; i++) {
		const struct vj_chain *c = &v->chain;
		if (vj_virtq_pop(q, v->vdev.mem, &v->chain) <= 0)
			return false;
		if (!c->err && !c->readable && c->writable >= VJ_VSOCK_HDR_LEN)
			return true;
		vj_virtq_push(q, c, 0);
		*used = true;
	}
	return false;
}

static void rx_put(struct vj_vsock *v, struct vj_virtq *q, struct virtio_vsock_hdr *h)
{
	vj_chain_write(&v->chain, 0, h, sizeof(*h));
	vj_virtio_count(&v->vdev, h->len);
	vj_virtq_push(q, &v->chain, (uint32_t)(sizeof(*h) + h->len));
}

static void rx_control(struct vj_vsock *v, struct vj_virtq *q, struct vj_vsock_conn *c)
{
	static const struct { unsigned bit; uint16_t op; } order[] = {
		{ VJ_VSOCK_OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ VJ_VSOCK_OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ VJ_VSOCK_OWE_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ VJ_VSOCK_OWE_CREDIT_REQUEST, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
		{ VJ_VSOCK_OWE_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
	};
	struct virtio_vsock_hdr h;

	for (size_t i = 0; i < VJ_ARRAY_SIZE(order); i++) {
		if (!(c->owe & order[i].bit))
			continue;
		c->owe &= ~order[i].bit;
		h = header(v, c->local_port, c->peer_port, order[i].op);
		h.fwd_cnt = c->fwd_cnt;
		if (order[i].op == VIRTIO_VSOCK_OP_SHUTDOWN)
			h.flags = c->shutdown_flags;
		c->fwd_cnt_sent = c->fwd_cnt;
		rx_put(v, q, &h);
		return;
	}
}

/* The host will send no more; a hang-up also means it reads no more,
 * which the guest answers with a reset. */
static void host_ended(struct vj_vsock_conn *c)
{
	/* The hang-up's epoll event may still be on its way (data, then
	 * close): ask the socket itself, so that a closed peer is never
	 * reported as a half-closed one. */
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		c->host_hup = true;
	c->host_eof = true;
	c->shutdown_flags = VIRTIO_VSOCK_SHUTDOWN_SEND |
			    (c->host_hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
	c->owe |= VJ_VSOCK_OWE_SHUTDOWN;
}

/* Host data into the buffer in v->chain, as much as the guest's credit
 * and the buffer allow. Puts the buffer back when nothing was read. */
static void rx_data(struct vj_vsock *v, struct vj_virtq *q, struct vj_vsock_conn *c)
{
	uint64_t room = v->chain.writable - VJ_VSOCK_HDR_LEN;
	uint32_t credit = vj_vsock_conn_guest_credit(c), want;
	struct msghdr m = { .msg_iov = v->iov };
	struct virtio_vsock_hdr h;
	ssize_t n;
	int k;

	if (credit == 0) {
		/* Ask once; the guest's next packet carries its credit. */
		c->credit_asked = true;
		c->owe |= VJ_VSOCK_OWE_CREDIT_REQUEST;
		rx_control(v, q, c);
		return;
	}
	want = credit;
	if (want > room)
		want = (uint32_t)room;
	if (want > VJ_VSOCK_PKT_MAX)
		want = VJ_VSOCK_PKT_MAX;
	k = vj_chain_iov(&v->chain, true, VJ_VSOCK_HDR_LEN, want, v->iov, VJ_VSOCK_QUEUE_SIZE);
	if (k <= 0) {
		vj_virtq_push(q, &v->chain, 0);
		return;
	}
	m.msg_iovlen = (size_t)k;
	n = recvmsg(c->fd, &m, MSG_DONTWAIT);
	if (n > 0) {
		h = header(v, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RW);
		h.len = (uint32_t)n;
		h.fwd_cnt = c->fwd_cnt;
		c->fwd_cnt_sent = c->fwd_cnt;
		c->tx_cnt += (uint32_t)n;
		rx_put(v, q, &h);
		return;
	}
	vj_virtq_unpop(q);
	c->host_readable = false;
	if (n == 0) {
		host_ended(c);
	} else if (errno == EAGAIN || errno == EINTR) {
		c->host_hup = false; /* a stale hang-up: watch the socket again */
		vj_vsock_conn_rewatch(c);
	} else {
		vj_vsock_conn_reset(c);
	}
}

static struct vj_vsock_conn *next_sender(struct vj_vsock *v)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		struct vj_vsock_conn *c = &v->conns[(v->next_conn + i) % VJ_VSOCK_MAX_CONNS];
		if (c->state != VJ_VSOCK_CONN_FREE && vj_vsock_conn_wants_to_send(c)) {
			v->next_conn = (v->next_conn + i + 1) % VJ_VSOCK_MAX_CONNS;
			return c;
		}
	}
	return NULL;
}

/* At most one ring's worth per turn of the loop. */
void vj_vsock_rx_flush(struct vj_vsock *v)
{
	struct vj_virtq *q = vj_virtio_queue(&v->vdev, VJ_VSOCK_RXQ);
	bool used = false;
	unsigned budget;

	if (!q)
		return;
	for (budget = q->size; budget; budget--) {
		struct vj_vsock_conn *c = NULL;

		if (!v->nrst && !(c = next_sender(v)))
			break;
		if (!rx_buffer(v, q, &used))
			break;
		used = true;
		if (!c) {
			struct virtio_vsock_hdr h;
			v->nrst--;
			h = header(v, v->rst[v->nrst].src_port, v->rst[v->nrst].dst_port,
				   VIRTIO_VSOCK_OP_RST);
			rx_put(v, q, &h);
		} else if (c->owe) {
			rx_control(v, q, c);
		} else {
			rx_data(v, q, c);
		}
	}
	if (!budget)
		vj_virtio_kick(&v->vdev, VJ_VSOCK_RXQ);
	if (used)
		vj_virtio_notify_used(&v->vdev, VJ_VSOCK_RXQ);
}

/* ---- guest to host: the transmit queue ----------------------------- */

/* One packet from the guest. Anything not addressed from our guest to the
 * host is dropped; anything malformed or out of turn resets. */
static void tx_packet(struct vj_vsock *v)
{
	struct virtio_vsock_hdr h;
	struct vj_vsock_conn *c;
	enum vj_vsock_pkt_verdict verdict = vj_vsock_pkt_parse(&v->chain, v->cfg->guest_cid, &h);

	if (verdict == VJ_VSOCK_PKT_DROP)
		return;
	c = vj_vsock_conn_find(v, h.dst_port, h.src_port);
	if (verdict == VJ_VSOCK_PKT_BAD) {
		if (c)
			vj_vsock_conn_reset(c);
		else if (h.op != VIRTIO_VSOCK_OP_RST)
			vj_vsock_owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (c)
		vj_vsock_conn_peer_credit(c, &h);
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			vj_vsock_conn_reset(c);
		else
			vj_vsock_host_connect(v, &h);
		return;
	case VIRTIO_VSOCK_OP_RST:
		if (c)
			vj_vsock_conn_free(c);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			vj_vsock_owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (!c) {
		vj_vsock_owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		vj_vsock_conn_guest_response(c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		vj_vsock_conn_guest_shutdown(c, h.flags);
		break;
	case VIRTIO_VSOCK_OP_RW:
		vj_vsock_conn_guest_rw(c, &v->chain, h.len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= VJ_VSOCK_OWE_CREDIT_UPDATE;
		break;
	default:
		vj_vsock_conn_reset(c);
		break;
	}
}

static void tx_work(struct vj_vsock *v, struct vj_virtq *q)
{
	bool used = false;
	unsigned i;

	for (i = 0; i < q->size; i++) {
		if (vj_virtq_pop(q, v->vdev.mem, &v->chain) <= 0)
			break;
		tx_packet(v);
		vj_virtq_push(q, &v->chain, 0);
		used = true;
	}
	if (i == q->size)
		vj_virtio_kick(&v->vdev, VJ_VSOCK_TXQ);
	if (used)
		vj_virtio_notify_used(&v->vdev, VJ_VSOCK_TXQ);
	vj_vsock_rx_flush(v);
}

/* ---- the event queue ------------------------------------------------- */

/* The owed transport reset into the first usable event buffer; buffers
 * that cannot hold an event go back empty. Nothing owed: the buffers
 * stay with the device for a later event. */
static void ev_flush(struct vj_vsock *v)
{
	struct virtio_vsock_event ev = { .id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };
	struct vj_virtq *q = vj_virtio_queue(&v->vdev, VJ_VSOCK_EVQ);
	const struct vj_chain *c = &v->chain;
	bool used = false;

	for (unsigned i = 0; q && v->reset_event_owed && i < q->size; i++) {
		if (vj_virtq_pop(q, v->vdev.mem, &v->chain) <= 0)
			break;
		used = true;
		if (c->err || c->readable || c->writable < sizeof(ev) ||
		    vj_chain_write(c, 0, &ev, sizeof(ev)) != sizeof(ev)) {
			vj_virtq_push(q, c, 0);
			continue;
		}
		vj_virtq_push(q, c, sizeof(ev));
		v->reset_event_owed = false;
	}
	if (used)
		vj_virtio_notify_used(&v->vdev, VJ_VSOCK_EVQ);
}

/* ---- the device -------------------------------------------------------- */

static void vsock_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_vsock *v = container_of_vsock(d);

	if (qi == VJ_VSOCK_TXQ)
		tx_work(v, &d->vq[qi]);
	else if (qi == VJ_VSOCK_RXQ)
		vj_vsock_rx_flush(v);
	else
		ev_flush(v);
}

static void drop_connections(struct vj_vsock *v)
{
	/* The host ends of every connection see end-of-file. */
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != VJ_VSOCK_CONN_FREE)
			vj_vsock_conn_free(&v->conns[i]);
	v->nrst = 0;
}

static void vsock_reset(struct vj_virtio_dev *d)
{
	struct vj_vsock *v = container_of_vsock(d);

	/* A driver that resets the device starts afresh anyway: it reads
	 * the CID again and has no sockets on this transport left. */
	drop_connections(v);
	v->reset_event_owed = false;
}

static const struct vj_virtio_ops vsock_ops = { .queue_work = vsock_queue_work,
						.reset = vsock_reset };

int vj_vsock_create(struct vj_vsock *v, const struct vj_vsock_config *cfg,
		    const struct vj_guest_mem *mem)
{
	int r, fl;

	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->listen_fd = cfg->uds.fd;
	v->broker_fd = cfg->broker.fd;
	v->next_port = VJ_VSOCK_FIRST_HOST_PORT;
	v->config.guest_cid = cfg->guest_cid;
	/* The launcher's socket may be blocking; the event loop must not be. */
	fl = fcntl(v->listen_fd, F_GETFL);
	if (fl < 0 || fcntl(v->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		vj_error("vsock socket (%s): %s", cfg->uds.name, strerror(-r));
		return r;
	}
	v->conns = calloc(VJ_VSOCK_MAX_CONNS, sizeof(*v->conns));
	if (!v->conns)
		return -ENOMEM;
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		v->conns[i].v = v;
		v->conns[i].fd = -1;
	}
	r = vj_virtio_init(&v->vdev, "virtio-vsock", VIRTIO_ID_VSOCK, 0, 3, VJ_VSOCK_QUEUE_SIZE,
			   &v->config, sizeof(v->config), &vsock_ops, mem);
	if (r < 0)
		vj_error("virtio-vsock: device set-up: %s", strerror(-r));
	return r;
}

int vj_vsock_start(struct vj_vsock *v, struct vj_loop *loop)
{
	v->loop = loop;
	return vj_vsock_host_start(v);
}

int vj_vsock_attach(struct vj_vsock *v, struct vj_vm *vm, unsigned slot)
{
	int r = vj_virtio_attach(&v->vdev, vm, slot);

	return r < 0 ? r : vj_vsock_start(v, &vm->loop);
}

void vj_vsock_transport_reset(struct vj_vsock *v)
{
	vj_virtio_lock(&v->vdev);
	drop_connections(v);
	v->reset_event_owed = true;
	ev_flush(v);
	vj_virtio_unlock(&v->vdev);
}

void vj_vsock_destroy(struct vj_vsock *v)
{
	if (v->conns) {
		for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
			if (v->conns[i].state != VJ_VSOCK_CONN_FREE) {
				v->conns[i].watched = false; /* the loop is gone by now */
				vj_vsock_conn_free(&v->conns[i]);
			}
		free(v->conns);
		v->conns = NULL;
	}
	vj_virtio_destroy(&v->vdev);
}
