#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "config.h"

static struct vj_vm_config cfg;
static struct vj_err err;

static int parse(int argc, const char **argv)
{
	vj_config_init(&cfg);
	err.msg[0] = '\0';
	return vj_config_parse_args(&cfg, argc, (char **)argv, &err);
}

#define PARSE(...)                                                        \
	({                                                                \
		const char *_a[] = { "vmjail-vmm", __VA_ARGS__ };         \
		parse((int)(sizeof(_a) / sizeof(_a[0])), _a);             \
	})

static void defaults_with_only_a_kernel(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k"), 0);
	assert_string_equal(cfg.kernel.name, "/k");
	assert_int_equal(cfg.kernel.fd, -1);
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(cfg.memory_mib, 128);
	assert_int_equal(cfg.console, VJ_CONSOLE_STDOUT);
	assert_int_equal(cfg.seccomp, VJ_SECCOMP_ENFORCE);
	assert_int_equal(cfg.memory_backing, VJ_MEMORY_THP);
	assert_int_equal(cfg.host_thp, VJ_THP_UNKNOWN);
}

static void all_boot_flags_are_taken(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--initrd", "/i", "--cmdline", "console=ttyS0",
			       "--vcpus", "4", "--memory", "1G", "--console", "/tmp/c",
			       "--console-limit", "64K", "--timing"),
			 0);
	assert_string_equal(cfg.initrd.name, "/i");
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(cfg.memory_mib, 1024);
	assert_int_equal(cfg.console, VJ_CONSOLE_FILE);
	assert_string_equal(cfg.console_file.name, "/tmp/c");
	assert_int_equal(cfg.console_limit, 65536);
	assert_true(cfg.timing);
}

static void missing_kernel_is_named(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--vcpus", "2"), -EINVAL);
	assert_non_null(strstr(err.msg, "kernel"));
}

static void unknown_option_is_named(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--frobnicate"), -EINVAL);
	assert_non_null(strstr(err.msg, "--frobnicate"));
}

static void missing_value_is_named(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel"), -EINVAL);
	assert_non_null(strstr(err.msg, "--kernel"));
	assert_non_null(strstr(err.msg, "missing"));
}

static void vcpus_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "0"), -EINVAL);
	assert_non_null(strstr(err.msg, "--vcpus"));
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "33"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "2x"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--vcpus", "32"), 0);
}

static void memory_out_of_range_or_unaligned(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--memory", "8M"), -EINVAL);
	assert_non_null(strstr(err.msg, "--memory"));
	assert_int_equal(PARSE("--kernel", "/k", "--memory", "1T"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--memory", "1000K"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--memory", "16M"), 0);
	/* A bare number is bytes, as in every size vmjail reads. */
	assert_int_equal(PARSE("--kernel", "/k", "--memory", "16"), -EINVAL);
}

static void cmdline_too_long(void **state)
{
	static char longline[VJ_CMDLINE_MAX + 10];
	(void)state;
	memset(longline, 'a', sizeof(longline) - 1);
	assert_int_equal(PARSE("--kernel", "/k", "--cmdline", longline), -EINVAL);
	assert_non_null(strstr(err.msg, "--cmdline"));
}

static void drive_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--drive", "path=/d0,ro,id=root", "--drive",
			       "path=/d1"),
			 0);
	assert_int_equal(cfg.ndrives, 2);
	assert_string_equal(cfg.drives[0].file.name, "/d0");
	assert_true(cfg.drives[0].read_only);
	assert_string_equal(cfg.drives[0].id, "root");
	assert_false(cfg.drives[1].read_only);
}

static void drive_errors(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--drive", "ro"), -EINVAL);
	assert_non_null(strstr(err.msg, "path="));
	assert_int_equal(PARSE("--kernel", "/k", "--drive", "path=/d,speed=9"), -EINVAL);
	assert_non_null(strstr(err.msg, "speed"));
	assert_int_equal(PARSE("--kernel", "/k", "--drive", "path=/d,id=aaaaaaaaaaaaaaaaaaaaa"),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "id"));
}

