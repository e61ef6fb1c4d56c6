/*
 * jail-probe: a test-only stand-in for vmjail-vmm, started by `vmjail run
 * --test-exec` inside the same jail, with the same fds and argv. It reports
 * what it finds and tries to get out; the jail tests check every answer.
 * Linked statically (the jail has no loader) and without sanitizers.
 *
 * usage: jail-probe --config-fd N [--seccomp vmm|vcpu] ACTION [ARG]
 * (actions: see run() below)
 *
 * Each line it prints is "ACTION: RESULT", where RESULT is an errno name
 * (ENOENT...) for an attempt that failed, or "ALLOWED" when it did not.
 * With --seccomp it first loads that thread kind's VMM filter (enforcing)
 * and prints "seccomp: on", so that a SIGSYS death is told apart from an
 * earlier failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "config.h"
#include "vmm_ctl.h"
#include "seccomp.h"

static struct vj_vm_config cfg;

static int report(const char *action, int r)
{
	printf("%s: %s\n", action, r < 0 ? strerrorname_np(errno) : "ALLOWED");
	fflush(stdout);
	return 0;
}

/* Ignores SIGTERM: the launcher must fall back to SIGKILL. */
static __attribute__((noreturn)) int act_ignore_term(void)
{
	signal(SIGTERM, SIG_IGN);
	printf("ignore-term: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int act_wait(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("wait: ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	printf("wait: stopped by signal %d\n", sig);
	return 0;
}

/*
 * "STATUS,MS": what a VMM does at its end (VJ_VMM_CTL_EVENT_ENDED), then
 * MS of exiting, as KVM's teardown of a VM takes: a launcher that tears
 * down behind its caller returns STATUS while this process still runs.
 * A VMM's exit in the kernel goes on whatever kills it, the launcher's
 * parent-death signal included; this stand-in lingers in user space, so
 * it drops that signal to linger all the same.
 */
static int act_end_linger(const char *arg)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = VJ_VMM_CTL_EVENT_ENDED };
	int status = 0, ms = 0;

	if (!arg || sscanf(arg, "%d,%d", &status, &ms) != 2 || cfg.control.fd < 0 ||
	    prctl(PR_SET_PDEATHSIG, 0) < 0)
		return 2;
	printf("end-linger: %d\n", status);
	fflush(stdout);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	m.status = status;
	if (write(cfg.control.fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		return 2;
	usleep((useconds_t)ms * 1000);
	return status;
}

/* The fd table as the program found it at start: the test compares it
 * with the configuration's descriptors. */
static char fds_at_start[4096];

static void note_fds(void)
{
	size_t n = 0;

	for (int fd = 0; fd < 1024 && n < sizeof(fds_at_start) - 16; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n += (size_t)snprintf(fds_at_start + n, sizeof(fds_at_start) - n, " %d", fd);
}

static int act_fds(const char *config_fd)
{
	printf("fds:%s\n", fds_at_start);
	printf("config-fds: kvm=%d kernel=%d initrd=%d console=%d control=%d config=%s\n",
	       cfg.kvm.fd, cfg.kernel.fd, cfg.initrd.fd, cfg.console_file.fd, cfg.control.fd,
	       config_fd);
	return 0;
}

static int act_root(void)
{
	DIR *d = opendir("/");
	struct dirent *de;
	int n = 0;

	if (!d)
		return report("root", -1);
	printf("root:");
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			printf(" %s", de->d_name);
			n++;
		}
	printf("%s\n", n ? "" : " (empty)");
	closedir(d);
	return 0;
}

static int act_ids(void)
{
	printf("ids: uid=%d gid=%d groups=%d\n", (int)getuid(), (int)getgid(), getgroups(0, NULL));
	return 0;
}

/* The passed /dev/kvm descriptor is usable: a VM can be created. */
static int act_kvm(void)
{
	int api = ioctl(cfg.kvm.fd, KVM_GET_API_VERSION, 0);
	int vm = ioctl(cfg.kvm.fd, KVM_CREATE_VM, 0);

	printf("kvm: api=%d vm=%s\n", api, vm >= 0 ? "created" : strerrorname_np(errno));
	return 0;
}

static int act_socket_inet(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80),
				  .sin_addr = { htonl(0x01010101) } };

	report("socket-inet", fd);
	if (fd >= 0)
		report("connect-inet", connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	return 0;
}

static int act_cap_raise(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { ~0u, ~0u, ~0u }, { ~0u, ~0u, ~0u } };

	report("capset", (int)syscall(SYS_capset, &h, d));
	report("ambient-raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
	report("setuid-0", setuid(0));
	return 0;
}

