#include <elf.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "boot/loader.h"
#include "config.h"
#include "layout.h"

static struct vj_guest_mem mem;
static struct vj_kernel_image img;
static struct vj_err err;

static int setup(void **state)
{
	(void)state;
	memset(&img, 0, sizeof(img));
	err.msg[0] = '\0';
	return vj_mem_create(&mem, 64 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN);
}

static int teardown(void **state)
{
	(void)state;
	vj_mem_destroy(&mem);
	return 0;
}

static int memfd_with(const void *data, size_t len)
{
	int fd = memfd_create("kernel", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* A minimal x86-64 ELF: header, program headers, payload "VMJAIL!!". */
struct elf_image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t payload[64];
};

static void elf_init(struct elf_image *e, uint64_t paddr)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_version = EV_CURRENT;
	e->eh.e_entry = paddr;
	e->eh.e_phoff = offsetof(struct elf_image, ph);
	e->eh.e_ehsize = sizeof(Elf64_Ehdr);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 1;
	e->ph[0].p_type = PT_LOAD;
	e->ph[0].p_offset = offsetof(struct elf_image, payload);
	e->ph[0].p_paddr = e->ph[0].p_vaddr = paddr;
	e->ph[0].p_filesz = 8;
	e->ph[0].p_memsz = 0x1000;
	memcpy(e->payload, "VMJAIL!!", 8);
}

static int load_elf(const struct elf_image *e, size_t len)
{
	int fd = memfd_with(e, len);
	int r = vj_kernel_load(&mem, fd, "k.elf", &img, &err);
	close(fd);
	return r;
}

static void elf_loads_segments_at_physical_addresses(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	assert_int_equal(load_elf(&e, sizeof(e)), 0);
	assert_int_equal(img.kind, VJ_ENTRY_LINUX64);
	assert_int_equal(img.entry, 0x200000);
	assert_int_equal(img.load_end, 0x201000);
	assert_memory_equal(vj_mem_ptr(&mem, 0x200000, 8), "VMJAIL!!", 8);
	assert_int_equal(img.cmdline_max, VJ_CMDLINE_MAX - 1);
}

static void elf_with_pvh_note_enters_through_it(void **state)
{
	struct elf_image e;
	struct {
		Elf64_Nhdr nh;
		char name[4];
		uint32_t entry;
	} note = { { 4, 4, 18 }, "Xen", 0x200010 };
	(void)state;
	elf_init(&e, 0x200000);
	e.eh.e_phnum = 2;
	e.ph[1].p_type = PT_NOTE;
	e.ph[1].p_offset = offsetof(struct elf_image, payload) + 16;
	e.ph[1].p_filesz = sizeof(note);
	memcpy(e.payload + 16, &note, sizeof(note));
	assert_int_equal(load_elf(&e, sizeof(e)), 0);
	assert_int_equal(img.kind, VJ_ENTRY_PVH);
	assert_int_equal(img.entry, 0x200010);
}

static void elf_truncated_header(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	assert_int_equal(load_elf(&e, 20), -EINVAL);
	assert_non_null(strstr(err.msg, "k.elf"));
	assert_non_null(strstr(err.msg, "truncated ELF header"));
}

static void elf_32bit_is_refused(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "64-bit"));
}

static void elf_other_machine_is_refused(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.eh.e_machine = EM_AARCH64;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "x86-64"));
}

static void elf_shared_object_is_refused(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.eh.e_type = ET_DYN;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "ET_EXEC"));
}

static void elf_program_headers_past_eof(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	assert_int_equal(load_elf(&e, offsetof(struct elf_image, ph) + 10), -EINVAL);
	assert_non_null(strstr(err.msg, "program headers past end"));
}

static void elf_segment_data_past_eof(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.ph[0].p_filesz = 4096;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "segment data past end"));
}

static void elf_segment_below_1mib(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x7000);
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "below 1 MiB"));
}

static void elf_segment_past_guest_memory(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 63 * VJ_MiB);
	e.ph[0].p_memsz = 2 * VJ_MiB;
	assert_int_equal(load_elf(&e, sizeof(e)), -ENOSPC);
	assert_non_null(strstr(err.msg, "memory too small"));
}

