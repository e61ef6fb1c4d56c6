/*
 * Linux boot, side by side: vmjail-vmm, QEMU's microvm (where QEMU is
 * installed) and kvmtool (where `lkvm` is on PATH) boot the same bzImage
 * and the same initramfs, whose /init prints a marker line on the serial
 * console and reboots (bench/linux-init.sh). Every VMM is measured the same
 * way from outside: exec to the marker on its stdout (the serial port), and
 * exec to its exit. vmjail-vmm boots once per guest-RAM backing the host
 * can give (THP and 4 KiB pages; the hugetlb pool where it has room), so
 * that each has its figures beside the peers'. One discarded warm-up run
 * of each, then round-robin; medians, and the ratio of each vmjail-vmm row
 * to each peer. The host's huge-page settings are printed first: they
 * decide what every VMM's guest RAM gets. Never passes or fails on time.
 *
 *   linux-boot [-n RUNS] BUILD_DIR
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RUNS 100
#define GUEST_MIB 128
#define MARKER "vjbench: init reached"
/* Common to every VMM; each adds the reset its machine has. */
#define CMDLINE "console=ttyS0 quiet panic=-1"
/* A boot that takes longer has gone wrong: it is stopped, not waited for. */
#define RUN_TIMEOUT_MS 60000
#define MAX_VMMS 6

struct vmm {
	const char *name;
	char *argv[40];
	double marker[MAX_RUNS], exited[MAX_RUNS];
	int n;
	bool peer; /* not vmjail: the rows vmjail is compared with */
};

static char kernel[512], initrd[512], vmjail[512];

/* Runs one boot: ms from exec to the marker on stdout, and to the exit.
 * The marker may arrive split across reads. */
static int boot_once(struct vmm *v, double *marker, double *exited)
{
	char buf[4096], tail[sizeof(MARKER) + sizeof(buf)];
	size_t kept = 0;
	int out_fd, status;
	struct pollfd p;
	ssize_t r = 1;
	double t0 = bench_now_ns();
	pid_t pid = bench_spawn(v->argv, &out_fd, NULL);

	*marker = 0;
	if (pid < 0)
		return -1;
	p = (struct pollfd){ .fd = out_fd, .events = POLLIN };
	while (r > 0 && poll(&p, 1, RUN_TIMEOUT_MS) == 1 &&
	       (r = read(out_fd, buf, sizeof(buf))) > 0) {
		if (*marker)
			continue;
		memcpy(tail + kept, buf, (size_t)r);
		kept += (size_t)r;
		if (memmem(tail, kept, MARKER, strlen(MARKER))) {
			*marker = (bench_now_ns() - t0) / 1e6;
			continue;
		}
		/* Keep what could be the start of a split marker. */
		if (kept >= strlen(MARKER)) {
			memmove(tail, tail + kept - (strlen(MARKER) - 1), strlen(MARKER) - 1);
			kept = strlen(MARKER) - 1;
		}
	}
	if (r > 0) {
		fprintf(stderr, "linux-boot: %s did not end within %d ms; stopped\n", v->name,
			RUN_TIMEOUT_MS);
		kill(pid, SIGKILL);
		*marker = 0;
	}
	close(out_fd);
	waitpid(pid, &status, 0);
	*exited = (bench_now_ns() - t0) / 1e6;
	return *marker > 0 ? 0 : -1;
}

static void set_argv(struct vmm *v, const char *name, bool peer, const char *const *args)
{
	int i = 0;

	v->name = name;
	v->peer = peer;
	for (; args[i] && i < (int)(sizeof(v->argv) / sizeof(v->argv[0])) - 1; i++)
		v->argv[i] = (char *)args[i];
	v->argv[i] = NULL;
}

static void add_vmjail(struct vmm *v, const char *name, const char *backing)
{
	const char *a[] = { vmjail, "--kernel", kernel, "--initrd", initrd, "--memory", "128M",
			    "--console", "stdout", "--memory-backing", backing,
			    "--cmdline", CMDLINE " reboot=k", NULL };
	set_argv(v, name, false, a);
}

/* QEMU's microvm with nothing but its serial port: no i8042 there, so the
 * guest resets by triple fault, which -no-reboot turns into QEMU's exit. */
static void add_qemu(struct vmm *v)
{
	const char *a[] = { "qemu-system-x86_64", "-M", "microvm", "-accel", "kvm",
			    /* Not plain "host": some nested KVMs refuse the MSR of
			     * arch-capabilities, and QEMU then dies at start. */
			    "-cpu", "host,-arch-capabilities", "-m", "128", "-smp", "1",
			    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
			    "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
			    "-append", CMDLINE " reboot=t", NULL };
	set_argv(v, "QEMU microvm", true, a);
}

static void add_kvmtool(struct vmm *v)
{
	const char *a[] = { "lkvm", "run", "-k", kernel, "-i", initrd, "-m", "128", "-c", "1",
			    "--console", "serial", "-p", CMDLINE " reboot=k", NULL };
	set_argv(v, "kvmtool", true, a);
}

