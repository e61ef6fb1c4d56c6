#include "memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "layout.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

static void set_regions(struct vj_guest_mem *mem, uint8_t *p, uint64_t size)
{
	uint64_t low = size < VJ_MMIO_GAP_START ? size : VJ_MMIO_GAP_START;

	mem->base = p;
	mem->size = size;
	mem->regions[0] = (struct vj_mem_region){ .gpa = 0, .size = low, .host = p };
	mem->nregions = 1;
	if (size > low) {
		mem->regions[1] = (struct vj_mem_region){
			.gpa = VJ_MMIO_GAP_END, .size = size - low, .host = p + low };
		mem->nregions = 2;
	}
}

/*
 * The pool's pages are reserved for the whole mapping now (no
 * MAP_NORESERVE): a pool that is short fails here, at start, rather than
 * with SIGBUS on a guest page fault later.
 */
static void *map_hugetlb(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * MAP_NORESERVE: guest RAM is committed page by page as the guest touches
 * it, which is what keeps start-up cheap; the cgroup's memory limit, not
 * the overcommit heuristic, bounds it.
 *
 * Aligned to 2 MiB, as guest-physical RAM is: KVM maps a huge page into
 * the guest's nested page table only where host and guest addresses agree
 * modulo 2 MiB. mmap aligns to 4 KiB only, so without this a guest on
 * transparent huge pages still took one nested fault per 4 KiB page
 * (7091 of them booting Linux, against 1148 for QEMU, which aligns too).
 */
static void *map_anonymous(uint64_t size)
{
	const uint64_t align = 2 * VJ_MiB;
	uint8_t *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (align - (uintptr_t)p % align) % align;
	if (head)
		munmap(p, head);
	if (align - head)
		munmap(p + head + size, align - head);
	return p + head;
}

int vj_mem_create(struct vj_guest_mem *mem, uint64_t size, enum vj_memory_backing want,
		  enum vj_thp_mode host_thp)
{
	uint8_t *p = NULL;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % (2 * VJ_MiB))
		return -EINVAL;
	if (want == VJ_MEMORY_HUGETLB) {
		p = map_hugetlb(size);
		if (p)
			mem->backing = VJ_MEMORY_HUGETLB;
		else
			snprintf(mem->fallback, sizeof(mem->fallback),
				 "the host's 2 MiB hugetlb pool cannot reserve %llu pages (%s)",
				 (unsigned long long)(size / (2 * VJ_MiB)), strerror(errno));
	}
	if (!p) {
		p = map_anonymous(size);
		if (!p)
			return -errno;
		mem->backing = want == VJ_MEMORY_4K ? VJ_MEMORY_4K : VJ_MEMORY_THP;
	}
	/* Huge pages back the guest's own huge mappings with one nested
	 * translation instead of 512, and fault in 2 MiB at a time; 4 KiB
	 * pages take no more host memory than the guest touches. */
	if (mem->backing == VJ_MEMORY_4K) {
		(void)madvise(p, size, MADV_NOHUGEPAGE);
	} else if (mem->backing == VJ_MEMORY_THP) {
		const char *off = NULL;
		if (madvise(p, size, MADV_HUGEPAGE) < 0)
			off = "this kernel has no transparent huge pages";
		else if (host_thp == VJ_THP_NEVER)
			off = "the host's transparent huge pages are off (enabled=never)";
		if (off) {
			size_t n = strlen(mem->fallback);
			snprintf(mem->fallback + n, sizeof(mem->fallback) - n, "%s%s", n ? ", and " : "",
				 off);
			mem->backing = VJ_MEMORY_4K;
		}
	}
	/* Guest memory must never end up in a core dump of the VMM, nor in a
	 * child process. */
	(void)madvise(p, size, MADV_DONTDUMP);
	(void)madvise(p, size, MADV_DONTFORK);
	set_regions(mem, p, size);
	return 0;
}

/*
 * Copy-on-write over the snapshot's memory file: what the guest only
 * reads stays the page cache's, shared with every clone of the same
 * snapshot; what it writes becomes private to this VM. Aligned like
 * anonymous guest RAM (map_anonymous), the file mapped over the reserved
 * range.
 */
