/*
 * The launcher's taps (jailer/tap.c), created for real in a network
 * namespace of the test's own; the namespace the test started in plays
 * the host's. Needs root and /dev/net/tun (each test skips otherwise).
 */
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "unit.h"
#include "tap.h"

static bool usable;
static char host_ns[64]; /* the namespace the test started in */

static int group_setup(void **state)
{
	int fd;

	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0)
		return 0;
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(host_ns, sizeof(host_ns), "/proc/self/fd/%d", fd);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	usable = true;
	return 0;
}

#define NEEDS_TUN      \
	(void)state;   \
	if (!usable)   \
		skip()

static struct vj_file tap_named(const char *name)
{
	struct vj_file f = { .fd = -1 };

	snprintf(f.name, sizeof(f.name), "%s", name);
	return f;
}

/* A persistent tap owned by another user, as `ip tuntap add ... user
 * 65534` makes it: with its packet-information header, no vnet header. */
static void persistent_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETOWNER, 65534), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

static void remove_persistent_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
}

/* The tun part of `ip -d link show NAME`: type, pi, vnet_hdr, persist,
 * owner. */
static void tun_details(const char *name, char *out, size_t len)
{
	char cmd[128], line[1024], *at;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip -d -o link show %s 2>/dev/null", name);
	p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (fgets(line, sizeof(line), p) && (at = strstr(line, "tun type"))) {
		char *end = strstr(at, " addrgenmode");
		if (end)
			*end = '\0';
		snprintf(out, len, "%s", at);
	}
	pclose(p);
}

static void tap_is_created_new_without_a_virtio_net_header(void **state)
{
	struct vj_file f = tap_named("vjn0");
	struct ifreq ifr = { 0 };
	struct vj_err e;

	NEEDS_TUN;
	assert_int_equal(vj_tap_create(&f, "", host_ns, &e), 0);
	assert_int_equal(ioctl(f.fd, TUNGETIFF, &ifr), 0);
	assert_string_equal(ifr.ifr_name, "vjn0");
	assert_int_equal(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST),
			 IFF_TAP | IFF_NO_PI);
	assert_true(fcntl(f.fd, F_GETFL) & O_NONBLOCK);
	close(f.fd);
	assert_int_equal(if_nametoindex("vjn0"), 0); /* gone with its descriptor */
}

static void existing_tap_is_refused_and_left_alone(void **state)
{
	struct vj_file f = tap_named("vjn1");
	char before[256], after[256];
	struct vj_err e;

	NEEDS_TUN;
	persistent_tap("vjn1");
	tun_details("vjn1", before, sizeof(before));
	assert_string_equal(before, "tun type tap pi on vnet_hdr off persist on user nobody");
	assert_int_equal(vj_tap_create(&f, "", host_ns, &e), -EEXIST);
	assert_string_equal(e.msg, "tap \"vjn1\": an interface of that name already exists in the "
			    "sandbox's network namespace; the launcher creates its taps and never "
			    "attaches to an existing interface");
	assert_int_equal(f.fd, -1);
	tun_details("vjn1", after, sizeof(after));
	assert_string_equal(after, before);
	remove_persistent_tap("vjn1");
}

static void existing_interface_of_another_kind_is_refused(void **state)
{
	struct vj_file f = tap_named("lo");
	struct vj_err e;

	NEEDS_TUN;
	assert_int_equal(vj_tap_create(&f, "ci-net", host_ns, &e), -EEXIST);
	assert_string_equal(e.msg, "tap \"lo\": an interface of that name already exists in "
			    "network namespace \"ci-net\"; the launcher creates its taps and never "
			    "attaches to an existing interface");
}

static void tap_in_the_hosts_namespace_is_refused(void **state)
{
	struct vj_file f = tap_named("vjn2");
	struct vj_err e;

	NEEDS_TUN;
	/* Here, the test's own namespace plays the host's. */
	assert_int_equal(vj_tap_create(&f, "", "/proc/thread-self/ns/net", &e), -EPERM);
	assert_string_equal(e.msg, "tap \"vjn2\": the sandbox has no network namespace of its own, "
			    "it would be created in the host's (that of PID 1)");
	assert_int_equal(if_nametoindex("vjn2"), 0);
}

static void named_namespace_that_is_the_hosts_is_refused(void **state)
{
	struct vj_file f = tap_named("vjn2");
	struct vj_err e;

	NEEDS_TUN;
	assert_int_equal(vj_tap_create(&f, "shared", "/proc/thread-self/ns/net", &e), -EPERM);
	assert_string_equal(e.msg, "tap \"vjn2\": network namespace \"shared\" is the host's own "
			    "(that of PID 1); taps are created only in a network namespace of the "
			    "sandbox's");
	assert_int_equal(if_nametoindex("vjn2"), 0);
}

static void host_namespace_that_cannot_be_looked_at_fails_closed(void **state)
{
	struct vj_file f = tap_named("vjn2");
	struct vj_err e;

	NEEDS_TUN;
	assert_int_equal(vj_tap_create(&f, "", "/proc/no-such-ns", &e), -ENOENT);
	assert_string_equal(e.msg, "tap \"vjn2\": cannot tell whether the sandbox's network "
			    "namespace is the host's (/proc/no-such-ns): No such file or directory");
	assert_int_equal(if_nametoindex("vjn2"), 0);
}

static void names_the_kernel_would_choose_are_refused(void **state)
{
	struct vj_file pattern = tap_named("vj%d"), empty = tap_named("");
	struct vj_err e;

	NEEDS_TUN;
	assert_int_equal(vj_tap_create(&pattern, "", host_ns, &e), -EINVAL);
	assert_string_equal(e.msg, "tap \"vj%d\": not an interface name");
	assert_int_equal(vj_tap_create(&empty, "", host_ns, &e), -EINVAL);
	assert_int_equal(if_nametoindex("vj0"), 0);
	assert_int_equal(if_nametoindex("tap0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tap_is_created_new_without_a_virtio_net_header),
		cmocka_unit_test(existing_tap_is_refused_and_left_alone),
		cmocka_unit_test(existing_interface_of_another_kind_is_refused),
		cmocka_unit_test(tap_in_the_hosts_namespace_is_refused),
		cmocka_unit_test(named_namespace_that_is_the_hosts_is_refused),
		cmocka_unit_test(host_namespace_that_cannot_be_looked_at_fails_closed),
		cmocka_unit_test(names_the_kernel_would_choose_are_refused),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
