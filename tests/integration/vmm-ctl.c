/*
 * vmm-ctl: plays the launcher's side of the VMM's control channel
 * (common/vmm_ctl.h) against vmjail-vmm running the test guest's `count`
 * scenario, which prints "vjtest: count N" every 100 ms. Prints one line
 * per finding, "ok NAME" or "FAIL NAME: why", for vmm-ctl.sh to turn into
 * results; exits 0 when every finding was ok.
 *
 *   vmm-ctl VMM GUEST
 *   vmm-ctl --ctrl-alt-del VMM GUEST
 *   vmm-ctl --snapshot VMM GUEST DIR
 *   vmm-ctl --snapshot-rw VMM GUEST DRIVE
 *   vmm-ctl --exec VMM-ARGV...
 *
 * With --snapshot the counting guest is snapshotted into DIR (which must
 * exist, empty) mid-count: refused while it runs, taken once paused, the
 * source then counts on; a VMM restored from DIR counts on from the
 * number the source had reached, its registers as saved, its timer
 * still ticking; two clones of DIR count side by side. It prints
 * "info NAME VALUE" lines with the figures (times, private memory). With
 * --snapshot-rw the guest has the writable drive DRIVE, and a snapshot
 * is refused (EROFS).
 *
 * With --ctrl-alt-del the guest runs the `kbd` scenario instead: once its
 * keyboard driver is ready (the boot marker event), Ctrl-Alt-Del is
 * pressed and the guest must print its scancodes; once it turned its
 * keyboard off, another is refused.
 *
 * With --exec it is a launcher's stand-in for any guest (the e2e test
 * host's Linux): it runs VMM-ARGV with the channel as fd 3 (adding
 * "--control-fd 3"), presses Ctrl-Alt-Del on each SIGUSR1, saying on
 * stderr "vmm-ctl: ctrl-alt-del: status N", on each SIGUSR2 pauses the
 * VM, snapshots it into $VMM_CTL_SNAPSHOT_DIR (state and memory, created
 * there) and resumes it, saying "vmm-ctl: snapshot: status N", and exits
 * with the VMM's status (128 + N for a signal).
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "driver.h"
#include "snapshot.h"
#include "vmm_ctl.h"

#define REPLY_MS 5000
#define LINE_MS 10000

static int ctl = -1, out = -1;
static pid_t vmm;
static struct driver_lines con; /* the console of the VMM at out */

/* Reads the console for up to ms; checks the counts. Returns the number
 * of count lines that arrived. */
static int read_console(int ms)
{
	int lines = 0;
	char *line;

	while (lines_fill(&con, ms) > 0) {
		while ((line = lines_next(&con)))
			lines += driver_count_line(line, NULL);
		ms = 0;
	}
	return lines;
}

static bool wait_count(unsigned want)
{
	for (int waited = 0; driver_last_count < want && waited < LINE_MS; waited += 100)
		read_console(100);
	return driver_last_count >= want;
}

/* The next console line starting with prefix, within ms; lines before
 * it are skipped. */
static bool wait_line(const char *prefix, char *line, size_t size, int ms)
{
	const long long end = now_ms() + ms;

	while (now_ms() <= end) {
		char *l;
		while ((l = lines_next(&con)))
			if (!strncmp(l, prefix, strlen(prefix))) {
				snprintf(line, size, "%.*s", (int)size - 1, l);
				return true;
			}
		if (lines_fill(&con, 100) < 0)
			return false;
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

/* request() with descriptors alongside (SCM_RIGHTS). */
static int request_fds(uint32_t op, uint32_t seq, const int *fds, unsigned nfds,
		       struct vj_vmm_ctl_msg *reply)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .seq = seq };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd p = { .fd = ctl, .events = POLLIN };

	if (nfds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(h), fds, nfds * sizeof(int));
	}
	if (sendmsg(ctl, &mh, 0) != (ssize_t)sizeof(m))
		return -errno;
	/* A snapshot of a large guest takes a while. */
	while (poll(&p, 1, REPLY_MS * 6) == 1) {
		if (read(ctl, reply, sizeof(*reply)) != (ssize_t)sizeof(*reply))
			return -EPROTO;
		if (reply->op == VJ_VMM_CTL_REPLY && reply->seq == seq)
			return 0;
	}
	return -ETIMEDOUT;
}

