/* 16550A UART: the guest console. Complete enough for Linux's 8250
 * driver to probe it as a 16550A and drive it by interrupt (IRQ 4). */
#ifndef VJ_SERIAL_H
#define VJ_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "snapshot.h"
#include "termsafe.h"

#define VJ_SERIAL_RX_FIFO 16
#define VJ_SERIAL_OUT_BUF 256

struct vj_serial {
	pthread_mutex_t lock;
	/* Raises or lowers the interrupt line; called only on a change. */
	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;
	bool irq_level;

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_enabled;
	bool thr_ipending; /* THR-empty interrupt raised and not yet seen */
	uint8_t rx[VJ_SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;

	int out_fd;        /* -1: output discarded */
	uint64_t limit;    /* guest bytes; 0: unlimited */
	uint64_t written;
	bool limit_hit;
	/* out_fd is a terminal: the guest's bytes go through safe first. */
	bool terminal;
	struct vj_termsafe safe;
	char obuf[VJ_SERIAL_OUT_BUF];
	unsigned olen;
};

extern const struct vj_bus_ops vj_serial_ops;

/* Whether out_fd is a terminal is decided here, once: call it before the
 * guest runs and before the calling thread's seccomp filter loads, which
 * allows no terminal ioctl (isatty is one). */
void vj_serial_init(struct vj_serial *s, int out_fd, uint64_t limit,
		    void (*set_irq)(void *ctx, bool level), void *irq_ctx);
/* The end of the console's output: what is buffered or held goes out. */
void vj_serial_destroy(struct vj_serial *s);
/* Writes out buffered console output. */
void vj_serial_flush(struct vj_serial *s);
/* Host input for the guest: bytes that do not fit the FIFO are dropped;
 * returns how many were taken. */
unsigned vj_serial_input(struct vj_serial *s, const uint8_t *buf, unsigned len);

/* Snapshot: the registers and the receive FIFO (output is flushed
 * first). Restore clamps what the file says into range. */
void vj_serial_save(struct vj_serial *s, struct vj_snap_uart *out);
void vj_serial_restore(struct vj_serial *s, const struct vj_snap_uart *in);

#endif