static bool on_path(const char *prog)
{
	char path[1024], *save = NULL, *dirs = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	bool found = false;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", d, prog);
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* The first line of a small file, or "-" where there is none. */
static void first_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(out, (int)cap, f))
		snprintf(out, cap, "-");
	out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static unsigned long hugetlb_free(void)
{
	char line[64];

	first_line("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", line, sizeof(line));
	return strtoul(line, NULL, 10);
}

static void print_host(void)
{
	static const char *const knobs[][2] = {
		{ "THP enabled", "/sys/kernel/mm/transparent_hugepage/enabled" },
		{ "THP defrag", "/sys/kernel/mm/transparent_hugepage/defrag" },
		{ "shmem_enabled", "/sys/kernel/mm/transparent_hugepage/shmem_enabled" },
		{ "hugetlb 2 MiB pool", "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" },
	};
	char v[256];

	printf("host huge-page settings:\n");
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		first_line(knobs[i][1], v, sizeof(v));
		printf("  %-20s %s\n", knobs[i][0], v);
	}
}

/* A median cell, after a label when one is given. */
static void row(const char *what, const double *v, int n)
{
	if (what[0])
		printf("  %-26s", what);
	if (n)
		printf(" %10.1f ms", bench_median((double *)v, n));
	else
		printf(" %13s", "-");
}

int main(int argc, char **argv)
{
	static struct vmm vmms[MAX_VMMS];
	const char *const inputs[] = { vmjail, kernel, initrd };
	int runs = 10, opt, nv = 0;
	const bool nested = getenv("VJ_NESTED_INSIDE") != NULL;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			runs = atoi(optarg);
	if (optind >= argc || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s [-n RUNS<=%d] BUILD_DIR\n", argv[0], MAX_RUNS);
		return 2;
	}
	snprintf(vmjail, sizeof(vmjail), "%s/vmjail-vmm", argv[optind]);
	snprintf(kernel, sizeof(kernel), "%s/guest/bzImage", argv[optind]);
	snprintf(initrd, sizeof(initrd), "%s/bench/linux-initramfs.cpio", argv[optind]);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		if (access(inputs[i], R_OK) != 0) {
			fprintf(stderr, "linux-boot: %s missing (make bench builds it)\n", inputs[i]);
			return 1;
		}
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "linux-boot: needs /dev/kvm\n");
		return 1;
	}

	add_vmjail(&vmms[nv++], "vmjail-vmm, THP", "thp");
	add_vmjail(&vmms[nv++], "vmjail-vmm, 4 KiB pages", "4k");
	if (hugetlb_free() >= GUEST_MIB / 2)
		add_vmjail(&vmms[nv++], "vmjail-vmm, hugetlb", "hugetlb");
	if (on_path("qemu-system-x86_64"))
		add_qemu(&vmms[nv++]);
	if (on_path("lkvm"))
		add_kvmtool(&vmms[nv++]);

	print_host();
	/* The first boot of each pays for cold caches; none of it counts. A
	 * boot that never reaches /init is said and left out: the rows give
	 * how many runs each median is of. */
	for (int i = 0; i < nv; i++) {
		double m, e;
		if (boot_once(&vmms[i], &m, &e) < 0)
			fprintf(stderr, "linux-boot: %s: no marker in its warm-up boot\n", vmms[i].name);
	}
	/* Turn about, so that every VMM sees the same machine state. */
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < nv; i++) {
			struct vmm *v = &vmms[i];
			if (boot_once(v, &v->marker[v->n], &v->exited[v->n]) == 0)
				v->n++;
			else
				fprintf(stderr, "linux-boot: %s: run %d gave no marker\n", v->name, r);
		}
	}

	printf("Linux boot: the same bzImage and initramfs, " "%d MiB, 1 vCPU, medians of %d runs\n",
	       GUEST_MIB, runs);
	if (nested)
		printf("(nested emulation: absolute times are not hardware's; compare the ratios)\n");
	printf("  %-26s %13s %13s %5s\n", "", "exec->/init", "exec->exit", "runs");
	for (int i = 0; i < nv; i++) {
		row(vmms[i].name, vmms[i].marker, vmms[i].n);
		row("", vmms[i].exited, vmms[i].n);
		printf(" %5d\n", vmms[i].n);
	}
	printf("ratios (below 1: vmjail-vmm faster)%*s %13s\n", 17, "/init", "exit");
	for (int i = 0; i < nv; i++) {
		for (int j = 0; j < nv; j++) {
			const struct vmm *a = &vmms[i], *b = &vmms[j];
			if (a->peer || !b->peer || !a->n || !b->n)
				continue;
			printf("  %-26s / %-14s %6.2f %13.2f\n", a->name, b->name,
			       bench_median((double *)a->marker, a->n) /
				       bench_median((double *)b->marker, b->n),
			       bench_median((double *)a->exited, a->n) /
				       bench_median((double *)b->exited, b->n));
		}
	}
	if (!on_path("qemu-system-x86_64") && !on_path("lkvm"))
		printf("  (neither QEMU nor lkvm installed: no peer figures in this run)\n");
	return 0;
}
