/* The guest's own descriptor tables: GDT with a TSS, IDT, ring-3 entry. */
#include "guest.h"

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
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
	/* One bit per port, clear = allowed, and the all-ones byte that
	 * must follow the map. */
	uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed));

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");
_Static_assert(offsetof(struct tss64, iomap) == 104, "TSS layout");

#define RFLAGS_RESERVED 0x2
#define RFLAGS_IF 0x200
#define RFLAGS_IOPL3 0x3000

/* tables.S, isr.S, entry.S */
extern uint64_t gdt_tss[2];
extern const struct table_ptr gdt_ptr;
extern const uint64_t isr_table[256];
extern uint64_t pml4[512];
extern char boot_stack_top[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_fn handlers[256];
static struct tss64 tss __attribute__((aligned(16)));

static void idt_set_gate(uint8_t vector)
{
	uint64_t a = isr_table[vector];

	idt[vector] = (struct idt_gate){
		.offset_low = (uint16_t)a,
		.selector = SEL_CODE64,
		.type = 0x8e,
		.offset_mid = (uint16_t)(a >> 16),
		.offset_high = (uint32_t)(a >> 32),
	};
}

static void tss_descriptor_init(void)
{
	uint64_t base = (uint64_t)&tss;

	tss.rsp[0] = (uint64_t)boot_stack_top;
	/* Ring 3 may use every port. IOPL 3 alone would say so, but on a PVM
	 * host (tests/README.md) ring 3 runs natively with the host's IOPL 0 and
	 * only the TSS I/O bitmap is honoured (observed). */
	tss.iomap_base = offsetof(struct tss64, iomap);
	tss.iomap[sizeof(tss.iomap) - 1] = 0xff;
	gdt_tss[0] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		     ((base >> 24) & 0xff) << 56;
	gdt_tss[1] = base >> 32;
}

void cpu_init(void)
{
	static const struct table_ptr idt_ptr = { sizeof(idt) - 1, (uint64_t)idt };

	tss_descriptor_init();
	/* CS keeps its cached descriptor: SEL_CODE64 is 64-bit code in both
	 * the VMM's GDT and ours, so no far jump is needed to switch. */
	__asm__ volatile("lgdt %0" : : "m"(gdt_ptr) : "memory");
	__asm__ volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%ss" : : "r"(SEL_DATA));
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	for (unsigned v = 0; v < 32; v++)
		idt_set_gate((uint8_t)v);
	idt_set_gate(VEC_SPURIOUS);
	__asm__ volatile("lidt %0" : : "m"(idt_ptr) : "memory");
	pic_disable();
}

void irq_set_handler(uint8_t vector, irq_handler_fn fn)
{
	handlers[vector] = fn;
	idt_set_gate(vector);
}

void cpu_load_null_idt(void)
{
	static const struct table_ptr null_idt = { 0, 0 };

	__asm__ volatile("lidt %0" : : "m"(null_idt) : "memory");
}

void irq_dispatch(struct irq_frame *f);

void irq_dispatch(struct irq_frame *f)
{
	irq_handler_fn fn = handlers[f->vector & 0xff];

	if (fn) {
		fn(f);
		return;
	}
	if (f->vector == VEC_SPURIOUS)
		return;
	if (f->vector < 32)
		print("vjtest: %s FAIL exception %lu error 0x%lx rip 0x%lx cs 0x%lx rflags 0x%lx\n",
		      scenario, f->vector, f->error, f->rip, f->cs, f->rflags);
	else
		print("vjtest: %s FAIL unexpected interrupt vector 0x%lx rip 0x%lx\n", scenario,
		      f->vector, f->rip);
	machine_reset();
}

_Noreturn void cpu_enter_ring3(void (*fn)(void), uint64_t user_stack_top, bool interrupts)
{
	uint64_t rflags = RFLAGS_IOPL3 | RFLAGS_RESERVED | (interrupts ? RFLAGS_IF : 0);

	/* Our tables set the user bit on every page; the VMM's do not. fn
	 * finds its stack as after a call: 8 bytes below 16-byte alignment. */
	__asm__ volatile("movq %0, %%cr3\n\t"
			 "pushq %1\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "pushq %4\n\t"
			 "pushq %5\n\t"
			 "iretq"
			 :
			 : "r"((uint64_t)pml4), "i"(SEL_UDATA | 3), "r"(user_stack_top - 8),
			   "r"(rflags), "i"(SEL_UCODE | 3), "r"(fn)
			 : "memory");
	__builtin_unreachable();
}
