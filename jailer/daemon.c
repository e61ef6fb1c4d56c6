#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch.h"

int vj_daemonize(int *report_fd, int *keep_fd, int *status, struct vj_err *e)
{
	int p[2], st, keep = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return vj_fail_errno(e, -errno, "daemonize: pipe");
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return vj_fail_errno(e, r, "daemonize: fork");
	}
	if (pid > 0) {
		ssize_t n;
		close(p[1]);
		do
			n = read(p[0], &st, sizeof(st));
		while (n < 0 && errno == EINTR);
		close(p[0]);
		/* No report: the daemon died before it could say (it printed why). */
		*status = n == (ssize_t)sizeof(st) ? st : VJ_LAUNCH_FAILED;
		return 1;
	}
	close(p[0]);
	/* Away from the caller's terminal and process group, and holding
	 * nothing of the caller's but stdio (and what it asked to keep): an
	 * inherited pipe kept open would make `$(vmjail run --detach ...)`
	 * wait for the sandbox. The kept one goes above 4 first, out of the
	 * way of the report's descriptor. */
	if (setsid() < 0 || (keep_fd && (keep = fcntl(*keep_fd, F_DUPFD_CLOEXEC, 5)) < 0) ||
	    (p[1] != 3 && dup3(p[1], 3, O_CLOEXEC) < 0) ||
	    (keep >= 0 && dup3(keep, 4, O_CLOEXEC) < 0) ||
	    close_range(keep >= 0 ? 5 : 4, ~0u, 0) < 0) {
		int r = -errno;
		close(p[1]);
		return vj_fail_errno(e, r, "daemonize");
	}
	*report_fd = 3;
	if (keep_fd)
		*keep_fd = 4;
	return 0;
}

void vj_daemon_report(int *report_fd, int status)
{
	cleanup_fd int null = -1;

	if (*report_fd < 0)
		return;
	(void)!write(*report_fd, &status, sizeof(status));
	close(*report_fd);
	*report_fd = -1;
	if (status != 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int k = 0; null >= 0 && k < 3; k++)
		dup2(null, k);
}

void vj_daemon_report_keep_stdio(int *report_fd)
{
	const int status = 0;

	if (*report_fd < 0)
		return;
	(void)!write(*report_fd, &status, sizeof(status));
	close(*report_fd);
	*report_fd = -1;
}

int vj_pidfile_write(const char *path, int pid, bool newline, struct vj_err *e)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	char buf[24];
	int n = snprintf(buf, sizeof(buf), newline ? "%d\n" : "%d", pid);

	if (fd < 0)
		return vj_fail_errno(e, -errno, "pid file %s", path);
	if (write(fd, buf, (size_t)n) != n)
		return vj_fail_errno(e, errno ? -errno : -EIO, "write pid file %s", path);
	return 0;
}
