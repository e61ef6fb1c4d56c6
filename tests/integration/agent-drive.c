/*
 * Test helper: the launcher's side of the agent protocol (jailer/agent.c)
 * driving a real agent, like `vmjail run` will. Its stdin, stdout and
 * stderr are the workload's, and it exits with the workload's status (125
 * when the session failed). Like vmjail, it makes the workload's output
 * harmless on a stdout or stderr that is a terminal, and tells on stderr
 * what output was dropped, and why, once the session is over.
 *
 * usage: agent-drive [options] -- AGENT-ARGV... --workload WORKLOAD-ARGV...
 * AGENT-ARGV gets its end of a socketpair as fd 3. With --listen PATH it
 * is the VM instead (vmjail-vmm --vsock cid=N,uds=U, with PATH = U_1024):
 * the agent's connection is accepted on PATH, and the VM's exit ends the
 * wait (its pidfd is the session's cancel_fd), as in the launcher.
 *   --env NAME=VALUE     add to the workload's environment (repeatable)
 *   --cwd DIR            --uid N   --gid N   --hostname NAME
 *   --net A.B.C.D/P[,GW] configure the guest's eth0
 *   --out-cap N          --err-cap N   (bytes; default: no cap)
 *   --no-stdin           the workload's stdin is empty
 *   --continue           a migrated sandbox's session: CONTINUE in place of
 *                        the workload (which is then not sent)
 *   --forward-signals    forward SIGINT, SIGTERM, SIGHUP, SIGUSR1 (through the
 *                        session's command channel, as the launcher will)
 *   --settime NS         ask the session to set the guest's clock to NS
 *                        (CLOCK_REALTIME, ns) once the workload runs
 *   --restored HOSTNAME  a restored sandbox's session: RESTORED (entropy from
 *                        getrandom, the host's clock, HOSTNAME) before the workload
 *   --restored-mac MAC   with --restored: the next interface's MAC (eth0 first)
 *   --agent-log FILE     the agent's stderr (default: inherited)
 *   --report FILE        write the result and the agent's end there
 *   --listen PATH        accept the agent on an AF_UNIX socket at PATH
 *   --cancel-after MS    cancel the session after MS milliseconds, as the
 *                        VM's end does in the launcher (not with --listen)
 * Execs (jailer/exec.c, as `vmjail exec`), once the session runs:
 *   --exec-socket PREFIX their ports listen at PREFIX_<port> (give the agent
 *                        --exec-socket PREFIX too)
 *   --exec ARG           the exec's argv, one option per argument
 *   --exec-env NAME=VALUE   --exec-cwd DIR   --exec-user UID:GID
 *   --exec-count N       N such execs at once (default 1)
 *   --exec-in FILE       their stdin (default /dev/null)
 *   --exec-out FILE      exec k's stdout goes to FILE.k, its stderr to FILE.k.err
 * With execs the workload's stdin is a pipe that ends once every exec has
 * ended; each exec's end is a line "exec K: status S" (or "exec K: no
 * status: WHY") in the report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cleanup.h"
#include "exec.h"
#include "parse.h"

#define SESSION_FAILED 125

struct options {
	struct vj_agent_spec spec;
	struct vj_workload w;
	struct vj_agent_io io;
	struct vj_agent_restored restored;
	bool forward_signals, settime;
	/* execs */
	const char *exec_socket, *exec_in, *exec_out;
	struct vj_ctl_exec exec;
	unsigned exec_count;
	const char *agent_log, *report, *listen;
	uint64_t cancel_after_ms, settime_ns;
	char **agent_argv;
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "agent-drive: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(SESSION_FAILED);
}

static uint64_t number(const char *s, uint64_t max)
{
	uint64_t v;

	if (vj_parse_u64(s, 0, max, &v) < 0)
		die("\"%s\": not a number in range", s);
	return v;
}