static void elf_segment_with_huge_size_does_not_wrap(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.ph[0].p_memsz = UINT64_MAX - 0x1000;
	assert_int_equal(load_elf(&e, sizeof(e)), -ENOSPC);
	elf_init(&e, 0x200000);
	e.ph[0].p_offset = UINT64_MAX - 2;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
}

static void elf_filesz_above_memsz(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.ph[0].p_memsz = 4;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "file size above memory size"));
}

static void elf_entry_outside_image(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.eh.e_entry = 0x300000;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "entry point"));
}

static void elf_without_loadable_segment(void **state)
{
	struct elf_image e;
	(void)state;
	elf_init(&e, 0x200000);
	e.ph[0].p_type = PT_NOTE;
	e.ph[0].p_filesz = 0;
	assert_int_equal(load_elf(&e, sizeof(e)), -EINVAL);
	assert_non_null(strstr(err.msg, "no loadable segment"));
}

static void unknown_format_is_named(void **state)
{
	static uint8_t junk[4096];
	int fd;
	(void)state;
	memset(junk, 0x90, sizeof(junk));
	fd = memfd_with(junk, sizeof(junk));
	assert_int_equal(vj_kernel_load(&mem, fd, "junk.bin", &img, &err), -EINVAL);
	close(fd);
	assert_non_null(strstr(err.msg, "junk.bin"));
	assert_non_null(strstr(err.msg, "neither"));
}

static void empty_kernel_is_named(void **state)
{
	int fd = memfd_create("empty", MFD_CLOEXEC);
	(void)state;
	assert_int_equal(vj_kernel_load(&mem, fd, "empty", &img, &err), -EINVAL);
	close(fd);
	assert_non_null(strstr(err.msg, "too short"));
}

/* bzImage: 2 setup sectors (boot sector + 1), then the protected-mode part. */
#define BZ_SETUP_SECTS 1
#define BZ_PM_OFFSET ((BZ_SETUP_SECTS + 1) * 512)

static uint8_t bz[BZ_PM_OFFSET + 4096];

static struct setup_header *bz_init(void)
{
	struct setup_header *h = (struct setup_header *)(bz + 0x1f1);

	memset(bz, 0, sizeof(bz));
	h->setup_sects = BZ_SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->xloadflags = XLF_KERNEL_64;
	h->pref_address = 0x1000000;
	h->kernel_alignment = 0x200000;
	h->init_size = 0x100000;
	h->cmdline_size = 2047;
	h->initrd_addr_max = 0x7fffffff;
	memcpy(bz + BZ_PM_OFFSET, "PMKERNEL", 8);
	return h;
}

static int load_bz(void)
{
	int fd = memfd_with(bz, sizeof(bz));
	int r = vj_kernel_load(&mem, fd, "bzImage", &img, &err);
	close(fd);
	return r;
}

static void bzimage_loads_at_pref_address_with_64bit_entry(void **state)
{
	(void)state;
	bz_init();
	assert_int_equal(load_bz(), 0);
	assert_true(img.bzimage);
	assert_int_equal(img.entry, 0x1000200);
	assert_int_equal(img.load_end, 0x1100000);
	assert_memory_equal(vj_mem_ptr(&mem, 0x1000000, 8), "PMKERNEL", 8);
	assert_int_equal(img.hdr.version, 0x020f);
}

static void bzimage_too_old(void **state)
{
	(void)state;
	bz_init()->version = 0x0209;
	assert_int_equal(load_bz(), -EINVAL);
	assert_non_null(strstr(err.msg, "2.09 is too old"));
}

static void bzimage_without_64bit_entry(void **state)
{
	(void)state;
	bz_init()->xloadflags = 0;
	assert_int_equal(load_bz(), -EINVAL);
	assert_non_null(strstr(err.msg, "64-bit entry"));
}

static void bzimage_larger_than_memory(void **state)
{
	(void)state;
	bz_init()->init_size = 128 * VJ_MiB;
	assert_int_equal(load_bz(), -ENOSPC);
	assert_non_null(strstr(err.msg, "memory too small"));
}

static void bzimage_misaligned_pref_address(void **state)
{
	(void)state;
	bz_init()->pref_address = 0x1001000;
	assert_int_equal(load_bz(), -EINVAL);
	assert_non_null(strstr(err.msg, "aligned"));
}

