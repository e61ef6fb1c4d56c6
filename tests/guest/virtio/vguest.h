/*
 * The virtio test guest: a freestanding x86-64 program that drives
 * vmjail's virtio-mmio devices as a small driver would, and as a hostile
 * one would. Ring 0 (emulated on these hosts, about 1.5 us per
 * instruction) only sets up descriptor tables and fields interrupts; the
 * drivers run in ring 3, natively, with IOPL 3 for the serial port and
 * the i8042, and reach device registers through user-accessible identity
 * mappings. Results are lines "vjtest: <scenario> ok|FAIL ..." on COM1;
 * the guest ends the VM through the i8042 reset line.
 *
 * Entry, tables, interrupt stubs, console and command line are the
 * runtime of tests/guest/ (guest.h); this adds what the drivers need.
 */
#ifndef VJ_VGUEST_H
#define VJ_VGUEST_H

#include "tests/guest/guest.h"

/* IOAPIC pins of the virtio devices arrive here (irq.c). */
#define VEC_VIRTIO 0x40

static inline uint8_t mmio_read8(uint64_t addr)
{
	uint8_t v;

	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(addr) : "memory");
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* --- lib.c ---------------------------------------------------------------- */
/* "vjtest: <scenario> ok <details>" and reset. */
_Noreturn void pass(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "vjtest: <scenario> FAIL <why>" and reset. */
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Time-outs for polling loops: about `seconds` at >= 1 GHz TSC. */
uint64_t deadline_after(unsigned seconds);
bool past(uint64_t deadline);

/* --- irq.c ---------------------------------------------------------------- */
/* Ring 0: local APIC on, VEC_VIRTIO handled. */
void irq_init(void);
/* Routes IOAPIC pin `irq` to VEC_VIRTIO on the BSP (from ring 3). */
void irq_route(unsigned irq);
/* Set by the VEC_VIRTIO handler: count, and InterruptStatus bits seen. */
extern volatile uint32_t irq_count, irq_status;
/* Register block whose InterruptStatus the handler reads and acks. */
extern volatile uint64_t irq_dev_base;

/* --- scenarios ------------------------------------------------------------ */
void scenario_blk(void);
void scenario_blk_ro(void);
void scenario_blk_irq(void);
void scenario_rng(void);
void scenario_net(void);
void scenario_vsock(void);
void scenario_evil(void);
void scenario_bench(void);

#endif
