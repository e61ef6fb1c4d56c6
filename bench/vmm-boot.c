/*
 * Start-up and memory of vmjail-vmm with a freestanding test guest, next
 * to QEMU's microvm machine booting the same guest (its PVH build) in the
 * same run, both measured the same way from outside: exec to the guest's
 * first byte of serial output, exec to the VMM's exit once the guest has
 * reset, memory beside guest RAM; and the ratio vmjail/QEMU of each. Then
 * vmjail-vmm's own stamps (--timing): exec to main(), to the first
 * KVM_RUN, to the first guest exit. Prints medians; never passes or fails
 * on time. In the nested test host (VJ_NESTED_INSIDE=1) it says that the
 * absolute figures are nested emulation's, and only the ratios compare.
 *
 *   vmm-boot [-n RUNS] BUILD_DIR
 */
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RUNS 200
#define GUEST_MIB "128M"

static char vmm[512], guest[512], guest_pvh[512];

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

/* Times relative to just before the spawn, in ms. */
struct run {
	double output; /* the guest's first byte on the serial port */
	double exited; /* the VMM reaped */
	/* vmjail-vmm's own CLOCK_MONOTONIC stamps (--timing) */
	double main, first_run, first_exit;
};

/* A run that takes longer has gone wrong: it is stopped, not waited for. */
#define RUN_TIMEOUT_MS 60000

/* Runs argv, whose stdout is the guest's serial port, to its end. */
static int run_timed(char *const argv[], struct run *r, char *err, size_t errcap, double *t0)
{
	char buf[4096];
	int out_fd, err_fd = -1, status;
	struct pollfd p;
	ssize_t n = 1;
	pid_t pid;

	r->output = 0;
	*t0 = bench_now_ns();
	pid = bench_spawn(argv, &out_fd, err ? &err_fd : NULL);
	if (pid < 0)
		return -1;
	p = (struct pollfd){ .fd = out_fd, .events = POLLIN };
	while (n > 0 && poll(&p, 1, RUN_TIMEOUT_MS) == 1 && (n = read(out_fd, buf, sizeof(buf))) > 0)
		if (!r->output)
			r->output = (bench_now_ns() - *t0) / 1e6;
	if (n > 0) {
		fprintf(stderr, "vmm-boot: %s did not end within %d ms; stopped\n", argv[0],
			RUN_TIMEOUT_MS);
		kill(pid, SIGKILL);
		r->output = 0;
	}
	close(out_fd);
	if (err)
		read_all(err_fd, err, errcap);
	waitpid(pid, &status, 0);
	r->exited = (bench_now_ns() - *t0) / 1e6;
	return r->output > 0 ? 0 : -1;
}

/* The test guest on vjtest=triple prints one line and triple-faults, which
 * ends both VMMs (QEMU's microvm has no i8042 for a reset). */
static int run_ours(struct run *r)
{
	char err[8192];
	unsigned long long st, fr, fe, mk;
	char *argv[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=triple", "--memory",
			 GUEST_MIB, "--console", "stdout", "--timing", NULL };
	const char *line;
	double t0;

	if (run_timed(argv, r, err, sizeof(err), &t0) < 0)
		return -1;
	line = strstr(err, "timing start_ns=");
	if (!line || sscanf(line, "timing start_ns=%llu first_run_ns=%llu first_exit_ns=%llu "
			    "marker_ns=%llu", &st, &fr, &fe, &mk) != 4)
		return -1;
	r->main = ((double)st - t0) / 1e6;
	r->first_run = ((double)fr - t0) / 1e6;
	r->first_exit = ((double)fe - t0) / 1e6;
	return 0;
}

static char qemu[64];

static int qemu_available(void)
{
	snprintf(qemu, sizeof(qemu), "/usr/bin/qemu-system-x86_64");
	return access(qemu, X_OK) == 0 && access("/dev/kvm", R_OK | W_OK) == 0;
}

static void qemu_argv(char **argv, const char *append)
{
	int i = 0;
	argv[i++] = qemu;
	argv[i++] = "-M";
	argv[i++] = "microvm";
	argv[i++] = "-accel";
	argv[i++] = "kvm";
	argv[i++] = "-cpu";
	/* Not plain "host": some nested KVMs refuse the MSR of
	 * arch-capabilities, and QEMU then dies at start. */
	argv[i++] = "host,-arch-capabilities";
	argv[i++] = "-m";
	argv[i++] = GUEST_MIB;
	argv[i++] = "-nodefaults";
	argv[i++] = "-no-user-config";
	argv[i++] = "-display";
	argv[i++] = "none";
	argv[i++] = "-no-reboot";
	argv[i++] = "-serial";
	argv[i++] = "stdio";
	argv[i++] = "-kernel";
	argv[i++] = guest_pvh;
	argv[i++] = "-append";
	argv[i++] = (char *)append;
	argv[i] = NULL;
}

