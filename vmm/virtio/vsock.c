#include "virtio/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "cleanup.h"
#include "log.h"
#include "parse.h"
#include "vm.h"
#include "virtio/chain.h"
#include "virtio/vsock_broker.h"

#define LISTEN_BACKLOG 16
#define ACCEPT_BATCH 16
#define LINE_CAP 32 /* "CONNECT 4294967295\n" fits */
#define FIRST_HOST_PORT (1u << 30)
#define SHUTDOWN_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

#define container_of_vsock(d) \
	((struct vj_vsock *)((char *)(d) - offsetof(struct vj_vsock, vdev)))

enum conn_state {
	CONN_FREE,
	CONN_HOST_LINE,    /* host connected, reading its "CONNECT <port>\n" */
	CONN_HOST_REQUEST, /* REQUEST owed or sent to the guest, awaiting RESPONSE */
	CONN_CONNECTING,   /* guest REQUEST, waiting for the broker */
	CONN_ESTABLISHED,
};

/* Control packets owed to the guest, sent in this order. */
#define OWE_RESPONSE (1u << 0)
#define OWE_REQUEST (1u << 1)
#define OWE_CREDIT_UPDATE (1u << 2)
#define OWE_CREDIT_REQUEST (1u << 3)
#define OWE_SHUTDOWN (1u << 4)

struct vj_vsock_conn {
	struct vj_vsock *v;
	enum conn_state state;
	int fd;
	bool watched;    /* fd is in the event loop */
	uint32_t events; /* what the loop watches for */
	struct vj_loop_handler h;
	uint32_t local_port, peer_port; /* host side, guest side */
	uint32_t cookie;                /* of the broker request */
	unsigned owe;
	uint32_t shutdown_flags; /* sent with OWE_SHUTDOWN */
	/* host to guest: the guest's credit and what we sent against it */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool host_readable; /* the socket may have data: read when credit allows */
	bool host_hup;      /* epoll said hang-up: out of the loop, reads decide */
	bool host_eof;
	bool credit_asked;
	/* guest to host: bytes the host socket did not take yet */
	uint8_t *buf;
	uint32_t buf_head, buf_len;
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	uint32_t guest_shutdown;
	bool host_shut_wr;
	char line[LINE_CAP];
	unsigned line_len;
};

/* ---- sockets: sendmsg and recvmsg only, never blocking --------------- */

/* Bytes sent, 0 when the socket is full, -1 on error (errno). */
static ssize_t host_send(int fd, const struct iovec *iov, int n)
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

/* ---- connection table and event-loop registration ------------------ */

static void unwatch(struct vj_vsock_conn *c)
{
	if (c->watched)
		vj_loop_del(c->v->loop, c->fd);
	c->watched = false;
}

static uint32_t wanted_events(const struct vj_vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->state == CONN_HOST_LINE)
		return EPOLLIN;
	if (c->state != CONN_ESTABLISHED)
		return 0; /* hang-ups only */
	if (!c->host_readable && !c->host_eof && !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV))
		ev |= EPOLLIN;
	if (c->buf_len)
		ev |= EPOLLOUT;
	return ev;
}

/* Brings the loop in line with what the connection waits for. After a
 * hang-up the socket stays out of the loop (a hang-up cannot be masked)
 * and reads find out the rest. */
static void rewatch(struct vj_vsock_conn *c)
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

static void conn_free(struct vj_vsock_conn *c)
{
	struct vj_vsock *v = c->v;
	struct vj_loop_handler h = c->h;

	unwatch(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->h = h;
	c->fd = -1;
}

static void owe_rst(struct vj_vsock *v, uint32_t local_port, uint32_t peer_port)
{
	/* Best effort: a reset that finds no room is one the guest's own
	 * time-out covers. */
	if (v->nrst < VJ_VSOCK_RST_BACKLOG) {
		v->rst[v->nrst].src_port = local_port;
		v->rst[v->nrst].dst_port = peer_port;
		v->nrst++;
	}
}

/* Ends a connection the guest knows about with a reset. */
static void conn_reset(struct vj_vsock_conn *c)
{
	if (c->state != CONN_HOST_LINE)
		owe_rst(c->v, c->local_port, c->peer_port);
	conn_free(c);
}

static struct vj_vsock_conn *conn_find(struct vj_vsock *v, uint32_t local_port,
				       uint32_t peer_port)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		struct vj_vsock_conn *c = &v->conns[i];
		if (c->state > CONN_HOST_LINE && c->local_port == local_port &&
		    c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

static struct vj_vsock_conn *conn_alloc(struct vj_vsock *v)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == CONN_FREE)
			return &v->conns[i];
	return NULL;
}