static void parse_net(const char *s, struct vj_agent_net *net)
{
	char buf[64], *slash, *comma;
	struct in_addr a;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		die("--net \"%s\": expected A.B.C.D/P[,GW]", s);
	*slash++ = '\0';
	comma = strchr(slash, ',');
	if (comma) {
		*comma++ = '\0';
		if (inet_pton(AF_INET, comma, &a) != 1)
			die("--net \"%s\": bad gateway", s);
		memcpy(net->gateway, &a, 4);
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		die("--net \"%s\": bad address", s);
	memcpy(net->addr, &a, 4);
	net->prefix = (uint8_t)number(slash, 32);
	net->enabled = true;
}

static void parse(int argc, char **argv, struct options *o)
{
	int i = 1;

	o->io = (struct vj_agent_io){ .in_fd = 0, .out_fd = 1, .err_fd = 2,
				      .out_cap = VJ_AGENT_UNCAPPED,
				      .err_cap = VJ_AGENT_UNCAPPED, .cmd_fd = -1,
				      .cancel_fd = -1 };
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--no-stdin")) {
			o->io.in_fd = -1;
			continue;
		}
		if (!strcmp(opt, "--continue")) {
			o->io.continue_run = true;
			continue;
		}
		if (!strcmp(opt, "--forward-signals")) {
			o->forward_signals = true;
			continue;
		}
		if (!val)
			die("%s: missing value", opt);
		i++;
		if (!strcmp(opt, "--exec") && o->exec.w.argc < VJ_MAX_ARGS)
			o->exec.w.argv[o->exec.w.argc++] = (char *)val;
		else if (!strcmp(opt, "--exec-env") && o->exec.w.envc < VJ_MAX_ENV)
			o->exec.w.env[o->exec.w.envc++] = (char *)val;
		else if (!strcmp(opt, "--exec-cwd"))
			snprintf(o->exec.cwd, sizeof(o->exec.cwd), "%s", val);
		else if (!strcmp(opt, "--exec-user")) {
			if (sscanf(val, "%u:%u", &o->exec.uid, &o->exec.gid) != 2)
				die("--exec-user %s: expected UID:GID", val);
			o->exec.has_ids = true;
		} else if (!strcmp(opt, "--exec-count"))
			o->exec_count = (unsigned)number(val, VJ_EXEC_MAX);
		else if (!strcmp(opt, "--exec-socket"))
			o->exec_socket = val;
		else if (!strcmp(opt, "--exec-in"))
			o->exec_in = val;
		else if (!strcmp(opt, "--exec-out"))
			o->exec_out = val;
		else if (!strcmp(opt, "--env") && o->w.envc < VJ_MAX_ENV)
			o->w.env[o->w.envc++] = (char *)val;
		else if (!strcmp(opt, "--cwd"))
			snprintf(o->spec.cwd, sizeof(o->spec.cwd), "%s", val);
		else if (!strcmp(opt, "--uid"))
			o->spec.uid = (uint32_t)number(val, UINT32_MAX);
		else if (!strcmp(opt, "--gid"))
			o->spec.gid = (uint32_t)number(val, UINT32_MAX);
		else if (!strcmp(opt, "--hostname"))
			snprintf(o->spec.hostname, sizeof(o->spec.hostname), "%s", val);
		else if (!strcmp(opt, "--net"))
			parse_net(val, &o->spec.net);
		else if (!strcmp(opt, "--out-cap"))
			o->io.out_cap = number(val, UINT64_MAX);
		else if (!strcmp(opt, "--err-cap"))
			o->io.err_cap = number(val, UINT64_MAX);
		else if (!strcmp(opt, "--agent-log"))
			o->agent_log = val;
		else if (!strcmp(opt, "--report"))
			o->report = val;
		else if (!strcmp(opt, "--listen"))
			o->listen = val;
		else if (!strcmp(opt, "--cancel-after"))
			o->cancel_after_ms = number(val, 3600000);
		else if (!strcmp(opt, "--restored")) {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			snprintf(o->restored.hostname, sizeof(o->restored.hostname), "%s", val);
			o->restored.realtime_ns =
				(uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
			if (getrandom(o->restored.entropy, sizeof(o->restored.entropy), 0) !=
			    (ssize_t)sizeof(o->restored.entropy))
				die("%s", "getrandom failed");
			o->io.restored = &o->restored;
		}
		else if (!strcmp(opt, "--restored-mac")) {
			struct vj_agent_mac *m = &o->restored.macs[o->restored.nmacs];
			if (o->restored.nmacs >= VJ_AGENT_NETS_MAX ||
			    sscanf(val, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m->mac[0], &m->mac[1],
				   &m->mac[2], &m->mac[3], &m->mac[4], &m->mac[5]) != 6)
				die("--restored-mac %s: not a MAC, or too many", val);
			m->index = o->restored.nmacs++;
		}
		else if (!strcmp(opt, "--settime")) {
			o->settime = true;
			o->settime_ns = number(val, UINT64_MAX);
		}
		else
			die("unknown option \"%s\"", opt);
	}
	if (i >= argc)
		die("%s", "usage: agent-drive [options] -- AGENT... --workload WORKLOAD...");
	if (o->listen && o->cancel_after_ms)
		die("%s", "--cancel-after: --listen cancels when the VM ends");
	o->agent_argv = &argv[++i];
	for (; i < argc && strcmp(argv[i], "--workload"); i++)
		;
	if (i >= argc)
		die("%s", "missing \"--workload\" before the workload");
	argv[i++] = NULL;
	for (; i < argc && o->w.argc < VJ_MAX_ARGS; i++)
		o->w.argv[o->w.argc++] = argv[i];
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		die("--listen %s: path too long", path);
	strcpy(sa.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		die("--listen: %s", strerror(errno));
	return fd;
}

/* ---- execs ---------------------------------------------------------------- */

struct drive_execs {
	struct options *o;
	struct vj_execs x;
	_Atomic unsigned version;
	int sender;     /* the session's command channel */
	int hold;       /* the writing end of the workload's stdin */
	char report[4096];
	size_t report_len;
};

static unsigned drive_version(void *ctx)
{
	struct drive_execs *d = ctx;

	return atomic_load(&d->version);
}

static int drive_command(void *ctx, const struct vj_agent_cmd *c)
{
	struct drive_execs *d = ctx;

	return send(d->sender, c, sizeof(*c), MSG_NOSIGNAL) == (ssize_t)sizeof(*c) ? 0 : -errno;
}

static int drive_listen(void *ctx, uint32_t port, int *fd, struct vj_err *e)
{
	struct drive_execs *d = ctx;
	char path[256];

	(void)e;
	snprintf(path, sizeof(path), "%s_%u", d->o->exec_socket, port);
	*fd = listen_at(path);
	return fcntl(*fd, F_SETFL, O_NONBLOCK);
}

static void note(struct drive_execs *d, const char *fmt, unsigned k, const char *detail, int n)
{
	char line[512];
	int len = snprintf(line, sizeof(line), fmt, k, detail, n);

	if (len > 0 && d->report_len + (size_t)len < sizeof(d->report)) {
		memcpy(d->report + d->report_len, line, (size_t)len);
		d->report_len += (size_t)len;
	}
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		die("%s: cannot open", path);
	return fd;
}

/* Starts the execs once the session runs, waits for their ends, then
 * ends the workload's stdin. */
static void *drive_execs_main(void *arg)
{
	struct drive_execs *d = arg;
	struct options *o = d->o;
	unsigned started = 0, ended = 0;
	struct vj_exec_end end;
	struct vj_err e;
	char path[512];

	for (int i = 0; i < 3000 && !atomic_load(&d->version); i++)
		usleep(10000);
	for (unsigned k = 1; k <= o->exec_count; k++) {
		int fds[3];
		fds[0] = open_or_die(o->exec_in ? o->exec_in : "/dev/null", O_RDONLY);
		snprintf(path, sizeof(path), "%s.%u", o->exec_out, k);
		fds[1] = open_or_die(path, O_WRONLY | O_CREAT | O_TRUNC);
		snprintf(path, sizeof(path), "%s.%u.err", o->exec_out, k);
		fds[2] = open_or_die(path, O_WRONLY | O_CREAT | O_TRUNC);
		if (vj_execs_start(&d->x, &o->exec, fds, k, &e) < 0)
			note(d, "exec %u: refused: %s%d\n", k, e.msg, 0);
		else
			started++;
	}
	while (ended < started) {
		struct pollfd p = { .fd = d->x.done_fd, .events = POLLIN };
		poll(&p, 1, -1);
		while (vj_execs_reap(&d->x, &end)) {
			ended++;
			if (end.status >= 0)
				note(d, "exec %u: status %s%d\n", (unsigned)end.client, "", end.status);
			else
				note(d, "exec %u: no status: %s%d\n", (unsigned)end.client, end.why, 0);
		}
	}
	close(d->hold);
	return NULL;
}

static void drive_execs_start(struct options *o, struct drive_execs *d, int sender, pthread_t *t)
{
	int hold[2];
	struct vj_err e;

	d->o = o;
	d->sender = sender;
	vj_execs_init(&d->x);
	d->x.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->x.cancel_fd = o->io.cancel_fd;
	d->x.out_cap = VJ_AGENT_UNCAPPED;
	d->x.agent = (struct vj_exec_agent){ .version = drive_version, .command = drive_command,
					     .ctx = d };
	if (d->x.done_fd < 0 || pipe2(hold, O_CLOEXEC) < 0 ||
	    vj_execs_listen(&d->x, VJ_EXEC_MAX, drive_listen, d, &e) < 0)
		die("%s", "exec set-up failed");
	o->io.in_fd = hold[0];
	d->hold = hold[1];
	o->io.version = &d->version;
	if (pthread_create(t, NULL, drive_execs_main, d) != 0)
		die("%s", "exec thread: cannot create it");
}

/* fd >= 0: the agent's end of the connection, as its fd 3. */
static pid_t spawn_agent(const struct options *o, int fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int in = open("/dev/null", O_RDONLY);
	int log = o->agent_log ? open(o->agent_log, O_WRONLY | O_CREAT | O_TRUNC, 0644) : 2;
	if (in < 0 || log < 0 || dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
	    (fd >= 0 && dup2(fd, 3) < 0))
		_exit(SESSION_FAILED);
	execvp(o->agent_argv[0], o->agent_argv);
	fprintf(stderr, "agent-drive: exec %s: %s\n", o->agent_argv[0], strerror(errno));
	_exit(SESSION_FAILED);
}

static void send_cmd(int fd, uint32_t op, uint32_t arg, uint64_t arg64)
{
	const struct vj_agent_cmd c = { .op = op, .arg = arg, .arg64 = arg64 };

	if (send(fd, &c, sizeof(c), MSG_NOSIGNAL) != (ssize_t)sizeof(c))
		die("command channel: %s", strerror(errno));
}

static void forwarded(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* Signals for the workload become commands, from a thread of their own
 * while the session runs (as in the launcher). */
static void *forward_signals(void *arg)
{
	const int cmd = *(const int *)arg;
	sigset_t set;
	int sig;

	forwarded(&set);
	while (sigwait(&set, &sig) == 0)
		send_cmd(cmd, VJ_AGENT_CMD_SIGNAL, (uint32_t)sig, 0);
	return NULL;
}

/* The session's command channel; *sender gets the other end. The
 * forwarded signals are blocked in every thread, so that only sigwait()
 * takes them. */
static int command_channel(const struct options *o, int *sender)
{
	static int send_end;
	sigset_t set;
	pthread_t t;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("command channel: %s", strerror(errno));
	*sender = send_end = sv[1];
	if (o->settime)
		send_cmd(send_end, VJ_AGENT_CMD_SETTIME, 0, o->settime_ns);
	if (o->forward_signals) {
		forwarded(&set);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (pthread_create(&t, NULL, forward_signals, &send_end) != 0)
			die("%s", "signal thread: cannot create it");
		pthread_detach(t);
	}
	return sv[0];
}

static void report(const char *path, int r, const struct vj_agent_result *res, int agent_st)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die("--report %s: cannot open", path);
	fprintf(f, "session=%d status=%d signal=%d\n", r, res->status, res->signal);
	fprintf(f, "out_bytes=%llu out_dropped=%llu err_bytes=%llu err_dropped=%llu\n",
		(unsigned long long)res->out_bytes, (unsigned long long)res->out_dropped,
		(unsigned long long)res->err_bytes, (unsigned long long)res->err_dropped);
	if (WIFSIGNALED(agent_st))
		fprintf(f, "agent=signal:%d\n", WTERMSIG(agent_st));
	else
		fprintf(f, "agent=exit:%d\n", WEXITSTATUS(agent_st));
	fclose(f);
}

/* A timer standing in for the VM's end: readable once it expires. */
static int cancel_timer(uint64_t ms)
{
	struct itimerspec its = { .it_value = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
		die("timerfd: %s", strerror(errno));
	return fd;
}

/* The agent (or the VM it runs in) connected: returns the connection. */
static int connect_agent(struct options *o, pid_t *pid, int *pidfd, struct vj_err *e)
{
	int sv[2], conn = -1, lfd;

	if (!o->listen) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair: %s", strerror(errno));
		*pid = spawn_agent(o, sv[1]);
		close(sv[1]);
		if (*pid < 0)
			die("fork: %s", strerror(errno));
		return sv[0];
	}
	lfd = listen_at(o->listen);
	*pid = spawn_agent(o, -1);
	if (*pid < 0)
		die("fork: %s", strerror(errno));
	*pidfd = o->io.cancel_fd = pidfd_open(*pid, 0);
	if (*pidfd < 0)
		die("pidfd_open: %s", strerror(errno));
	if (vj_agent_accept(lfd, *pidfd, 0, &conn, e) < 0)
		conn = -1;
	close(lfd);
	unlink(o->listen);
	return conn;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct vj_agent_result res = { 0 };
	struct vj_err e = { 0 };
	char line[256];
	cleanup_fd int cmd = -1, sender = -1, pidfd = -1, timer = -1;
	int conn, st = 0, r = -ECONNREFUSED;
	static struct drive_execs d;
	pthread_t exec_thread;
	pid_t pid;

	parse(argc, argv, &o);
	if (o.exec.w.argc && (!o.exec_socket || !o.exec_out))
		die("%s", "--exec needs --exec-socket and --exec-out");
	if (o.exec.w.argc && !o.exec_count)
		o.exec_count = 1;
	o.io.out_terminal = isatty(o.io.out_fd);
	o.io.err_terminal = isatty(o.io.err_fd);
	signal(SIGPIPE, SIG_IGN);
	if (o.forward_signals || o.settime || o.exec.w.argc)
		cmd = o.io.cmd_fd = command_channel(&o, &sender);
	if (o.cancel_after_ms)
		timer = o.io.cancel_fd = cancel_timer(o.cancel_after_ms);
	if (o.exec.w.argc)
		drive_execs_start(&o, &d, sender, &exec_thread);
	conn = connect_agent(&o, &pid, &pidfd, &e);
	if (conn >= 0) {
		r = vj_agent_session(conn, &o.spec, &o.w, &o.io, &res, &e);
		close(conn);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (o.exec.w.argc) {
		pthread_join(exec_thread, NULL);
		vj_execs_close(&d.x);
	}
	if (o.report)
		report(o.report, r, &res, st);
	if (o.report && d.report_len) {
		FILE *f = fopen(o.report, "a");
		if (f) {
			fwrite(d.report, 1, d.report_len, f);
			fclose(f);
		}
	}
	if (vj_agent_drop_line(&o.io, &res, VJ_AGENT_STDOUT, "--out-cap", line, sizeof(line)))
		fprintf(stderr, "agent-drive: %s\n", line);
	if (vj_agent_drop_line(&o.io, &res, VJ_AGENT_STDERR, "--err-cap", line, sizeof(line)))
		fprintf(stderr, "agent-drive: %s\n", line);
	if (r < 0) {
		fprintf(stderr, "agent-drive: %s\n", e.msg);
		return SESSION_FAILED;
	}
	return res.status;
}
