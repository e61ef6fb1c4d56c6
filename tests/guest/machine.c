/* Signals to the VMM that end the VM or mark the boot complete. */
#include "guest.h"
#include "vmm/layout.h"

_Static_assert(BOOT_MARKER_ADDR == VJ_BOOT_MARKER_ADDR, "marker address");
_Static_assert(BOOT_MARKER_VALUE == VJ_BOOT_MARKER_VALUE, "marker value");

_Noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

_Noreturn void machine_reset(void)
{
	/* i8042 command 0xFE pulses the CPU reset line: the VMM exits 0 at
	 * this write. Ring 3 calls this too, where cli/hlt would fault on a
	 * PVM host, so whatever runs after it only waits. */
	outb(VJ_PORT_I8042_CMD, 0xfe);
	for (;;)
		cpu_relax();
}

void boot_marker(void)
{
	mmio_write8(BOOT_MARKER_ADDR, BOOT_MARKER_VALUE);
}
