#include "bus.h"

#include <errno.h>
#include <string.h>

void vj_bus_init(struct vj_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int vj_bus_add(struct vj_bus *bus, uint64_t base, uint64_t len, const char *name,
	       const struct vj_bus_ops *ops, void *dev)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->n >= VJ_BUS_MAX_ENTRIES)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vj_bus_entry *e = &bus->entries[i];
		if (base < e->base + e->len && e->base < base + len)
			return -EEXIST;
	}
	bus->entries[bus->n++] = (struct vj_bus_entry){
		.base = base, .len = len, .name = name, .ops = ops, .dev = dev };
	return 0;
}

static const struct vj_bus_entry *bus_find(const struct vj_bus *bus, uint64_t addr, uint32_t len)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vj_bus_entry *e = &bus->entries[i];
		if (addr >= e->base && addr - e->base < e->len && len <= e->len - (addr - e->base))
			return e;
	}
	return NULL;
}

bool vj_bus_read(const struct vj_bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct vj_bus_entry *e = bus_find(bus, addr, len);

	if (!e || !e->ops->read) {
		memset(data, 0xff, len);
		return e != NULL;
	}
	e->ops->read(e->dev, addr - e->base, data, len);
	return true;
}

bool vj_bus_write(const struct vj_bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct vj_bus_entry *e = bus_find(bus, addr, len);

	if (!e)
		return false;
	if (e->ops->write)
		e->ops->write(e->dev, addr - e->base, data, len);
	return true;
}
