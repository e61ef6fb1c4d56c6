/*
 * The VMM's own connection broker for virtio-vsock's guest-initiated
 * connections, used in standalone mode; the protocol is in
 * common/vsock_broker_proto.h.
 *
 * vmjail-vmm forks this broker before it does anything else (no guest
 * memory, no threads, no other descriptors in the child). Under the
 * launcher, the launcher's broker (jailer/broker.c) speaks the same
 * protocol and the VMM gets its end in struct vj_vsock_config.broker.
 */
#ifndef VJ_VIRTIO_VSOCK_BROKER_H
#define VJ_VIRTIO_VSOCK_BROKER_H

#include "vsock_broker_proto.h"

/* Forks the broker for sockets "<uds_path>_<port>", which it reaches as
 * the launcher's does: from the socket's directory, never through a
 * symbolic link (vj_vsock_broker_connect()). *fd gets the VMM's end
 * (close-on-exec). The broker ends when that end is closed. */
int vj_vsock_broker_start(const char *uds_path, int *fd);

#endif
