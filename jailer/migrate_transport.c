#include "migrate_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

bool vj_migrate_endpoint_ok(const char *s, bool receiving)
{
	if (!strncmp(s, "unix:", 5))
		return s[5] != '\0';
	if (!strncmp(s, "tcp:", 4))
		return strrchr(s + 4, ':') != NULL;
	if (receiving)
		return !strcmp(s, "stdio");
	return !strncmp(s, "exec:", 5) && s[5] != '\0';
}

static int unix_addr(const char *path, struct sockaddr_un *sa, struct vj_err *e)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return vj_fail(e, -ENAMETOOLONG, "unix:%s: path too long for a socket", path);
	strcpy(sa->sun_path, path);
	return 0;
}

/* "HOST:PORT" (HOST may be [v6]) into getaddrinfo's results. */
static int resolve(const char *hostport, bool passive, struct addrinfo **out, struct vj_err *e)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = passive ? AI_PASSIVE : 0 };
	int r;

	if (!colon || !colon[1])
		return vj_fail(e, -EINVAL, "tcp:%s: expected tcp:HOST:PORT", hostport);
	hl = (size_t)(colon - hostport);
	if (hl >= 2 && hostport[0] == '[' && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return vj_fail(e, -EINVAL, "tcp:%s: host name too long", hostport);
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	r = getaddrinfo(hl ? host : NULL, colon + 1, &hints, out);
	if (r)
		return vj_fail(e, -EHOSTUNREACH, "tcp:%s: %s", hostport, gai_strerror(r));
	return 0;
}

static bool loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static int tcp_socket(const char *hostport, bool insecure, bool listening, struct vj_err *e)
{
	struct addrinfo *ai = NULL;
	int fd = -1, r;

	if ((r = resolve(hostport, listening, &ai, e)) < 0)
		return r;
	r = -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		if (!insecure && !loopback(a->ai_addr)) {
			r = vj_fail(e, -EPERM, "tcp:%s: not a loopback address, and plain TCP is "
				    "neither encrypted nor authenticated: use exec:ssh ..., or say "
				    "--insecure", hostport);
			continue;
		}
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = vj_fail_errno(e, -errno, "tcp:%s: socket", hostport);
			continue;
		}
		if (listening) {
			const int one = 1;
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0)
				break;
		} else if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			break;
		}
		r = vj_fail_errno(e, -errno, "tcp:%s: %s", hostport, listening ? "listen" : "connect");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd >= 0 ? fd : r;
}

static int exec_stream(const char *command, pid_t *child, struct vj_err *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vj_fail_errno(e, -errno, "exec:%s: socketpair", command);
	*child = fork();
	if (*child < 0) {
		close(sv[0]);
		close(sv[1]);
		return vj_fail_errno(e, -errno, "exec:%s: fork", command);
	}
	if (*child == 0) {
		/* The command's stdin and stdout are the stream; its stderr
		 * stays ours, for ssh's own messages. */
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

int vj_migrate_connect(const char *dest, bool insecure, pid_t *child, struct vj_err *e)
{
	*child = 0;
	if (!strncmp(dest, "unix:", 5) && dest[5]) {
		struct sockaddr_un sa;
		int fd, r;
		if ((r = unix_addr(dest + 5, &sa, e)) < 0)
			return r;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return vj_fail_errno(e, -errno, "%s: socket", dest);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = -errno;
			close(fd);
			return vj_fail_errno(e, r, "%s: connect", dest);
		}
		return fd;
	}
	if (!strncmp(dest, "tcp:", 4))
		return tcp_socket(dest + 4, insecure, false, e);
	if (!strncmp(dest, "exec:", 5) && dest[5])
		return exec_stream(dest + 5, child, e);
	return vj_fail(e, -EINVAL, "\"%s\": expected unix:PATH, tcp:HOST:PORT or exec:COMMAND",
		       dest);
}

static int accept_one(int lfd, const char *src, int timeout_ms, struct vj_err *e)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms), fd;

	if (r == 0)
		return vj_fail(e, -ETIMEDOUT, "%s: no source connected within %d s", src,
			       timeout_ms / 1000);
	if (r < 0)
		return vj_fail_errno(e, -errno, "%s: poll", src);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? vj_fail_errno(e, -errno, "%s: accept", src) : fd;
}

/* stdio: the VMM wants one descriptor for both ways; a child copies
 * between it and our stdin/stdout until either side ends. */
static int stdio_stream(pid_t *child, struct vj_err *e)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vj_fail_errno(e, -errno, "stdio: socketpair");
	*child = fork();
	if (*child < 0)
		return vj_fail_errno(e, -errno, "stdio: fork");
	if (*child == 0) {
		static char buf[1 << 16];
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = sv[1], .events = POLLIN } };
		close(sv[0]);
		for (;;) {
			if (poll(p, 2, -1) < 0)
				_exit(1);
			for (int i = 0; i < 2; i++) {
				int to = i == 0 ? sv[1] : 1;
				ssize_t n;
				if (!p[i].revents)
					continue;
				n = read(p[i].fd, buf, sizeof(buf));
				if (n <= 0)
					_exit(0);
				for (ssize_t off = 0, w; off < n; off += w)
					if ((w = write(to, buf + off, (size_t)(n - off))) <= 0)
						_exit(0);
			}
		}
	}
	close(sv[1]);
	return sv[0];
}

int vj_migrate_accept(const char *src, bool insecure, int timeout_ms, pid_t *child,
		      struct vj_err *e)
{
	cleanup_fd int lfd = -1;

	*child = 0;
	if (!strcmp(src, "stdio"))
		return stdio_stream(child, e);
	if (!strncmp(src, "unix:", 5) && src[5]) {
		struct sockaddr_un sa;
		int r;
		if ((r = unix_addr(src + 5, &sa, e)) < 0)
			return r;
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			return vj_fail_errno(e, -errno, "%s: socket", src);
		/* Only its owner may connect while it waits. */
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(src + 5, 0600) < 0 ||
		    listen(lfd, 1) < 0)
			return vj_fail_errno(e, -errno, "%s: listen", src);
		r = accept_one(lfd, src, timeout_ms, e);
		unlink(src + 5);
		return r;
	}
	if (!strncmp(src, "tcp:", 4)) {
		lfd = tcp_socket(src + 4, insecure, true, e);
		if (lfd < 0)
			return lfd;
		return accept_one(lfd, src, timeout_ms, e);
	}
	return vj_fail(e, -EINVAL, "\"%s\": expected unix:PATH, tcp:HOST:PORT or stdio", src);
}
