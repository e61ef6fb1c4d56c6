#include "devices/boot_marker.h"

#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "vm.h"

static void marker_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vj_boot_marker *m = dev;
	const uint64_t one = 1;
	uint64_t now, expected = 0;

	if (off != 0 || len != 1 || data[0] != VJ_BOOT_MARKER_VALUE)
		return;
	now = vj_now_ns();
	if (!atomic_compare_exchange_strong(m->stamp, &expected, now))
		return;
	vj_info("guest boot complete: %llu us after VMM start",
		(unsigned long long)((now - m->start_ns) / 1000));
	if (m->notify_efd >= 0)
		(void)!write(m->notify_efd, &one, sizeof(one));
}

const struct vj_bus_ops vj_boot_marker_ops = { .read = NULL, .write = marker_write };