int vj_mem_map_file(struct vj_guest_mem *mem, uint64_t size, int fd)
{
	uint8_t *p, *f;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % (2 * VJ_MiB))
		return -EINVAL;
	p = map_anonymous(size);
	if (!p)
		return -errno;
	f = mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (f == MAP_FAILED) {
		int e = errno;
		munmap(p, size);
		return -e;
	}
	mem->backing = VJ_MEMORY_4K;
	(void)madvise(p, size, MADV_DONTDUMP);
	(void)madvise(p, size, MADV_DONTFORK);
	set_regions(mem, p, size);
	return 0;
}

/* Pages of this size that are all zero are left out of the memory file. */
#define SAVE_PAGE 4096u

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < SAVE_PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static int write_run(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int vj_mem_save(const struct vj_guest_mem *mem, int fd, uint64_t *written)
{
	uint64_t off = 0;
	int r;

	*written = 0;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct vj_mem_region *g = &mem->regions[i];
		uint64_t run = 0; /* start of the current run of non-zero pages */
		bool in_run = false;
		for (uint64_t at = 0; at <= g->size; at += SAVE_PAGE) {
			bool data = at < g->size && !page_zero(g->host + at);
			if (data && !in_run) {
				run = at;
				in_run = true;
			} else if (!data && in_run) {
				if ((r = write_run(fd, g->host + run, at - run, off + run)) < 0)
					return r;
				*written += at - run;
				in_run = false;
			}
		}
		off += g->size;
	}
	/* The zero pages at the end are holes too, but the file is as long
	 * as guest RAM: a restore maps all of it. */
	return ftruncate(fd, (off_t)off) < 0 ? -errno : 0;
}

void vj_mem_describe(const struct vj_guest_mem *mem, enum vj_memory_backing want,
		     enum vj_thp_mode host_thp, char *buf, size_t len)
{
	static const char *const what[] = {
		[VJ_MEMORY_THP] = "anonymous memory, transparent huge pages",
		[VJ_MEMORY_4K] = "anonymous memory, 4 KiB pages",
		[VJ_MEMORY_HUGETLB] = "2 MiB pages of the host's hugetlb pool",
	};
	int n = snprintf(buf, len, "guest RAM %llu MiB: %s", (unsigned long long)(mem->size / VJ_MiB),
			 what[mem->backing]);

	if (n < 0 || (size_t)n >= len)
		return;
	if (mem->backing == VJ_MEMORY_THP)
		n += snprintf(buf + n, len - (size_t)n, " where the host has them (enabled=%s)",
			      vj_thp_mode_name(host_thp));
	if (n >= 0 && (size_t)n < len && mem->fallback[0])
		snprintf(buf + n, len - (size_t)n, "; asked for %s, but %s",
			 vj_memory_backing_name(want), mem->fallback);
}

void vj_mem_destroy(struct vj_guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	memset(mem, 0, sizeof(*mem));
}

void *vj_mem_ptr(const struct vj_guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return NULL;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct vj_mem_region *r = &mem->regions[i];
		/* Written so that no sum can overflow. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int vj_mem_write(const struct vj_guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vj_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int vj_mem_read(const struct vj_guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = vj_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

void vj_mem_mark_dirty(const struct vj_guest_mem *mem, const void *host, uint64_t len)
{
	uint64_t *bm = atomic_load(&((struct vj_guest_mem *)mem)->dev_dirty);
	uintptr_t p = (uintptr_t)host, base = (uintptr_t)mem->base;
	uint64_t first, last;

	if (!bm || len == 0 || p < base || p - base >= mem->size || len > mem->size - (p - base))
		return;
	first = (p - base) / 4096;
	last = (p - base + len - 1) / 4096;
	for (uint64_t i = first; i <= last; i++)
		__atomic_fetch_or(&bm[i / 64], 1ull << (i % 64), __ATOMIC_SEQ_CST);
}

uint64_t vj_mem_low_end(const struct vj_guest_mem *mem)
{
	return mem->regions[0].size;
}

int vj_mem_register(const struct vj_guest_mem *mem, int vm_fd)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = mem->regions[i].gpa,
			.memory_size = mem->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->regions[i].host,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}
