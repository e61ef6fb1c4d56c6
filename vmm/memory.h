/*
 * Guest memory: one memfd, mapped once, split into at most two
 * guest-physical regions around the MMIO gap. Every access the VMM makes
 * on behalf of the guest goes through vj_mem_ptr(), which refuses any
 * range that is not wholly inside one region.
 */
#ifndef VJ_MEMORY_H
#define VJ_MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct vj_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct vj_guest_mem {
	int fd;
	uint8_t *base;
	uint64_t size;
	unsigned nregions;
	struct vj_mem_region regions[2];
};

int vj_mem_create(struct vj_guest_mem *mem, uint64_t size);
void vj_mem_destroy(struct vj_guest_mem *mem);

/* Host pointer for [gpa, gpa + len), or NULL when any byte of it lies
 * outside guest RAM (including wrap-around). len 0 is refused. */
void *vj_mem_ptr(const struct vj_guest_mem *mem, uint64_t gpa, uint64_t len);

/* -EFAULT when the range is not guest RAM. */
int vj_mem_write(const struct vj_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int vj_mem_read(const struct vj_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

/* End of the RAM region below the MMIO gap. */
uint64_t vj_mem_low_end(const struct vj_guest_mem *mem);

int vj_mem_register(const struct vj_guest_mem *mem, int vm_fd);

#endif
