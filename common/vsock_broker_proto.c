#include "vsock_broker_proto.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cleanup.h"

void vj_vsock_broker_send_answer(int sock, uint32_t cookie, int error, int fd)
{
	struct vj_vsock_broker_answer a = { .cookie = cookie, .error = error };
	struct iovec iov = { &a, sizeof(a) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (error == 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &fd, sizeof(int));
	}
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

int vj_vsock_broker_connect(int dirfd, const char *name, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char file[NAME_MAX + 1];
	cleanup_fd int path_fd = -1, fd = -1;
	struct stat st;

	if ((size_t)snprintf(file, sizeof(file), "%s_%u", name, port) >= sizeof(file))
		return -ENAMETOOLONG;
	path_fd = openat(dirfd, file, VJ_VSOCK_BROKER_OPEN_FLAGS);
	if (path_fd < 0)
		return -errno;
	if (fstat(path_fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ECONNREFUSED;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", path_fd);
	fd = socket(AF_UNIX, VJ_VSOCK_BROKER_CONN_TYPE, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return vj_steal_fd(&fd);
}
