#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cleanup.h"
#include "parse.h"

#define PORT_KEY "vmjail.port="

int vj_init_port_from_cmdline(const char *cmdline, uint32_t *port, char *why, size_t whylen)
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
			if (vlen >= sizeof(value) || vj_parse_u64(value, 1, UINT32_MAX - 1, &v) < 0) {
				snprintf(why, whylen, "kernel command line: \"%.*s\": not a vsock port",
					 (int)(n > 64 ? 64 : n), p);
				return -EINVAL;
			}
		}
		p += n;
		p += strspn(p, " \t\n");
	}
	*port = (uint32_t)v;
	return 0;
}

static int read_cmdline(char *buf, size_t cap, char *why, size_t whylen)
{
	cleanup_fd int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, cap - 1)) < 0) {
		snprintf(why, whylen, "read /proc/cmdline: %s", strerror(errno));
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

int vj_init_connect_host(char *why, size_t whylen)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST };
	char cmdline[4096];
	cleanup_fd int fd = -1;
	int r;

	if ((r = read_cmdline(cmdline, sizeof(cmdline), why, whylen)) < 0 ||
	    (r = vj_init_port_from_cmdline(cmdline, &addr.svm_port, why, whylen)) < 0)
		return r;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(why, whylen, "connect to the host (vsock CID %u, port %u): %s",
			 VMADDR_CID_HOST, addr.svm_port, strerror(errno));
		return -errno;
	}
	return vj_steal_fd(&fd);
}
