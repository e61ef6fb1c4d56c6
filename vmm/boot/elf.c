/* ELF vmlinux: PT_LOAD segments at their physical addresses; a PVH note
 * (XEN_ELFNOTE_PHYS32_ENTRY) selects the 32-bit PVH entry. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot/loader.h"
#include "config.h"
#include "layout.h"

#define ELF_MAX_PHDRS 64
#define ELF_MAX_NOTE_BYTES 8192
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t file_size, struct vj_err *err)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return vj_fail(err, -EINVAL, "not a 64-bit ELF (ELFCLASS64 required)");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return vj_fail(err, -EINVAL, "not a little-endian ELF");
	if (eh->e_machine != EM_X86_64)
		return vj_fail(err, -EINVAL, "ELF is not for x86-64 (e_machine is not EM_X86_64)");
	if (eh->e_type != ET_EXEC)
		return vj_fail(err, -EINVAL, "ELF is not an executable (ET_EXEC) image");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return vj_fail(err, -EINVAL, "ELF program header size is not 56");
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		return vj_fail(err, -EINVAL, "ELF has no or too many program headers");
	if (eh->e_phoff > file_size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > file_size - eh->e_phoff)
		return vj_fail(err, -EINVAL, "truncated ELF: program headers past end of file");
	return 0;
}

/* Returns 1 and sets *entry when the note area holds the PVH entry. */
static int find_pvh_note(int fd, const Elf64_Phdr *ph, uint64_t file_size, uint64_t *entry)
{
	uint8_t buf[ELF_MAX_NOTE_BYTES];
	uint64_t len = ph->p_filesz, off = 0;

	if (len > sizeof(buf) || ph->p_offset > file_size || len > file_size - ph->p_offset)
		return 0;
	if (read_exact(fd, buf, len, ph->p_offset) < 0)
		return 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, buf + off, sizeof(nh));
		uint64_t name_off = off + sizeof(nh);
		uint64_t desc_off = name_off + ((nh.n_namesz + 3ull) & ~3ull);
		uint64_t next = desc_off + ((nh.n_descsz + 3ull) & ~3ull);
		if (next > len)
			return 0;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(buf + name_off, "Xen", 4) && nh.n_descsz >= 4) {
			uint32_t e;
			memcpy(&e, buf + desc_off, 4);
			*entry = e;
			return 1;
		}
		off = next;
	}
	return 0;
}

static int load_segment(const struct vj_guest_mem *mem, int fd, uint64_t file_size,
			const Elf64_Phdr *ph, struct vj_err *err)
{
	uint8_t *dst;

	if (ph->p_filesz > ph->p_memsz)
		return vj_fail(err, -EINVAL, "ELF segment with file size above memory size");
	if (ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
		return vj_fail(err, -EINVAL, "truncated ELF: segment data past end of file");
	if (ph->p_paddr < VJ_HIMEM_START)
		return vj_fail(err, -EINVAL, "ELF segment at 0x%llx is below 1 MiB",
			       (unsigned long long)ph->p_paddr);
	if (ph->p_memsz == 0)
		return 0;
	dst = vj_mem_ptr(mem, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return vj_fail(err, -ENOSPC,
			       "ELF segment [0x%llx, 0x%llx) does not fit in guest memory "
			       "(memory too small for the kernel)",
			       (unsigned long long)ph->p_paddr,
			       (unsigned long long)(ph->p_paddr + ph->p_memsz));
	/* The rest of the segment (bss) is already zero: fresh anonymous pages. */
	if (ph->p_filesz && read_exact(fd, dst, ph->p_filesz, ph->p_offset) < 0)
		return vj_fail(err, -EINVAL, "read error in ELF segment");
	return 0;
}

int vj_elf_load(const struct vj_guest_mem *mem, int fd, uint64_t file_size,
		struct vj_kernel_image *img, struct vj_err *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	uint64_t lo = UINT64_MAX, hi = 0, pvh_entry = 0;
	bool pvh = false;
	int r;

	if (file_size < sizeof(eh) || read_exact(fd, &eh, sizeof(eh), 0) < 0)
		return vj_fail(err, -EINVAL, "truncated ELF header");
	if ((r = check_ehdr(&eh, file_size, err)) < 0)
		return r;
	if (read_exact(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
		return vj_fail(err, -EINVAL, "read error in ELF program headers");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !pvh)
			pvh = find_pvh_note(fd, &ph[i], file_size, &pvh_entry);
		if (ph[i].p_type != PT_LOAD)
			continue;
		if ((r = load_segment(mem, fd, file_size, &ph[i], err)) < 0)
			return r;
		if (ph[i].p_paddr < lo)
			lo = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > hi)
			hi = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (hi == 0)
		return vj_fail(err, -EINVAL, "ELF has no loadable segment");
	img->kind = pvh ? VJ_ENTRY_PVH : VJ_ENTRY_LINUX64;
	img->entry = pvh ? pvh_entry : eh.e_entry;
	if (img->entry < lo || img->entry >= hi)
		return vj_fail(err, -EINVAL, "entry point 0x%llx is outside the loaded image",
			       (unsigned long long)img->entry);
	img->load_start = lo;
	img->load_end = hi;
	img->bzimage = false;
	img->cmdline_max = VJ_CMDLINE_MAX - 1;
	img->initrd_addr_max = 0;
	return 0;
}