static void net_and_vsock_options(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--net", "tap=tap0,mac=02:00:00:00:00:01",
			       "--vsock", "cid=3,uds=/run/v.sock", "--rng"),
			 0);
	assert_int_equal(cfg.nnets, 1);
	assert_string_equal(cfg.nets[0].tap.name, "tap0");
	assert_true(cfg.nets[0].has_mac);
	assert_int_equal(cfg.nets[0].mac[5], 1);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.guest_cid, 3);
	assert_true(cfg.rng);
}

static void net_and_vsock_errors(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--net", "tap=t,mac=01:00:00:00:00:01"), -EINVAL);
	assert_non_null(strstr(err.msg, "multicast"));
	assert_int_equal(PARSE("--kernel", "/k", "--net", "tap=t,mac=zz"), -EINVAL);
	assert_int_equal(PARSE("--kernel", "/k", "--vsock", "cid=2,uds=/s"), -EINVAL);
	assert_non_null(strstr(err.msg, "cid"));
	assert_int_equal(PARSE("--kernel", "/k", "--vsock", "cid=3"), -EINVAL);
}

static void seccomp_modes(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--seccomp-log"), 0);
	assert_int_equal(cfg.seccomp, VJ_SECCOMP_LOG);
	assert_int_equal(PARSE("--kernel", "/k", "--seccomp", "off"), 0);
	assert_int_equal(cfg.seccomp, VJ_SECCOMP_OFF);
	assert_int_equal(PARSE("--kernel", "/k", "--seccomp", "lax"), -EINVAL);
}

static void memory_backings(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--kernel", "/k", "--memory-backing", "4k"), 0);
	assert_int_equal(cfg.memory_backing, VJ_MEMORY_4K);
	assert_int_equal(PARSE("--kernel", "/k", "--memory-backing", "hugetlb"), 0);
	assert_int_equal(cfg.memory_backing, VJ_MEMORY_HUGETLB);
	assert_int_equal(PARSE("--kernel", "/k", "--memory-backing", "thp"), 0);
	assert_int_equal(cfg.memory_backing, VJ_MEMORY_THP);
	assert_int_equal(PARSE("--kernel", "/k", "--memory-backing", "memfd"), -EINVAL);
	assert_non_null(strstr(err.msg, "--memory-backing"));
	assert_non_null(strstr(err.msg, "memfd"));
	assert_int_equal(PARSE("--kernel", "/k", "--memory-backing", "THP"), -EINVAL);
}

static void memory_backing_names_round_trip(void **state)
{
	enum vj_memory_backing b;
	(void)state;
	for (int i = VJ_MEMORY_THP; i <= VJ_MEMORY_HUGETLB; i++) {
		assert_int_equal(vj_memory_backing_parse(vj_memory_backing_name(i), &b), 0);
		assert_int_equal(b, i);
	}
	assert_string_equal(vj_memory_backing_name((enum vj_memory_backing)7), "unknown");
	assert_int_equal(vj_memory_backing_parse("", &b), -EINVAL);
}

/* The format of /sys/kernel/mm/transparent_hugepage/enabled: the mode in
 * force in brackets; anything else is unknown, never a guess. */
static void thp_mode_is_the_bracketed_word(void **state)
{
	(void)state;
	assert_int_equal(vj_thp_mode_parse("[always] madvise never\n"), VJ_THP_ALWAYS);
	assert_int_equal(vj_thp_mode_parse("always [madvise] never\n"), VJ_THP_MADVISE);
	assert_int_equal(vj_thp_mode_parse("always madvise [never]\n"), VJ_THP_NEVER);
	assert_int_equal(vj_thp_mode_parse("always madvise never\n"), VJ_THP_UNKNOWN);
	assert_int_equal(vj_thp_mode_parse("always [madvis"), VJ_THP_UNKNOWN);
	assert_int_equal(vj_thp_mode_parse("[alwaysx] madvise never"), VJ_THP_UNKNOWN);
	assert_int_equal(vj_thp_mode_parse("[unknown]"), VJ_THP_UNKNOWN);
	assert_int_equal(vj_thp_mode_parse("[]"), VJ_THP_UNKNOWN);
	assert_int_equal(vj_thp_mode_parse(""), VJ_THP_UNKNOWN);
	assert_string_equal(vj_thp_mode_name(VJ_THP_MADVISE), "madvise");
	assert_string_equal(vj_thp_mode_name((enum vj_thp_mode)9), "unknown");
}

