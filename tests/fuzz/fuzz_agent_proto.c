/*
 * libFuzzer harness for the launcher <-> agent codec (common/agent_proto.c):
 * the input is a byte stream as a peer would send it, taken frame by frame
 * through struct vj_agent_rx. Besides the sanitizers it checks that every
 * frame the decoder accepts is canonical: encoding the decoded message
 * gives back exactly the bytes received, so no two encodings mean the
 * same thing and nothing in a frame goes unchecked.
 */
#include <stdint.h>
#include <string.h>

#include "agent_proto.h"

static struct vj_agent_rx rx;
static uint8_t again[VJ_AGENT_FRAME_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vj_agent_msg m;
	struct vj_err why;
	int r;

	rx.have = rx.current = 0;
	while (size || rx.have) {
		/* Bytes arrive in uneven pieces, as from a socket. */
		size_t n = size < 4099 ? size : 4099;
		if (n > sizeof(rx.buf) - rx.have)
			n = sizeof(rx.buf) - rx.have;
		memcpy(rx.buf + rx.have, data, n);
		rx.have += n;
		data += n;
		size -= n;
		while ((r = vj_agent_rx_next(&rx, &m, &why)) == 1) {
			ssize_t len = vj_agent_encode(&m, again, sizeof(again), &why);
			if (len != (ssize_t)rx.current || memcmp(again, rx.buf, rx.current))
				__builtin_trap();
			vj_agent_rx_consume(&rx);
		}
		if (r < 0 || (r == 0 && !n))
			break;
	}
	return 0;
}
