/*
 * vmjail-init: the guest's PID 1 and the launcher's agent.
 *
 *   vmjail-init [--fd N] [--exec-socket PREFIX] [--no-setup]
 *
 * As PID 1 it mounts the kernel file systems and brings up lo, connects
 * to the host over vsock (CID 2, port vmjail.port= from the kernel command
 * line), runs one workload for the launcher (rootfs/PROTOCOL.md) and
 * resets the VM; Ctrl-Alt-Del (SIGINT) ends the workload early, or the VM
 * at once when none runs. --fd N serves an inherited connected stream socket
 * instead of connecting; --no-setup skips the system set-up and the
 * power-off (both are also skipped when it is not PID 1), which is how
 * the tests run it on the host; --exec-socket PREFIX has execs (EXEC)
 * connect to the AF_UNIX socket PREFIX_<port> rather than over vsock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent_proto.h"
#include "cleanup.h"
#include "connect.h"
#include "log.h"
#include "net.h"
#include "parse.h"
#include "session.h"
#include "setup.h"

/* Exit status (when not PID 1) after an error was reported. */
#define EXIT_SESSION_FAILED 2

struct options {
	int fd; /* -1: connect over vsock */
	const char *exec_socket; /* NULL: execs connect over vsock */
	bool setup;
};

static int parse_options(int argc, char **argv, bool is_init, struct options *o)
{
	uint64_t v;

	o->fd = -1;
	o->exec_socket = NULL;
	o->setup = is_init;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-setup")) {
			o->setup = false;
		} else if (!strcmp(argv[i], "--fd") && i + 1 < argc) {
			if (vj_parse_u64(argv[++i], 3, INT32_MAX, &v) < 0) {
				vj_error("--fd \"%s\": expected a file descriptor number >= 3",
					 argv[i]);
				return -EINVAL;
			}
			o->fd = (int)v;
		} else if (!strcmp(argv[i], "--exec-socket") && i + 1 < argc) {
			o->exec_socket = argv[++i];
		} else if (is_init) {
			/* The kernel hands PID 1 the command-line words it does not
			 * know: no reason to refuse to boot. */
			vj_warn("ignoring argument \"%s\"", argv[i]);
		} else {
			vj_error("unknown argument \"%s\" (usage: vmjail-init [--fd N] "
				 "[--exec-socket PREFIX] [--no-setup])",
				 argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* The workload's pipes must never land on 0-2: an fd that dup2() onto
 * itself keeps its close-on-exec flag. */
static int ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n < 0)
			return -errno;
		if (n != fd)
			return -EBADF;
	}
	return 0;
}

static int system_setup(struct vj_err *err)
{
	int r = vj_init_mount_all(err);

	return r < 0 ? r : vj_init_net_up("lo", err);
}

static int open_connection(const struct options *o, struct vj_err *err)
{
	if (o->fd < 0)
		return vj_init_connect_host(err);
	if (fcntl(o->fd, F_SETFD, FD_CLOEXEC) < 0)
		return vj_fail_errno(err, -errno, "--fd %d", o->fd);
	return o->fd;
}

static void report_error(struct vj_init_session *s, const char *why)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ERROR };
	char text[VJ_AGENT_ERROR_MAX + 1];

	vj_agent_printable(text, sizeof(text), why, strlen(why));
	m.bytes.data = (const uint8_t *)text;
	m.bytes.len = strlen(text);
	vj_agent_send(s->tx, s->conn, &m);
}

/* Until a workload runs there is nothing to end cleanly: Ctrl-Alt-Del
 * powers off at once. (session.c takes SIGINT over before the workload
 * starts, to stop it instead.) reboot(2) never returns but on failure. */
static void power_off_now(int sig)
{
	(void)sig;
	vj_init_power_off();
}

/* As PID 1 with its set-up: Ctrl-Alt-Del reaches this process as SIGINT.
 * Elsewhere (a test on the host) SIGINT keeps its default action, ending
 * the agent, until the workload starts. */
static void take_ctrl_alt_del(void)
{
	struct sigaction sa = { .sa_handler = power_off_now };
	int r;

	sigaction(SIGINT, &sa, NULL);
	if ((r = vj_init_ctrl_alt_del_to_init()) < 0 && r != -EINVAL)
		vj_warn("Ctrl-Alt-Del stays an immediate reboot: %s", strerror(-r));
}

/* Connects and serves the launcher; after a reset of the connection (the
 * VM was restored from a snapshot, or migrated) connects again and serves
 * the new launcher, the earlier workload left running for it to continue
 * or not. Returns 0 or -errno
 * (logged). */
static int serve(const struct options *o, bool is_init)
{
	cleanup_free struct vj_agent_rx *rx = malloc(sizeof(*rx));
	cleanup_free struct vj_agent_tx *tx = malloc(sizeof(*tx));
	struct vj_init_session s = { .conn = -1, .is_init = is_init, .setup = o->setup,
				     .reconnect = o->fd < 0 && is_init, .rx = rx, .tx = tx,
				     .exec_prefix = o->exec_socket,
				     .kept = { .child = { -1, -1, -1, -1 } } };
	struct vj_err err;
	int r;

	if (!rx || !tx) {
		vj_error("out of memory");
		return -ENOMEM;
	}
	do {
		rx->have = rx->current = 0;
		tx->len = tx->off = 0;
		if ((s.conn = open_connection(o, &err)) < 0) {
			vj_error("%s", err.msg);
			r = s.conn;
			break;
		}
		r = vj_init_serve(&s, &err);
		if (r == -ENETRESET) {
			vj_info("%s: restored from a snapshot? connecting to the new launcher", err.msg);
			vj_closep(&s.conn);
			continue;
		}
		if (r < 0) {
			vj_error("%s", err.msg);
			if (r != -ECONNRESET && r != -ECONNABORTED)
				report_error(&s, err.msg);
		}
		vj_init_finish(&s);
		vj_closep(&s.conn);
	} while (r == -ENETRESET);
	for (unsigned i = 0; i < s.norphans; i++)
		vj_closep(&s.orphans[i]);
	vj_init_drop_kept(&s);
	return r;
}

int main(int argc, char **argv)
{
	const bool is_init = getpid() == 1;
	struct options o;
	struct vj_err err;
	int r;

	vj_log_init("vmjail-init", VJ_LOG_INFO);
	if (parse_options(argc, argv, is_init, &o) < 0)
		return is_init ? vj_init_power_off() : 1;
	if ((r = ensure_stdio()) < 0 && !is_init)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of the workload come back to this process for reaping,
	 * also when it is not PID 1. */
	if (!is_init)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (o.setup)
		take_ctrl_alt_del();
	if (o.setup && (r = system_setup(&err)) < 0)
		vj_error("%s", err.msg);
	else
		r = serve(&o, is_init);
	if (o.setup) {
		r = vj_init_power_off();
		vj_error("reboot: %s", strerror(-r));
	}
	return r < 0 ? EXIT_SESSION_FAILED : 0;
}
