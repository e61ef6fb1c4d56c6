#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cleanup.h"
#include "parse.h"

#define PORT_KEY "vmjail.port="

int vj_init_port_from_cmdline(const char *cmdline, uint32_t *port, struct vj_err *err)
{
	const size_t klen = strlen(PORT_KEY);
	const char *p = cmdline;
	uint64_t v = VJ_AGENT_DEFAULT_PORT;

	while (*p) {
		const size_t n = strcspn(p, " \t\n");

		if (n >= klen && !strncmp(p, PORT_KEY, klen)) {
			const size_t vlen = n - klen;
			char value[24];

			if (vlen < sizeof(value)) {
				memcpy(value, p + klen, vlen);
				value[vlen] = '\0';
			}
			if (vlen >= sizeof(value) || vj_parse_u64(value, 1, UINT32_MAX - 1, &v) < 0)
				return vj_fail(err, -EINVAL,
					       "kernel command line: \"%.*s\": not a vsock port",
					       (int)(n > 64 ? 64 : n), p);
		}
		p += n;
		p += strspn(p, " \t\n");
	}
	*port = (uint32_t)v;
	return 0;
}

static int read_cmdline(char *buf, size_t cap, struct vj_err *err)
{
	cleanup_fd int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, cap - 1)) < 0)
		return vj_fail_errno(err, -errno, "read /proc/cmdline");
	buf[n] = '\0';
	return 0;
}

int vj_init_connect_host(struct vj_err *err)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST };
	char cmdline[4096];
	cleanup_fd int fd = -1;
	int r;

	if ((r = read_cmdline(cmdline, sizeof(cmdline), err)) < 0 ||
	    (r = vj_init_port_from_cmdline(cmdline, &addr.svm_port, err)) < 0)
		return r;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return vj_fail_errno(err, -errno, "connect to the host (vsock CID %u, port %u)",
				     VMADDR_CID_HOST, addr.svm_port);
	return vj_steal_fd(&fd);
}

int vj_init_connect_port(const char *unix_prefix, uint32_t port, struct vj_err *err)
{
	struct sockaddr_vm vm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				  .svm_port = port };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	const struct sockaddr *addr = (const struct sockaddr *)&vm;
	socklen_t len = sizeof(vm);
	cleanup_fd int fd = -1;

	if (unix_prefix) {
		if ((size_t)snprintf(un.sun_path, sizeof(un.sun_path), "%s_%u", unix_prefix, port) >=
		    sizeof(un.sun_path))
			return vj_fail(err, -ENAMETOOLONG, "exec socket %s_%u: path too long",
				       unix_prefix, port);
		addr = (const struct sockaddr *)&un;
		len = sizeof(un);
	}
	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, addr, len) < 0)
		return vj_fail_errno(err, -errno, "connect to the host for an exec (port %u)", port);
	return vj_steal_fd(&fd);
}
