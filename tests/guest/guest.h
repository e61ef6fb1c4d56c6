/*
 * Freestanding x86-64 test guests: shared declarations. A guest runs
 * without libc, reports through the 16550 UART in one line grammar
 * ("vjtest: <scenario> ok|FAIL ...") and ends the VM through the i8042
 * reset line. See README.md in this directory. The runtime declared here
 * (GUEST_RT in build.mk) also carries the virtio guest in virtio/.
 */
#ifndef VJ_GUEST_H
#define VJ_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

/* --- port and memory-mapped I/O ---------------------------------------- */
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

/* The address is always in a register: an absolute disp32 operand would
 * be sign-extended, turning 0xc0000000 into 0xffffffffc0000000. */
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

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void irq_enable_and_halt(void)
{
	/* sti's one-instruction shadow makes the pair atomic: an interrupt
	 * that is already pending wakes the hlt instead of being lost. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* --- boot information, whichever entry the VMM used --------------------- */
struct boot_info {
	unsigned kind;         /* BOOT_LINUX64 or BOOT_PVH */
	const char *cmdline;   /* NUL-terminated, never NULL */
	unsigned memmap_count; /* e820 / PVH memory map entries */
	uint64_t ram_top;      /* end of the highest RAM range below 4 GiB */
};

extern struct boot_info boot;
/* The running scenario's name, for report lines. */
extern const char *scenario;

/* Set by the entry code when `vjtest=first` opened the command line and
 * the boot marker was written before anything else ran. */
extern uint8_t first_marker_written;

/* Each image's C entry, called by entry.S or pvh.S on the boot stack with
 * the boot_params or hvm_start_info address and BOOT_LINUX64 or BOOT_PVH. */
_Noreturn void guest_main(uint64_t info_paddr, unsigned kind);
/* Fills `boot` (boot.c); false, with a report line, when the PVH start
 * info is not one. */
bool boot_read(uint64_t info_paddr, unsigned kind);
/* Scenario arguments: `vjNAME=N` (decimal) on the command line, or def. */
uint64_t cmdline_u64(const char *key, uint64_t def);
/* `key=WORD`: copies WORD, cut to size - 1 bytes, into buf; false when
 * absent. */
bool cmdline_word(const char *key, char *buf, size_t size);

/* --- serial console (serial.c) ------------------------------------------ */
void serial_putc(char c);
void serial_puts(const char *s);
void vprint(const char *fmt, va_list ap);
/* Formats %s %c %d %u %x %lu %lx %%; output goes to COM1. */
void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- machine control (machine.c) ---------------------------------------- */
/* i8042 reset: the VMM exits 0. Works from ring 0 and ring 3. */
_Noreturn void machine_reset(void);
/* Ring 0 only. */
_Noreturn void halt_forever(void);
void boot_marker(void);

/* --- CPU tables (cpu.c, isr.S, tables.S) -------------------------------- */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_fn)(struct irq_frame *f);

/* Loads the guest's own GDT (kernel, user and TSS descriptors) and an IDT
 * whose exception vectors report FAIL and reset. */
void cpu_init(void);
void irq_set_handler(uint8_t vector, irq_handler_fn fn);
void cpu_load_null_idt(void);
/* iretq to ring 3 at fn with IOPL 3, every port allowed and the user
 * page tables; with interrupts enabled when `interrupts`. */
_Noreturn void cpu_enter_ring3(void (*fn)(void), uint64_t user_stack_top, bool interrupts);

/* --- local APIC, IOAPIC, PIC (apic.c) ----------------------------------- */
#define VEC_UART 0x30
#define VEC_SELF_IPI 0x31
#define VEC_TIMER 0x32
#define VEC_SPURIOUS 0xff

void pic_disable(void);
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Sends an IPI; icr_low carries vector, delivery mode and shorthand. */
void lapic_send_ipi(uint32_t dest_apic_id, uint32_t icr_low);
/* Time since clock_start() or watchdog_start(), from the LAPIC timer
 * counting down in one-shot mode. clock_start() raises no interrupt;
 * watchdog_start() raises VEC_TIMER after `us` (to end a bounded hlt). */
void clock_start(void);
void watchdog_start(uint64_t us);
uint64_t clock_us(void);
void ioapic_route(unsigned pin, uint8_t vector, uint32_t dest_apic_id);

/* --- MP table (mptable.c) ----------------------------------------------- */
struct mp_info {
	unsigned ncpus;
	uint8_t apic_id[MAX_CPUS];
	bool is_bsp[MAX_CPUS];
	unsigned nioapics;
};

/* Finds and validates the MP table; 0, or a static error string. */
const char *mp_read(struct mp_info *mp);

/* --- scenarios ---------------------------------------------------------- */
void scenario_hello(void);
void scenario_marker(void);
void scenario_first(void);
void scenario_triple(void);
void scenario_mmio(void);
void scenario_pio(void);
void scenario_flood(void);
void scenario_spin(void);
void scenario_wait(void);
void scenario_smp(void);
void scenario_irq(void);
void scenario_uart(void);
void scenario_ring3_pio(void);
void scenario_int3(void);
void scenario_count(void);
void scenario_dirty(void);
void scenario_kbd(void);

/* Called in 64-bit mode by the AP trampoline on its own stack. */
_Noreturn void ap_main(void);

/* --- freestanding helpers (lib.c); gcc may emit calls to these ---------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