static bool port_in_use(struct vj_vsock *v, uint32_t port)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state > CONN_HOST_LINE && v->conns[i].local_port == port)
			return true;
	return false;
}

static uint32_t host_port_alloc(struct vj_vsock *v)
{
	do {
		v->next_port = v->next_port + 1 >= (1u << 31) ? FIRST_HOST_PORT : v->next_port + 1;
	} while (port_in_use(v, v->next_port));
	return v->next_port;
}

static int establish(struct vj_vsock_conn *c)
{
	c->buf = malloc(VJ_VSOCK_BUF_ALLOC);
	if (!c->buf)
		return -ENOMEM;
	c->state = CONN_ESTABLISHED;
	rewatch(c);
	return 0;
}

/* ---- device to guest: the receive queue ---------------------------- */

static uint32_t guest_credit(const struct vj_vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool wants_to_send(const struct vj_vsock_conn *c)
{
	if (c->owe)
		return true;
	return c->state == CONN_ESTABLISHED && c->host_readable &&
	       !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	       (guest_credit(c) > 0 || !c->credit_asked);
}

static struct virtio_vsock_hdr header(const struct vj_vsock *v, uint32_t src_port,
				      uint32_t dst_port, uint16_t op)
{
	return (struct virtio_vsock_hdr){
		.src_cid = VJ_VSOCK_HOST_CID, .dst_cid = v->cfg->guest_cid,
		.src_port = src_port, .dst_port = dst_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = VJ_VSOCK_BUF_ALLOC,
	};
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
		vj_virtq_push(q, c->head, 0);
		*used = true;
	}
	return false;
}

static void rx_put(struct vj_vsock *v, struct vj_virtq *q, struct virtio_vsock_hdr *h)
{
	vj_chain_write(&v->chain, 0, h, sizeof(*h));
	vj_virtio_count(&v->vdev, h->len);
	vj_virtq_push(q, v->chain.head, (uint32_t)(sizeof(*h) + h->len));
}

