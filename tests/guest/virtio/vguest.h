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
 * Startup code and tables are adapted from tests/guest/ (a separate
 * program with its own owner), cut down to what these scenarios need.
 */
#ifndef VJ_VGUEST_H
#define VJ_VGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vguest_abi.h"

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Addresses always in a register: a disp32 operand is sign-extended. */
static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(addr) : "memory");
}

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

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* --- lib.c ---------------------------------------------------------------- */
extern const char *cmdline;
extern const char *scenario;

void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "vjtest: <scenario> ok <details>" and reset. */
_Noreturn void pass(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "vjtest: <scenario> FAIL <why>" and reset. */
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void machine_reset(void);
/* `key=N` on the command line (decimal or 0x hex), or def. */
uint64_t cmdline_u64(const char *key, uint64_t def);
/* `key=WORD`: copies WORD into buf; false when absent. */
bool cmdline_word(const char *key, char *buf, size_t size);
/* Time-outs for polling loops: about `seconds` at >= 1 GHz TSC. */
uint64_t deadline_after(unsigned seconds);
bool past(uint64_t deadline);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* --- cpu.c ---------------------------------------------------------------- */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Ring 0: descriptor tables, TSS, IDT, PIC masked, local APIC on. */
void cpu_init(void);
/* iretq to ring 3 with interrupts on and every port allowed. */
_Noreturn void enter_ring3(void (*fn)(void), uint64_t stack_top);
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
