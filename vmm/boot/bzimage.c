/* bzImage through the 64-bit boot protocol (Documentation/x86/boot.rst):
 * protocol >= 2.12 for xloadflags, and XLF_KERNEL_64 for the entry at
 * load address + 0x200. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot/loader.h"
#include "config.h"
#include "layout.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define BZ_MIN_VERSION 0x020c
#define BZ_ENTRY64_OFFSET 0x200

int vj_bzimage_load(const struct vj_guest_mem *mem, int fd, uint64_t file_size,
		    struct vj_kernel_image *img, struct vj_err *err)
{
	struct setup_header h;
	uint64_t setup_bytes, pm_bytes, load, span, done = 0;
	uint8_t *dst;

	if (file_size < SETUP_HEADER_OFFSET + sizeof(h) ||
	    pread(fd, &h, sizeof(h), SETUP_HEADER_OFFSET) != (ssize_t)sizeof(h))
		return vj_fail(err, -EINVAL, "truncated bzImage setup header");
	if (h.version < BZ_MIN_VERSION)
		return vj_fail(err, -EINVAL,
			       "bzImage boot protocol %u.%02u is too old (2.12 or later needed)",
			       h.version >> 8, h.version & 0xff);
	if (!(h.xloadflags & XLF_KERNEL_64))
		return vj_fail(err, -EINVAL, "bzImage has no 64-bit entry point (XLF_KERNEL_64)");
	setup_bytes = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	if (file_size <= setup_bytes)
		return vj_fail(err, -EINVAL, "truncated bzImage: no protected-mode kernel");
	pm_bytes = file_size - setup_bytes;
	load = h.pref_address >= VJ_HIMEM_START ? h.pref_address : VJ_BZIMAGE_LOAD_ADDR;
	if (h.kernel_alignment && (h.kernel_alignment & (h.kernel_alignment - 1)))
		return vj_fail(err, -EINVAL, "bzImage kernel_alignment is not a power of two");
	if (h.kernel_alignment && load % h.kernel_alignment)
		return vj_fail(err, -EINVAL, "bzImage pref_address is not aligned");
	span = h.init_size > pm_bytes ? h.init_size : pm_bytes;
	dst = vj_mem_ptr(mem, load, span);
	if (!dst)
		return vj_fail(err, -ENOSPC,
			       "bzImage needs [0x%llx, 0x%llx) (memory too small for the kernel)",
			       (unsigned long long)load, (unsigned long long)(load + span));
	while (done < pm_bytes) {
		ssize_t n = pread(fd, dst + done, (size_t)(pm_bytes - done),
				  (off_t)(setup_bytes + done));
		if (n <= 0)
			return vj_fail(err, -EINVAL, "read error in bzImage");
		done += (uint64_t)n;
	}
	img->kind = VJ_ENTRY_LINUX64;
	img->entry = load + BZ_ENTRY64_OFFSET;
	img->load_start = load;
	img->load_end = load + span;
	img->bzimage = true;
	img->hdr = h;
	img->cmdline_max = h.cmdline_size ? h.cmdline_size : 255;
	if (img->cmdline_max > VJ_CMDLINE_MAX - 1)
		img->cmdline_max = VJ_CMDLINE_MAX - 1;
	img->initrd_addr_max = h.initrd_addr_max;
	return 0;
}
