/*
 * Every guest-physical address, I/O port and IRQ the VMM uses, in one
 * place. Guest RAM is [0, min(mem, MMIO_GAP_START)) and, for guests larger
 * than that, [4 GiB, 4 GiB + rest): the 1 GiB below 4 GiB is kept for
 * device MMIO, the IOAPIC and the local APIC.
 */
#ifndef VJ_LAYOUT_H
#define VJ_LAYOUT_H

#define VJ_KiB 0x400ULL
#define VJ_MiB 0x100000ULL
#define VJ_GiB 0x40000000ULL

/* --- low memory: boot structures, all below 1 MiB ---------------------- */
#define VJ_GDT_ADDR 0x500ULL           /* boot GDT: null, null, code64, data */
#define VJ_IDT_ADDR 0x520ULL           /* empty IDT (limit 0) */
#define VJ_PVH_START_INFO_ADDR 0x6000ULL /* hvm_start_info for PVH entry */
#define VJ_PVH_MODLIST_ADDR 0x6040ULL  /* its module list: the initrd */
#define VJ_PVH_MEMMAP_ADDR 0x6080ULL   /* its e820-style memory map */
#define VJ_ZERO_PAGE_ADDR 0x7000ULL    /* struct boot_params */
#define VJ_BOOT_STACK_ADDR 0x8ff0ULL   /* initial RSP/ESP */
#define VJ_PML4_ADDR 0x9000ULL         /* identity map of the first 4 GiB */
#define VJ_PDPT_ADDR 0xa000ULL
#define VJ_PD_ADDR 0xb000ULL           /* four pages of 2 MiB entries */
#define VJ_PD_PAGES 4
#define VJ_CMDLINE_ADDR 0x20000ULL
#define VJ_EBDA_START 0x9fc00ULL       /* e820 hole from here to 1 MiB */
#define VJ_MPTABLE_ADDR VJ_EBDA_START  /* MP floating pointer + config table */
#define VJ_HIMEM_START 0x100000ULL     /* kernels load at or above 1 MiB */
/* BIOS data area word a kernel sets to 0x1234 before a warm reset; Linux
 * does so on a panic with reboot=panic_warm. */
#define VJ_WARM_RESET_FLAG_ADDR 0x472ULL
#define VJ_WARM_RESET_FLAG 0x1234
#define VJ_BZIMAGE_LOAD_ADDR 0x1000000ULL /* default when pref_address is low */

/* --- the MMIO gap ------------------------------------------------------- */
#define VJ_MMIO_GAP_START 0xc0000000ULL
#define VJ_MMIO_GAP_END 0x100000000ULL
/* Boot-complete marker: the guest writes VJ_BOOT_MARKER_VALUE (one byte)
 * once; the same address and value as Firecracker's boot timer. */
#define VJ_BOOT_MARKER_ADDR 0xc0000000ULL
#define VJ_BOOT_MARKER_SIZE 0x1000ULL
#define VJ_BOOT_MARKER_VALUE 123
/* virtio-mmio slots, one 4 KiB page each, announced on the command line. */
#define VJ_VIRTIO_MMIO_BASE 0xc0001000ULL
#define VJ_VIRTIO_MMIO_SIZE 0x1000ULL
#define VJ_VIRTIO_MMIO_SLOTS 16
#define VJ_IOAPIC_ADDR 0xfec00000ULL
#define VJ_LAPIC_ADDR 0xfee00000ULL

/* --- I/O ports ---------------------------------------------------------- */
#define VJ_PORT_I8042_DATA 0x60
#define VJ_PORT_I8042_CMD 0x64
#define VJ_PORT_POST 0x80               /* POST codes: ignored */
#define VJ_PORT_COM1 0x3f8
#define VJ_PORT_COM1_SIZE 8

/* --- interrupts (IOAPIC pins / PIC lines) ------------------------------- */
#define VJ_IRQ_I8042_KBD 1            /* the i8042's keyboard */
#define VJ_IRQ_COM1 4
#define VJ_IRQ_VIRTIO_FIRST 5           /* virtio slot i uses IRQ 5 + i */
#define VJ_IOAPIC_PINS 24

/* Guest-visible CPU/platform identifiers. */
#define VJ_IOAPIC_ID_OFFSET 0           /* IOAPIC id = number of vCPUs + this */

#endif
