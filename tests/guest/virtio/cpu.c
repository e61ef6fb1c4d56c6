/* Ring 0 of the test guest: tables, ring-3 entry, interrupt handling. */
#include <linux/virtio_mmio.h>

#include "vguest.h"
#include "vmm/layout.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	/* One bit per port, clear = allowed, then the all-ones byte that
	 * must follow the map. */
	uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed));

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define RFLAGS_RESERVED 0x2
#define RFLAGS_IF 0x200
#define RFLAGS_IOPL3 0x3000
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10

extern uint64_t gdt_tss[2];
extern const struct table_ptr gdt_ptr;
extern const uint64_t isr_exceptions[32];
extern char isr_64[], isr_255[];
extern uint64_t pml4[512];
extern char kernel_stack_top[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));

volatile uint32_t irq_count, irq_status;
volatile uint64_t irq_dev_base;

_Static_assert(VEC_VIRTIO == 64, "isr_64 is the virtio stub");

static void gate(unsigned vector, uint64_t a)
{
	idt[vector] = (struct idt_gate){
		.offset_low = (uint16_t)a, .selector = SEL_CODE64, .type = GATE_INTERRUPT,
		.offset_mid = (uint16_t)(a >> 16), .offset_high = (uint32_t)(a >> 32),
	};
}

void cpu_init(void)
{
	static const struct table_ptr idt_ptr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t base = (uint64_t)&tss;

	tss.rsp[0] = (uint64_t)kernel_stack_top;
	/* On a PVM host ring 3 runs natively under the host's IOPL 0: only
	 * the TSS I/O bitmap grants it the ports (tests/guest/ found this). */
	tss.iomap_base = offsetof(struct tss64, iomap);
	tss.iomap[sizeof(tss.iomap) - 1] = 0xff;
	gdt_tss[0] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		     ((base >> 24) & 0xff) << 56;
	gdt_tss[1] = base >> 32;
	__asm__ volatile("lgdt %0" : : "m"(gdt_ptr) : "memory");
	__asm__ volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%ss" : : "r"(SEL_DATA));
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	for (unsigned v = 0; v < 32; v++)
		gate(v, isr_exceptions[v]);
	gate(VEC_VIRTIO, (uint64_t)isr_64);
	gate(VEC_SPURIOUS, (uint64_t)isr_255);
	__asm__ volatile("lidt %0" : : "m"(idt_ptr) : "memory");
	/* KVM's PIC would deliver ISA IRQs on exception vectors. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	mmio_write32(VJ_LAPIC_ADDR + LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
}

_Noreturn void enter_ring3(void (*fn)(void), uint64_t stack_top)
{
	/* Our page tables set the user bit; the VMM's do not. Interrupts are
	 * on (cli/sti would fault in ring 3 on a PVM host, see above): only
	 * a scenario that routes an IOAPIC pin gets any. */
	__asm__ volatile("movq %0, %%cr3\n\t"
			 "pushq %1\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "pushq %4\n\t"
			 "pushq %5\n\t"
			 "iretq"
			 :
			 : "r"((uint64_t)pml4), "i"(SEL_UDATA | 3), "r"(stack_top),
			   "i"(RFLAGS_IOPL3 | RFLAGS_IF | RFLAGS_RESERVED), "i"(SEL_UCODE | 3),
			   "r"(fn)
			 : "memory");
	__builtin_unreachable();
}

void irq_route(unsigned irq)
{
	/* Edge, active high, fixed delivery to APIC 0; low half last. */
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_REGSEL, 0x10 + 2 * irq + 1);
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_WINDOW, 0);
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_REGSEL, 0x10 + 2 * irq);
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_WINDOW, VEC_VIRTIO);
}

void irq_dispatch(struct irq_frame *f);

void irq_dispatch(struct irq_frame *f)
{
	if (f->vector == VEC_VIRTIO) {
		/* What a virtio-mmio driver's handler does: read, then ack. */
		uint32_t s = mmio_read32(irq_dev_base + VIRTIO_MMIO_INTERRUPT_STATUS);
		mmio_write32(irq_dev_base + VIRTIO_MMIO_INTERRUPT_ACK, s);
		irq_status |= s;
		irq_count++;
		mmio_write32(VJ_LAPIC_ADDR + LAPIC_EOI, 0);
		return;
	}
	if (f->vector == VEC_SPURIOUS)
		return;
	print("vjtest: %s FAIL exception %lu error 0x%lx rip 0x%lx cs 0x%lx\n", scenario,
	      f->vector, f->error, f->rip, f->cs);
	machine_reset();
}
