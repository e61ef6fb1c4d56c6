#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "cleanup.h"
#include "layout.h"

int vj_mem_create(struct vj_guest_mem *mem, uint64_t size)
{
	cleanup_fd int fd = -1;
	uint64_t low = size < VJ_MMIO_GAP_START ? size : VJ_MMIO_GAP_START;
	void *p;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (size == 0 || size % (2 * VJ_MiB))
		return -EINVAL;
	fd = memfd_create("vmjail-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	/* MAP_NORESERVE: guest RAM is committed page by page as the guest
	 * touches it, which is what keeps start-up cheap. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Guest memory must never end up in a core dump of the VMM. */
	(void)madvise(p, size, MADV_DONTDUMP);
	mem->base = p;
	mem->size = size;
	mem->regions[0] = (struct vj_mem_region){ .gpa = 0, .size = low, .host = p };
	mem->nregions = 1;
	if (size > low) {
		mem->regions[1] = (struct vj_mem_region){
			.gpa = VJ_MMIO_GAP_END, .size = size - low, .host = mem->base + low };
		mem->nregions = 2;
	}
	mem->fd = vj_steal_fd(&fd);
	return 0;
}

void vj_mem_destroy(struct vj_guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	if (mem->fd >= 0)
		close(mem->fd);
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
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
