#include "devices/i8042.h"

#include "layout.h"

#define I8042_CMD_RESET 0xfe
#define I8042_STATUS_SYSFLAG 0x04 /* POST passed: no input or output pending */

static void i8042_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i == VJ_PORT_I8042_CMD - VJ_PORT_I8042_DATA ? I8042_STATUS_SYSFLAG : 0;
}

static void i8042_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vj_i8042 *k = dev;

	if (len == 1 && off == VJ_PORT_I8042_CMD - VJ_PORT_I8042_DATA &&
	    data[0] == I8042_CMD_RESET)
		k->reset(k->ctx);
}

const struct vj_bus_ops vj_i8042_ops = { .read = i8042_read, .write = i8042_write };
