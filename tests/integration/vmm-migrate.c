/*
 * vmm-migrate: live migration (vmm/MIGRATION.md) between two vmjail-vmm
 * processes on this machine, over a Unix socket pair, this program in
 * both launchers' places. The source runs the test guest's `count`
 * scenario ("vjtest: count N" every 100 ms, counted in guest memory) or
 * its `dirty` one (the same count while it sweeps 16 MiB of RAM as fast
 * as it can, checking at each tick that every page holds what it last
 * wrote). Prints "ok NAME" / "FAIL NAME: why" per finding and "info NAME
 * VALUE" per figure, for vmm-migrate.sh.
 *
 *   vmm-migrate VMM GUEST count|dirty|kill|stall|trickle|refuse|rw|ro|shared|contended
 *               [ROUNDS [DOWNTIME_MS [MEMORY [KIB_S]]]]
 *
 * VMM_MIGRATE_DIRTY_RATE=N in the environment makes the dirty guest
 * write N pages per 100 ms tick (a fixed rate) instead of all it can.
 *
 * With KIB_S the stream goes through a relay here that carries at most
 * that many KiB a second from the source: a link slower than the guest
 * dirties its memory.
 *
 * count, dirty: the guest migrates; the source ends with status 8, the
 * destination counts on from the source's number, one by one, and (dirty)
 * no page is found stale. kill: the destination is killed while the
 * rounds go on: the source reports the failure and counts on. stall: the
 * destination is stopped (SIGSTOP) instead, a link that takes nothing and
 * does not hang up: the source gives up after 30 s without a byte taken
 * and counts on. trickle: the link carries the pre-copy at KIB_S, then,
 * from the pause on (the first MEMORY run of round 1, the count guest's
 * paused round, or STATE), 2 KiB every 10 s, and the source's socket
 * buffer is as small as the kernel allows: the destination takes bytes,
 * never nothing for 30 s, but too few; the source gives up once the
 * paused sends' deadline has passed, resumes its guest and counts on.
 * refuse:
 * the destination has other memory and refuses before any memory: the
 * source counts on, the destination ends with status 9 and one line.
 * rw: the source has the writable drive $VMM_MIGRATE_DRIVE, and its
 * migration is refused (EROFS) before any stream is used. ro: both VMMs
 * have it read-only, which migrates as count does.
 *
 * shared: both VMMs have $VMM_MIGRATE_DRIVE writable, the source is told
 * it is shared storage: its lock passes to the destination at the
 * handover (the guest migrates as count does; then this program cannot
 * lock the image while the destination runs, and can once it is gone).
 * contended: the same, but a third process here waits for the image's
 * lock from the start (a blocking flock), gets it when the source lets it
 * go at the pause and holds it: the destination refuses, the source
 * cannot take the lock back and keeps its guest paused (-ENOLCK), and a
 * resume is refused until that process ends; then it resumes and counts
 * on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "migration_stream.h"
#include "vmm_ctl.h"

#define LINE_MS 20000

struct proc {
	const char *name;
	pid_t pid;
	int ctl, out;
	struct driver_lines con; /* the console at out */
};

static bool stale_page;

/* The console of p for up to ms (0: what is there); counts must go one by
 * one across both VMMs. Returns false at the console's end. */
static bool read_console(struct proc *p, int ms)
{
	char *line;
	int n;

	while ((n = lines_fill(&p->con, ms)) > 0) {
		while ((line = lines_next(&p->con))) {
			if (driver_count_line(line, p->name) || strncmp(line, "vjtest: dirty FAIL", 18))
				continue;
			if (!stale_page)
				finding(false, "no page of the guest is stale", "%s: %s", p->name, line);
			stale_page = true;
		}
		ms = 0;
	}
	return n == 0;
}

static bool wait_count(struct proc *p, unsigned want)
{
	const long long end = now_ms() + LINE_MS;

	while (driver_last_count < want && now_ms() < end)
		if (!read_console(p, 100))
			break;
	return driver_last_count >= want;
}