static pid_t start_argv(char *const argv[])
{
	int sv[2], o[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(o, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		dup2(o[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	close(o[1]);
	ctl = sv[0];
	out = o[0];
	lines_init(&con, out);
	return pid;
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
	lines_init(&con, out);
	return pid;
}

static void pause_holds_the_guest(void)
{
	struct vj_vmm_ctl_msg r = { 0 };
	unsigned held;

	finding(request(VJ_VMM_CTL_PAUSE, 1, &r) == 0 && r.status == 0,
		"pause is answered with success", "status %d", r.status);
	read_console(200); /* a line already on its way */
	held = driver_last_count;
	finding(read_console(1500) == 0 && driver_last_count == held,
		"no count line comes while paused", "held at %u, now %u", held, driver_last_count);
	finding(request(VJ_VMM_CTL_PAUSE, 2, &r) == 0 && r.status == 0,
		"a second pause is answered with success", "status %d", r.status);
	finding(request(VJ_VMM_CTL_STATS, 3, &r) == 0 && r.status == 0 && r.data.stats.paused_ns > 0,
		"statistics while paused count the paused time", "%llu ns",
		(unsigned long long)r.data.stats.paused_ns);
	finding(request(VJ_VMM_CTL_RESUME, 4, &r) == 0 && r.status == 0,
		"resume is answered with success", "status %d", r.status);
	finding(wait_count(held + 2), "after resume the count goes on where it stopped",
		"held at %u, now %u", held, driver_last_count);
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
	before = driver_last_count;
	finding(wait_count(before + 2), "the guest runs on after them", "count %u -> %u", before,
		driver_last_count);
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

/* ---- snapshots ------------------------------------------------------ */

/* Guest RAM of the snapshot scenarios in MiB: VMM_CTL_MEMORY, or 32. */
static const char *snap_memory(void)
{
	const char *m = getenv("VMM_CTL_MEMORY");

	return m && *m ? m : "32M";
}

/* And their vCPUs: VMM_CTL_VCPUS, or 1 (the guest counts on vCPU 0; the
 * others wait for a start-up IPI that never comes). */
static const char *snap_vcpus(void)
{
	const char *v = getenv("VMM_CTL_VCPUS");

	return v && *v ? v : "1";
}

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static double ms_since(long long t0_us)
{
	return (double)(now_us() - t0_us) / 1000.0;
}

static int open_new(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* The VMM's snapshot of itself into DIR: 0 or the reply's status. */
static int take(const char *dir, uint32_t seq)
{
	struct vj_vmm_ctl_msg r = { 0 };
	int fds[2] = { open_new(dir, "state"), open_new(dir, "memory") };
	int e;

	if (fds[0] < 0 || fds[1] < 0) {
		perror("vmm-ctl: snapshot files");
		return -EIO;
	}
	e = request_fds(VJ_VMM_CTL_SNAPSHOT, seq, fds, 2, &r);
	close(fds[0]);
	close(fds[1]);
	return e ? e : r.status;
}

static pid_t restore(const char *vmm_path, const char *dir)
{
	char *argv[] = { (char *)vmm_path, "--restore", (char *)dir, "--memory", (char *)snap_memory(),
			 "--vcpus", (char *)snap_vcpus(), "--console", "stdout", "--control-fd", "3",
			 NULL };

	return start_argv(argv);
}

static void stop(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Private_Dirty of a process, in KiB (-1: unreadable). */
static long private_dirty_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Private_Dirty: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static bool load_state(const char *dir, struct vj_snapshot *s)
{
	char path[4096];
	struct vj_err e = { 0 };
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/state", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok = fd >= 0 && vj_snapshot_load(fd, path, s, &e) == 0;
	if (!ok)
		fprintf(stderr, "vmm-ctl: %s\n", e.msg);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The registers a guest that executed nothing since must still have. */
static bool same_registers(const struct vj_snap_vcpu *a, const struct vj_snap_vcpu *b)
{
	return !memcmp(&a->regs, &b->regs, sizeof(a->regs)) && a->sregs.cr0 == b->sregs.cr0 &&
	       a->sregs.cr3 == b->sregs.cr3 && a->sregs.cr4 == b->sregs.cr4 &&
	       a->sregs.efer == b->sregs.efer && a->sregs.cs.selector == b->sregs.cs.selector &&
	       a->sregs.idt.base == b->sregs.idt.base && a->mp_state.mp_state == b->mp_state.mp_state;
}

/*
 * The restored guest sleeps in hlt until its next tick: paused and
 * snapshotted again before that tick, it has executed nothing, and its
 * registers must be the saved ones. Whether it executed nothing is
 * known from outside: it wrote no byte to its console, and it is halted
 * again (after a tick it prints before it halts). An attempt where
 * either is not so (a tick came first) is not compared, and another is
 * made; a guest restored with other registers would have run elsewhere,
 * or halted elsewhere, and is caught.
 */
static void registers_as_saved(const char *vmm_path, const char *dir, const char *dir2,
			       unsigned held)
{
	static struct vj_snap_vcpu va, vb;
	struct vj_snapshot a = { 0 }, b = { 0 };
	char path[4200];
	bool compared = false, same = false;

	if (!load_state(dir, &a) || vj_snapshot_copy(&a, VJ_SNAP_VCPU, 0, &va, sizeof(va)) < 0) {
		finding(false, "the snapshot's state file reads back", "see stderr");
		return;
	}
	for (int attempt = 0; attempt < 8 && !compared; attempt++) {
		struct vj_vmm_ctl_msg r = { 0 };
		pid_t pid = restore(vmm_path, dir);
		bool ok = request(VJ_VMM_CTL_PAUSE, 40, &r) == 0 && r.status == 0 &&
			  take(dir2, 41) == 0;
		driver_last_count = held;
		ok = read_console(50) == 0 && con.len == 0 && ok;
		stop(pid);
		if (ok && load_state(dir2, &b)) {
			if (vj_snapshot_copy(&b, VJ_SNAP_VCPU, 0, &vb, sizeof(vb)) == 0 &&
			    vb.mp_state.mp_state == KVM_MP_STATE_HALTED) {
				same = same_registers(&va, &vb);
				compared = true;
			}
			vj_snapshot_free(&b);
		}
		snprintf(path, sizeof(path), "%s/state", dir2);
		unlink(path);
		snprintf(path, sizeof(path), "%s/memory", dir2);
		unlink(path);
	}
	vj_snapshot_free(&a);
	finding(compared && same, "a restored guest has the registers it was saved with",
		compared ? "they differ" : "no restore could be paused before its next tick");
}

/* Bytes of data in a file, holes left out (SEEK_DATA/SEEK_HOLE). */
static long long data_bytes(const char *dir, const char *name, long long *size)
{
	char path[4200];
	long long total = 0;
	off_t at = 0, hole;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	*size = lseek(fd, 0, SEEK_END);
	while ((at = lseek(fd, at, SEEK_DATA)) >= 0 && (hole = lseek(fd, at, SEEK_HOLE)) > at) {
		total += hole - at;
		at = hole;
	}
	close(fd);
	return total;
}

static int snapshot_scenario(const char *vmm_path, const char *guest, const char *dir)
{
	struct vj_vmm_ctl_msg r = { 0 };
	char dir2[4000];
	unsigned held, c1, c2;
	long long t0;
	pid_t a, b;
	int e;

	snprintf(dir2, sizeof(dir2), "%s.again", dir);
	mkdir(dir2, 0700);
	{
		char *argv[] = { (char *)vmm_path, "--kernel", (char *)guest, "--cmdline",
				 "vjtest=count", "--memory", (char *)snap_memory(), "--vcpus",
				 (char *)snap_vcpus(), "--console", "stdout", "--control-fd", "3", NULL };
		vmm = start_argv(argv);
	}
	finding(wait_count(3), "the guest counts", "count %u", driver_last_count);
	{
		int one = open_new(dir, "lone");
		e = one < 0 ? -EIO : request_fds(VJ_VMM_CTL_SNAPSHOT, 90, &one, 1, &r);
		finding(e == 0 && r.status == -EBADF,
			"a snapshot request with one descriptor is refused (EBADF)", "status %d/%d",
			e, r.status);
		e = request_fds(VJ_VMM_CTL_SNAPSHOT, 91, NULL, 0, &r);
		finding(e == 0 && r.status == -EBADF,
			"a snapshot request without descriptors is refused (EBADF)", "status %d/%d",
			e, r.status);
		if (one >= 0)
			close(one);
		char p[4096];
		snprintf(p, sizeof(p), "%s/lone", dir);
		unlink(p);
	}
	e = take(dir, 1);
	finding(e == -EBUSY, "a snapshot of a running VM is refused (EBUSY)", "status %d", e);
	{
		char p[4096];
		snprintf(p, sizeof(p), "%s/state", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/memory", dir);
		unlink(p);
	}
	finding(request(VJ_VMM_CTL_PAUSE, 2, &r) == 0 && r.status == 0, "pause", "status %d",
		r.status);
	read_console(200);
	held = driver_last_count;
	t0 = now_us();
	e = take(dir, 3);
	printf("info snapshot-ms %.1f\n", ms_since(t0));
	finding(e == 0, "a snapshot of the paused VM is written", "status %d", e);
	{
		long long size = 0, data = data_bytes(dir, "memory", &size);
		printf("info memory-file-data-kib %lld of %lld\n", data / 1024, size / 1024);
		finding(size == atoll(snap_memory()) << 20 && data > 0 && data < size / 4,
			"the memory file is as long as guest RAM, its zero pages holes",
			"%lld bytes of data in %lld", data, size);
	}
	finding(request(VJ_VMM_CTL_RESUME, 4, &r) == 0 && r.status == 0 && wait_count(held + 2),
		"the source counts on after its snapshot", "held at %u, now %u", held, driver_last_count);
	stop(vmm);
	vmm = 0;
	if (e)
		return driver_failed;

	/* One restore: it goes on from where the snapshot was taken. */
	driver_last_count = held;
	t0 = now_us();
	a = restore(vmm_path, dir);
	/* The control channel answers once the vCPUs run: exec, state file
	 * read and checked, RAM mapped, state restored. */
	finding(request(VJ_VMM_CTL_STATS, 30, &r) == 0 && r.status == 0,
		"a restored VMM answers on its control channel", "status %d", r.status);
	printf("info restore-to-running-ms %.1f\n", ms_since(t0));
	finding(wait_count(held + 1), "a restored guest counts on from the snapshot's count",
		"snapshot at %u, restored guest at %u", held, driver_last_count);
	printf("info restore-to-next-count-ms %.0f\n", ms_since(t0));
	finding(wait_count(held + 4), "a restored guest's timer interrupts keep arriving",
		"at %u", driver_last_count);
	stop(a);

	registers_as_saved(vmm_path, dir, dir2, held);

	/* Two clones of one snapshot, side by side. */
	driver_last_count = held;
	a = restore(vmm_path, dir);
	int out_a = out, ctl_a = ctl;
	b = restore(vmm_path, dir);
	finding(wait_count(held + 3), "clone B counts on from the snapshot", "at %u", driver_last_count);
	c2 = driver_last_count;
	out = out_a;
	ctl = ctl_a;
	driver_last_count = held;
	lines_init(&con, out);
	/* Clone A ran meanwhile: its lines are queued, from held + 1 on. */
	finding(wait_count(held + 3), "clone A counts on from the snapshot beside it", "at %u",
		driver_last_count);
	c1 = driver_last_count;
	printf("info clones-private-dirty-kib %ld %ld guest-kib %d\n", private_dirty_kib(a),
	       private_dirty_kib(b), atoi(snap_memory()) * 1024);
	(void)c1;
	(void)c2;
	stop(a);
	stop(b);
	return driver_failed;
}

/* A guest with a writable drive: its clones would write one image. */
static int snapshot_rw_scenario(const char *vmm_path, const char *guest, const char *drive)
{
	struct vj_vmm_ctl_msg r = { 0 };
	char drive_arg[4200], dir[] = "/tmp/vmm-ctl-rw.XXXXXX";
	int e;

	snprintf(drive_arg, sizeof(drive_arg), "path=%s", drive);
	{
		char *argv[] = { (char *)vmm_path, "--kernel", (char *)guest, "--cmdline",
				 "vjtest=count", "--memory", (char *)snap_memory(), "--console", "stdout",
				 "--drive", drive_arg, "--control-fd", "3", NULL };
		vmm = start_argv(argv);
	}
	if (!mkdtemp(dir))
		return 2;
	finding(wait_count(2), "the guest with a writable drive counts", "count %u", driver_last_count);
	finding(request(VJ_VMM_CTL_PAUSE, 1, &r) == 0 && r.status == 0, "pause", "status %d",
		r.status);
	e = take(dir, 2);
	finding(e == -EROFS, "a snapshot of a VM with a writable drive is refused (EROFS)",
		"status %d", e);
	{
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/memory", dir);
		finding(stat(p, &st) == 0 && st.st_size == 0, "nothing is written when it is refused",
			"memory file %lld bytes", (long long)st.st_size);
		unlink(p);
		snprintf(p, sizeof(p), "%s/state", dir);
		unlink(p);
		rmdir(dir);
	}
	stop(vmm);
	return driver_failed;
}

static int exec_vmm(int argc, char **argv)
{
	cleanup_free char **args = calloc((size_t)argc + 3, sizeof(*args));
	struct signalfd_siginfo si;
	int sv[2], sigfd, status;
	uint32_t seq = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
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
		} else if (si.ssi_signo == SIGUSR2) {
			const char *dir = getenv("VMM_CTL_SNAPSHOT_DIR");
			e = request(VJ_VMM_CTL_PAUSE, ++seq, &r);
			e = e ? e : r.status;
			if (e == 0)
				e = take(dir ? dir : ".", ++seq);
			if (request(VJ_VMM_CTL_RESUME, ++seq, &r) == 0 && e == 0)
				e = r.status;
			fprintf(stderr, "vmm-ctl: snapshot: status %d\n", e);
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
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "--snapshot"))
		return snapshot_scenario(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "--snapshot-rw"))
		return snapshot_rw_scenario(argv[2], argv[3], argv[4]);
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
		return driver_failed;
	}
	finding(wait_count(3), "the guest counts", "count %u", driver_last_count);
	if (!driver_failed) {
		pause_holds_the_guest();
		statistics_count_exits();
		malformed_requests_are_refused();
	}
	kill(vmm, SIGTERM);
	waitpid(vmm, &status, 0);
	finding(WIFEXITED(status) && WEXITSTATUS(status) == 5,
		"SIGTERM stops the VMM with status 5", "wait status %d", status);
	return driver_failed;
}
