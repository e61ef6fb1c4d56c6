#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "netns.h"
#include "parse.h"

/* Checked at the moment of creation, in the thread that creates: a
 * policy without a network namespace of its own, or a named namespace
 * that is the host's, would otherwise put the tap on the host. */
static int check_not_host(const char *name, const char *netns, const char *host_ns,
			  struct vj_err *e)
{
	bool host;
	int r = vj_netns_is(host_ns, &host);

	if (r < 0)
		return vj_fail_errno(e, r, "tap \"%s\": cannot tell whether the sandbox's network "
				     "namespace is the host's (%s)", name, host_ns);
	if (!host)
		return 0;
	if (netns[0])
		return vj_fail(e, -EPERM, "tap \"%s\": network namespace \"%s\" is the host's own "
			       "(that of PID 1); taps are created only in a network namespace of the "
			       "sandbox's", name, netns);
	return vj_fail(e, -EPERM, "tap \"%s\": the sandbox has no network namespace of its own, "
		       "it would be created in the host's (that of PID 1)", name);
}

int vj_tap_create(struct vj_file *f, const char *netns, const char *host_ns, struct vj_err *e)
{
	/* Without IFF_VNET_HDR: the VMM's virtio-net strips and adds the
	 * header itself, so a VMM the guest took over cannot hand the host
	 * kernel checksum or GSO metadata. */
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL };
	cleanup_fd int fd = -1;
	int r;

	/* '%' and "" would have the kernel choose the name: the tap must be
	 * the one the policy names. */
	if (vj_strlcpy_checked(ifr.ifr_name, f->name, sizeof(ifr.ifr_name)) < 0 || !f->name[0] ||
	    strpbrk(f->name, "/:% \t\n\v\f\r"))
		return vj_fail(e, -EINVAL, "tap \"%s\": not an interface name", f->name);
	if ((r = check_not_host(f->name, netns, host_ns, e)) < 0)
		return r;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "open /dev/net/tun for tap \"%s\"", f->name);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
		f->fd = vj_steal_fd(&fd);
		return 0;
	}
	/* IFF_TUN_EXCL: EBUSY whenever the name is taken (EEXIST if it was
	 * taken between the kernel's look-up and its registration). */
	if (errno == EBUSY || errno == EEXIST)
		return vj_fail(e, -EEXIST, "tap \"%s\": an interface of that name already exists in "
			       "%s%s%s; the launcher creates its taps and never attaches to an "
			       "existing interface", f->name,
			       netns[0] ? "network namespace \"" : "the sandbox's network namespace",
			       netns, netns[0] ? "\"" : "");
	return vj_fail_errno(e, -errno, "create tap \"%s\"", f->name);
}