static int start(struct proc *p, char *const argv[], int stream)
{
	int sv[2], o[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(o, O_CLOEXEC) < 0)
		return -1;
	p->pid = fork();
	if (p->pid == 0) {
		dup2(sv[1], 3);
		dup2(o[1], 1);
		if (stream >= 0)
			dup2(stream, 4);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	close(o[1]);
	p->ctl = sv[0];
	p->out = o[0];
	lines_init(&p->con, p->out);
	return p->pid > 0 ? 0 : -1;
}

/* The reply to op, or an event of that op when it comes first. */
static int send_migrate(struct proc *p, int stream, const struct vj_vmm_migrate *params,
			struct vj_vmm_ctl_msg *reply)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = VJ_VMM_CTL_MIGRATE_SEND,
				    .seq = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	struct pollfd pf = { .fd = p->ctl, .events = POLLIN };

	m.data.migrate = *params;
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &stream, sizeof(int));
	if (sendmsg(p->ctl, &mh, 0) != (ssize_t)sizeof(m))
		return -errno;
	while (poll(&pf, 1, 5000) == 1) {
		if (read(p->ctl, reply, sizeof(*reply)) != (ssize_t)sizeof(*reply))
			return -EPROTO;
		if (reply->op == VJ_VMM_CTL_REPLY && reply->seq == 1)
			return 0;
	}
	return -ETIMEDOUT;
}

/* One request without descriptors; its reply's status, or -errno. */
static int request(struct proc *p, uint32_t op, uint32_t seq)
{
	struct vj_vmm_ctl_msg m = { .version = VJ_VMM_CTL_VERSION, .op = op, .seq = seq }, r;
	struct pollfd pf = { .fd = p->ctl, .events = POLLIN };

	if (write(p->ctl, &m, sizeof(m)) != (ssize_t)sizeof(m))
		return -errno;
	while (poll(&pf, 1, 5000) == 1) {
		if (read(p->ctl, &r, sizeof(r)) != (ssize_t)sizeof(r))
			return -EPROTO;
		if (r.op == VJ_VMM_CTL_REPLY && r.seq == seq)
			return r.status;
	}
	return -ETIMEDOUT;
}

/* Whether another open file holds path's lock. */
static bool image_locked(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), r;

	if (fd < 0)
		return false;
	r = flock(fd, LOCK_EX | LOCK_NB);
	close(fd);
	return r < 0 && errno == EWOULDBLOCK;
}

/* A process that waits for path's lock (blocking: it is granted the
 * moment its holder lets go), says so on the pipe and holds it until it
 * is killed. */
static pid_t lock_waiter(const char *path, int *ready)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(p[1], "L", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	*ready = p[0];
	return pid;
}

/* The source's frames as they go by, for trickle: `paused` from the first
 * frame the source sends paused on (a MEMORY run of round 1 or later, or
 * STATE). Headers are taken byte by byte, payloads skipped. */
struct frame_watch {
	uint8_t buf[sizeof(struct vj_mig_frame_header) + sizeof(uint32_t)];
	size_t have;
	uint64_t skip;
	bool paused;
};

static void watch_frames(struct frame_watch *w, const uint8_t *p, size_t n)
{
	const size_t hl = sizeof(struct vj_mig_frame_header);
	struct vj_mig_frame_header h;
	uint32_t round;

	while (n > 0 && !w->paused) {
		if (w->skip > 0) {
			size_t k = n < w->skip ? n : (size_t)w->skip;
			p += k;
			n -= k;
			w->skip -= k;
			continue;
		}
		w->buf[w->have++] = *p++;
		n--;
		if (w->have < hl)
			continue;
		memcpy(&h, w->buf, hl);
		if (h.type == VJ_MIG_MEMORY && w->have < hl + sizeof(round))
			continue;
		if (h.type == VJ_MIG_STATE) {
			w->paused = true;
			break;
		}
		if (h.type == VJ_MIG_MEMORY) {
			memcpy(&round, w->buf + hl, sizeof(round));
			w->paused = round >= 1;
			w->skip = h.length - sizeof(round);
		} else {
			w->skip = h.length;
		}
		w->have = 0;
	}
}

