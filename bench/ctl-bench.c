/*
 * Round trips through a sandbox's control socket (jailer/CONTROL.md):
 * pause and resume of a running test guest, measured as a client sees
 * them (request written -> reply read), the VMM's own work included;
 * and `vmjail ps` over a run directory of N sandboxes' entries. Prints
 * medians; never passes or fails on time.
 *
 *   ctl-bench pause SOCKET RUNS
 *   ctl-bench ps VMJAIL RUN_DIR RUNS
 */
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Reads until a line carrying "id":N; 0, or -1. */
static int reply(int fd, int id)
{
	static char buf[65536];
	static size_t have;
	char want[32];

	snprintf(want, sizeof(want), "\"id\":%d,", id);
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			size_t len = (size_t)(nl - buf) + 1;
			int mine = memmem(buf, len, want, strlen(want)) != NULL;
			int ok = mine && memmem(buf, len, "\"return\"", 8) != NULL;
			memmove(buf, buf + len, have - len);
			have -= len;
			if (mine)
				return ok ? 0 : -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 10000) != 1 || (n = read(fd, buf + have, sizeof(buf) - have)) <= 0)
			return -1;
		have += (size_t)n;
	}
}

static int call(int fd, const char *command, int id, double *ms)
{
	char req[128];
	int n = snprintf(req, sizeof(req), "{\"id\":%d,\"execute\":\"%s\"}\n", id, command);
	double t0 = now_ms();

	if (write(fd, req, (size_t)n) != n || reply(fd, id) < 0)
		return -1;
	*ms = now_ms() - t0;
	return 0;
}

static int bench_pause(const char *path, int runs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double *p = calloc((size_t)runs, sizeof(double)), *r = calloc((size_t)runs, sizeof(double));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), id = 1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (!p || !r || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("ctl-bench: connect");
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		if (call(fd, "pause", id++, &p[i]) < 0 || call(fd, "resume", id++, &r[i]) < 0) {
			fprintf(stderr, "ctl-bench: pause/resume failed\n");
			return 1;
		}
		usleep(50 * 1000); /* let the guest run between */
	}
	printf("control socket round trips, median of %d (request -> reply, the VMM's work "
	       "included)\n", runs);
	printf("  pause   %8.3f ms\n  resume  %8.3f ms\n", median(p, runs), median(r, runs));
	free(p);
	free(r);
	return 0;
}

static int bench_ps(const char *vmjail, const char *run_dir, int runs)
{
	double *t = calloc((size_t)runs, sizeof(double));
	char *argv[] = { (char *)vmjail, "ps", "--run-dir", (char *)run_dir, NULL };
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1 /* O_WRONLY */, 0);
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		int status;
		pid_t pid;
		if (posix_spawn(&pid, vmjail, &fa, NULL, argv, environ) != 0 ||
		    waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "ctl-bench: %s ps failed\n", vmjail);
			return 1;
		}
		t[i] = now_ms() - t0;
	}
	posix_spawn_file_actions_destroy(&fa);
	printf("  vmjail ps (exec to exit), median of %d: %.3f ms\n", runs, median(t, runs));
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "pause"))
		return bench_pause(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 20);
	if (argc == 5 && !strcmp(argv[1], "ps"))
		return bench_ps(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 20);
	fprintf(stderr, "usage: ctl-bench pause SOCKET RUNS | ps VMJAIL RUN_DIR RUNS\n");
	return 2;
}
