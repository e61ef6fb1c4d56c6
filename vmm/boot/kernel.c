#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loader.h"
#include "layout.h"

int vj_kernel_load(const struct vj_guest_mem *mem, int fd, const char *name,
		   struct vj_kernel_image *img, char *err, size_t errlen)
{
	uint8_t magic[4];
	uint8_t hdrs[4];
	struct stat st;

	memset(img, 0, sizeof(*img));
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "kernel %s: %s", name, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "kernel %s: not a regular file", name);
		return -EINVAL;
	}
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic)) {
		snprintf(err, errlen, "kernel %s: file too short to be a kernel (%lld bytes)", name,
			 (long long)st.st_size);
		return -EINVAL;
	}
	if (!memcmp(magic, "\177ELF", 4))
		return vj_elf_load(mem, fd, name, (uint64_t)st.st_size, img, err, errlen);
	if (pread(fd, hdrs, sizeof(hdrs), 0x202) == (ssize_t)sizeof(hdrs) &&
	    !memcmp(hdrs, "HdrS", 4))
		return vj_bzimage_load(mem, fd, name, (uint64_t)st.st_size, img, err, errlen);
	snprintf(err, errlen, "kernel %s: neither an ELF vmlinux nor a bzImage", name);
	return -EINVAL;
}

int vj_initrd_place(const struct vj_guest_mem *mem, const struct vj_kernel_image *img,
		    uint64_t size, uint64_t *addr)
{
	uint64_t top = vj_mem_low_end(mem);
	uint64_t a;

	if (img->initrd_addr_max && img->initrd_addr_max < top - 1)
		top = img->initrd_addr_max + 1;
	if (size == 0 || size > top)
		return -ENOSPC;
	a = (top - size) & ~0xfffULL;
	if (a < img->load_end || a < VJ_HIMEM_START)
		return -ENOSPC;
	*addr = a;
	return 0;
}

int vj_initrd_load(const struct vj_guest_mem *mem, const struct vj_kernel_image *img, int fd,
		   const char *name, uint64_t *addr, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *dst;
	uint64_t done = 0;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "initrd %s: %s", name, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "initrd %s: not a non-empty regular file", name);
		return -EINVAL;
	}
	if (vj_initrd_place(mem, img, (uint64_t)st.st_size, addr) < 0) {
		snprintf(err, errlen,
			 "initrd %s: %lld bytes do not fit in guest memory above the kernel "
			 "(memory too small for kernel plus initrd)",
			 name, (long long)st.st_size);
		return -ENOSPC;
	}
	dst = vj_mem_ptr(mem, *addr, (uint64_t)st.st_size);
	if (!dst) {
		snprintf(err, errlen, "initrd %s: placement outside guest memory", name);
		return -EFAULT;
	}
	while (done < (uint64_t)st.st_size) {
		ssize_t n = pread(fd, dst + done, (size_t)((uint64_t)st.st_size - done), (off_t)done);
		if (n <= 0) {
			snprintf(err, errlen, "initrd %s: read: %s", name,
				 n < 0 ? strerror(errno) : "unexpected end of file");
			return n < 0 ? -errno : -EIO;
		}
		done += (uint64_t)n;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}
