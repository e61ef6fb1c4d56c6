#include "persist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices/boot_marker.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "log.h"
#include "vcpu.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "vm.h"

/* The transports in slot order, as virtio/devices.c attached them. */
static unsigned transports(const struct vj_virtio_devices *d,
			   struct vj_virtio_dev *out[VJ_SNAPSHOT_DEVICES_MAX])
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->nblk; i++)
		out[n++] = &d->blk[i]->vdev;
	for (unsigned i = 0; i < d->nnet; i++)
		out[n++] = &d->net[i]->vdev;
	if (d->vsock)
		out[n++] = &d->vsock->vdev;
	if (d->rng)
		out[n++] = &d->rng->vdev;
	return n;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	off_t off = 0;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Every section of the paused machine, in the order restore wants them. */
static int collect(const struct vj_machine *m, struct vj_snapshot_writer *w)
{
	struct vj_vm *vm = m->vm;
	struct vj_virtio_dev *dev[VJ_SNAPSHOT_DEVICES_MAX];
	const struct vj_snap_vcpu *vcpus;
	struct vj_snap_config config;
	struct vj_snap_vm vmstate;
	struct vj_snap_uart uart;
	struct vj_snap_i8042 kbd;
	struct vj_snap_boot_marker marker = { .fired = atomic_load(m->marker->stamp) != 0 };
	struct vj_snapshot_cpu cpu;
	unsigned ndev = transports(m->virtio, dev);
	int r;

	vj_snapshot_cpu_host(&cpu);
	vj_snapshot_writer_init(w, &cpu);
	vj_snapshot_config_from(vm->cfg, &config);
	vj_snapshot_add(w, VJ_SNAP_CONFIG, 0, &config, sizeof(config));
	if ((r = vj_vm_save_state(vm, &vmstate)) < 0) {
		vj_error("snapshot: interrupt controllers and timer: %s", strerror(-r));
		return r;
	}
	vj_snapshot_add(w, VJ_SNAP_VM, 0, &vmstate, sizeof(vmstate));
	if ((r = vj_vm_save_vcpus(vm, &vcpus)) < 0) {
		vj_error("snapshot: vCPU state: %s", strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vj_snapshot_add(w, VJ_SNAP_VCPU, i, &vcpus[i], sizeof(vcpus[i]));
	vj_serial_save(m->serial, &uart);
	vj_snapshot_add(w, VJ_SNAP_UART, 0, &uart, sizeof(uart));
	vj_i8042_save(m->i8042, &kbd);
	vj_snapshot_add(w, VJ_SNAP_I8042, 0, &kbd, sizeof(kbd));
	vj_snapshot_add(w, VJ_SNAP_BOOT_MARKER, 0, &marker, sizeof(marker));
	for (unsigned i = 0; i < ndev; i++) {
		struct vj_snap_virtio v;
		vj_virtio_save(dev[i], &v);
		vj_snapshot_add(w, VJ_SNAP_VIRTIO, i, &v, sizeof(v));
	}
	if ((r = vj_snapshot_writer_finish(w)) < 0)
		vj_error("snapshot: state: %s", strerror(-r));
	return r;
}

int vj_machine_save_state(const struct vj_machine *m, struct vj_snapshot_writer *w)
{
	if (!vj_vm_paused(m->vm))
		return -EBUSY;
	return collect(m, w);
}

/* The kernel checks a write's end offset against RLIMIT_FSIZE, however
 * large the file is already: pre-sizing the memory file would not help. */
static uint64_t fsize_limit(void)
{
	struct rlimit rl;

	/* prlimit, not getrlimit: the one call the filter allows (pid 0, no new limit). */
	if (prlimit(0, RLIMIT_FSIZE, NULL, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur;
}

/* Whether this VM may be snapshotted at all. */
static int refuse(const struct vj_machine *m)
{
	const struct vj_vm_config *cfg = m->vm->cfg;

	if (!vj_vm_paused(m->vm)) {
		vj_info("snapshot refused: the VM is running (pause it first)");
		return -EBUSY;
	}
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		if (!cfg->drives[i].read_only) {
			vj_info("snapshot refused: drive %u (%s) is writable, and clones of the "
				"snapshot would share it", i, cfg->drives[i].file.name);
			return -EROFS;
		}
	}
	if (m->vm->mem.size > fsize_limit()) {
		vj_error("snapshot refused: guest RAM (%llu MiB) is larger than the file size limit "
			 "(RLIMIT_FSIZE %llu bytes)", (unsigned long long)(m->vm->mem.size >> 20),
			 (unsigned long long)fsize_limit());
		return -EFBIG;
	}
	return 0;
}

int vj_machine_snapshot(const struct vj_machine *m, int state_fd, int mem_fd)
{
	cleanup_with(vj_snapshot_writer_free) struct vj_snapshot_writer w = { 0 };
	uint64_t t0 = vj_now_ns(), data = 0;
	int r;

	if ((r = refuse(m)) < 0 || (r = collect(m, &w)) < 0)
		return r;
	if ((r = write_all(state_fd, w.buf, w.len)) < 0 || (fsync(state_fd) < 0 && (r = -errno))) {
		vj_error("snapshot: writing the state file: %s", strerror(-r));
		return r;
	}
	if ((r = vj_mem_save(&m->vm->mem, mem_fd, &data)) < 0 ||
	    (fsync(mem_fd) < 0 && (r = -errno))) {
		vj_error("snapshot: writing the memory file: %s", strerror(-r));
		return r;
	}
	vj_info("snapshot: state %zu bytes, memory %llu of %llu MiB in data, %.1f ms", w.len,
		(unsigned long long)(data >> 20), (unsigned long long)(m->vm->mem.size >> 20),
		(double)(vj_now_ns() - t0) / 1e6);
	return 0;
}

/* vj_snapshot_parse() saw each section there, with its exact length. */
#define SECTION(s, type, index, out) vj_snapshot_copy((s), (type), (index), (out), sizeof(*(out)))

static int restore_vcpus(const struct vj_machine *m, const struct vj_snapshot *s)
{
	cleanup_free struct vj_snap_vcpu *v = malloc(sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < m->vm->nvcpus; i++) {
		const char *step = "";
		int r = SECTION(s, VJ_SNAP_VCPU, i, v);
		if (r == 0)
			r = vj_vcpu_restore(&m->vm->vcpus[i], v, &step);
		if (r < 0) {
			vj_error("restore: vCPU %u: %s: %s", i, step, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int restore_devices(const struct vj_machine *m, const struct vj_snapshot *s)
{
	struct vj_virtio_dev *dev[VJ_SNAPSHOT_DEVICES_MAX];
	struct vj_snap_boot_marker marker;
	struct vj_snap_uart uart;
	struct vj_snap_i8042 kbd;
	unsigned ndev = transports(m->virtio, dev);

	if (SECTION(s, VJ_SNAP_UART, 0, &uart) < 0 || SECTION(s, VJ_SNAP_I8042, 0, &kbd) < 0 ||
	    SECTION(s, VJ_SNAP_BOOT_MARKER, 0, &marker) < 0)
		return -ENOENT;
	vj_serial_restore(m->serial, &uart);
	vj_i8042_restore(m->i8042, &kbd);
	/* The guest wrote the marker before the snapshot, and will not again:
	 * for this VM it was reached when it resumed. */
	if (marker.fired)
		atomic_store(m->marker->stamp, vj_now_ns());
	/* Nets follow the drives in slot order (transports()). */
	for (unsigned i = 0; i < m->virtio->nnet; i++) {
		const struct vj_snap_device *d = &s->summary.config.dev[m->virtio->nblk + i];
		vj_net_restore_mac(m->virtio->net[i], d->has_mac, d->mac);
	}
	for (unsigned i = 0; i < ndev; i++) {
		struct vj_snap_virtio v;
		int r = SECTION(s, VJ_SNAP_VIRTIO, i, &v);
		if (r == 0)
			r = vj_virtio_restore(dev[i], &v);
		if (r < 0) {
			vj_error("restore: %s (slot %u): the snapshot's transport state is not this "
				 "device's, or its rings are not guest RAM", dev[i]->name, i);
			return r;
		}
	}
	if (m->virtio->vsock)
		vj_vsock_transport_reset(m->virtio->vsock);
	return 0;
}

int vj_machine_restore(const struct vj_machine *m, const struct vj_snapshot *s)
{
	struct vj_snap_vm vm;
	const char *step = "VM section";
	int r;

	if ((r = SECTION(s, VJ_SNAP_VM, 0, &vm)) < 0 ||
	    (r = vj_vm_restore_state(m->vm, &vm, &step)) < 0) {
		vj_error("restore: VM state: %s: %s", step, strerror(-r));
		return r;
	}
	if ((r = restore_vcpus(m, s)) < 0)
		return r;
	return restore_devices(m, s);
}
