/*
 * Guest memory: one anonymous mapping, split into at most two
 * guest-physical regions around the MMIO gap. Every access the VMM makes
 * on behalf of the guest goes through vj_mem_ptr(), which refuses any
 * range that is not wholly inside one region.
 */
#ifndef VJ_MEMORY_H
#define VJ_MEMORY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct vj_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct vj_guest_mem {
	uint8_t *base;
	uint64_t size;
	enum vj_memory_backing backing; /* what guest RAM got */
	/* Why it got other than what was asked; "" when it got that. */
	char fallback[160];
	unsigned nregions;
	struct vj_mem_region regions[2];
	/* While a live migration tracks dirty pages (vmm/MIGRATION.md): one
	 * bit per 4 KiB page of guest RAM, numbered from base, for the pages
	 * the VMM itself wrote for the guest (KVM logs only the guest's own
	 * writes). NULL otherwise. Set and cleared by the VMM thread. */
	_Atomic(uint64_t *) dev_dirty;
};

/*
 * Maps size bytes (a multiple of 2 MiB) of guest RAM backed as asked, or
 * as near as the host allows: hugetlb falls back to THP when the host's
 * pool cannot reserve it all now, THP to 4 KiB pages when the host's THP
 * is off (host_thp, read before the jail). Fails only when no anonymous
 * memory can be mapped at all.
 */
int vj_mem_create(struct vj_guest_mem *mem, uint64_t size, enum vj_memory_backing want,
		  enum vj_thp_mode host_thp);

/* Guest RAM from a snapshot's memory file (size bytes, a multiple of
 * 2 MiB), mapped MAP_PRIVATE: copy-on-write. The caller closes fd. */
int vj_mem_map_file(struct vj_guest_mem *mem, uint64_t size, int fd);

/* Writes guest RAM into fd, regions in guest-physical order, each at its
 * offset in that order; all-zero pages are skipped (holes), and the file
 * ends up as long as guest RAM. *written: bytes of data written. */
int vj_mem_save(const struct vj_guest_mem *mem, int fd, uint64_t *written);

/* One line for -v: the size, what backs it, what it fell back from. */
void vj_mem_describe(const struct vj_guest_mem *mem, enum vj_memory_backing want,
		     enum vj_thp_mode host_thp, char *buf, size_t len);
void vj_mem_destroy(struct vj_guest_mem *mem);

/* Host pointer for [gpa, gpa + len), or NULL when any byte of it lies
 * outside guest RAM (including wrap-around). len 0 is refused. */
void *vj_mem_ptr(const struct vj_guest_mem *mem, uint64_t gpa, uint64_t len);

/* -EFAULT when the range is not guest RAM. */
int vj_mem_write(const struct vj_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int vj_mem_read(const struct vj_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

/*
 * The VMM wrote [host, host + len) of guest RAM for the guest: marks its
 * pages in dev_dirty while a migration tracks them. Called after the
 * write, so that a migration that takes the bit sends the page with the
 * write in it. A range outside guest RAM is ignored.
 */
void vj_mem_mark_dirty(const struct vj_guest_mem *mem, const void *host, uint64_t len);

/* End of the RAM region below the MMIO gap. */
uint64_t vj_mem_low_end(const struct vj_guest_mem *mem);

int vj_mem_register(const struct vj_guest_mem *mem, int vm_fd);

#endif
