/*
 * libFuzzer harness: virtio-blk request handling end to end (ring, chain,
 * request parsing, file I/O) over a guest memory the input fills, against
 * a 64 KiB memfd drive, through the transport a driver would use.
 *
 * Input: byte 0 bit 0 makes the drive read-only, bit 1 negotiates
 * indirect descriptors; the rest is copied to guest-physical 0, where the
 * 16-entry rings lie back to back (descriptors at 0, avail at 0x100, used
 * at 0x128) before headers, buffers and tables.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "config.h"
#include "log.h"
#include "memory.h"
#include "virtio/blk.h"

#define MEM_SIZE (2u << 20)
#define IMAGE_MAX 0x10000u
#define DRIVE_SIZE 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reg(struct vj_virtio_dev *d, uint64_t off, uint32_t v)
{
	vj_virtio_mmio_ops.write(d, off, (const uint8_t *)&v, 4);
}

static void driver_init(struct vj_virtio_dev *d, uint64_t features)
{
	reg(d, VIRTIO_MMIO_STATUS, 0);
	reg(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					   VIRTIO_CONFIG_S_FEATURES_OK);
	reg(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	reg(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	reg(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x100);
	reg(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0x128);
	reg(d, VIRTIO_MMIO_QUEUE_READY, 1);
	reg(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vj_guest_mem mem;
	static struct vj_drive_config cfg[2];
	static struct vj_blk blk[2];
	struct vj_blk *b;
	uint64_t features = 1ull << VIRTIO_F_VERSION_1;

	if (!mem.base) {
		vj_log_init("fuzz_blk", VJ_LOG_ERROR);
		if (vj_mem_create(&mem, MEM_SIZE, VJ_MEMORY_4K, VJ_THP_UNKNOWN) < 0)
			abort();
		for (int i = 0; i < 2; i++) {
			cfg[i].file.fd = memfd_create("fuzz-drive", MFD_CLOEXEC);
			if (cfg[i].file.fd < 0 || ftruncate(cfg[i].file.fd, DRIVE_SIZE) < 0)
				abort();
			strcpy(cfg[i].id, "fuzz");
			cfg[i].read_only = i;
			if (vj_blk_create(&blk[i], &cfg[i], (unsigned)i, &mem) < 0)
				abort();
		}
	}
	if (size < 1)
		return 0;
	b = &blk[data[0] & 1];
	if (data[0] & 2)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	memset(mem.base, 0, IMAGE_MAX);
	memcpy(mem.base, data + 1, size - 1 < IMAGE_MAX ? size - 1 : IMAGE_MAX);
	driver_init(&b->vdev, features);
	vj_virtio_process(&b->vdev, 0);
	return 0;
}