static void initrd_goes_high_page_aligned_above_kernel(void **state)
{
	uint64_t a;
	(void)state;
	img.load_end = 0x2000000;
	assert_int_equal(vj_initrd_place(&mem, &img, 10000, &a), 0);
	assert_int_equal(a % 4096, 0);
	assert_true(a + 10000 <= 64 * VJ_MiB);
	assert_true(a + 4096 + 10000 > 64 * VJ_MiB);
	assert_true(a >= img.load_end);
}

static void initrd_respects_initrd_addr_max(void **state)
{
	uint64_t a;
	(void)state;
	img.load_end = 0x200000;
	img.initrd_addr_max = 0x1ffffff;
	assert_int_equal(vj_initrd_place(&mem, &img, 4096, &a), 0);
	assert_int_equal(a, 0x1fff000);
}

static void initrd_that_does_not_fit_is_refused(void **state)
{
	uint64_t a;
	(void)state;
	img.load_end = 0x2000000;
	assert_int_equal(vj_initrd_place(&mem, &img, 40 * VJ_MiB, &a), -ENOSPC);
	assert_int_equal(vj_initrd_place(&mem, &img, 0, &a), -ENOSPC);
	assert_int_equal(vj_initrd_place(&mem, &img, UINT64_MAX, &a), -ENOSPC);
}

static void e820_for_a_small_guest(void **state)
{
	struct boot_e820_entry e[VJ_E820_MAX];
	(void)state;
	assert_int_equal(vj_e820_build(&mem, e), 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, VJ_EBDA_START);
	assert_int_equal(e[0].type, 1);
	assert_int_equal(e[1].type, 2);
	assert_int_equal(e[2].addr, VJ_HIMEM_START);
	assert_int_equal(e[2].addr + e[2].size, 64 * VJ_MiB);
	assert_int_equal(e[2].type, 1);
}

