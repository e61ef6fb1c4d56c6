/*
 * The launcher's side of the guest agent protocol (rootfs/PROTOCOL.md):
 * hands vmjail-init the workload, streams stdin in and stdout/stderr out,
 * forwards signals, and returns how the workload ended, so that
 * `vmjail run` behaves like the command run locally.
 *
 * The agent is guest code, so every frame from it is hostile: lengths are
 * bounded before anything is read, anything out of turn ends the session
 * with an error, and output past the caps is discarded.
 */
#ifndef VJ_JAILER_AGENT_H
#define VJ_JAILER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"
#include "error.h"
#include "policy.h"

#define VJ_AGENT_UNCAPPED UINT64_MAX

/* What io.cmd_fd asks of a running session. */
enum vj_agent_cmd_op {
	/* arg: a signal, 1..64, sent to the workload's process group */
	VJ_AGENT_CMD_SIGNAL = 1,
	/* arg64: CLOCK_REALTIME in ns, for the guest's wall clock (after a
	 * resume or a restore); sent as SETTIME to an agent of protocol
	 * version 2 or later, dropped for an older one */
	VJ_AGENT_CMD_SETTIME = 2,
	/* arg: an exec id, arg64: the port its connection is to reach,
	 * token: its proof; sent as EXEC to an agent of protocol version 5
	 * or later, dropped with a warning for an older one (the caller asks
	 * for the version first: vj_agent_io.version) */
	VJ_AGENT_CMD_EXEC = 3,
};

/* One command: exactly one packet of this size. A packet of another
 * size, an unknown op or an out-of-range signal is ignored with a
 * warning: commands come from the launcher itself, and a bad one must
 * not end the workload. */
struct vj_agent_cmd {
	uint32_t op; /* enum vj_agent_cmd_op */
	uint32_t arg;
	uint64_t arg64;
	uint8_t token[VJ_AGENT_TOKEN_LEN]; /* VJ_AGENT_CMD_EXEC */
};

struct vj_agent_io {
	int in_fd;  /* the workload's stdin is read from here; -1: none */
	int out_fd; /* its stdout is written here */
	int err_fd; /* its stderr is written here */
	/* Bytes of each stream passed on at most (VJ_AGENT_UNCAPPED: no
	 * cap); the rest is read and discarded, the workload runs on. */
	uint64_t out_cap, err_cap;
	/* out_fd/err_fd is a terminal, decided by the caller before the
	 * guest runs: the guest's bytes are made harmless first
	 * (common/termsafe.h). Caps and counts are in the guest's bytes. */
	bool out_terminal, err_terminal;
	/* -1, or the reading end of a SOCK_SEQPACKET socket pair carrying
	 * one struct vj_agent_cmd per packet: what the launcher asks of the
	 * running workload (a signal, the wall clock after a resume). Read
	 * once the workload runs, never waited on: commands sent earlier wait
	 * in the socket. Closing the other end (or an empty packet) ends the
	 * commands, not the session. */
	int cmd_fd;
	/* -1, or any fd: once it is readable the session stops waiting, on
	 * the agent and on a slow reader of out_fd/err_fd alike, and returns
	 * -ECANCELED (after taking what the agent had already sent, without
	 * writing it). It is never read. */
	int cancel_fd;
	/* NULL for a boot. For a sandbox restored from a snapshot: sent as
	 * RESTORED right after the handshake, before the workload, so that
	 * the clone reseeds its random generator and sets its clock and
	 * hostname first. An agent older than protocol version 3 cannot be
	 * told, and ends the session with an error. */
	const struct vj_agent_restored *restored;
	/* NULL: the workload runs in the guest's own root. Otherwise sent as
	 * ROOT before the workload (after RESTORED): the workload's root is a
	 * container image's drive under a writable overlay. Needs protocol
	 * version 4. */
	const struct vj_agent_root *root;
	/* NULL for the workload's session. For an exec's (PROTOCOL.md,
	 * version 5), on the connection the agent made for it: the agent's
	 * first frame must be ATTACH with exec's id and token (anything else
	 * ends the session), and xspec goes out in WORKLOAD's place; the
	 * vj_workload is the exec's argv and its own environment. */
	const struct vj_agent_exec *exec;
	const struct vj_agent_exec_spec *xspec;
	/* NULL, or set to the protocol version once the handshake agreed
	 * one; other threads read it. */
	_Atomic unsigned *version;
	/* A sandbox received from another host (`vmjail receive`): the agent
	 * runs its workload already, so the session sends CONTINUE after the
	 * handshake instead of a workload (w may be NULL), and relays the
	 * rest of that workload's output and its end. An agent older than
	 * protocol version 6 cannot be told, and ends the session with an
	 * error; so does one with no workload running. */
	bool continue_run;
};

