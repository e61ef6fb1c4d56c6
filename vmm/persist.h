/*
 * Taking a snapshot of a paused VM and resuming one (vmm/SNAPSHOT.md):
 * the VMM side of the state file format in common/snapshot.h.
 */
#ifndef VJ_PERSIST_H
#define VJ_PERSIST_H

#include <stdint.h>

#include "snapshot.h"

struct vj_vm;
struct vj_serial;
struct vj_i8042;
struct vj_boot_marker;
struct vj_virtio_devices;

/* Everything of one VM that has state. */
struct vj_machine {
	struct vj_vm *vm;
	struct vj_serial *serial;
	struct vj_i8042 *i8042;
	struct vj_boot_marker *marker;
	struct vj_virtio_devices *virtio;
};

/*
 * VMM thread. Writes the state file (from offset 0) and the memory file
 * of the paused VM, and fsyncs both. -EBUSY: the VM is not paused;
 * -EROFS: it has a writable drive (clones would share it); -EFBIG: guest
 * RAM is larger than the VMM's RLIMIT_FSIZE lets it write (asked now:
 * the launcher may raise it for the snapshot); other -errno from the
 * writes or KVM. Logs one line either way.
 */
int vj_machine_snapshot(const struct vj_machine *m, int state_fd, int mem_fd);

/*
 * VMM thread, VM paused: the state file's bytes of this machine into w
 * (as vj_machine_snapshot writes them), for a live migration's STATE
 * frame. -EBUSY: not paused; other -errno, with one line logged.
 */
int vj_machine_save_state(const struct vj_machine *m, struct vj_snapshot_writer *w);

/*
 * Main thread, before the vCPU threads start and before any filter: puts
 * the snapshot's VM, vCPU and device state into the freshly created
 * machine (its guest RAM already the snapshot's memory file), then resets
 * the vsock transport. Logs one line naming what was refused.
 */
int vj_machine_restore(const struct vj_machine *m, const struct vj_snapshot *s);

#endif
