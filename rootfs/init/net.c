#include "net.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cleanup.h"

static void ipv4(struct sockaddr *sa, const uint8_t a[4])
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	memcpy(&sin.sin_addr, a, 4);
	memcpy(sa, &sin, sizeof(sin));
}

/* After a failed call, while errno is still its. */
static int fail(const char *ifname, const char *step, struct vj_err *err)
{
	return vj_fail_errno(err, -errno, "network %s: %s", ifname, step);
}

static int inet_socket(const char *ifname, struct vj_err *err)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? fail(ifname, "socket", err) : fd;
}

static int if_request(struct ifreq *ifr, const char *ifname, struct vj_err *err)
{
	memset(ifr, 0, sizeof(*ifr));
	if (strlen(ifname) >= sizeof(ifr->ifr_name))
		return vj_fail(err, -ENAMETOOLONG, "network %s: interface name too long", ifname);
	strcpy(ifr->ifr_name, ifname);
	return 0;
}

static int set_flag_up(int fd, const char *ifname, bool up, struct vj_err *err)
{
	struct ifreq ifr;
	int r;

	if ((r = if_request(&ifr, ifname, err)) < 0)
		return r;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return fail(ifname, "get flags", err);
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return fail(ifname, up ? "set it up" : "set it down", err);
	return 0;
}

static int set_up(int fd, const char *ifname, struct vj_err *err)
{
	return set_flag_up(fd, ifname, true, err);
}

int vj_init_net_up(const char *ifname, struct vj_err *err)
{
	cleanup_fd int fd = inet_socket(ifname, err);

	return fd < 0 ? fd : set_up(fd, ifname, err);
}

static int set_address(int fd, const char *ifname, const struct vj_agent_net *net,
		       struct vj_err *err)
{
	const uint32_t mask = net->prefix ? ~0u << (32 - net->prefix) : 0;
	const uint8_t m[4] = { (uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
			       (uint8_t)mask };
	struct ifreq ifr;
	int r;

	if ((r = if_request(&ifr, ifname, err)) < 0)
		return r;
	ipv4(&ifr.ifr_addr, net->addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return fail(ifname, "set address", err);
	ipv4(&ifr.ifr_netmask, m);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return fail(ifname, "set netmask", err);
	return 0;
}

static int add_default_route(int fd, const char *ifname, const uint8_t gw[4], struct vj_err *err)
{
	static const uint8_t any[4];
	char dev[IFNAMSIZ];
	struct rtentry rt = { .rt_flags = RTF_UP | RTF_GATEWAY, .rt_dev = dev };

	snprintf(dev, sizeof(dev), "%s", ifname);
	ipv4(&rt.rt_dst, any);
	ipv4(&rt.rt_genmask, any);
	ipv4(&rt.rt_gateway, gw);
	/* EEXIST: a VM restored from a snapshot has its route already. */
	if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return fail(ifname, "add default route", err);
	return 0;
}

int vj_init_net_configure(const char *ifname, const struct vj_agent_net *net, struct vj_err *err)
{
	static const uint8_t none[4];
	cleanup_fd int fd = inet_socket(ifname, err);
	int r;

	if (fd < 0)
		return fd;
	if ((r = set_address(fd, ifname, net, err)) < 0 ||
	    (r = set_up(fd, ifname, err)) < 0)
		return r;
	if (memcmp(net->gateway, none, 4) &&
	    (r = add_default_route(fd, ifname, net->gateway, err)) < 0)
		return r;
	return 0;
}

int vj_init_net_set_mac(const char *ifname, const uint8_t mac[6], struct vj_err *err)
{
	cleanup_fd int fd = inet_socket(ifname, err);
	struct ifreq ifr;
	int r;

	if (fd < 0)
		return fd;
	if ((r = if_request(&ifr, ifname, err)) < 0)
		return r;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	if (ioctl(fd, SIOCSIFHWADDR, &ifr) == 0)
		return 0;
	/* virtio-net changes a live address; a driver that cannot answers
	 * EBUSY while the interface is up. */
	if (errno != EBUSY)
		return fail(ifname, "set MAC", err);
	if ((r = set_flag_up(fd, ifname, false, err)) < 0)
		return r;
	if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) {
		r = fail(ifname, "set MAC", err);
		set_flag_up(fd, ifname, true, &(struct vj_err){ 0 });
		return r;
	}
	return set_up(fd, ifname, err);
}
