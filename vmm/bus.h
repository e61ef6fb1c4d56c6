/*
 * Port-I/O and MMIO dispatch. A device claims [base, base + len) on one bus
 * with a read and a write callback; vCPU threads call them with the
 * offset into the range. Devices do their own locking. Accesses that hit no
 * device read as all-ones and are otherwise ignored.
 */
#ifndef VJ_BUS_H
#define VJ_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct vj_bus_ops {
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct vj_bus_entry {
	uint64_t base;
	uint64_t len;
	const char *name;
	const struct vj_bus_ops *ops;
	void *dev;
};

#define VJ_BUS_MAX_ENTRIES 32

struct vj_bus {
	const char *name; /* "pio" or "mmio", for messages */
	unsigned n;
	struct vj_bus_entry entries[VJ_BUS_MAX_ENTRIES];
};

void vj_bus_init(struct vj_bus *bus, const char *name);
/* -EEXIST if the range overlaps a claimed one, -ENOSPC if full,
 * -EINVAL for an empty or wrapping range. */
int vj_bus_add(struct vj_bus *bus, uint64_t base, uint64_t len, const char *name,
	       const struct vj_bus_ops *ops, void *dev);
/* Return false when no device claims the whole access. */
bool vj_bus_read(const struct vj_bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool vj_bus_write(const struct vj_bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