static void rx_control(struct vj_vsock *v, struct vj_virtq *q, struct vj_vsock_conn *c)
{
	static const struct { unsigned bit; uint16_t op; } order[] = {
		{ OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ OWE_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ OWE_CREDIT_REQUEST, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
		{ OWE_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
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

/* Host data into the buffer in v->chain, as much as the guest's credit
 * and the buffer allow. Puts the buffer back when nothing was read. */
static void rx_data(struct vj_vsock *v, struct vj_virtq *q, struct vj_vsock_conn *c)
{
	uint64_t room = v->chain.writable - VJ_VSOCK_HDR_LEN;
	uint32_t credit = guest_credit(c), want;
	struct msghdr m = { .msg_iov = v->iov };
	struct virtio_vsock_hdr h;
	ssize_t n;
	int k;

	if (credit == 0) {
		/* Ask once; the guest's next packet carries its credit. */
		c->credit_asked = true;
		c->owe |= OWE_CREDIT_REQUEST;
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
		vj_virtq_push(q, v->chain.head, 0);
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
		/* The host will send no more; a hang-up also means it reads
		 * no more, which the guest answers with a reset. The hang-up's
		 * epoll event may still be on its way (data, then close): ask
		 * the socket itself, so that a closed peer is never reported
		 * as a half-closed one. */
		struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
			c->host_hup = true;
		c->host_eof = true;
		c->shutdown_flags = VIRTIO_VSOCK_SHUTDOWN_SEND |
				    (c->host_hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
		c->owe |= OWE_SHUTDOWN;
	} else if (errno == EAGAIN || errno == EINTR) {
		c->host_hup = false; /* a stale hang-up: watch the socket again */
		rewatch(c);
	} else {
		conn_reset(c);
	}
}

static struct vj_vsock_conn *next_sender(struct vj_vsock *v)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++) {
		struct vj_vsock_conn *c = &v->conns[(v->next_conn + i) % VJ_VSOCK_MAX_CONNS];
		if (c->state != CONN_FREE && wants_to_send(c)) {
			v->next_conn = (v->next_conn + i + 1) % VJ_VSOCK_MAX_CONNS;
			return c;
		}
	}
	return NULL;
}

/* Sends what is owed and what the host sockets have, while the guest
 * gives receive buffers: at most one ring's worth per turn of the loop. */
static void rx_flush(struct vj_vsock *v)
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

static void credit_check(struct vj_vsock_conn *c)
{
	/* The guest thinks it may still send buf_alloc - (rx_cnt -
	 * fwd_cnt_sent); tell it about the room we made once that falls
	 * below half. */
	if (c->fwd_cnt != c->fwd_cnt_sent && c->rx_cnt - c->fwd_cnt_sent > VJ_VSOCK_BUF_ALLOC / 2)
		c->owe |= OWE_CREDIT_UPDATE;
}


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
	if (c->guest_shutdown == SHUTDOWN_BOTH)
		conn_reset(c);
}

/* Writes buffered guest bytes to the host socket. */
static void drain(struct vj_vsock_conn *c)
{
	while (c->buf_len) {
		uint32_t run = VJ_VSOCK_BUF_ALLOC - c->buf_head;
		struct iovec iov = { c->buf + c->buf_head, run < c->buf_len ? run : c->buf_len };
		ssize_t n = host_send(c->fd, &iov, 1);
		if (n < 0) {
			conn_reset(c);
			return;
		}
		if (n == 0)
			break;
		c->buf_head = (c->buf_head + (uint32_t)n) % VJ_VSOCK_BUF_ALLOC;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	credit_check(c);
	rewatch(c);
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

static void guest_rw(struct vj_vsock *v, struct vj_vsock_conn *c, uint32_t len)
{
	const struct vj_chain *ch = &v->chain;
	ssize_t sent = 0;
	int k;

	if (c->state != CONN_ESTABLISHED || (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
	    c->host_shut_wr) {
		conn_reset(c);
		return;
	}
	/* Beyond the credit we gave: the guest broke the protocol. */
	if (len > VJ_VSOCK_BUF_ALLOC - c->buf_len) {
		vj_debug("%s: guest port %u sent %u bytes beyond its credit", v->vdev.name,
			 c->peer_port, len);
		conn_reset(c);
		return;
	}
	if (!len)
		return;
	if (!c->buf_len) {
		k = vj_chain_iov(ch, false, VJ_VSOCK_HDR_LEN, len, v->iov, VJ_VSOCK_QUEUE_SIZE);
		sent = k > 0 ? host_send(c->fd, v->iov, k) : -1;
		if (sent < 0) {
			conn_reset(c);
			return;
		}
	}
	buffer_append(c, ch, VJ_VSOCK_HDR_LEN + (uint64_t)sent, len - (uint32_t)sent);
	vj_virtio_count(&v->vdev, len);
	c->rx_cnt += len;
	c->fwd_cnt += (uint32_t)sent;
	credit_check(c);
	rewatch(c);
}

static void guest_response(struct vj_vsock_conn *c)
{
	char ok[24];
	int n;

	if (c->state != CONN_HOST_REQUEST) {
		conn_reset(c);
		return;
	}
	struct iovec iov;

	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	iov = (struct iovec){ ok, (size_t)n };
	if (host_send(c->fd, &iov, 1) != n || establish(c) < 0)
		conn_reset(c);
}

static void guest_shutdown(struct vj_vsock_conn *c, uint32_t flags)
{
	if (c->state != CONN_ESTABLISHED) {
		conn_reset(c);
		return;
	}
	c->guest_shutdown |= flags & SHUTDOWN_BOTH;
	rewatch(c);
	maybe_finish(c);
}

static void broker_ask(struct vj_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct vj_vsock_conn *c = v->broker_fd >= 0 ? conn_alloc(v) : NULL;
	struct vj_vsock_broker_request rq;
	struct iovec iov = { &rq, sizeof(rq) };

	if (!c) {
		owe_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->state = CONN_CONNECTING;
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->cookie = ++v->next_cookie;
	rq = (struct vj_vsock_broker_request){ .cookie = c->cookie, .port = h->dst_port };
	if (host_send(v->broker_fd, &iov, 1) != sizeof(rq))
		conn_reset(c);
}

/* One packet from the guest. Anything not addressed from our guest to the
 * host is dropped; anything malformed or out of turn resets. */
static void tx_packet(struct vj_vsock *v)
{
	const struct vj_chain *ch = &v->chain;
	struct virtio_vsock_hdr h;
	struct vj_vsock_conn *c;

	if (ch->err || ch->writable || vj_chain_read(ch, 0, &h, sizeof(h)) != sizeof(h))
		return;
	if (h.src_cid != v->cfg->guest_cid || h.dst_cid != VJ_VSOCK_HOST_CID)
		return;
	c = conn_find(v, h.dst_port, h.src_port);
	if (h.len != ch->readable - sizeof(h) || h.len > VJ_VSOCK_PKT_MAX ||
	    h.type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (c)
			conn_reset(c);
		else if (h.op != VIRTIO_VSOCK_OP_RST)
			owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		if (guest_credit(c))
			c->credit_asked = false;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			conn_reset(c);
		else
			broker_ask(v, &h);
		return;
	case VIRTIO_VSOCK_OP_RST:
		if (c)
			conn_free(c);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (!c) {
		owe_rst(v, h.dst_port, h.src_port);
		return;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		guest_response(c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, h.flags);
		break;
	case VIRTIO_VSOCK_OP_RW:
		guest_rw(v, c, h.len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= OWE_CREDIT_UPDATE;
		break;
	default:
		conn_reset(c);
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
		vj_virtq_push(q, v->chain.head, 0);
		used = true;
	}
	if (i == q->size)
		vj_virtio_kick(&v->vdev, VJ_VSOCK_TXQ);
	if (used)
		vj_virtio_notify_used(&v->vdev, VJ_VSOCK_TXQ);
	rx_flush(v);
}

static void vsock_queue_work(struct vj_virtio_dev *d, unsigned qi)
{
	struct vj_vsock *v = container_of_vsock(d);

	if (qi == VJ_VSOCK_TXQ)
		tx_work(v, &d->vq[qi]);
	else if (qi == VJ_VSOCK_RXQ)
		rx_flush(v);
	/* The event queue only holds buffers for events we never send. */
}

static void vsock_reset(struct vj_virtio_dev *d)
{
	struct vj_vsock *v = container_of_vsock(d);

	/* The host ends of every connection see end-of-file. */
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE)
			conn_free(&v->conns[i]);
	v->nrst = 0;
}

static const struct vj_virtio_ops vsock_ops = { .queue_work = vsock_queue_work,
						.reset = vsock_reset };

/* ---- host sockets ---------------------------------------------------- */

/* "CONNECT <port>\n", read without taking a byte past the newline: what
 * follows belongs to the stream. */
static void host_line(struct vj_vsock_conn *c)
{
	char peek[LINE_CAP];
	uint64_t port;
	ssize_t n = host_recv(c->fd, peek, LINE_CAP - c->line_len, MSG_PEEK);
	const char *nl;
	size_t take;

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->host_hup = false;
		rewatch(c);
		return;
	}
	if (n <= 0) {
		conn_free(c);
		return;
	}
	nl = memchr(peek, '\n', (size_t)n);
	take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
	if (host_recv(c->fd, c->line + c->line_len, take, 0) != (ssize_t)take) {
		conn_free(c);
		return;
	}
	c->line_len += (unsigned)take;
	if (!nl) {
		if (c->line_len == LINE_CAP)
			conn_free(c);
		return;
	}
	c->line[c->line_len - 1] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) || vj_parse_u64(c->line + 8, 0, UINT32_MAX, &port) < 0 ||
	    !vj_virtio_running(&c->v->vdev)) {
		conn_free(c);
		return;
	}
	c->peer_port = (uint32_t)port;
	c->local_port = host_port_alloc(c->v);
	c->state = CONN_HOST_REQUEST;
	c->owe |= OWE_REQUEST;
	rewatch(c);
}

static void on_host(void *opaque, uint32_t events)
{
	struct vj_vsock_conn *c = opaque;
	struct vj_vsock *v = c->v;

	vj_virtio_lock(&v->vdev);
	/* Events are hints (the slot may have been reused since they were
	 * queued); the reads and writes below find out what is true. */
	if (c->state != CONN_FREE && (events & (EPOLLHUP | EPOLLERR))) {
		unwatch(c);
		c->host_hup = true;
		c->host_readable = true;
	}
	switch (c->state) {
	case CONN_HOST_LINE:
		host_line(c);
		break;
	case CONN_ESTABLISHED:
		if (events & EPOLLIN)
			c->host_readable = true;
		if (events & EPOLLOUT)
			drain(c);
		else
			rewatch(c);
		break;
	default:
		break; /* a hang-up before the guest answered: seen once established */
	}
	rx_flush(v);
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
		c = vj_virtio_running(&v->vdev) ? conn_alloc(v) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = CONN_HOST_LINE;
		rewatch(c);
	}
	vj_virtio_unlock(&v->vdev);
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

static struct vj_vsock_conn *connecting(struct vj_vsock *v, uint32_t cookie)
{
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == CONN_CONNECTING && v->conns[i].cookie == cookie)
			return &v->conns[i];
	return NULL;
}

static void broker_gone(struct vj_vsock *v)
{
	vj_warn("%s: the connection broker went away; guest connections are refused",
		v->vdev.name);
	vj_loop_del(v->loop, v->broker_fd);
	v->broker_fd = -1;
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state == CONN_CONNECTING)
			conn_reset(&v->conns[i]);
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
		c = connecting(v, a.cookie);
		if (!c || a.error || sock < 0) {
			if (sock >= 0)
				close(sock);
			if (c) {
				vj_debug("%s: host port %u: %s", v->vdev.name, c->local_port,
					 strerror(a.error < 0 ? -a.error : EPROTO));
				conn_reset(c);
			}
			continue;
		}
		c->fd = sock;
		c->owe |= OWE_RESPONSE;
		if (establish(c) < 0)
			conn_reset(c);
	}
	rx_flush(v);
	vj_virtio_unlock(&v->vdev);
}

/* ---- set-up ---------------------------------------------------------- */

static int listen_on(struct vj_vsock_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cleanup_fd int fd = -1;
	struct stat st;

	if (vj_strlcpy_checked(sa.sun_path, cfg->uds.name, sizeof(sa.sun_path)) < 0) {
		vj_error("vsock socket (%s): path longer than %zu bytes", cfg->uds.name,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* A socket left by an earlier run is ours to replace; anything else
	 * at that path is not. */
	if (lstat(cfg->uds.name, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vj_error("vsock socket (%s): exists and is not a socket", cfg->uds.name);
			return -EEXIST;
		}
		unlink(cfg->uds.name);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		vj_error("vsock socket (%s): %s", cfg->uds.name, strerror(e));
		return -e;
	}
	cfg->uds.fd = vj_steal_fd(&fd);
	return 0;
}

int vj_vsock_open_inputs(struct vj_vsock_config *cfg)
{
	int r;

	/* A socket handed over by the launcher comes with its broker, or
	 * with none: the VMM starts one only for a socket it made itself. */
	if (!cfg->enabled || cfg->uds.fd >= 0)
		return 0;
	if ((r = listen_on(cfg)) < 0)
		return r;
	if (cfg->broker.fd < 0 && (r = vj_vsock_broker_start(cfg->uds.name, &cfg->broker.fd)) < 0) {
		vj_error("vsock connection broker for %s_<port>: %s", cfg->uds.name, strerror(-r));
		return r;
	}
	return 0;
}

int vj_vsock_create(struct vj_vsock *v, const struct vj_vsock_config *cfg,
		    const struct vj_guest_mem *mem)
{
	int r, fl;

	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->listen_fd = cfg->uds.fd;
	v->broker_fd = cfg->broker.fd;
	v->next_port = FIRST_HOST_PORT;
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
	int r;

	v->loop = loop;
	v->listen_h = (struct vj_loop_handler){ on_listen, v };
	v->broker_h = (struct vj_loop_handler){ on_broker, v };
	for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
		v->conns[i].h = (struct vj_loop_handler){ on_host, &v->conns[i] };
	r = vj_loop_add(v->loop, v->listen_fd, EPOLLIN, &v->listen_h);
	if (r == 0 && v->broker_fd >= 0)
		r = vj_loop_add(v->loop, v->broker_fd, EPOLLIN, &v->broker_h);
	return r;
}

int vj_vsock_attach(struct vj_vsock *v, struct vj_vm *vm, unsigned slot)
{
	int r = vj_virtio_attach(&v->vdev, vm, slot);

	return r < 0 ? r : vj_vsock_start(v, &vm->loop);
}

void vj_vsock_destroy(struct vj_vsock *v)
{
	if (v->conns) {
		for (unsigned i = 0; i < VJ_VSOCK_MAX_CONNS; i++)
			if (v->conns[i].state != CONN_FREE) {
				v->conns[i].watched = false; /* the loop is gone by now */
				conn_free(&v->conns[i]);
			}
		free(v->conns);
		v->conns = NULL;
	}
	vj_virtio_destroy(&v->vdev);
}
