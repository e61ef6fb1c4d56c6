/*
 * Kernel image loading and the boot-time structures the guest reads:
 * ELF vmlinux (64-bit boot protocol, or PVH when the ELF has the note),
 * bzImage (boot protocol >= 2.12 with a 64-bit entry), initrd, command
 * line, boot_params with e820, hvm_start_info, MP table.
 */
#ifndef VJ_BOOT_LOADER_H
#define VJ_BOOT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "error.h"
#include "memory.h"

enum vj_entry_kind {
	VJ_ENTRY_LINUX64, /* 64-bit boot protocol: long mode, RSI = boot_params */
	VJ_ENTRY_PVH,     /* 32-bit protected mode, EBX = hvm_start_info */
};

struct vj_kernel_image {
	enum vj_entry_kind kind;
	uint64_t entry;
	uint64_t load_start; /* lowest guest address the image occupies */
	uint64_t load_end;   /* first guest address past the image (incl. bss) */
	bool bzimage;
	struct setup_header hdr; /* bzImage only: its own setup header */
	uint32_t cmdline_max;    /* bytes, terminator excluded */
	uint64_t initrd_addr_max;
};

/* Each returns 0 or -errno, with a one-line reason in err; vj_kernel_load
 * puts "kernel NAME" in front of it. */
int vj_kernel_load(const struct vj_guest_mem *mem, int fd, const char *name,
		   struct vj_kernel_image *img, struct vj_err *err);
int vj_elf_load(const struct vj_guest_mem *mem, int fd, uint64_t file_size,
		struct vj_kernel_image *img, struct vj_err *err);
int vj_bzimage_load(const struct vj_guest_mem *mem, int fd, uint64_t file_size,
		    struct vj_kernel_image *img, struct vj_err *err);

/* Where an initrd of `size` bytes goes: as high as allowed, page aligned,
 * above the kernel. -ENOSPC when it does not fit. */
int vj_initrd_place(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
		    uint64_t size, uint64_t *addr);
int vj_initrd_load(const struct vj_guest_mem *mem, const struct vj_kernel_image *img, int fd,
		   const char *name, uint64_t *addr, uint64_t *size, struct vj_err *err);

/* The e820 map the guest gets; returns the number of entries. */
#define VJ_E820_MAX 8
unsigned vj_e820_build(const struct vj_guest_mem *mem, struct boot_e820_entry *out);

struct vj_boot_args {
	const char *cmdline;
	size_t cmdline_len;
	uint64_t initrd_addr, initrd_size;
};

/* Command line into guest memory plus boot_params (Linux64) or
 * hvm_start_info (PVH). */
int vj_boot_params_write(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
			 const struct vj_boot_args *args, struct vj_err *err);

/* MP table for nvcpus processors and the IOAPIC. */
int vj_mptable_write(const struct vj_guest_mem *mem, unsigned nvcpus);

/* GDT, page tables and the BSP registers for the image's entry kind. */
int vj_boot_setup_bsp(const struct vj_guest_mem *mem, int vcpu_fd,
		      const struct vj_kernel_image *img);

#endif
