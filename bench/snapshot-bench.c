/*
 * Resuming a snapshot against booting, with a freestanding test guest
 * (vmm/SNAPSHOT.md): exec of vmjail-vmm to the guest's first byte of
 * serial output, cold (`vjtest=flood`, which writes bytes from its first
 * instruction on) and restored from a snapshot of the same guest taken
 * mid-flood (which goes on writing the moment its vCPU runs); the time a
 * snapshot takes and the data in its memory file. Medians, side by side;
 * never passes or fails on time.
 *
 *   snapshot-bench [-n RUNS] [-m MIB] BUILD_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "vmm_ctl.h"

#define MAX_RUNS 200
#define RUN_TIMEOUT_MS 60000

static char vmm[512], guest[512], mib[16] = "256", size[20] = "256M";

/* Spawns argv, stdout on *out, a control channel as fd 3 (ctl: the other
 * end) when ctl is not NULL. */
static pid_t spawn(char *const argv[], int *out, int *ctl)
{
	int o[2], sv[2] = { -1, -1 };
	pid_t pid;

	if (pipe2(o, O_CLOEXEC) < 0 ||
	    (ctl && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 2);
		dup2(o[1], 1);
		if (ctl)
			dup2(sv[1], 3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	*out = o[0];
	if (ctl) {
		close(sv[1]);
		*ctl = sv[0];
	}
	return pid;
}

/* ms from t0 to the first byte on fd; -1 if none came. */
static double first_byte(int fd, double t0)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, RUN_TIMEOUT_MS) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return (bench_now_ns() - t0) / 1e6;
}

static void end(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	close(fd);
	waitpid(pid, NULL, 0);
}

static int request(int ctl, uint32_t op, const int *fds, unsigned nfds)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .seq = op };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd p = { .fd = ctl, .events = POLLIN };

	if (nfds) {
		struct cmsghdr *h;
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		h = CMSG_FIRSTHDR(&mh);
		*h = (struct cmsghdr){ .cmsg_len = CMSG_LEN(nfds * sizeof(int)),
				       .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS };
		memcpy(CMSG_DATA(h), fds, nfds * sizeof(int));
	}
	if (sendmsg(ctl, &mh, 0) != (ssize_t)sizeof(m))
		return -errno;
	while (poll(&p, 1, RUN_TIMEOUT_MS) == 1) {
		if (read(ctl, &m, sizeof(m)) != (ssize_t)sizeof(m))
			return -EPROTO;
		if (m.op == VJ_VMM_CTL_REPLY && m.seq == op)
			return m.status;
	}
	return -ETIMEDOUT;
}

/* Drains fd until it has been quiet for ms. */
static void drain(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[65536];

	while (poll(&p, 1, ms) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The guest flooding its serial port, paused, snapshotted into dir. */
static int take(const char *dir, double *ms, long long *data_kib)
{
	char *argv[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=flood vjloops=1000000000000",
			 "--memory", size, "--console", "stdout", "--console-limit", "0",
			 "--control-fd", "3", NULL };
	char path[600];
	int out, ctl, fds[2], r;
	struct stat st;
	double t0;
	pid_t pid = spawn(argv, &out, &ctl);

	if (pid < 0 || first_byte(out, bench_now_ns()) < 0)
		return -1;
	drain(out, 0);
	if ((r = request(ctl, VJ_VMM_CTL_PAUSE, NULL, 0)) < 0) {
		end(pid, out);
		return r;
	}
	drain(out, 100);
	snprintf(path, sizeof(path), "%s/state", dir);
	fds[0] = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	snprintf(path, sizeof(path), "%s/memory", dir);
	fds[1] = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	t0 = bench_now_ns();
	r = request(ctl, VJ_VMM_CTL_SNAPSHOT, fds, 2);
	*ms = (bench_now_ns() - t0) / 1e6;
	*data_kib = fstat(fds[1], &st) == 0 ? (long long)st.st_blocks / 2 : -1;
	close(fds[0]);
	close(fds[1]);
	close(ctl);
	end(pid, out);
	return r;
}

static double run_once(char *const argv[])
{
	double t0 = bench_now_ns(), ms;
	int out;
	pid_t pid = spawn(argv, &out, NULL);

	if (pid < 0)
		return -1;
	ms = first_byte(out, t0);
	end(pid, out);
	return ms;
}

int main(int argc, char **argv)
{
	static double cold[MAX_RUNS], warm[MAX_RUNS];
	char dir[] = "/tmp/vj-snapshot-bench.XXXXXX", path[600];
	int runs = 10, opt;
	double snap_ms = 0;
	long long kib = 0;

	while ((opt = getopt(argc, argv, "n:m:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 'm')
			snprintf(mib, sizeof(mib), "%s", optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: snapshot-bench [-n RUNS] [-m MIB] BUILD_DIR\n");
		return 2;
	}
	snprintf(size, sizeof(size), "%sM", mib); /* the VMM's sizes: bytes, or a suffix */
	snprintf(vmm, sizeof(vmm), "%s/vmjail-vmm", argv[optind]);
	snprintf(guest, sizeof(guest), "%s/tests/guest/testguest.elf", argv[optind]);
	if (!mkdtemp(dir) || take(dir, &snap_ms, &kib) < 0) {
		fprintf(stderr, "snapshot-bench: could not take the snapshot\n");
		return 1;
	}
	{
		char *boot[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=flood", "--memory", size,
				 "--console", "stdout", NULL };
		char *restore[] = { vmm, "--restore", dir, "--memory", size, "--console", "stdout",
				    "--console-limit", "0", NULL };
		for (int i = 0; i < runs; i++) {
			cold[i] = run_once(boot);
			warm[i] = run_once(restore);
			if (cold[i] < 0 || warm[i] < 0) {
				fprintf(stderr, "snapshot-bench: run %d gave no output\n", i);
				return 1;
			}
		}
	}
	printf("snapshot (%s MiB test guest): taken in %.1f ms, memory file %lld KiB on disk\n",
	       mib, snap_ms, kib);
	printf("%-36s %10s\n", "exec -> first guest output, median", "ms");
	printf("%-36s %10.2f\n", "cold boot", bench_median(cold, runs));
	printf("%-36s %10.2f\n", "restored from the snapshot", bench_median(warm, runs));
	printf("%-36s %10.2f\n", "cold / restored", bench_median(cold, runs) /
							  bench_median(warm, runs));
	if (getenv("VJ_NESTED_INSIDE"))
		printf("(nested emulation: absolute figures are the test host's, compare ratios)\n");
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/memory", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