/* Why some of a stream's output never reached its reader. */
enum vj_agent_drop {
	VJ_AGENT_DROP_NONE,      /* all of it did */
	VJ_AGENT_DROP_CAP,       /* the stream's cap was reached */
	VJ_AGENT_DROP_READER,    /* the reader went away (EPIPE) */
	VJ_AGENT_DROP_CANCELLED, /* cancel_fd fired with output still to write */
};

struct vj_agent_result {
	int status;                    /* exit status: 0..255, or 128 + signal */
	int signal;                    /* the signal that killed it, or 0 */
	uint64_t out_bytes, err_bytes; /* passed on */
	uint64_t out_dropped, err_dropped; /* discarded */
	/* What discarded the first of them: from then on the stream passes
	 * nothing on, for the same reason. */
	enum vj_agent_drop out_why, err_why;
};

/*
 * Waits on a listening socket (the AF_UNIX "<vsock uds>_<port>" that the
 * guest's vsock connection reaches) for the agent's connection.
 * expect_pid > 0: connections from any other process (SO_PEERCRED; with
 * the vsock broker that is the broker's pid) are closed and waited past.
 * Returns 0 with *conn_fd set (close-on-exec), -ECANCELED once cancel_fd
 * is readable, or another -errno, with e set.
 */
int vj_agent_accept(int listen_fd, int cancel_fd, pid_t expect_pid, int *conn_fd,
		    struct vj_err *e);

/*
 * One session on a connected stream socket (made non-blocking here):
 * handshake, spec + w's argv and env (or CONTINUE: io->continue_run, when
 * spec and w are not used), then streams until the agent
 * reports the workload's end. Returns 0 with *res filled, or -errno with
 * e set: the agent broke the protocol or reported an error, the
 * connection ended early, cancel_fd fired, or a local write failed.
 * The caller closes conn_fd; its sending side is shut on return.
 *
 * Writes to out_fd/err_fd wait while their reader is slow (the
 * backpressure reaches the workload), but never past cancel_fd: a pipe or
 * terminal is written through a non-blocking descriptor of the session's
 * own (opened again through /proc/self/fd; the caller's file status flags
 * stay as they are), a socket with MSG_DONTWAIT. Output that arrives or
 * waits once cancel_fd fired is discarded and counted in *_dropped, as is
 * output past a cap. A broken pipe discards the rest of that stream, so
 * the caller should ignore or block SIGPIPE.
 */
int vj_agent_session(int conn_fd, const struct vj_agent_spec *spec, const struct vj_workload *w,
		     const struct vj_agent_io *io, struct vj_agent_result *res, struct vj_err *e);

/*
 * The line that tells the user what one stream (VJ_AGENT_STDOUT or
 * VJ_AGENT_STDERR) lost and why, e.g. "workload stdout: 3951424 bytes
 * dropped past its cap of 1048576 bytes (limits.output)", where cap_key
 * names what set io's cap for it. Returns false, leaving buf as it was,
 * when the stream lost nothing.
 */
bool vj_agent_drop_line(const struct vj_agent_io *io, const struct vj_agent_result *res,
			enum vj_agent_type stream, const char *cap_key, char *buf, size_t len);

#endif
