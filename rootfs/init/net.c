#include "net.h"

#include <errno.h>
#include <net/if.h>
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

static int fail(const char *ifname, const char *step, char *why, size_t whylen)
{
	int r = -errno;

	snprintf(why, whylen, "network %s: %s: %s", ifname, step, strerror(errno));
	return r;
}

static int inet_socket(const char *ifname, char *why, size_t whylen)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? fail(ifname, "socket", why, whylen) : fd;
}

static int if_request(struct ifreq *ifr, const char *ifname, char *why, size_t whylen)
{
	memset(ifr, 0, sizeof(*ifr));
	if (strlen(ifname) >= sizeof(ifr->ifr_name)) {
		snprintf(why, whylen, "network %s: interface name too long", ifname);
		return -ENAMETOOLONG;
	}
	strcpy(ifr->ifr_name, ifname);
	return 0;
}

static int set_up(int fd, const char *ifname, char *why, size_t whylen)
{
	struct ifreq ifr;
	int r;

	if ((r = if_request(&ifr, ifname, why, whylen)) < 0)
		return r;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return fail(ifname, "get flags", why, whylen);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return fail(ifname, "set it up", why, whylen);
	return 0;
}

int vj_init_net_up(const char *ifname, char *why, size_t whylen)
{
	cleanup_fd int fd = inet_socket(ifname, why, whylen);

	return fd < 0 ? fd : set_up(fd, ifname, why, whylen);
}

static int set_address(int fd, const char *ifname, const struct vj_agent_net *net, char *why,
		       size_t whylen)
{
	const uint32_t mask = net->prefix ? ~0u << (32 - net->prefix) : 0;
	const uint8_t m[4] = { (uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
			       (uint8_t)mask };
	struct ifreq ifr;
	int r;

	if ((r = if_request(&ifr, ifname, why, whylen)) < 0)
		return r;
	ipv4(&ifr.ifr_addr, net->addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return fail(ifname, "set address", why, whylen);
	ipv4(&ifr.ifr_netmask, m);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return fail(ifname, "set netmask", why, whylen);
	return 0;
}

static int add_default_route(int fd, const char *ifname, const uint8_t gw[4], char *why,
			     size_t whylen)
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
		return fail(ifname, "add default route", why, whylen);
	return 0;
}

int vj_init_net_configure(const char *ifname, const struct vj_agent_net *net, char *why,
			  size_t whylen)
{
	static const uint8_t none[4];
	cleanup_fd int fd = inet_socket(ifname, why, whylen);
	int r;

	if (fd < 0)
		return fd;
	if ((r = set_address(fd, ifname, net, why, whylen)) < 0 ||
	    (r = set_up(fd, ifname, why, whylen)) < 0)
		return r;
	if (memcmp(net->gateway, none, 4) &&
	    (r = add_default_route(fd, ifname, net->gateway, why, whylen)) < 0)
		return r;
	return 0;
}
