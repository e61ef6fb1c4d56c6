/*
 * vmm-ctl: plays the launcher's side of the VMM's control channel
 * (common/vmm_ctl.h) against vmjail-vmm running the test guest's `count`
 * scenario, which prints "vjtest: count N" every 100 ms. Prints one line
 * per finding, "ok NAME" or "FAIL NAME: why", for vmm-ctl.sh to turn into
 * results; exits 0 when every finding was ok.
 *
 *   vmm-ctl VMM GUEST
 *   vmm-ctl --ctrl-alt-del VMM GUEST
 *   vmm-ctl --exec VMM-ARGV...
 *
 * With --ctrl-alt-del the guest runs the `kbd` scenario instead: once its
 * keyboard driver is ready (the boot marker event), Ctrl-Alt-Del is
 * pressed and the guest must print its scancodes; once it turned its
 * keyboard off, another is refused.
 *
 * With --exec it is a launcher's stand-in for any guest (the e2e test
 * host's Linux): it runs VMM-ARGV with the channel as fd 3 (adding
 * "--control-fd 3"), presses Ctrl-Alt-Del on each SIGUSR1, saying on
 * stderr "vmm-ctl: ctrl-alt-del: status N", and exits with the VMM's
 * status (128 + N for a signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm_ctl.h"

#define REPLY_MS 5000
#define LINE_MS 10000

static int ctl = -1, out = -1, failed;
static pid_t vmm;
static char acc[1 << 16];
static size_t acc_len;
static unsigned last_count;

/* "ok NAME", or "FAIL NAME: detail". */
__attribute__((format(printf, 3, 4))) static void finding(bool ok, const char *name,
							    const char *fmt, ...)
{
	va_list ap;

	printf("%s %s", ok ? "ok" : "FAIL", name);
	if (!ok) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
	failed |= !ok;
}

/* Reads the console for up to ms; notes the highest count seen. Returns
 * the number of count lines that arrived. */
static int read_console(int ms)
{
	struct pollfd p = { .fd = out, .events = POLLIN };
	int lines = 0;

	while (poll(&p, 1, ms) == 1) {
		ssize_t n = read(out, acc + acc_len, sizeof(acc) - 1 - acc_len);
		char *nl;
		if (n <= 0)
			break;
		acc_len += (size_t)n;
		acc[acc_len] = '\0';
		while ((nl = strchr(acc, '\n'))) {
			unsigned c;
			*nl = '\0';
			if (sscanf(acc, "vjtest: count %u", &c) == 1) {
				if (c != last_count + 1)
					finding(false, "the guest counts one by one", "%u after %u", c, last_count);
				last_count = c;
				lines++;
			}
			acc_len -= (size_t)(nl + 1 - acc);
			memmove(acc, nl + 1, acc_len + 1);
		}
		ms = 0; /* only what is there already, once something came */
	}
	return lines;
}

static bool wait_count(unsigned want)
{
	for (int waited = 0; last_count < want && waited < LINE_MS; waited += 100)
		read_console(100);
	return last_count >= want;
}

/* The next console line starting with prefix, within ms; lines before
 * it are skipped. */
static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static bool wait_line(const char *prefix, char *line, size_t size, int ms)
{
	struct pollfd p = { .fd = out, .events = POLLIN };
	const long long end = now_ms() + ms;

	while (now_ms() <= end) {
		char *nl;
		while ((nl = strchr(acc, '\n'))) {
			bool match = !strncmp(acc, prefix, strlen(prefix));
			*nl = '\0';
			if (match)
				snprintf(line, size, "%.*s", (int)size - 1, acc);
			acc_len -= (size_t)(nl + 1 - acc);
			memmove(acc, nl + 1, acc_len + 1);
			if (match)
				return true;
		}
		if (poll(&p, 1, 100) == 1) {
			ssize_t n = read(out, acc + acc_len, sizeof(acc) - 1 - acc_len);
			if (n <= 0)
				return false;
			acc_len += (size_t)n;
			acc[acc_len] = '\0';
		}
	}
	return false;
}

static bool wait_event(uint32_t op, int ms)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	struct vj_vmm_ctl_msg m;

	while (poll(&p, 1, ms) == 1) {
		if (read(ctl, &m, sizeof(m)) != (ssize_t)sizeof(m))
			return false;
		if (m.op == op)
			return true;
	}
	return false;
}

