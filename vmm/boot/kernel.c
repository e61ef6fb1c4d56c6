#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loader.h"
#include "layout.h"

static int kernel_load(const struct vj_guest_mem *mem, int fd, struct vj_kernel_image *img,
		       struct vj_err *err)
{
	uint8_t magic[4];
	uint8_t hdrs[4];
	struct stat st;

	memset(img, 0, sizeof(*img));
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "fstat");
	if (!S_ISREG(st.st_mode))
		return vj_fail(err, -EINVAL, "not a regular file");
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic))
		return vj_fail(err, -EINVAL, "file too short to be a kernel (%lld bytes)",
			       (long long)st.st_size);
	if (!memcmp(magic, "\177ELF", 4))
		return vj_elf_load(mem, fd, (uint64_t)st.st_size, img, err);
	if (pread(fd, hdrs, sizeof(hdrs), 0x202) == (ssize_t)sizeof(hdrs) &&
	    !memcmp(hdrs, "HdrS", 4))
		return vj_bzimage_load(mem, fd, (uint64_t)st.st_size, img, err);
	return vj_fail(err, -EINVAL, "neither an ELF vmlinux nor a bzImage");
}

int vj_kernel_load(const struct vj_guest_mem *mem, int fd, const char *name,
		   struct vj_kernel_image *img, struct vj_err *err)
{
	int r = kernel_load(mem, fd, img, err);

	return r < 0 ? vj_wrap(err, "kernel %s", name) : 0;
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

static int initrd_load(const struct vj_guest_mem *mem, const struct vj_kernel_image *img, int fd,
		       uint64_t *addr, uint64_t *size, struct vj_err *err)
{
	struct stat st;
	uint8_t *dst;
	uint64_t done = 0;

	if (fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "fstat");
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return vj_fail(err, -EINVAL, "not a non-empty regular file");
	if (vj_initrd_place(mem, img, (uint64_t)st.st_size, addr) < 0)
		return vj_fail(err, -ENOSPC,
			       "%lld bytes do not fit in guest memory above the kernel "
			       "(memory too small for kernel plus initrd)",
			       (long long)st.st_size);
	dst = vj_mem_ptr(mem, *addr, (uint64_t)st.st_size);
	if (!dst)
		return vj_fail(err, -EFAULT, "placement outside guest memory");
	while (done < (uint64_t)st.st_size) {
		ssize_t n = pread(fd, dst + done, (size_t)((uint64_t)st.st_size - done), (off_t)done);
		if (n < 0)
			return vj_fail_errno(err, -errno, "read");
		if (n == 0)
			return vj_fail(err, -EIO, "read: unexpected end of file");
		done += (uint64_t)n;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

int vj_initrd_load(const struct vj_guest_mem *mem, const struct vj_kernel_image *img, int fd,
		   const char *name, uint64_t *addr, uint64_t *size, struct vj_err *err)
{
	int r = initrd_load(mem, img, fd, addr, size, err);

	return r < 0 ? vj_wrap(err, "initrd %s", name) : 0;
}