static void e820_for_a_guest_above_4g(void **state)
{
	struct vj_guest_mem big;
	struct boot_e820_entry e[VJ_E820_MAX];
	(void)state;
	assert_int_equal(vj_mem_create(&big, 5 * VJ_GiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_int_equal(vj_e820_build(&big, e), 4);
	assert_true(e[2].addr + e[2].size == VJ_MMIO_GAP_START);
	assert_true(e[3].addr == VJ_MMIO_GAP_END);
	assert_true(e[3].size == 5 * VJ_GiB - VJ_MMIO_GAP_START);
	vj_mem_destroy(&big);
}

static void boot_params_for_linux64(void **state)
{
	const char *cl = "console=ttyS0 vjtest=hello";
	struct vj_boot_args a = { cl, strlen(cl), 0x3000000, 0x1234 };
	struct boot_params bp;
	(void)state;
	img.kind = VJ_ENTRY_LINUX64;
	img.cmdline_max = 2047;
	assert_int_equal(vj_boot_params_write(&mem, &img, &a, &err), 0);
	assert_int_equal(vj_mem_read(&mem, VJ_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, VJ_CMDLINE_ADDR);
	assert_int_equal(bp.hdr.ramdisk_image, 0x3000000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1234);
	assert_int_equal(bp.e820_entries, 3);
	assert_string_equal((char *)vj_mem_ptr(&mem, VJ_CMDLINE_ADDR, strlen(cl) + 1), cl);
}

static void boot_params_keep_bzimage_header(void **state)
{
	struct vj_boot_args a = { "", 0, 0, 0 };
	struct boot_params bp;
	(void)state;
	bz_init();
	assert_int_equal(load_bz(), 0);
	assert_int_equal(vj_boot_params_write(&mem, &img, &a, &err), 0);
	assert_int_equal(vj_mem_read(&mem, VJ_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.init_size, 0x100000);
	assert_true(bp.hdr.loadflags & LOADED_HIGH);
}

static void command_line_longer_than_kernel_accepts(void **state)
{
	static char cl[300];
	struct vj_boot_args a = { cl, sizeof(cl) - 1, 0, 0 };
	(void)state;
	memset(cl, 'x', sizeof(cl) - 1);
	img.kind = VJ_ENTRY_LINUX64;
	img.cmdline_max = 255;
	assert_int_equal(vj_boot_params_write(&mem, &img, &a, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "command line too long: 299 bytes"));
	assert_non_null(strstr(err.msg, "255"));
}

static void pvh_start_info(void **state)
{
	const char *cl = "pvh";
	struct vj_boot_args a = { cl, 3, 0x3000000, 0x2000 };
	uint32_t si[14];
	uint64_t mod[4];
	(void)state;
	img.kind = VJ_ENTRY_PVH;
	img.cmdline_max = 2047;
	assert_int_equal(vj_boot_params_write(&mem, &img, &a, &err), 0);
	assert_int_equal(vj_mem_read(&mem, VJ_PVH_START_INFO_ADDR, si, sizeof(si)), 0);
	assert_int_equal(si[0], 0x336ec578); /* magic */
	assert_int_equal(si[1], 1);          /* version */
	assert_int_equal(si[3], 1);          /* one module: the initrd */
	assert_int_equal(si[6], VJ_CMDLINE_ADDR);
	assert_int_equal(si[10], VJ_PVH_MEMMAP_ADDR);
	assert_int_equal(si[12], 3); /* memmap entries */
	assert_int_equal(vj_mem_read(&mem, VJ_PVH_MODLIST_ADDR, mod, sizeof(mod)), 0);
	assert_int_equal(mod[0], 0x3000000);
	assert_int_equal(mod[1], 0x2000);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void mptable_lists_every_cpu_with_valid_checksums(void **state)
{
	const uint8_t *mpf, *mpc, *e;
	uint32_t physptr;
	uint16_t len, count;
	unsigned cpus = 0, bsp = 0;
	(void)state;
	assert_int_equal(vj_mptable_write(&mem, 5), 0);
	mpf = vj_mem_ptr(&mem, VJ_MPTABLE_ADDR, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum(mpf, 16), 0);
	memcpy(&physptr, mpf + 4, 4);
	mpc = vj_mem_ptr(&mem, physptr, 44);
	assert_memory_equal(mpc, "PCMP", 4);
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	assert_int_equal(sum(vj_mem_ptr(&mem, physptr, len), len), 0);
	e = mpc + 44;
	for (unsigned i = 0; i < count; i++) {
		if (e[0] == 0) {
			cpus++;
			bsp += (e[3] & 2) != 0;
			e += 20;
		} else {
			e += 8;
		}
	}
	assert_int_equal(cpus, 5);
	assert_int_equal(bsp, 1);
	assert_int_equal(e - mpc, len);
}

static void mptable_refuses_bad_cpu_counts(void **state)
{
	(void)state;
	assert_int_equal(vj_mptable_write(&mem, 0), -EINVAL);
	assert_int_equal(vj_mptable_write(&mem, VJ_VCPUS_MAX + 1), -EINVAL);
	assert_int_equal(vj_mptable_write(&mem, VJ_VCPUS_MAX), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(elf_loads_segments_at_physical_addresses),
		T(elf_with_pvh_note_enters_through_it),
		T(elf_truncated_header),
		T(elf_32bit_is_refused),
		T(elf_other_machine_is_refused),
		T(elf_shared_object_is_refused),
		T(elf_program_headers_past_eof),
		T(elf_segment_data_past_eof),
		T(elf_segment_below_1mib),
		T(elf_segment_past_guest_memory),
		T(elf_segment_with_huge_size_does_not_wrap),
		T(elf_filesz_above_memsz),
		T(elf_entry_outside_image),
		T(elf_without_loadable_segment),
		T(unknown_format_is_named),
		T(empty_kernel_is_named),
		T(bzimage_loads_at_pref_address_with_64bit_entry),
		T(bzimage_too_old),
		T(bzimage_without_64bit_entry),
		T(bzimage_larger_than_memory),
		T(bzimage_misaligned_pref_address),
		T(initrd_goes_high_page_aligned_above_kernel),
		T(initrd_respects_initrd_addr_max),
		T(initrd_that_does_not_fit_is_refused),
		T(e820_for_a_small_guest),
		T(e820_for_a_guest_above_4g),
		T(boot_params_for_linux64),
		T(boot_params_keep_bzimage_header),
		T(command_line_longer_than_kernel_accepts),
		T(pvh_start_info),
		T(mptable_lists_every_cpu_with_valid_checksums),
		T(mptable_refuses_bad_cpu_counts),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
