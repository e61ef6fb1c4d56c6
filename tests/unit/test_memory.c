#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "layout.h"
#include "memory.h"

static void small_guest_has_one_region(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 64 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_int_equal(m.nregions, 1);
	assert_int_equal(vj_mem_low_end(&m), 64 * VJ_MiB);
	vj_mem_destroy(&m);
}

static void large_guest_continues_above_4g(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 4 * VJ_GiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_int_equal(m.nregions, 2);
	assert_true(vj_mem_low_end(&m) == VJ_MMIO_GAP_START);
	assert_true(m.regions[1].gpa == VJ_MMIO_GAP_END);
	assert_true(m.regions[1].size == 4 * VJ_GiB - VJ_MMIO_GAP_START);
	/* the gap itself is not RAM */
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_START, 1));
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_END - 1, 1));
	assert_non_null(vj_mem_ptr(&m, VJ_MMIO_GAP_END, 1));
	/* a range may not straddle the gap */
	assert_null(vj_mem_ptr(&m, VJ_MMIO_GAP_START - 1, 2));
	vj_mem_destroy(&m);
}

static void ranges_outside_or_wrapping_are_refused(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_non_null(vj_mem_ptr(&m, 0, 16 * VJ_MiB));
	assert_non_null(vj_mem_ptr(&m, 16 * VJ_MiB - 1, 1));
	assert_null(vj_mem_ptr(&m, 16 * VJ_MiB - 1, 2));
	assert_null(vj_mem_ptr(&m, 16 * VJ_MiB, 1));
	assert_null(vj_mem_ptr(&m, 1, UINT64_MAX));
	assert_null(vj_mem_ptr(&m, UINT64_MAX, 2));
	assert_null(vj_mem_ptr(&m, 0, 0));
	vj_mem_destroy(&m);
}

static void read_write_round_trip_and_efault(void **state)
{
	struct vj_guest_mem m;
	char buf[6] = { 0 };
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_int_equal(vj_mem_write(&m, 0x1000, "hello", 6), 0);
	assert_int_equal(vj_mem_read(&m, 0x1000, buf, 6), 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(vj_mem_write(&m, 16 * VJ_MiB - 3, "hello", 6), -EFAULT);
	assert_int_equal(vj_mem_read(&m, 16 * VJ_MiB, buf, 1), -EFAULT);
	vj_mem_destroy(&m);
}

static void sizes_must_be_2mib_multiples(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	assert_int_equal(vj_mem_create(&m, 3 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), -EINVAL);
	assert_int_equal(vj_mem_create(&m, 0, VJ_MEMORY_4K, VJ_THP_UNKNOWN), -EINVAL);
}

/* The VmFlags line of the mapping that starts at p, from /proc/self/smaps:
 * what the kernel itself recorded for it. */
static void vm_flags(const void *p, char *out, size_t cap)
{
	char line[512], start[32];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	assert_non_null(f);
	snprintf(start, sizeof(start), "%lx-", (unsigned long)(uintptr_t)p);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, cap, "%s", line + 8);
			break;
		}
	}
	fclose(f);
	assert_true(out[0]);
}

static bool has_flag(const char *flags, const char *flag)
{
	char padded[8];

	snprintf(padded, sizeof(padded), " %s", flag);
	return strstr(flags, padded) != NULL;
}

/* Free pages in the host's 2 MiB hugetlb pool (0 when there is none). */
static uint64_t hugetlb_free_2m(void)
{
	char line[128];
	unsigned long long n = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f && fgets(line, sizeof(line), f))
		n = strtoull(line, NULL, 10);
	if (f)
		fclose(f);
	return n;
}

static void thp_asks_for_huge_pages_and_stays_out_of_dumps_and_children(void **state)
{
	struct vj_guest_mem m;
	char flags[512], desc[320];
	(void)state;
	assert_int_equal(vj_mem_create(&m, 64 * VJ_MiB, VJ_MEMORY_THP, VJ_THP_MADVISE), 0);
	assert_int_equal(m.backing, VJ_MEMORY_THP);
	assert_string_equal(m.fallback, "");
	vm_flags(m.base, flags, sizeof(flags));
	assert_true(has_flag(flags, "hg")); /* MADV_HUGEPAGE */
	assert_true(has_flag(flags, "dd")); /* MADV_DONTDUMP */
	assert_true(has_flag(flags, "dc")); /* MADV_DONTFORK */
	assert_false(has_flag(flags, "ex"));
	assert_false(has_flag(flags, "sh")); /* private: no file, no sharing */
	vj_mem_describe(&m, VJ_MEMORY_THP, VJ_THP_MADVISE, desc, sizeof(desc));
	assert_string_equal(desc, "guest RAM 64 MiB: anonymous memory, transparent huge pages "
				  "where the host has them (enabled=madvise)");
	vj_mem_destroy(&m);
}

static void thp_on_a_host_without_it_is_4k_and_says_why(void **state)
{
	struct vj_guest_mem m;
	char desc[320];
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB, VJ_MEMORY_THP, VJ_THP_NEVER), 0);
	assert_int_equal(m.backing, VJ_MEMORY_4K);
	vj_mem_describe(&m, VJ_MEMORY_THP, VJ_THP_NEVER, desc, sizeof(desc));
	assert_string_equal(desc, "guest RAM 16 MiB: anonymous memory, 4 KiB pages; asked for thp, "
				  "but the host's transparent huge pages are off (enabled=never)");
	vj_mem_destroy(&m);
}

