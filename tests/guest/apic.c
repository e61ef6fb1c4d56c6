/* Local APIC, IOAPIC and the legacy PIC, all KVM's in-kernel models. */
#include "guest.h"
#include "vmm/layout.h"

#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_MASKED 0x10000
#define LAPIC_ICR_PENDING 0x1000
#define LAPIC_TIMER_DIV128 0xa
/* KVM runs the APIC timer at 1 GHz; divided by 128 one tick is 128 ns. */
#define LAPIC_TIMER_NS_PER_TICK 128

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(VJ_LAPIC_ADDR + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(VJ_LAPIC_ADDR + reg, v);
}

void pic_disable(void)
{
	/* KVM's PIC resets unmasked with vector base 0 and the BSP's LINT0
	 * accepts it: an ISA IRQ would arrive as an exception vector. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

void lapic_enable(void)
{
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t dest_apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICR_HIGH, dest_apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	for (unsigned i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING); i++)
		cpu_relax();
}

static void lapic_timer_start(uint32_t ticks, uint32_t lvt)
{
	lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIV128);
	lapic_write(LAPIC_LVT_TIMER, lvt);
	lapic_write(LAPIC_TIMER_INITIAL, ticks);
}

static uint32_t clock_initial;

void clock_start(void)
{
	clock_initial = 0xffffffff; /* 549 s until it stops counting */
	lapic_timer_start(clock_initial, LAPIC_LVT_MASKED | VEC_TIMER);
}

void watchdog_start(uint64_t us)
{
	uint64_t ticks = us * 1000 / LAPIC_TIMER_NS_PER_TICK;

	clock_initial = ticks > 0xffffffff ? 0xffffffff : (uint32_t)ticks;
	lapic_timer_start(clock_initial, VEC_TIMER);
}

uint64_t clock_us(void)
{
	uint64_t elapsed = clock_initial - lapic_read(LAPIC_TIMER_CURRENT);

	return elapsed * LAPIC_TIMER_NS_PER_TICK / 1000;
}

void ioapic_route(unsigned pin, uint8_t vector, uint32_t dest_apic_id)
{
	/* Fixed delivery, physical destination, edge, active high: how an
	 * ISA interrupt is wired. Writing the low half last unmasks it. */
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_REGSEL, IOAPIC_REDIR(pin) + 1);
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_WINDOW, dest_apic_id << 24);
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_REGSEL, IOAPIC_REDIR(pin));
	mmio_write32(VJ_IOAPIC_ADDR + IOAPIC_WINDOW, vector);
}
