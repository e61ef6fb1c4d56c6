/*
 * Interrupt delivery end to end: the UART's IRQ 4 through the IOAPIC to
 * an IDT handler that drives transmission the way an interrupt-driven
 * 8250 driver does (one character per THRE interrupt), then LAPIC
 * self-IPIs. Waits are `sti; hlt`, bounded by the LAPIC timer.
 */
#include "guest.h"
#include "uart.h"
#include "vmm/layout.h"

#define IRQ_TIMEOUT_US 10000000ull
#define SELF_IPIS 3
#define ICR_SELF_FIXED 0x00040000 /* shorthand "self", fixed delivery */

static const char tx_line[] = "vjtest: irq line sent by THRE interrupts\n";
static volatile unsigned tx_pos, uart_irqs, uart_spurious, ipis;
static volatile bool tx_done, timed_out;

static void uart_irq(struct irq_frame *f)
{
	(void)f;
	/* Reading IIR while it shows THRI acknowledges that interrupt. */
	if ((inb(UART_IIR) & UART_IIR_ID) != UART_IIR_THRI) {
		uart_spurious++;
	} else {
		uart_irqs++;
		if (tx_pos < sizeof(tx_line) - 1) {
			outb(UART_THR, (uint8_t)tx_line[tx_pos++]);
		} else {
			outb(UART_IER, 0);
			tx_done = true;
		}
	}
	lapic_eoi();
}

static void self_ipi(struct irq_frame *f)
{
	(void)f;
	ipis++;
	lapic_eoi();
}

static void watchdog(struct irq_frame *f)
{
	(void)f;
	timed_out = true;
	lapic_eoi();
}

static void wait_for(volatile bool *flag)
{
	while (!*flag && !timed_out)
		irq_enable_and_halt();
}

void scenario_irq(void)
{
	unsigned want = sizeof(tx_line); /* one per character, one to finish */

	lapic_enable();
	irq_set_handler(VEC_UART, uart_irq);
	irq_set_handler(VEC_SELF_IPI, self_ipi);
	irq_set_handler(VEC_TIMER, watchdog);
	ioapic_route(VJ_IRQ_COM1, VEC_UART, lapic_id());
	watchdog_start(IRQ_TIMEOUT_US);

	/* OUT2 connects the UART's interrupt output to the line on a PC. */
	outb(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
	outb(UART_IER, UART_IER_THRI);
	wait_for(&tx_done);
	outb(UART_IER, 0);

	for (unsigned i = 0; i < SELF_IPIS && !timed_out; i++) {
		unsigned before = ipis;
		lapic_send_ipi(0, ICR_SELF_FIXED | VEC_SELF_IPI);
		while (ipis == before && !timed_out)
			irq_enable_and_halt();
	}

	if (!timed_out && uart_irqs == want && ipis == SELF_IPIS)
		print("vjtest: irq ok uart=%u ipi=%u spurious=%u\n", uart_irqs, ipis,
		      uart_spurious);
	else
		print("\nvjtest: irq FAIL uart=%u of %u ipi=%u of %u spurious=%u%s\n", uart_irqs,
		      want, ipis, SELF_IPIS, uart_spurious, timed_out ? " timed out" : "");
}
