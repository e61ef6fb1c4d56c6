/* Scenarios that need one CPU and no devices beyond the console. */
#include "guest.h"
#include "vmm/layout.h"

void scenario_hello(void)
{
	print("vjtest: hello ok boot=%s memmap=%u cmdline=\"%s\"\n",
	      boot.kind == BOOT_PVH ? "pvh" : "linux64", boot.memmap_count, boot.cmdline);
}

void scenario_marker(void)
{
	boot_marker();
	print("vjtest: marker ok\n");
}

void scenario_first(void)
{
	if (first_marker_written)
		print("vjtest: first ok\n");
	else
		print("vjtest: first FAIL vjtest=first must open the command line\n");
}

void scenario_triple(void)
{
	print("vjtest: triple faulting now\n");
	/* Non-canonical address: #GP, which cannot be delivered without an
	 * IDT, so #DF, which cannot either: shutdown. */
	cpu_load_null_idt();
	__asm__ volatile("movq (%0), %%rax" : : "r"(0x8000000000000000ull) : "rax", "memory");
	print("vjtest: triple FAIL the fault did not end the VM\n");
}

struct mmio_probe {
	const char *name;
	uint64_t addr;
};

static unsigned mmio_check(const struct mmio_probe *p)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;
	uint64_t q;
	unsigned failed = 0;

	__asm__ volatile("movb (%1), %0" : "=q"(b) : "r"(p->addr) : "memory");
	__asm__ volatile("movw (%1), %0" : "=r"(w) : "r"(p->addr) : "memory");
	l = mmio_read32(p->addr);
	__asm__ volatile("movq (%1), %0" : "=r"(q) : "r"(p->addr) : "memory");
	if (b != 0xff || w != 0xffff || l != 0xffffffff || q != ~0ull) {
		print("vjtest: mmio %s FAIL read at 0x%lx: 0x%x 0x%x 0x%x 0x%lx, want all ones\n",
		      p->name, p->addr, b, w, l, q);
		failed++;
	}
	/* A write must be dropped, not stored or fatal. */
	mmio_write32(p->addr, 0x12345678);
	l = mmio_read32(p->addr);
	if (l != 0xffffffff) {
		print("vjtest: mmio %s FAIL read after write at 0x%lx: 0x%x\n", p->name, p->addr, l);
		failed++;
	}
	if (!failed)
		print("vjtest: mmio %s ok\n", p->name);
	return failed;
}

void scenario_mmio(void)
{
	const struct mmio_probe probes[] = {
		{ "gap", 0xd0000000 },
		{ "gap-end", VJ_IOAPIC_ADDR - 8 },
		/* Guest-physical space above RAM has no memory slot either. */
		{ "above-ram", boot.ram_top },
	};
	unsigned n = sizeof(probes) / sizeof(probes[0]), failed = 0;

	for (unsigned i = 0; i < n; i++) {
		if (probes[i].addr >= VJ_MMIO_GAP_START || boot.ram_top < VJ_MMIO_GAP_START)
			failed += mmio_check(&probes[i]);
	}
	if (failed)
		print("vjtest: mmio FAIL %u checks\n", failed);
	else
		print("vjtest: mmio ok\n");
}

void scenario_flood(void)
{
	uint64_t n = cmdline_u64("vjloops", 100000);

	/* No LSR polling: the VMM's console cap must hold whatever the pace. */
	for (uint64_t i = 1; i <= n; i++)
		outb(VJ_PORT_COM1, i % 64 ? 'x' : '\n');
	print("\nvjtest: flood done %lu bytes\n", n);
}

void scenario_spin(void)
{
	print("vjtest: spin running\n");
	for (;;)
		cpu_relax();
}

void scenario_wait(void)
{
	print("vjtest: wait running\n");
	for (;;)
		irq_enable_and_halt();
}

/* int3: a software interrupt in ring 0. A Linux boot needs it (the int3
 * self-test of early boot); a KVM that emulates guest ring 0 (a paravirtual
 * nested hypervisor, tests/README.md) cannot run it and the VMM stops
 * with an emulation failure (status 4). With hardware virtualization the
 * breakpoint handler runs and the guest reports ok. `make demo` asks this
 * guest where a Linux guest can boot. */
