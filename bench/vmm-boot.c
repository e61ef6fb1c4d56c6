/*
 * Start-up and memory of vmjail-vmm with a freestanding test guest, next
 * to QEMU's microvm machine booting the same guest (its PVH build) in the
 * same run. Prints medians; never passes or fails on time.
 *
 *   vmm-boot [-n RUNS] BUILD_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS 200
#define GUEST_MIB "128"

static char vmm[512], guest[512], guest_pvh[512];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Spawns argv with stdout and/or stderr on pipes (NULL: /dev/null). */
static pid_t spawn(char *const argv[], int *out_fd, int *err_fd)
{
	posix_spawn_file_actions_t fa;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd && pipe2(po, O_CLOEXEC) == 0)
		posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (err_fd && pipe2(pe, O_CLOEXEC) == 0)
		posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (po[1] >= 0)
		close(po[1]);
	if (pe[1] >= 0)
		close(pe[1]);
	if (out_fd)
		*out_fd = po[0];
	if (err_fd)
		*err_fd = pe[0];
	return pid;
}

static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return n;
}

struct stamps {
	double start, first_run, first_exit, marker, exited;
};

/* One run of our VMM with --timing; stamps relative to just before spawn. */
static int run_ours(const char *scenario, struct stamps *s)
{
	char cmdline[64], buf[8192];
	unsigned long long st, fr, fe, mk;
	int err_fd, status;
	char *argv[] = { vmm, "--kernel", guest, "--cmdline", cmdline, "--memory", GUEST_MIB,
			 "--console", "none", "--timing", NULL };
	double t0;
	pid_t pid;
	const char *line;

	snprintf(cmdline, sizeof(cmdline), "vjtest=%s", scenario);
	t0 = now_ns();
	pid = spawn(argv, NULL, &err_fd);
	if (pid < 0)
		return -1;
	read_all(err_fd, buf, sizeof(buf));
	waitpid(pid, &status, 0);
	s->exited = now_ns() - t0;
	line = strstr(buf, "timing start_ns=");
	if (!line || sscanf(line, "timing start_ns=%llu first_run_ns=%llu first_exit_ns=%llu "
			    "marker_ns=%llu", &st, &fr, &fe, &mk) != 4)
		return -1;
	s->start = (double)st - t0;
	s->first_run = (double)fr - t0;
	s->first_exit = (double)fe - t0;
	s->marker = mk ? (double)mk - t0 : 0;
	return 0;
}

static int qemu_available(char *path, size_t cap)
{
	snprintf(path, cap, "/usr/bin/qemu-system-x86_64");
	return access(path, X_OK) == 0 && access("/dev/kvm", R_OK | W_OK) == 0;
}

static char qemu[64];

static void qemu_argv(char **argv, const char *append, int serial)
{
	int i = 0;
	argv[i++] = qemu;
	argv[i++] = "-M";
	argv[i++] = "microvm";
	argv[i++] = "-accel";
	argv[i++] = "kvm";
	argv[i++] = "-cpu";
	argv[i++] = "host,-arch-capabilities"; /* plain host dies on MSR 0x10a here */
	argv[i++] = "-m";
	argv[i++] = GUEST_MIB;
	argv[i++] = "-nodefaults";
	argv[i++] = "-no-user-config";
	argv[i++] = "-display";
	argv[i++] = "none";
	argv[i++] = "-no-reboot";
	argv[i++] = "-serial";
	argv[i++] = serial ? "stdio" : "none";
	argv[i++] = "-kernel";
	argv[i++] = guest_pvh;
	argv[i++] = "-append";
	argv[i++] = (char *)append;
	argv[i] = NULL;
}

static double run_qemu_to_exit(void)
{
	char *argv[24];
	int status;
	double t0;
	pid_t pid;

	qemu_argv(argv, "vjtest=triple", 0);
	t0 = now_ns();
	pid = spawn(argv, NULL, NULL);
	if (pid < 0)
		return -1;
	waitpid(pid, &status, 0);
	return now_ns() - t0;
}

