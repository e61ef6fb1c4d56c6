#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy.h"

int vj_netns_enter(struct vj_netns *ns, const char *name, struct vj_err *e)
{
	cleanup_fd int host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cleanup_fd int target = -1;
	char path[VJ_NETNS_NAME_MAX + 16];

	ns->host_fd = -1;
	if (host < 0)
		return vj_fail_errno(e, -errno, "open /proc/self/ns/net");
	if (!name[0]) {
		if (unshare(CLONE_NEWNET) < 0)
			return vj_fail_errno(e, -errno, "create a network namespace");
		ns->host_fd = vj_steal_fd(&host);
		return 0;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	target = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return vj_fail_errno(e, -errno, "network namespace \"%s\" (%s)", name, path);
	/* setns() checks that it is a network namespace at all. */
	if (setns(target, CLONE_NEWNET) < 0)
		return vj_fail_errno(e, -errno, "join network namespace \"%s\"", name);
	ns->host_fd = vj_steal_fd(&host);
	return 0;
}

int vj_netns_leave(struct vj_netns *ns, struct vj_err *e)
{
	int r = 0;

	if (ns->host_fd < 0)
		return 0;
	if (setns(ns->host_fd, CLONE_NEWNET) < 0)
		r = vj_fail_errno(e, -errno, "return to the host's network namespace");
	close(ns->host_fd);
	ns->host_fd = -1;
	return r;
}

int vj_netns_is(const char *ns_path, bool *same)
{
	struct stat want, here;

	/* The thread's own: setns() moves threads, not processes. */
	if (stat(ns_path, &want) < 0 || stat("/proc/thread-self/ns/net", &here) < 0)
		return -errno;
	*same = want.st_dev == here.st_dev && want.st_ino == here.st_ino;
	return 0;
}
