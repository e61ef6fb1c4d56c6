/*
 * virtio-vsock connections: the table of a device's connections and each
 * one's state machine, its credit both ways and the guest bytes its host
 * socket has not taken yet.
 *
 *   HOST_LINE --"CONNECT <port>\n"--> HOST_REQUEST --RESPONSE--> ESTABLISHED
 *   (guest REQUEST) CONNECTING --broker's socket--> ESTABLISHED
 *   any state --RST, reset, or shut both ways and drained--> FREE
 *
 * Everything here runs on the VMM thread with the device locked. A
 * packet out of turn resets the connection (RST owed to the guest); the
 * host socket is closed with the connection, so its peer sees the end.
 */
#ifndef VJ_VIRTIO_VSOCK_CONN_H
#define VJ_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "eventloop.h"
#include "virtio/vsock_packet.h"

/* Host-side ports of host-initiated connections: [2^30, 2^31). */
#define VJ_VSOCK_FIRST_HOST_PORT (1u << 30)
#define VJ_VSOCK_LINE_CAP 32 /* "CONNECT 4294967295\n" fits */
#define VJ_VSOCK_SHUTDOWN_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

struct vj_vsock;

enum vj_vsock_conn_state {
	VJ_VSOCK_CONN_FREE,
	VJ_VSOCK_CONN_HOST_LINE,    /* host connected, reading its "CONNECT <port>\n" */
	VJ_VSOCK_CONN_HOST_REQUEST, /* REQUEST owed or sent to the guest, awaiting RESPONSE */
	VJ_VSOCK_CONN_CONNECTING,   /* guest REQUEST, waiting for the broker */
	VJ_VSOCK_CONN_ESTABLISHED,
};

/* Control packets owed to the guest, sent in this order. */
#define VJ_VSOCK_OWE_RESPONSE (1u << 0)
#define VJ_VSOCK_OWE_REQUEST (1u << 1)
#define VJ_VSOCK_OWE_CREDIT_UPDATE (1u << 2)
#define VJ_VSOCK_OWE_CREDIT_REQUEST (1u << 3)
#define VJ_VSOCK_OWE_SHUTDOWN (1u << 4)

struct vj_vsock_conn {
	struct vj_vsock *v;
	enum vj_vsock_conn_state state;
	int fd;
	bool watched;    /* fd is in the event loop */
	uint32_t events; /* what the loop watches for */
	struct vj_loop_handler h;
	uint32_t local_port, peer_port; /* host side, guest side */
	uint32_t cookie;                /* of the broker request */
	unsigned owe;
	uint32_t shutdown_flags; /* sent with VJ_VSOCK_OWE_SHUTDOWN */
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
	char line[VJ_VSOCK_LINE_CAP];
	unsigned line_len;
};

/* ---- the table (v->conns, VJ_VSOCK_MAX_CONNS entries) ---- */

/* A connection the guest knows about (not one still reading its CONNECT
 * line) by its ports, or NULL. */
struct vj_vsock_conn *vj_vsock_conn_find(struct vj_vsock *v, uint32_t local_port,
					 uint32_t peer_port);
/* A free entry, or NULL when VJ_VSOCK_MAX_CONNS are in use. */
struct vj_vsock_conn *vj_vsock_conn_alloc(struct vj_vsock *v);
/* A host-side port for a host-initiated connection, not in use. */
uint32_t vj_vsock_conn_host_port(struct vj_vsock *v);
/* The connection waiting for the broker's answer to cookie, or NULL. */
struct vj_vsock_conn *vj_vsock_conn_connecting(struct vj_vsock *v, uint32_t cookie);

/* Closes the host socket and frees the entry; the guest is not told. */
void vj_vsock_conn_free(struct vj_vsock_conn *c);
/* Ends a connection the guest knows about with a reset. */
void vj_vsock_conn_reset(struct vj_vsock_conn *c);
/* A reset owed for a connection the device has no entry for (best
 * effort: one that finds the backlog full is covered by the guest's
 * own time-out). */
void vj_vsock_owe_rst(struct vj_vsock *v, uint32_t local_port, uint32_t peer_port);

/* The host socket is connected: ESTABLISHED, with its buffer. */
int vj_vsock_conn_establish(struct vj_vsock_conn *c);
/* Brings the event loop in line with what the connection waits for. */
void vj_vsock_conn_rewatch(struct vj_vsock_conn *c);
void vj_vsock_conn_unwatch(struct vj_vsock_conn *c);

/* ---- credit ---- */

/* Bytes the guest can still take from the host (its buf_alloc less what
 * is in flight), 0 when a hostile fwd_cnt claims more than was sent. */
uint32_t vj_vsock_conn_guest_credit(const struct vj_vsock_conn *c);
/* A control packet is owed, or host data waits and may be sent. */
bool vj_vsock_conn_wants_to_send(const struct vj_vsock_conn *c);

/* ---- what the guest sent, once vj_vsock_pkt_parse() accepted it ---- */

/* The guest's view of its own credit, carried by every packet. */
void vj_vsock_conn_peer_credit(struct vj_vsock_conn *c, const struct virtio_vsock_hdr *h);
void vj_vsock_conn_guest_response(struct vj_vsock_conn *c);
void vj_vsock_conn_guest_shutdown(struct vj_vsock_conn *c, uint32_t flags);
/* len payload bytes at VJ_VSOCK_HDR_LEN in ch: to the host socket, what
 * it does not take into the buffer. Beyond the credit given: reset. */
void vj_vsock_conn_guest_rw(struct vj_vsock_conn *c, const struct vj_chain *ch, uint32_t len);

/* The host socket can take more: writes buffered guest bytes. */
void vj_vsock_conn_drain(struct vj_vsock_conn *c);

#endif