static int run_qemu(struct run *r)
{
	char *argv[24];
	double t0;

	qemu_argv(argv, "vjtest=triple");
	return run_timed(argv, r, NULL, 0, &t0);
}

/* RSS of pid in KiB, leaving out the mapping that is guest RAM: both
 * VMMs map it as one anonymous mapping of exactly its size. */
static long rss_beside_guest(pid_t pid, unsigned long guest_bytes)
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
			skip = hi - lo == guest_bytes;
			continue;
		}
		if (!skip && sscanf(line, "Rss: %ld kB", &kb) == 1)
			total += kb;
	}
	fclose(f);
	return total;
}

/* Starts argv, waits for `ready` on its stdout, measures, stops it. */
static long measure_rss(char *const argv[], const char *ready, unsigned long guest_bytes)
{
	char buf[4096];
	size_t n = 0;
	int out_fd, status;
	long kb = -1;
	pid_t pid = bench_spawn(argv, &out_fd, NULL);

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
			kb = rss_beside_guest(pid, guest_bytes);
			break;
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	close(out_fd);
	return kb;
}

static void row(const char *what, const double *ours, int n, const double *peer, int np,
		const char *unit, int decimals)
{
	double a = bench_median((double *)ours, n);

	printf("  %-34s %10.*f %-3s", what, decimals, a, unit);
	if (np) {
		double b = bench_median((double *)peer, np);
		printf(" %12.*f %-3s %8.2f", decimals, b, unit, b > 0 ? a / b : 0);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	static double output[MAX_RUNS], exited[MAX_RUNS], q_output[MAX_RUNS], q_exited[MAX_RUNS],
		main_ms[MAX_RUNS], first_run[MAX_RUNS], first_exit[MAX_RUNS], rss[MAX_RUNS],
		q_rss[MAX_RUNS];
	int runs = 20, opt, n = 0, nq = 0, nr = 0, nqr = 0;
	unsigned long guest_bytes = strtoul(GUEST_MIB, NULL, 10) << 20;
	int have_qemu = qemu_available();
	const bool nested = getenv("VJ_NESTED_INSIDE") != NULL;

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

	/* Turn about, so that both see the same machine state. */
	for (int i = 0; i < runs; i++) {
		struct run r;
		if (run_ours(&r) < 0) {
			fprintf(stderr, "vmm-boot: %s did not report its timing\n", vmm);
			return 1;
		}
		output[n] = r.output;
		exited[n] = r.exited;
		main_ms[n] = r.main;
		first_run[n] = r.first_run;
		first_exit[n] = r.first_exit;
		n++;
		if (have_qemu && run_qemu(&r) == 0) {
			q_output[nq] = r.output;
			q_exited[nq++] = r.exited;
		}
	}
	for (int i = 0; i < (runs < 5 ? runs : 5); i++) {
		char *ours[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=wait", "--memory",
				 GUEST_MIB, "--console", "stdout", NULL };
		long kb = measure_rss(ours, "wait running", guest_bytes);
		if (kb >= 0)
			rss[nr++] = (double)kb;
		if (have_qemu) {
			char *q[24];
			qemu_argv(q, "vjtest=wait");
			kb = measure_rss(q, "wait running", guest_bytes);
			if (kb >= 0)
				q_rss[nqr++] = (double)kb;
		}
	}

	printf("vmjail-vmm%s, the same test guest, " GUEST_MIB " MiB, 1 vCPU, medians of %d runs\n",
	       have_qemu ? " beside QEMU microvm (its PVH build)" : "", n);
	if (nested)
		printf("(nested emulation: absolute times are not hardware's; compare the ratios)\n");
	printf("  %-34s %14s", "", "vmjail-vmm");
	if (nq)
		printf(" %16s %8s", "QEMU microvm", "ratio");
	putchar('\n');
	row("exec -> first guest output", output, n, q_output, nq, "ms", 3);
	row("exec -> guest triple fault, VMM gone", exited, n, q_exited, nq, "ms", 3);
	if (nr)
		row("memory beside guest RAM (RSS)", rss, nr, q_rss, nqr, "KiB", 0);
	if (!have_qemu)
		printf("  (QEMU or /dev/kvm missing: no peer figures in this run)\n");
	printf("vmjail-vmm's own stamps (--timing), medians of %d runs\n", n);
	printf("  exec -> VMM main()                    %8.3f ms\n", bench_median(main_ms, n));
	printf("  exec -> first KVM_RUN                 %8.3f ms\n", bench_median(first_run, n));
	printf("  exec -> first guest instruction       %8.3f ms   (target <= 2 ms on hardware)\n",
	       bench_median(first_exit, n));
	printf("  memory beside guest RAM               %8.0f KiB  (target <= 1024 KiB)\n",
	       nr ? bench_median(rss, nr) : -1);
	return 0;
}
