/*
 * Guest networking with plain ioctls (no netlink, no busybox): lo up, and
 * eth0 with the address, prefix and default route the launcher sends.
 */
#ifndef VJ_INIT_NET_H
#define VJ_INIT_NET_H

#include <stddef.h>

#include "agent_proto.h"
#include "error.h"

#define VJ_INIT_NET_IFNAME "eth0"

int vj_init_net_up(const char *ifname, struct vj_err *err);

/* Address and netmask, up, then the default route when net->gateway is
 * not 0.0.0.0. Returns 0 or -errno with err naming the step. */
int vj_init_net_configure(const char *ifname, const struct vj_agent_net *net, struct vj_err *err);

/* Gives ifname the hardware address mac (SIOCSIFHWADDR); an interface
 * whose driver refuses while it is up is taken down around the change.
 * Returns 0 or -errno with err naming the interface and the step. */
int vj_init_net_set_mac(const char *ifname, const uint8_t mac[6], struct vj_err *err);

#endif