static void memfd_round_trip(void **state)
{
	struct vj_vm_config a, b;
	char fdarg[16];
	int fd;
	(void)state;

	vj_config_init(&a);
	strcpy(a.kernel.name, "vmlinux");
	a.kernel.fd = 7;
	a.vcpus = 3;
	a.memory_backing = VJ_MEMORY_HUGETLB;
	a.host_thp = VJ_THP_NEVER;
	fd = vj_config_to_memfd(&a);
	assert_true(fd >= 0);
	/* sealed: the VMM's copy cannot change under it */
	assert_true(write(fd, "x", 1) < 0);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	vj_config_init(&b);
	assert_int_equal(PARSE("--config-fd", fdarg), 0);
	memcpy(&b, &cfg, sizeof(b));
	assert_int_equal(b.vcpus, 3);
	assert_int_equal(b.memory_backing, VJ_MEMORY_HUGETLB);
	assert_int_equal(b.host_thp, VJ_THP_NEVER);
	assert_int_equal(b.kernel.fd, 7);
	assert_string_equal(b.kernel.name, "vmlinux");
}

static void config_fd_excludes_other_flags(void **state)
{
	struct vj_vm_config a;
	char fdarg[16];
	int fd;
	(void)state;

	vj_config_init(&a);
	strcpy(a.kernel.name, "vmlinux");
	fd = vj_config_to_memfd(&a);
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	assert_int_equal(PARSE("--config-fd", fdarg, "--vcpus", "2"), -EINVAL);
	assert_non_null(strstr(err.msg, "--config-fd"));
}

static void config_fd_wrong_size_is_refused(void **state)
{
	char fdarg[16];
	FILE *f = tmpfile();
	(void)state;

	fputs("not a config", f);
	fflush(f);
	snprintf(fdarg, sizeof(fdarg), "%d", dup(fileno(f)));
	fclose(f);
	assert_int_equal(PARSE("--config-fd", fdarg), -EINVAL);
	assert_non_null(strstr(err.msg, "expected"));
}

static void validate_rejects_tampered_configs(void **state)
{
	struct vj_vm_config c;
	(void)state;

	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	assert_int_equal(vj_config_validate(&c, &err), 0);
	c.version = 99;
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version"));
	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	memset(c.cmdline, 'x', sizeof(c.cmdline));
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	c.ndrives = VJ_MAX_DRIVES + 1;
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	c.console = (enum vj_console_kind)9;
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	c.memory_backing = (enum vj_memory_backing)3;
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory backing"));
	vj_config_init(&c);
	strcpy(c.kernel.name, "k");
	c.host_thp = (enum vj_thp_mode)4;
	assert_int_equal(vj_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "THP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_with_only_a_kernel),
		cmocka_unit_test(all_boot_flags_are_taken),
		cmocka_unit_test(missing_kernel_is_named),
		cmocka_unit_test(unknown_option_is_named),
		cmocka_unit_test(missing_value_is_named),
		cmocka_unit_test(vcpus_out_of_range),
		cmocka_unit_test(memory_out_of_range_or_unaligned),
		cmocka_unit_test(cmdline_too_long),
		cmocka_unit_test(drive_options),
		cmocka_unit_test(drive_errors),
		cmocka_unit_test(net_and_vsock_options),
		cmocka_unit_test(net_and_vsock_errors),
		cmocka_unit_test(seccomp_modes),
		cmocka_unit_test(memory_backings),
		cmocka_unit_test(memory_backing_names_round_trip),
		cmocka_unit_test(thp_mode_is_the_bracketed_word),
		cmocka_unit_test(memfd_round_trip),
		cmocka_unit_test(config_fd_excludes_other_flags),
		cmocka_unit_test(config_fd_wrong_size_is_refused),
		cmocka_unit_test(validate_rejects_tampered_configs),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
