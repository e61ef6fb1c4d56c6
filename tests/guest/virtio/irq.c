/*
 * Virtio interrupts: IOAPIC pins routed to VEC_VIRTIO, whose handler does
 * what a virtio-mmio driver's does: read InterruptStatus, then ack it.
 */
#include <linux/virtio_mmio.h>

#include "vguest.h"

/* The only CPU, which the VMM numbers 0. */
#define BSP_APIC_ID 0

volatile uint32_t irq_count, irq_status;
volatile uint64_t irq_dev_base;

static void virtio_irq(struct irq_frame *f)
{
	uint32_t s = mmio_read32(irq_dev_base + VIRTIO_MMIO_INTERRUPT_STATUS);

	(void)f;
	mmio_write32(irq_dev_base + VIRTIO_MMIO_INTERRUPT_ACK, s);
	irq_status |= s;
	irq_count++;
	lapic_eoi();
}

void irq_init(void)
{
	lapic_enable();
	irq_set_handler(VEC_VIRTIO, virtio_irq);
}

void irq_route(unsigned irq)
{
	ioapic_route(irq, VEC_VIRTIO, BSP_APIC_ID);
}
