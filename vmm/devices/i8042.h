/* The i8042 keyboard controller, reduced to what a guest uses to reset
 * the machine: command 0xFE on port 0x64 pulses the CPU reset line. */
#ifndef VJ_I8042_H
#define VJ_I8042_H

#include "bus.h"

struct vj_i8042 {
	void (*reset)(void *ctx);
	void *ctx;
};

extern const struct vj_bus_ops vj_i8042_ops;

#endif
