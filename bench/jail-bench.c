/*
 * What the jail costs: the time from exec of vmjail to exec of
 * vmjail-vmm (split at the launcher's clone), exec to the first guest
 * instruction through the jail next to the VMM started directly, and
 * sandboxes launched and finished per second with a trivial test guest,
 * serially, two and four at a time, with the CPU time each one costs (so
 * the rate one core sustains). Prints medians; never passes or fails
 * on time. First it says which cgroup case it measures: how vmjail placed
 * the VMM (cloned into a v2 cgroup, or moved into v1 ones), and whether a
 * hierarchy is mounted with favordynmods, without which each v1 move
 * waits for an RCU grace period.
 *
 *   jail-bench [-n RUNS] BUILD_DIR       (root and /dev/kvm)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS 500

static char vmjail[512], vmm[512], guest[512], run_dir[64], cg_parent[64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs argv to its end with stdout discarded and stderr captured into
 * err; returns its exit status, or -1. */
static int run(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int pe[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pe[1]);
	if (r != 0) {
		close(pe[0]);
		return -1;
	}
	while (n + 1 < errlen && (r = read(pe[0], err + n, errlen - n - 1)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(pe[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static uint64_t stamp(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* One sandbox with the "first" scenario (the boot marker is the guest's
 * first instruction's work), through the jail or not. Times in ms. */
struct start_times {
	double to_launcher_clone, clone_to_vmm, setup, to_guest;
};

static int start_once(int jailed, struct start_times *t)
{
	char err[8192];
	char *jail_argv[] = { vmjail, "run", "--run-dir", run_dir, "--cgroup-parent", cg_parent,
			      "--kernel", guest, "--cmdline", "vjtest=first", "--timing", NULL };
	char *vmm_argv[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=first", "--timing", NULL };
	uint64_t t0 = now_ns(), vmm_start, marker, clone;

	if (run(jailed ? jail_argv : vmm_argv, err, sizeof(err)) != 0)
		return -1;
	vmm_start = stamp(err, "vmjail-vmm: timing start_ns=");
	marker = stamp(err, " marker_ns=");
	clone = stamp(err, " clone_ns=");
	if (!vmm_start || !marker || (jailed && !clone))
		return -1;
	t->setup = (double)(vmm_start - t0) / 1e6;
	t->to_guest = (double)(marker - t0) / 1e6;
	t->to_launcher_clone = jailed ? (double)(clone - t0) / 1e6 : 0;
	t->clone_to_vmm = jailed ? (double)(vmm_start - clone) / 1e6 : 0;
	return 0;
}

/* The cgroup mounts with favordynmods in this mount namespace (the
 * kernel's switch is global: one such mount anywhere is enough, but only
 * this namespace's can be seen), as "dir dir ..." in out. */
static void favordynmods_mounts(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t used = 0;

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char dir[1024], type[64], opts[2048];
		const char *sep = strstr(line, " - ");
		/* "ID PARENT MAJ:MIN ROOT DIR ... - TYPE SOURCE SUPEROPTS" */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", dir) != 1 ||
		    sscanf(sep + 3, "%63s %*s %2047s", type, opts) != 2)
			continue;
		if (strncmp(type, "cgroup", 6) || !strstr(opts, "favordynmods"))
			continue;
		used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", dir);
		if (used >= len)
			break;
	}
	if (f)
		fclose(f);
}

/* One sandbox with -v, for vmjail's own line on how it placed the VMM. */
static void print_cgroup_case(void)
{
	char err[8192], fdm[512], *line, *end;
	bool ok;
	char *argv[] = { vmjail, "run", "-v", "--run-dir", run_dir, "--cgroup-parent", cg_parent,
			 "--kernel", guest, "--cmdline", "vjtest=hello", NULL };

	favordynmods_mounts(fdm, sizeof(fdm));
	err[0] = '\0';
	ok = run(argv, err, sizeof(err)) == 0;
	if (!(line = strstr(err, "VMM cloned into")))
		line = strstr(err, "VMM moved into");
	if (!ok || !line) {
		printf("cgroup case: unknown (a sandbox with -v failed or did not say)\n");
	} else {
		if ((end = strchr(line, '\n')))
			*end = '\0';
		printf("cgroup case: vmjail -v says \"%s\"\n", line);
	}
	printf("  cgroup mounts with favordynmods in this mount namespace: %s\n",
	       fdm[0] ? fdm : "none seen (without one a v1 move waits for an RCU grace period)");
}

static void bench_start(int runs)
{
	static double clone[MAX_RUNS], child[MAX_RUNS], setup[MAX_RUNS], guest_j[MAX_RUNS],
		exec_d[MAX_RUNS], guest_d[MAX_RUNS];
	int nj = 0, nd = 0;

	for (int i = 0; i < runs; i++) {
		struct start_times t;
		if (start_once(1, &t) == 0) {
			clone[nj] = t.to_launcher_clone;
			child[nj] = t.clone_to_vmm;
			setup[nj] = t.setup;
			guest_j[nj++] = t.to_guest;
		}
		if (start_once(0, &t) == 0) {
			exec_d[nd] = t.setup;
			guest_d[nd++] = t.to_guest;
		}
	}
	printf("jail setup, exec of vmjail -> exec of vmjail-vmm (its main()): median %.2f ms "
	       "(%d runs)\n", median(setup, nj), nj);
	printf("  exec of vmjail -> clone into the namespaces:  %.2f ms (policy, run dir, "
	       "netns, resources, cgroup)\n", median(clone, nj));
	printf("  clone -> vmjail-vmm main():                  %.2f ms (cgroup move, pivot, "
	       "fds, rlimits, privilege drop, exec)\n", median(child, nj));
	printf("exec -> first guest instruction (boot marker): jailed %.2f ms, VMM alone %.2f ms "
	       "(its exec -> main() %.2f ms) (%d/%d runs)\n",
	       median(guest_j, nj), median(guest_d, nd), median(exec_d, nd), nj, nd);
}

static double cpu_seconds_of_children(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct rate {
	double per_second; /* wall clock */
	double cpu_ms;     /* user + system CPU time per sandbox, every process of it */
	int failed;
};

/* Sandboxes (or bare VMMs) with the "hello" scenario, one after another
 * in each of `workers` processes. The CPU time counts every process that
 * ended and was waited for: launchers, VMMs, brokers (not the kernel's
 * own workers). */
static struct rate throughput(int jailed, int workers, int per_worker)
{
	uint64_t t0 = now_ns();
	double cpu0 = cpu_seconds_of_children();
	struct rate r = { 0 };

	for (int w = 0; w < workers; w++) {
		if (fork() != 0)
			continue;
		int bad = 0;
		for (int i = 0; i < per_worker; i++) {
			char err[4096], id[32];
			char *jail_argv[] = { vmjail, "run", "--run-dir", run_dir, "--cgroup-parent",
					      cg_parent, "--id", id, "--kernel", guest, "--cmdline",
					      "vjtest=hello", NULL };
			char *vmm_argv[] = { vmm, "--kernel", guest, "--cmdline", "vjtest=hello", NULL };
			snprintf(id, sizeof(id), "bench-%d-%d", w, i);
			bad += run(jailed ? jail_argv : vmm_argv, err, sizeof(err)) != 0;
		}
		_exit(bad > 255 ? 255 : bad);
	}
	for (int w = 0; w < workers; w++) {
		int status;
		if (wait(&status) > 0 && WIFEXITED(status))
			r.failed += WEXITSTATUS(status);
	}
	r.per_second = (double)(workers * per_worker) / ((double)(now_ns() - t0) / 1e9);
	r.cpu_ms = (cpu_seconds_of_children() - cpu0) * 1e3 / (workers * per_worker);
	return r;
}

static void print_rates(const char *what, int jailed, int runs, long ncpu)
{
	static const int workers[] = { 1, 2, 4 };
	struct rate r[3];
	int failed = 0;

	for (int i = 0; i < 3; i++) {
		r[i] = throughput(jailed, workers[i], runs);
		failed += r[i].failed;
	}
	printf("%s: serial %.1f/s, 2 at a time %.1f/s, 4 at a time %.1f/s (%.1f/s per CPU)\n"
	       "%s  CPU time of its processes per sandbox %.1f ms: %.1f/s per core\n",
	       what, r[0].per_second, r[1].per_second, r[2].per_second, r[2].per_second / ncpu,
	       what, r[0].cpu_ms, r[0].cpu_ms > 0 ? 1e3 / r[0].cpu_ms : 0);
	if (failed)
		printf("  (%d runs failed and are counted anyway)\n", failed);
}

static void bench_rate(int runs)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	printf("sandboxes launched and finished per second (vjtest=hello), %ld CPUs; the CPU\n"
	       "time counts vmjail, the VMM and the broker, not the kernel's workers:\n", ncpu);
	print_rates("  jailed (vmjail run)", 1, runs, ncpu);
	print_rates("  the VMM alone      ", 0, runs, ncpu);
}

int main(int argc, char **argv)
{
	int runs = 20, opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		runs = atoi(optarg);
		if (runs < 1 || runs > MAX_RUNS)
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	snprintf(vmjail, sizeof(vmjail), "%s/vmjail", argv[optind]);
	snprintf(vmm, sizeof(vmm), "%s/vmjail-vmm", argv[optind]);
	snprintf(guest, sizeof(guest), "%s/tests/guest/testguest.elf", argv[optind]);
	if (geteuid() != 0 || access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("jail-bench: skipped (needs root and /dev/kvm)\n");
		return 0;
	}
	snprintf(run_dir, sizeof(run_dir), "/run/vmjail-bench-%d", (int)getpid());
	snprintf(cg_parent, sizeof(cg_parent), "vmjail-bench-%d", (int)getpid());
	print_cgroup_case();
	bench_start(runs);
	bench_rate(runs);
	rmdir(run_dir);
	return 0;
usage:
	fprintf(stderr, "usage: jail-bench [-n RUNS(1..%d)] BUILD_DIR\n", MAX_RUNS);
	return 2;
}
