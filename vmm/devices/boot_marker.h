/* Boot-complete marker: the guest writes VJ_BOOT_MARKER_VALUE to
 * VJ_BOOT_MARKER_ADDR once it is up (Firecracker's convention), and the
 * VMM records when. */
#ifndef VJ_BOOT_MARKER_H
#define VJ_BOOT_MARKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"

struct vj_boot_marker {
	uint64_t start_ns;       /* VMM start, for the log line */
	_Atomic uint64_t *stamp; /* where the time of the first write goes */
	int notify_efd;          /* written once then, for the launcher; -1: none */
};

extern const struct vj_bus_ops vj_boot_marker_ops;

#endif