/* A link of kib_s KiB/s from a to b (and unpaced back), in a child
 * process that ends when either side does; with trickle, 2 KiB every
 * 10 s once the source's frames are the pause's. */
static pid_t relay(int a, int b, int other, long kib_s, bool trickle)
{
	pid_t pid = fork();
	char buf[16384];
	long long t0, sent = 0;
	struct frame_watch watch = { 0 };

	if (pid != 0)
		return pid;
	close(other); /* the source's end: its close must reach us */
	t0 = now_ms();
	for (;;) {
		struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			ssize_t n, w;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, trickle && i == 0 ? 2048 : sizeof(buf));
			if (n <= 0)
				_exit(0);
			/* Once the source has hung up, the rest goes at once: the
			 * destination's end is then the stream's, not the trickle's. */
			if (i == 0 && trickle && watch.paused && (p[0].revents & POLLHUP))
				trickle = false;
			if (i == 0 && trickle && watch.paused)
				sleep(10);
			else if (i == 0 && trickle)
				watch_frames(&watch, (const uint8_t *)buf, (size_t)n);
			for (ssize_t off = 0; off < n; off += w) {
				w = write(p[1 - i].fd, buf + off, (size_t)(n - off));
				if (w <= 0)
					_exit(0);
			}
			if (i == 0) {
				long long ahead;
				sent += n;
				/* KiB/s is bytes per ms, near enough. One reading of
				 * the clock: with two, a clock that passed the due
				 * time in between made a negative wait, which as an
				 * unsigned number of microseconds stalled the link
				 * for 71 minutes. */
				ahead = t0 + sent / kib_s - now_ms();
				if (ahead > 0)
					usleep((useconds_t)ahead * 1000);
			}
		}
	}
}

/* VJ_VMM_CTL_EVENT_MIGRATED within ms, the source's console read meanwhile. */
static bool wait_migrated(struct proc *p, int ms, struct vj_vmm_ctl_msg *ev)
{
	struct pollfd pf = { .fd = p->ctl, .events = POLLIN };
	const long long end = now_ms() + ms;

	while (now_ms() < end) {
		read_console(p, 0);
		if (poll(&pf, 1, 50) == 1) {
			if (read(p->ctl, ev, sizeof(*ev)) != (ssize_t)sizeof(*ev))
				return false;
			if (ev->op == VJ_VMM_CTL_EVENT_MIGRATED)
				return true;
		}
	}
	return false;
}

