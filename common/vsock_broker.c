#include "vsock_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "cleanup.h"
#include "config.h"
#include "parse.h"

#define SOCK_FD 3
#define DIR_FD 4

/*
 * What the broker may do once it serves: receive a request, open the
 * socket file O_PATH relative to its working directory and look at its
 * type (vj_vsock_broker_connect()), make one AF_UNIX stream socket,
 * connect it, send it back, close both. Written as BPF directly so that
 * the VMM, which links no libseccomp, loads the same filter as the
 * launcher; tests/unit/test_jail_broker.c proves every row both ways.
 *
 * A 64-bit argument compared for equality is checked in both halves; the
 * directory of openat() is an int, so only its low half counts (AT_FDCWD
 * however it was extended).
 */
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define KILL RET(SECCOMP_RET_KILL_PROCESS)
#define ARG_LO(i) ((uint32_t)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) (ARG_LO(i) + 4)
/* The system call is nr: allowed. */
#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(SECCOMP_RET_ALLOW)
/* The system call is nr: allowed if the n CHECKs that follow hold, else
 * killed; another call skips them. */
#define ALLOW_IF(nr, n) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 3 * (n) + 1)
#define CHECK(off, val) LD(off), BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(val), 1, 0), KILL
#define ALLOWED RET(SECCOMP_RET_ALLOW)

static const struct sock_filter broker_filter[] = {
	LD(offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	KILL,
	LD(offsetof(struct seccomp_data, nr)),
	/* x32 system calls: the same numbers with this bit set. */
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
	KILL,
	ALLOW(__NR_recvfrom),
	ALLOW_IF(__NR_openat, 3),
		CHECK(ARG_LO(0), AT_FDCWD),
		CHECK(ARG_LO(2), VJ_VSOCK_BROKER_OPEN_FLAGS),
		CHECK(ARG_HI(2), 0),
		ALLOWED,
	/* fstat() of that descriptor (glibc's is fstatat(fd, "", AT_EMPTY_PATH)) */
	ALLOW_IF(__NR_newfstatat, 2),
		CHECK(ARG_LO(3), AT_EMPTY_PATH),
		CHECK(ARG_HI(3), 0),
		ALLOWED,
	ALLOW_IF(__NR_socket, 4),
		CHECK(ARG_LO(0), AF_UNIX),
		CHECK(ARG_HI(0), 0),
		CHECK(ARG_LO(1), VJ_VSOCK_BROKER_CONN_TYPE),
		CHECK(ARG_HI(1), 0),
		ALLOWED,
	ALLOW(__NR_connect),
	ALLOW(__NR_sendmsg),
	ALLOW(__NR_close),
	ALLOW(__NR_exit_group),
	KILL,
};

int vj_vsock_broker_load_filter(void)
{
	struct sock_fprog prog = { .len = VJ_ARRAY_SIZE(broker_filter),
				   .filter = (struct sock_filter *)broker_filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/* Every capability set emptied; the bounding set too where the process
 * may (CAP_SETPCAP): an unprivileged user's broker has nothing in the
 * others to begin with, and NoNewPrivs plus a filter without execve()
 * leave it no way to use the bounding set. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capset, &h, none) < 0)
		return -errno;
	return 0;
}

static _Noreturn void serve(const char *name)
{
	for (;;) {
		struct vj_vsock_broker_request q;
		ssize_t n = recv(SOCK_FD, &q, sizeof(q), 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		/* The VMM is gone. exit_group() itself: a sanitizer's _exit()
		 * would first do what the filter does not allow. */
		if (n <= 0)
			syscall(SYS_exit_group, 0);
		if (n != (ssize_t)sizeof(q))
			continue;
		/* Relative to the working directory: the socket directory. */
		fd = vj_vsock_broker_connect(AT_FDCWD, name, q.port);
		vj_vsock_broker_send_answer(SOCK_FD, q.cookie, fd < 0 ? fd : 0, fd);
		if (fd >= 0)
			close(fd);
	}
}

_Noreturn void vj_vsock_broker_main(int sock, int dirfd, const char *name, pid_t parent,
				    int (*change_ids)(void *arg), void *arg)
{
	int s = fcntl(sock, F_DUPFD_CLOEXEC, 10), d = fcntl(dirfd, F_DUPFD_CLOEXEC, 10);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigset_t none;

	/* Nothing of the parent's stays with the broker but its socket and
	 * the directory; not even stdio, which it never uses: a caller's pipe
	 * held open here would make `$(vmjail run --detach ...)` wait for the
	 * sandbox's end. */
	if (s < 0 || d < 0 || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0 ||
	    dup2(s, SOCK_FD) < 0 || dup2(d, DIR_FD) < 0 || close_range(DIR_FD + 1, ~0u, 0) < 0)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The directory first: once the ids change it may not be searchable. */
	if (fchdir(DIR_FD) < 0 || close(DIR_FD) < 0 || (change_ids && change_ids(arg) < 0) ||
	    drop_capabilities() < 0)
		_exit(1);
	/*
	 * After the id change, which clears the parent-death signal and
	 * leaves the process dumpable when the host's fs.suid_dumpable says
	 * so: a dumpable broker would let any process of its uid into its
	 * /proc/PID/fd and ptrace it. The filter allows no prctl().
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || vj_vsock_broker_load_filter() < 0)
		_exit(1);
	serve(name);
}

int vj_vsock_broker_start(const char *uds_path, int *vmm_end_out, pid_t *pid_out)
{
	cleanup_fd int vmm_end = -1, broker_end = -1, dirfd = -1;
	char dir[VJ_PATH_MAX], name[VJ_PATH_MAX];
	pid_t parent = getpid(), pid;
	int sv[2];

	/* "<name>_<port>" in the socket's directory, opened once. */
	if (vj_strlcpy_checked(dir, uds_path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "%s", basename(dir));
	snprintf(dir, sizeof(dir), "%s", uds_path);
	dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	vmm_end = sv[0];
	broker_end = sv[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		vj_vsock_broker_main(broker_end, dirfd, name, parent, NULL, NULL);
	*vmm_end_out = vj_steal_fd(&vmm_end);
	*pid_out = pid;
	return 0;
}
