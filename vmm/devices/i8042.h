/*
 * The i8042 keyboard controller and its keyboard: enough for Linux's
 * i8042 and atkbd drivers to bind, so that the launcher can press
 * Ctrl-Alt-Del (VJ_VMM_CTL_CTRL_ALT_DEL) in a guest it has no agent in,
 * and command 0xFE on port 0x64 pulses the CPU reset line, which ends the
 * VM. An AT-style controller, without a second (AUX, mouse) port: the
 * AUX commands are unknown to it, and a command it does not know is
 * ignored (a byte for the keyboard it does not know is answered with
 * "resend", as keyboards do).
 *
 * Every byte for the guest (a controller answer, a keyboard answer, a key)
 * goes through one output buffer of VJ_I8042_BUF bytes: the guest reads
 * one byte per read of port 0x60, and what does not fit is dropped, so
 * nothing a guest writes makes it grow. A byte that becomes readable
 * while the guest enables keyboard interrupts (CTR bit 0) raises IRQ 1,
 * an edge per byte.
 *
 * Registers are accessed on vCPU threads, Ctrl-Alt-Del comes from the VMM
 * thread: everything is under the device's lock.
 */
#ifndef VJ_I8042_H
#define VJ_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "snapshot.h"

#define VJ_I8042_BUF 16 /* what Linux's i8042_flush() reads at most */

struct vj_i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *ctx); /* the guest reset the machine */
	void (*kbd_irq)(void *ctx); /* raise IRQ 1 once (an edge) */
	void *ctx;

	uint8_t ctr;       /* controller configuration byte */
	uint8_t outp;      /* output port (what the guest wrote; never acted on) */
	bool last_was_cmd; /* the last write went to port 0x64 (status bit 3) */
	uint8_t cmd;       /* a controller command waiting for its data byte, or 0 */
	uint8_t kbd_cmd;   /* a keyboard command waiting for its parameter, or 0 */
	bool scanning;     /* the keyboard sends keys (on at power-on, 0xF4/0xF5) */
	uint8_t kbd_last;  /* the keyboard's last byte, for its resend command */
	uint8_t buf[VJ_I8042_BUF];
	unsigned head, count;
};

extern const struct vj_bus_ops vj_i8042_ops;

/* Power-on state: keyboard interrupts on, no translation (Linux then
 * drives the keyboard in scancode set 2 directly), the keyboard scanning. */
void vj_i8042_init(struct vj_i8042 *k, void (*reset)(void *ctx), void (*kbd_irq)(void *ctx),
		   void *ctx);
void vj_i8042_destroy(struct vj_i8042 *k);

/*
 * Presses and releases Ctrl, Alt and Delete: their scancodes (set 2, or
 * set 1 while the guest has the controller translate) are queued whole,
 * and IRQ 1 raised. Returns 0; -EAGAIN when the guest keeps its keyboard
 * from sending (scanning off, or the keyboard interface disabled): a real
 * keyboard's keys would not reach it either; -ENOBUFS when the output
 * buffer has no room for the whole sequence (the guest is not reading:
 * an earlier Ctrl-Alt-Del still waits there).
 */
int vj_i8042_ctrl_alt_del(struct vj_i8042 *k);

/* Snapshot: the controller and keyboard state and the output buffer. */
void vj_i8042_save(struct vj_i8042 *k, struct vj_snap_i8042 *out);
void vj_i8042_restore(struct vj_i8042 *k, const struct vj_snap_i8042 *in);

#endif