/* RSS of pid in KiB, leaving out mappings that are guest RAM. */
static long rss_beside_guest(pid_t pid, const char *guest_map_name, unsigned long guest_bytes)
{
	char path[64], line[512];
	long total = 0, kb;
	int skip = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ')) {
			skip = (guest_map_name && strstr(line, guest_map_name)) ||
			       (!guest_map_name && hi - lo == guest_bytes);
			continue;
		}
		if (!skip && sscanf(line, "Rss: %ld kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

/* Starts argv, waits for `ready` on its stdout, measures, stops it. */
static long measure_rss(char *const argv[], const char *ready, const char *map_name,
			unsigned long guest_bytes)
{
	char buf[4096];
	size_t n = 0;
	int out_fd, status;
	long kb = -1;
	pid_t pid = spawn(argv, &out_fd, NULL);

	if (pid < 0)
		return -1;
	while (n + 1 < sizeof(buf)) {
		ssize_t r = read(out_fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, ready)) {
			usleep(200 * 1000); /* let start-up allocations settle */
			kb = rss_beside_guest(pid, map_name, guest_bytes);
			break;
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(out_fd);
	return kb;
}

int main(int argc, char **argv)
{
	static double start[MAX_RUNS], run[MAX_RUNS], first[MAX_RUNS], marker[MAX_RUNS],
		ours_exit[MAX_RUNS], qemu_exit[MAX_RUNS], ours_rss[MAX_RUNS], qemu_rss[MAX_RUNS];
	int runs = 20, opt, n = 0, nq = 0, nr = 0, nqr = 0;
	unsigned long guest_bytes = strtoul(GUEST_MIB, NULL, 10) << 20;
	int have_qemu = qemu_available(qemu, sizeof(qemu));

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			runs = atoi(optarg);
	if (optind >= argc || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s [-n RUNS<=%d] BUILD_DIR\n", argv[0], MAX_RUNS);
		return 2;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmjail-vmm", argv[optind]);
	snprintf(guest, sizeof(guest), "%s/tests/guest/testguest.elf", argv[optind]);
	snprintf(guest_pvh, sizeof(guest_pvh), "%s/tests/guest/testguest-pvh.elf", argv[optind]);

	for (int i = 0; i < runs; i++) {
		struct stamps a, b;
		if (run_ours("first", &a) < 0 || run_ours("marker", &b) < 0) {
			fprintf(stderr, "vmm-boot: %s did not report its timing\n", vmm);
			return 1;
		}
		start[n] = a.start / 1e6;
		run[n] = a.first_run / 1e6;
		first[n] = a.first_exit / 1e6;
		marker[n] = b.marker / 1e6;
		n++;
		if (run_ours("triple", &a) == 0)
			ours_exit[i] = a.exited / 1e6;
		if (have_qemu) {
			double q = run_qemu_to_exit();
			if (q > 0)
				qemu_exit[nq++] = q / 1e6;
		}
	}
	for (int i = 0; i < (runs < 5 ? runs : 5); i++) {
		char *ours[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=wait", "--memory",
				 GUEST_MIB, "--console", "stdout", NULL };
		long kb = measure_rss(ours, "wait running", "vmjail-guest-ram", 0);
		if (kb >= 0)
			ours_rss[nr++] = (double)kb;
		if (have_qemu) {
			char *q[24];
			qemu_argv(q, "vjtest=wait", 1);
			kb = measure_rss(q, "wait running", NULL, guest_bytes);
			if (kb >= 0)
				qemu_rss[nqr++] = (double)kb;
		}
	}

	printf("vmjail-vmm start-up, test guest, " GUEST_MIB " MiB, 1 vCPU, median of %d runs\n", n);
	printf("  exec -> VMM main()                    %8.3f ms\n", median(start, n));
	printf("  exec -> first KVM_RUN                 %8.3f ms\n", median(run, n));
	printf("  exec -> first guest instruction       %8.3f ms   (target <= 2 ms)\n",
	       median(first, n));
	printf("  exec -> boot-complete marker          %8.3f ms   (ring-0 guest code is emulated here)\n",
	       median(marker, n));
	printf("  exec -> guest triple-faults, VMM gone %8.3f ms", median(ours_exit, runs));
	if (nq)
		printf("   | QEMU microvm, same guest (PVH): %.3f ms", median(qemu_exit, nq));
	printf("\nVMM memory beside guest RAM (RSS, guest idle), median of %d\n", nr);
	printf("  vmjail-vmm   %8.0f KiB   (target <= 1024 KiB)\n", nr ? median(ours_rss, nr) : -1);
	if (nqr)
		printf("  QEMU microvm %8.0f KiB\n", median(qemu_rss, nqr));
	if (!have_qemu)
		printf("  (QEMU not installed: no peer figures in this run)\n");
	return 0;
}
