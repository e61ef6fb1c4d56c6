/* The frames the `net` scenario and the host peer (virtio-host net-peer)
 * exchange through the tap. */
#ifndef VJ_VGUEST_VNET_H
#define VJ_VGUEST_VNET_H

#include <stdint.h>

#define VNET_ETHERTYPE 0x88b5 /* IEEE 802 local experimental */
#define VNET_GUEST_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }
#define VNET_PEER_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 }
#define VNET_PING "vjtest-ping"
#define VNET_PONG "vjtest-pong"
#define VNET_PING_LEN 60   /* minimum Ethernet frame (without FCS) */
#define VNET_PONG_LEN 1514 /* maximum for MTU 1500 */

/* Payload byte i after the tag, i counted from the frame start. */
static inline uint8_t vnet_byte(unsigned i, int pong)
{
	return (uint8_t)(i * 3 + (pong ? 0x80 : 0));
}

#endif