static int request(uint32_t op, uint32_t seq, struct vj_vmm_ctl_msg *reply)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .seq = seq };
	struct pollfd p = { .fd = ctl, .events = POLLIN };

	if (write(ctl, &m, sizeof(m)) != (ssize_t)sizeof(m))
		return -errno;
	while (poll(&p, 1, REPLY_MS) == 1) {
		if (read(ctl, reply, sizeof(*reply)) != (ssize_t)sizeof(*reply))
			return -EPROTO;
		if (reply->op == VJ_VMM_CTL_REPLY && reply->seq == seq)
			return 0;
	}
	return -ETIMEDOUT;
}

static pid_t start(const char *vmm_path, const char *guest, const char *cmdline)
{
	int sv[2], o[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(o, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		dup2(o[1], 1);
		execl(vmm_path, vmm_path, "--kernel", guest, "--cmdline", cmdline,
		      "--memory", "32M", "--console", "stdout", "--control-fd", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	close(o[1]);
	ctl = sv[0];
	out = o[0];
	return pid;
}

static void pause_holds_the_guest(void)
{
	struct vj_vmm_ctl_msg r = { 0 };
	unsigned held;

	finding(request(VJ_VMM_CTL_PAUSE, 1, &r) == 0 && r.status == 0,
		"pause is answered with success", "status %d", r.status);
	read_console(200); /* a line already on its way */
	held = last_count;
	finding(read_console(1500) == 0 && last_count == held,
		"no count line comes while paused", "held at %u, now %u", held, last_count);
	finding(request(VJ_VMM_CTL_PAUSE, 2, &r) == 0 && r.status == 0,
		"a second pause is answered with success", "status %d", r.status);
	finding(request(VJ_VMM_CTL_STATS, 3, &r) == 0 && r.status == 0 && r.data.stats.paused_ns > 0,
		"statistics while paused count the paused time", "%llu ns",
		(unsigned long long)r.data.stats.paused_ns);
	finding(request(VJ_VMM_CTL_RESUME, 4, &r) == 0 && r.status == 0,
		"resume is answered with success", "status %d", r.status);
	finding(wait_count(held + 2), "after resume the count goes on where it stopped",
		"held at %u, now %u", held, last_count);
}

static void statistics_count_exits(void)
{
	struct vj_vmm_ctl_msg r = { 0 };
	const struct vj_vmm_stats *s = &r.data.stats;

	finding(request(VJ_VMM_CTL_STATS, 5, &r) == 0 && r.status == 0 &&
			s->exits_io + s->exits_mmio + s->exits_hlt + s->exits_other > 0,
		"statistics count the guest's exits", "io %llu, mmio %llu, hlt %llu, other %llu",
		(unsigned long long)s->exits_io, (unsigned long long)s->exits_mmio,
		(unsigned long long)s->exits_hlt, (unsigned long long)s->exits_other);
}

static void malformed_requests_are_refused(void)
{
	struct vj_vmm_ctl_msg r = { 0 }, bad = { .version = 99, .op = VJ_VMM_CTL_PAUSE, .seq = 6 };
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	bool refused = false;
	char small[3] = { 1, 2, 3 };
	unsigned before;

	if (write(ctl, &bad, sizeof(bad)) == (ssize_t)sizeof(bad) && poll(&p, 1, REPLY_MS) == 1 &&
	    read(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r))
		refused = r.seq == 6 && r.status == -EPROTO;
	finding(refused, "a request of another version is refused (EPROTO)", "no such reply");
	refused = false;
	if (write(ctl, small, sizeof(small)) == (ssize_t)sizeof(small) && poll(&p, 1, REPLY_MS) == 1 &&
	    read(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r))
		refused = r.status == -EPROTO;
	finding(refused, "a short request is refused (EPROTO)", "no such reply");
	finding(request(77, 7, &r) == 0 && r.status == -EOPNOTSUPP,
		"an unknown request is refused (EOPNOTSUPP)", "status %d", r.status);
	before = last_count;
	finding(wait_count(before + 2), "the guest runs on after them", "count %u -> %u", before,
		last_count);
}

/* The guest's keyboard takes Ctrl-Alt-Del while scanning, and the VMM
 * refuses one while the guest keeps its keyboard off. */
static void ctrl_alt_del(void)
{
	static const char keys[] = "vjtest: kbd keys 14 11 e0 71 e0 f0 71 f0 11 f0 14 irqs=";
	struct vj_vmm_ctl_msg r = { 0 };
	char line[256] = "";
	int status;

	if (!wait_event(VJ_VMM_CTL_EVENT_BOOT_MARKER, LINE_MS * 3)) {
		finding(false, "the guest's keyboard driver gets ready (boot marker)", "no event");
		return;
	}
	finding(request(VJ_VMM_CTL_CTRL_ALT_DEL, 1, &r) == 0 && r.status == 0,
		"ctrl-alt-del is answered with success", "status %d", r.status);
	finding(wait_line("vjtest: kbd keys", line, sizeof(line), LINE_MS * 3) &&
			!strncmp(line, keys, strlen(keys)),
		"the guest reads Ctrl-Alt-Del's make and break codes, scancode set 2, by IRQ 1",
		"\"%s\"", line);
	finding(wait_line("vjtest: kbd scanning off", line, sizeof(line), LINE_MS),
		"the guest turns its keyboard off", "no such line");
	finding(request(VJ_VMM_CTL_CTRL_ALT_DEL, 2, &r) == 0 && r.status == -EAGAIN,
		"ctrl-alt-del is refused (EAGAIN) while the guest's keyboard is off", "status %d",
		r.status);
	finding(wait_line("vjtest: kbd while off", line, sizeof(line), LINE_MS) &&
			!strcmp(line, "vjtest: kbd while off 0 bytes"),
		"no key reaches the guest while its keyboard is off", "\"%s\"", line);
	waitpid(vmm, &status, 0);
	vmm = 0;
	finding(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the guest resets: the VMM exits 0", "wait status %d", status);
}

static int exec_vmm(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	struct signalfd_siginfo si;
	int sv[2], sigfd, status;
	uint32_t seq = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	if (!args || sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("vmm-ctl --exec");
		return 2;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	args[argc] = "--control-fd";
	args[argc + 1] = "3";
	vmm = fork();
	if (vmm == 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		dup2(sv[1], 3);
		execvp(args[0], args);
		_exit(127);
	}
	close(sv[1]);
	ctl = sv[0];
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct vj_vmm_ctl_msg r = { 0 };
		int e;

		if (si.ssi_signo == SIGUSR1) {
			e = request(VJ_VMM_CTL_CTRL_ALT_DEL, ++seq, &r);
			fprintf(stderr, "vmm-ctl: ctrl-alt-del: status %d\n", e ? e : r.status);
		} else if (waitpid(vmm, &status, WNOHANG) == vmm) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
	perror("vmm-ctl --exec: signalfd");
	return 2;
}

int main(int argc, char **argv)
{
	const bool cad = argc == 4 && !strcmp(argv[1], "--ctrl-alt-del");
	int status;

	if (argc > 2 && !strcmp(argv[1], "--exec"))
		return exec_vmm(argc - 2, argv + 2);
	if (argc != 3 && !cad) {
		fprintf(stderr, "usage: vmm-ctl [--ctrl-alt-del] VMM GUEST | --exec VMM-ARGV...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	vmm = start(argv[1 + cad], argv[2 + cad], cad ? "vjtest=kbd" : "vjtest=count");
	if (vmm < 0) {
		perror("vmm-ctl: start");
		return 2;
	}
	if (cad) {
		ctrl_alt_del();
		if (vmm > 0) {
			kill(vmm, SIGKILL);
			waitpid(vmm, &status, 0);
		}
		return failed;
	}
	finding(wait_count(3), "the guest counts", "count %u", last_count);
	if (!failed) {
		pause_holds_the_guest();
		statistics_count_exits();
		malformed_requests_are_refused();
	}
	kill(vmm, SIGTERM);
	waitpid(vmm, &status, 0);
	finding(WIFEXITED(status) && WEXITSTATUS(status) == 5,
		"SIGTERM stops the VMM with status 5", "wait status %d", status);
	return failed;
}
