/* What the `vsock` scenario and the host peer (virtio-host vsock-peer)
 * exchange. */
#ifndef VJ_VGUEST_VVSOCK_H
#define VJ_VGUEST_VVSOCK_H

#include <stdint.h>

#define VVSOCK_CID 42
#define VVSOCK_GUEST_PORT 1234 /* the guest listens here */
#define VVSOCK_HOST_PORT 5678  /* the host peer listens on <uds>_5678 */
#define VVSOCK_NOBODY_PORT 5679 /* no host socket: the guest gets a reset */
#define VVSOCK_STREAM_BYTES 300000u /* host to guest and back, echoed + 1 */
#define VVSOCK_HELLO "guest says hi\n"
#define VVSOCK_REPLY "host says hi\n"

static inline uint8_t vvsock_byte(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

#endif