static int wait_exit(pid_t pid, int ms)
{
	int status;

	for (int waited = 0; waited < ms; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* The threads of pid that run its executable (KVM's workers may join
 * the process under another name). */
static int vmm_threads(pid_t pid)
{
	char path[64], comm[32], own[32] = "";
	struct dirent *de;
	int n = 0;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (!(f = fopen(path, "r")) || !fgets(own, sizeof(own), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", pid, de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, own))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Where each thread of pid waits, for a run that hangs. */
static void print_threads(const char *who, pid_t pid)
{
	char path[96], line[256];
	FILE *f;

	for (int tid = pid; tid < pid + 64; tid++) {
		char comm[64] = "", wchan[64] = "", sys[128] = "";
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(line, sizeof(line), f))
			sscanf(line, "%63s", comm);
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
		if ((f = fopen(path, "r"))) {
			if (fgets(line, sizeof(line), f))
				sscanf(line, "%63s", wchan);
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
		if ((f = fopen(path, "r"))) {
			if (fgets(line, sizeof(line), f))
				sscanf(line, "%127[^\n]", sys);
			fclose(f);
		}
		printf("info %s thread %d %s waits in %s (syscall %s)\n", who, tid, comm, wchan, sys);
	}
	fflush(stdout);
}

static void print_figures(const struct vj_vmm_migration *o)
{
	printf("info total-ms %.1f\n", (double)o->total_ns / 1e6);
	printf("info downtime-ms %.1f\n", (double)o->downtime_ns / 1e6);
	printf("info bytes %llu\n", (unsigned long long)o->bytes);
	printf("info rounds %u%s\n", o->rounds, o->round_limit ? " (round limit)" : "");
	printf("info pages-per-round");
	for (unsigned i = 0; i < o->rounds && i < VJ_VMM_MIGRATE_ROUNDS_MAX; i++)
		printf(" %llu", (unsigned long long)o->pages[i]);
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct proc src = { .name = "source" }, dst = { .name = "destination" };
	const char *vmm, *guest, *mode, *memory;
	char cmdline[64];
	struct vj_vmm_migrate params = { .max_downtime_ns = 300000000ull, .max_rounds = 30 };
	struct vj_vmm_ctl_msg reply = { 0 }, ev = { 0 };
	bool dirty, kill_dst, stall, trickle, refuse, rw, ro, shared, contended;
	const char *image = NULL;
	pid_t waiter = 0;
	int waiter_ready = -1;
	char drive_arg[4200] = "";
	int sp[2], st, e;
	long kib_s = 0;
	pid_t link = 0;
	unsigned at;

	if (argc < 4 || argc > 8) {
		fprintf(stderr, "usage: vmm-migrate VMM GUEST count|dirty|kill|refuse [ROUNDS "
				"[DOWNTIME_MS [MEMORY [KIB_S]]]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	vmm = argv[1];
	guest = argv[2];
	mode = argv[3];
	if (argc > 4)
		params.max_rounds = (uint32_t)atoi(argv[4]);
	if (argc > 5)
		params.max_downtime_ns = (uint64_t)atoi(argv[5]) * 1000000ull;
	memory = argc > 6 ? argv[6] : "32M";
	kib_s = argc > 7 ? atol(argv[7]) : 0;
	dirty = !strcmp(mode, "dirty") || !strcmp(mode, "kill") || !strcmp(mode, "stall");
	kill_dst = !strcmp(mode, "kill");
	stall = !strcmp(mode, "stall");
	trickle = !strcmp(mode, "trickle");
	refuse = !strcmp(mode, "refuse");
	rw = !strcmp(mode, "rw");
	ro = !strcmp(mode, "ro");
	contended = !strcmp(mode, "contended");
	shared = contended || !strcmp(mode, "shared");
	if (rw || ro || shared) {
		image = getenv("VMM_MIGRATE_DRIVE");
		if (!image || !*image) {
			fprintf(stderr, "vmm-migrate: %s needs VMM_MIGRATE_DRIVE\n", mode);
			return 2;
		}
		snprintf(drive_arg, sizeof(drive_arg), "path=%s%s", image, ro ? ",ro" : "");
	}
	if (shared)
		params.flags |= VJ_VMM_MIGRATE_SHARED_DRIVES;
	{
		const char *rate = getenv("VMM_MIGRATE_DIRTY_RATE");
		snprintf(cmdline, sizeof(cmdline), "vjtest=%s%s%.12s", dirty ? "dirty" : "count",
			 rate && *rate ? " vjdirty=" : "", rate && *rate ? rate : "");
	}
	{
		char *sargv[] = { (char *)vmm, "--kernel", (char *)guest, "--cmdline", cmdline,
				  "--memory", (char *)memory, "--console", "stdout", "--control-fd",
				  "3", drive_arg[0] ? "--drive" : NULL, drive_arg, NULL };
		if (start(&src, sargv, -1) < 0) {
			perror("vmm-migrate: source");
			return 2;
		}
	}
	finding(wait_count(&src, 3), "the source counts", "at %u", driver_last_count);
	/* The migration thread is made by the first request, not at start. */
	st = vmm_threads(src.pid);
	finding(st == 2, "before any request the source runs its VMM and vCPU threads only",
		"%d threads", st);
	if (rw) {
		int dummy[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dummy) < 0)
			return 2;
		e = send_migrate(&src, dummy[0], &params, &reply);
		finding(e == 0 && reply.status == -EROFS,
			"a VM with a writable local drive is not migrated (EROFS)", "%d/%d", e,
			reply.status);
		close(dummy[1]);
		at = driver_last_count;
		finding(wait_count(&src, at + 3), "the source counts on", "%u -> %u", at,
			driver_last_count);
		kill(src.pid, SIGKILL);
		waitpid(src.pid, &st, 0);
		return driver_failed;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		perror("vmm-migrate: socketpair");
		return 2;
	}
	{
		char *dargv[] = { (char *)vmm, "--migrate-from-fd", "4", "--memory",
				  refuse ? "64M" : (char *)memory, "--console", "stdout",
				  "--control-fd", "3", ro || shared ? "--drive" : NULL, drive_arg,
				  NULL };
		if (start(&dst, dargv, sp[1]) < 0) {
			perror("vmm-migrate: destination");
			return 2;
		}
	}
	close(sp[1]);
	if (kib_s > 0) {
		int lp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, lp) < 0) {
			perror("vmm-migrate: socketpair");
			return 2;
		}
		/* As small as it goes: what the source sends must reach the
		 * relay, not wait in the kernel, for the trickle to hold it. */
		if (trickle && setsockopt(lp[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 }, sizeof(int)) < 0)
			perror("vmm-migrate: SO_SNDBUF");
		link = relay(lp[1], sp[0], lp[0], kib_s, trickle);
		close(lp[1]);
		close(sp[0]);
		sp[0] = lp[0];
		printf("info link-kib-s %ld\n", kib_s);
	}
	if (shared)
		finding(image_locked(image), "the source VMM holds the writable image's lock",
			"it is free");
	if (contended && (waiter = lock_waiter(image, &waiter_ready)) < 0) {
		perror("vmm-migrate: fork");
		return 2;
	}
	e = send_migrate(&src, sp[0], &params, &reply);
	close(sp[0]);
	finding(e == 0 && reply.status == 0, "the source starts the migration", "%d/%d", e,
		reply.status);
	if (kill_dst || stall) {
		/* Mid-stream: the rounds of a guest that dirties 16 MiB at
		 * every turn go on far longer than this. */
		usleep(300000);
		kill(dst.pid, kill_dst ? SIGKILL : SIGSTOP);
	}
	if (!wait_migrated(&src, 240000, &ev)) {
		finding(false, "the source reports the migration's end", "no event");
		print_threads("source", src.pid);
		if (link > 0)
			print_threads("relay", link);
		kill(src.pid, SIGKILL);
		kill(dst.pid, SIGKILL);
		return 1;
	}
	print_figures(&ev.data.migration);
	if (contended) {
		char c;
		struct pollfd pf = { .fd = waiter_ready, .events = POLLIN };
		finding(poll(&pf, 1, 0) == 1 && read(waiter_ready, &c, 1) == 1,
			"the waiting process got the lock the source let go", "it did not");
		finding(ev.status == -ENOLCK && strstr(ev.data.migration.reason, "stays paused"),
			"the migration fails, the source keeps its guest paused (ENOLCK)",
			"status %d: %s", ev.status, ev.data.migration.reason);
		printf("info reason %s\n", ev.data.migration.reason);
		st = wait_exit(dst.pid, 10000);
		finding(st == 9, "the destination, refused the lock, ends with status 9", "status %d",
			st);
		read_console(&src, 1000);
		at = driver_last_count;
		read_console(&src, 1000);
		finding(driver_last_count == at, "the source's guest stays paused", "%u -> %u", at,
			driver_last_count);
		e = request(&src, VJ_VMM_CTL_RESUME, 2);
		finding(e == -ENOLCK, "a resume is refused while another holds the lock",
			"status %d", e);
		kill(waiter, SIGKILL);
		waitpid(waiter, &st, 0);
		e = request(&src, VJ_VMM_CTL_RESUME, 3);
		finding(e == 0, "once it is free, the source takes it back and resumes", "status %d",
			e);
		finding(wait_count(&src, at + 3), "the source counts on", "%u -> %u", at,
			driver_last_count);
		finding(image_locked(image), "the source VMM holds the image's lock again",
			"it is free");
		kill(src.pid, SIGKILL);
		waitpid(src.pid, &st, 0);
		return driver_failed;
	}
	if (kill_dst || stall || trickle || refuse) {
		finding(ev.status < 0, "the migration fails", "status %d", ev.status);
		if (trickle)
			finding(strstr(ev.data.migration.reason, "too slowly") != NULL,
				"the source says the paused sends missed their deadline", "\"%s\"",
				ev.data.migration.reason);
		printf("info reason %s\n", ev.data.migration.reason);
		if (stall) {
			finding(strstr(ev.data.migration.reason, "took nothing for 30 s") != NULL,
				"the source says the link took nothing", "\"%s\"",
				ev.data.migration.reason);
			kill(dst.pid, SIGKILL);
		}
		if (refuse)
			finding(strstr(ev.data.migration.reason, "memory") != NULL,
				"the source is told why the destination refused", "\"%s\"",
				ev.data.migration.reason);
		at = driver_last_count;
		finding(wait_count(&src, at + 3), "the source counts on after the driver_failed migration",
			"%u -> %u", at, driver_last_count);
		st = vmm_threads(src.pid);
		finding(st == 3, "the migration thread the request made waits for the next one",
			"%d threads", st);
		st = wait_exit(dst.pid, 10000);
		finding(kill_dst || stall ? st == 128 + SIGKILL : st == 9,
			"the destination ends (killed, or refusing with status 9)", "status %d", st);
		kill(src.pid, SIGKILL);
		waitpid(src.pid, &st, 0);
		if (link > 0)
			waitpid(link, &st, 0);
		return driver_failed;
	}
	finding(ev.status == 0, "the migration succeeds", "status %d: %s", ev.status,
		ev.data.migration.reason);
	st = wait_exit(src.pid, 10000);
	while (read_console(&src, 100))
		;
	/* The guest's console is one stream across both VMMs: a line it was
	 * writing at the pause (a byte per port write) ends on the
	 * destination's. */
	memcpy(dst.con.buf, src.con.buf, src.con.len + 1);
	dst.con.len = src.con.len;
	dst.con.used = 0;
	finding(st == 8, "the source VMM ends with status 8 (migrated)", "status %d", st);
	at = driver_last_count;
	finding(wait_count(&dst, at + 5), "the destination counts on from the source's number",
		"source reached %u, destination at %u", at, driver_last_count);
	finding(!stale_page, "no page is stale on the destination", "see above");
	if (shared)
		finding(image_locked(image), "the destination VMM holds the writable image's lock",
			"it is free");
	if (params.max_rounds < 30)
		finding(ev.data.migration.round_limit == 1 && ev.data.migration.rounds ==
			params.max_rounds, "a guest dirtying faster than the link ends at the round limit",
			"%u rounds, limit flag %u", ev.data.migration.rounds,
			ev.data.migration.round_limit);
	kill(dst.pid, SIGKILL);
	waitpid(dst.pid, &st, 0);
	if (shared)
		finding(!image_locked(image), "the lock ends with the destination", "still held");
	if (link > 0)
		waitpid(link, &st, 0);
	return driver_failed;
}