/* Forks children that wait, until a fork fails; prints how many. */
static int act_pids(void)
{
	int n = 0;

	for (;;) {
		pid_t pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0)
			break;
		n++;
	}
	printf("pids: forked %d, then %s\n", n, strerrorname_np(errno));
	kill(-1, SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}

/* Touches size MiB; the cgroup's limit kills it before the host notices. */
static int act_memory(const char *arg)
{
	size_t size = (size_t)strtoul(arg ? arg : "0", NULL, 10) << 20;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return report("memory", -1);
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	printf("memory: touched %zu MiB\n", size >> 20);
	return 0;
}

/* Signals it was started with ignored or blocked: "none", or their numbers. */
static int act_signals(void)
{
	sigset_t blocked;
	int n = 0;

	printf("signals: ignored=");
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			printf("%s%d", n++ ? "," : "", s);
	}
	printf("%s blocked=", n ? "" : "none");
	n = 0;
	sigprocmask(SIG_SETMASK, NULL, &blocked);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&blocked, s) == 1)
			printf("%s%d", n++ ? "," : "", s);
	printf("%s\n", n ? "" : "none");
	return 0;
}

static int run(const char *action, const char *arg, const char *config_fd)
{
	if (!strcmp(action, "wait"))
		return act_wait();
	if (!strcmp(action, "ignore-term"))
		return act_ignore_term();
	if (!strcmp(action, "exit"))
		return arg ? atoi(arg) : 0;
	if (!strcmp(action, "end-linger"))
		return act_end_linger(arg);
	if (!strcmp(action, "fds"))
		return act_fds(config_fd);
	if (!strcmp(action, "root"))
		return act_root();
	if (!strcmp(action, "ids"))
		return act_ids();
	if (!strcmp(action, "kvm"))
		return act_kvm();
	if (!strcmp(action, "open-host"))
		return report("open-host", open(arg ? arg : "/etc/passwd", O_RDONLY));
	if (!strcmp(action, "write-root"))
		return report("write-root", open("/escape", O_WRONLY | O_CREAT, 0644));
	if (!strcmp(action, "mknod"))
		return report("mknod", mknod("/kvm", S_IFCHR | 0666, makedev(10, 232)));
	if (!strcmp(action, "exec")) {
		char *argv[] = { "sh", NULL };
		return report("exec", execve(arg ? arg : "/bin/sh", argv, NULL));
	}
	if (!strcmp(action, "socket-inet"))
		return act_socket_inet();
	if (!strcmp(action, "ptrace"))
		return report("ptrace", (int)ptrace(PTRACE_ATTACH, arg ? atoi(arg) : 1, NULL, NULL));
	if (!strcmp(action, "kill-host"))
		return report("kill-host", kill(arg ? atoi(arg) : 1, 0));
	if (!strcmp(action, "mount"))
		return report("mount", mount("none", "/", "tmpfs", 0, NULL));
	if (!strcmp(action, "umount"))
		return report("umount", umount2("/", MNT_DETACH));
	if (!strcmp(action, "chroot"))
		return report("chroot", chroot("/"));
	if (!strcmp(action, "cap-raise"))
		return act_cap_raise();
	if (!strcmp(action, "pids"))
		return act_pids();
	if (!strcmp(action, "memory"))
		return act_memory(arg);
	if (!strcmp(action, "signals"))
		return act_signals();
	fprintf(stderr, "jail-probe: unknown action %s\n", action);
	return 2;
}

int main(int argc, char **argv)
{
	struct vj_err err;
	int i;

	if (argc < 4 || strcmp(argv[1], "--config-fd")) {
		fprintf(stderr, "usage: jail-probe --config-fd N [--seccomp vmm|vcpu] ACTION [ARG]\n");
		return 2;
	}
	note_fds();
	vj_config_init(&cfg);
	if (vj_config_from_fd(atoi(argv[2]), &cfg, &err) < 0) {
		fprintf(stderr, "jail-probe: %s\n", err.msg);
		return 2;
	}
	i = 3;
	if (argc > i + 1 && !strcmp(argv[i], "--seccomp")) {
		enum vj_thread_kind kind = strcmp(argv[i + 1], "vcpu") ? VJ_THREAD_VMM : VJ_THREAD_VCPU;
		/* Print first: a buffered line would die with the process. */
		printf("seccomp: on\n");
		fflush(stdout);
		if (vj_seccomp_apply(kind, VJ_SECCOMP_ENFORCE) < 0) {
			fprintf(stderr, "jail-probe: seccomp failed\n");
			return 2;
		}
		i += 2;
	}
	if (i >= argc)
		return 2;
	return run(argv[i], i + 1 < argc ? argv[i + 1] : NULL, argv[2]);
}