static volatile unsigned breakpoints;

static void on_breakpoint(struct irq_frame *f)
{
	(void)f;
	breakpoints++;
}

void scenario_int3(void)
{
	irq_set_handler(3, on_breakpoint);
	__asm__ volatile("int3" ::: "memory");
	if (breakpoints == 1)
		print("vjtest: int3 ok\n");
	else
		print("vjtest: int3 FAIL handler ran %u times\n", breakpoints);
}

/* count: "vjtest: count N" every 100 ms of the guest's LAPIC timer, N
 * from 1 up, forever. How a pause looks from outside: the lines stop,
 * then go on from the number they had reached. */
static volatile unsigned ticks;

static void on_tick(struct irq_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

void scenario_count(void)
{
	lapic_enable();
	irq_set_handler(VEC_TIMER, on_tick);
	for (unsigned n = 1;; n++) {
		unsigned before = ticks;
		watchdog_start(100 * 1000);
		while (ticks == before)
			irq_enable_and_halt();
		print("vjtest: count %u\n", n);
	}
}

/*
 * dirty: count as `count` does, and between ticks sweep 16 MiB of RAM
 * from 8 MiB up (a 32 MiB guest at least), writing generation g into
 * two words of each 4 KiB page in turn, as fast as it can: a guest that
 * dirties memory faster than a migration's link. At every tick it checks
 * the whole area: the pages below the sweep's cursor hold g, those above
 * g - 1 (the initial zeroes are generation 0). A page a migration failed
 * to send again after the guest wrote it breaks that, and is named:
 * "vjtest: dirty FAIL page P has G, expected E". With vjdirty=N on the
 * command line it writes N pages per tick instead (N * 40 KiB/s), then
 * waits for the tick: a guest that dirties memory at a fixed rate.
 */
#define DIRTY_BASE 0x800000ul
#define DIRTY_PAGES 4096u

static volatile uint64_t *dirty_page(unsigned i)
{
	return (volatile uint64_t *)(DIRTY_BASE + (unsigned long)i * 4096);
}

static uint64_t dirty_mix(uint64_t g)
{
	return g * 0x9e3779b97f4a7c15ull;
}

static unsigned dirty_rate(void)
{
	char word[16];
	unsigned n = 0;

	if (!cmdline_word("vjdirty", word, sizeof(word)))
		return 0;
	for (const char *c = word; *c >= '0' && *c <= '9'; c++)
		n = n * 10 + (unsigned)(*c - '0');
	return n;
}

void scenario_dirty(void)
{
	unsigned cursor = 0, failures = 0, rate = dirty_rate();
	uint64_t gen = 1;

	lapic_enable();
	irq_set_handler(VEC_TIMER, on_tick);
	for (unsigned n = 1;; n++) {
		unsigned before = ticks;
		watchdog_start(100 * 1000);
		__asm__ volatile("sti" ::: "memory");
		for (unsigned done = 0; ticks == before; done += 64) {
			if (rate && done >= rate) {
				while (ticks == before)
					irq_enable_and_halt();
				break;
			}
			for (unsigned k = 0; k < 64; k++) {
				dirty_page(cursor)[0] = gen;
				dirty_page(cursor)[1] = dirty_mix(gen);
				if (++cursor == DIRTY_PAGES) {
					cursor = 0;
					gen++;
				}
			}
		}
		__asm__ volatile("cli" ::: "memory");
		for (unsigned i = 0; i < DIRTY_PAGES && failures < 3; i++) {
			uint64_t want = i < cursor ? gen : gen - 1;
			if (dirty_page(i)[0] != want || dirty_page(i)[1] != dirty_mix(want)) {
				print("vjtest: dirty FAIL page %u has %u, expected %u\n", i,
				      (unsigned)dirty_page(i)[0], (unsigned)want);
				failures++;
			}
		}
		print("vjtest: count %u\n", n);
	}
}