static void small_pages_refuse_huge_ones(void **state)
{
	struct vj_guest_mem m;
	char flags[512];
	(void)state;
	assert_int_equal(vj_mem_create(&m, 16 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_ALWAYS), 0);
	assert_int_equal(m.backing, VJ_MEMORY_4K);
	assert_string_equal(m.fallback, "");
	vm_flags(m.base, flags, sizeof(flags));
	assert_true(has_flag(flags, "nh")); /* MADV_NOHUGEPAGE */
	assert_true(has_flag(flags, "dd"));
	vj_mem_destroy(&m);
}

/* hugetlb comes from the pool when it holds the whole guest, and falls
 * back to THP, saying so, when it does not: either way the guest runs. */
static void hugetlb_takes_the_pool_or_falls_back_to_thp(void **state)
{
	struct vj_guest_mem m;
	char flags[512], desc[320];
	(void)state;
	assert_int_equal(vj_mem_create(&m, 8 * VJ_MiB, VJ_MEMORY_HUGETLB, VJ_THP_ALWAYS), 0);
	vm_flags(m.base, flags, sizeof(flags));
	vj_mem_describe(&m, VJ_MEMORY_HUGETLB, VJ_THP_ALWAYS, desc, sizeof(desc));
	if (hugetlb_free_2m() >= 4 && m.backing == VJ_MEMORY_HUGETLB) {
		assert_true(has_flag(flags, "ht"));
		assert_string_equal(m.fallback, "");
	} else {
		assert_int_equal(m.backing, VJ_MEMORY_THP);
		assert_true(has_flag(flags, "hg"));
		assert_non_null(strstr(desc, "asked for hugetlb, but the host's 2 MiB hugetlb pool "
					     "cannot reserve 4 pages"));
	}
	assert_true(has_flag(flags, "dd"));
	assert_int_equal(vj_mem_write(&m, 8 * VJ_MiB - 6, "hello", 6), 0);
	vj_mem_destroy(&m);
}

static void hugetlb_short_and_no_thp_ends_on_4k(void **state)
{
	struct vj_guest_mem m;
	(void)state;
	if (hugetlb_free_2m() >= 4)
		skip(); /* the pool would serve it */
	assert_int_equal(vj_mem_create(&m, 8 * VJ_MiB, VJ_MEMORY_HUGETLB, VJ_THP_NEVER), 0);
	assert_int_equal(m.backing, VJ_MEMORY_4K);
	assert_non_null(strstr(m.fallback, "hugetlb pool cannot reserve 4 pages"));
	assert_non_null(strstr(m.fallback, ", and the host's transparent huge pages are off"));
	vj_mem_destroy(&m);
}

/* A snapshot's memory file: pages with data at their guest-physical
 * offsets (regions concatenated), zero pages as holes, the file as long
 * as guest RAM; mapped back copy-on-write it reads the same, and what
 * the copy writes stays out of the file. */
static void saved_memory_is_sparse_and_maps_back_copy_on_write(void **state)
{
	struct vj_guest_mem m, back;
	char path[] = "/tmp/vj-test-memory.XXXXXX";
	int fd = mkstemp(path);
	uint64_t written, gpa_high = 5 * VJ_MiB + 123;
	uint8_t v = 0;
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(vj_mem_create(&m, 8 * VJ_MiB, VJ_MEMORY_4K, VJ_THP_UNKNOWN), 0);
	assert_int_equal(vj_mem_write(&m, 4096, "a", 1), 0);
	assert_int_equal(vj_mem_write(&m, gpa_high, "b", 1), 0);
	assert_int_equal(vj_mem_save(&m, fd, &written), 0);
	assert_int_equal(written, 2 * 4096);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8 * VJ_MiB);
	/* Only the two pages hold blocks (some file systems round up). */
	assert_true((uint64_t)st.st_blocks * 512 < 1 * VJ_MiB);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), 4096);
	assert_int_equal(vj_mem_map_file(&back, 8 * VJ_MiB, fd), 0);
	assert_int_equal(vj_mem_read(&back, gpa_high, &v, 1), 0);
	assert_int_equal(v, 'b');
	assert_int_equal(vj_mem_write(&back, gpa_high, "c", 1), 0);
	assert_int_equal(pread(fd, &v, 1, (off_t)gpa_high), 1);
	assert_int_equal(v, 'b');
	vj_mem_destroy(&back);
	assert_int_equal(vj_mem_map_file(&back, 8 * VJ_MiB + 1, fd), -EINVAL);
	vj_mem_destroy(&m);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_guest_has_one_region),
		cmocka_unit_test(saved_memory_is_sparse_and_maps_back_copy_on_write),
		cmocka_unit_test(large_guest_continues_above_4g),
		cmocka_unit_test(ranges_outside_or_wrapping_are_refused),
		cmocka_unit_test(read_write_round_trip_and_efault),
		cmocka_unit_test(sizes_must_be_2mib_multiples),
		cmocka_unit_test(thp_asks_for_huge_pages_and_stays_out_of_dumps_and_children),
		cmocka_unit_test(thp_on_a_host_without_it_is_4k_and_says_why),
		cmocka_unit_test(small_pages_refuse_huge_ones),
		cmocka_unit_test(hugetlb_takes_the_pool_or_falls_back_to_thp),
		cmocka_unit_test(hugetlb_short_and_no_thp_ends_on_4k),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
