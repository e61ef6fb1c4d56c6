/*
 * vmjail-init's end of the connection: a vsock stream to the host (CID 2)
 * on the port the kernel command line names with vmjail.port=N.
 */
#ifndef VJ_INIT_CONNECT_H
#define VJ_INIT_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The last vmjail.port=N word of cmdline (1..4294967295; parameters are
 * separated by spaces, tabs or newlines, as in /proc/cmdline), or
 * VJ_AGENT_DEFAULT_PORT when there is none. -EINVAL with err set for a
 * value that is not a port. */
int vj_init_port_from_cmdline(const char *cmdline, uint32_t *port, struct vj_err *err);

/* Reads /proc/cmdline for the port and connects. Returns the socket
 * (close-on-exec) or -errno with err set. */
int vj_init_connect_host(struct vj_err *err);

/* Connects an exec's own stream (PROTOCOL.md, EXEC): to the host's vsock
 * port `port`, or, with unix_prefix (the tests, which run the agent over
 * a socketpair), to the AF_UNIX socket "<unix_prefix>_<port>", the name
 * the host side of vsock gives that port. Returns the socket
 * (close-on-exec) or -errno with err set. */
int vj_init_connect_port(const char *unix_prefix, uint32_t port, struct vj_err *err);

#endif
