/*
 * The sandbox's control socket (jailer/CONTROL.md), served by its
 * launcher: connections, the line framing, the greeting, requests parsed
 * into struct vj_ctl_request, replies and events queued per client.
 * What a command does is the caller's (supervisor.c): this file only
 * speaks the protocol, and never waits for a client.
 */
#ifndef VJ_JAILER_CONTROL_SOCKET_H
#define VJ_JAILER_CONTROL_SOCKET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_proto.h"
#include "config.h"
#include "error.h"
#include "json.h"
#include "policy.h"

#define VJ_CTL_VERSION 1
#define VJ_CTL_LINE_MAX 65536         /* bytes of one request line */
#define VJ_CTL_QUEUE_MAX (1u << 20)    /* bytes queued for one client */
#define VJ_CTL_CLIENTS_MAX 32
#define VJ_CTL_SOCKET "control.sock" /* in the run directory: VJ_RUNDIR_CONTROL */

enum vj_ctl_command {
	VJ_CTL_QUERY_STATUS,
	VJ_CTL_INSPECT,
	VJ_CTL_PAUSE,
	VJ_CTL_RESUME,
	VJ_CTL_STOP,
	VJ_CTL_KILL,
	VJ_CTL_STATS,
	VJ_CTL_SUBSCRIBE,
	VJ_CTL_SNAPSHOT,
	VJ_CTL_EXEC,
	VJ_CTL_EXEC_KILL,
	VJ_CTL_MIGRATE,
	VJ_CTL_COMMANDS,
};

/* Error classes of a reply (CONTROL.md). */
enum vj_ctl_class {
	VJ_CTL_BAD_REQUEST,
	VJ_CTL_UNKNOWN_COMMAND,
	VJ_CTL_WRONG_STATE,
	VJ_CTL_FAILED,
	VJ_CTL_NOT_READY, /* not yet: the same request may succeed a moment later */
};

/* exec's arguments: a process to run beside the workload. What is not
 * given is the workload's (its ids, directory, environment). */
struct vj_ctl_exec {
	struct vj_workload w; /* argv, and env added to the workload's */
	bool has_ids;
	uint32_t uid, gid;
	char cwd[VJ_AGENT_CWD_MAX + 1]; /* "": the workload's */
	char *strings;        /* w's strings, one allocation */
};

struct vj_ctl_request {
	enum vj_ctl_command command;
	char id[80]; /* the request's id as JSON text ("7", "\"a\""), or "null" */
	/* Arguments, checked against the command's own: */
	uint64_t timeout_ms; /* stop; VJ_CTL_DEFAULT_STOP_MS when not given */
	uint32_t signal;     /* kill; 9 when not given */
	bool vm;             /* kill */
	char dir[VJ_PATH_MAX]; /* snapshot: where, an absolute path */
	bool stop;           /* snapshot: end the sandbox once it is taken */
	struct vj_ctl_exec *exec; /* exec; vj_ctl_request_free() releases it */
	uint32_t exec_id;    /* exec-kill */
	uint64_t max_downtime_ms; /* migrate; 300 when not given */
	uint32_t max_rounds;      /* migrate; 30 when not given */
};

#define VJ_CTL_DEFAULT_STOP_MS 10000

/* Parses one request line. 0, or -EINVAL with the error class and a
 * message in e; req->id is set whenever the line had a usable id, so
 * that the error reply can carry it. */
int vj_ctl_parse_request(const char *line, size_t len, struct vj_ctl_request *req,
			 enum vj_ctl_class *class, struct vj_err *e);

void vj_ctl_request_free(struct vj_ctl_request *req);

const char *vj_ctl_command_name(enum vj_ctl_command c);

/* Reply and event text, without the newline. */
void vj_ctl_write_error(struct vj_jw *w, const char *id, enum vj_ctl_class class, const char *desc);
/* Opens {"id": ID, "return": — the caller writes the return value (an
 * object) and then calls vj_ctl_write_end(). */
void vj_ctl_write_return(struct vj_jw *w, const char *id);
/* Opens {"event": NAME, "sandbox": SB, "time_ms": T, "data": — then the
 * caller writes the data object and calls vj_ctl_write_end(). */
void vj_ctl_write_event(struct vj_jw *w, const char *name, const char *sandbox, uint64_t time_ms);
void vj_ctl_write_end(struct vj_jw *w);

/* Descriptors a client may pass with a request (SCM_RIGHTS): exec's
 * stdin, stdout and stderr. */
#define VJ_CTL_FDS 3

struct vj_ctl_client {
	int fd;        /* -1: a free slot */
	uid_t uid;
	uint64_t serial; /* tells this connection from a later one in the slot */
	/* What came with the client's last SCM_RIGHTS message, for its next
	 * exec or migrate request to take; closed when a new set arrives or the client
	 * goes. nfds = -1: the last message carried more than VJ_CTL_FDS. */
	int nfds;
	int fds[VJ_CTL_FDS];
	bool subscribed;
	bool discarding; /* the rest of an over-long line is skipped */
	size_t in_len;
	char in[VJ_CTL_LINE_MAX + 1];
	char *out;       /* queued for the client, written as it reads */
	size_t out_len, out_off;
};

struct vj_ctl_server;

/* What the server asks of its owner: run a request, writing the reply
 * (vj_ctl_write_error, or vj_ctl_write_return + value + end) into w. */
typedef void (*vj_ctl_dispatch_fn)(void *ctx, struct vj_ctl_client *c,
				   const struct vj_ctl_request *req, struct vj_jw *w);
/* Whether an fd wants watching for writing (queued output) or no longer
 * at all (closed); the owner keeps its epoll set in line. */
typedef void (*vj_ctl_watch_fn)(void *ctx, struct vj_ctl_client *c, bool writable, bool closed);

struct vj_ctl_server {
	int listen_fd;
	uid_t owner;         /* may connect besides root; (uid_t)-1: nobody else */
	char sandbox[72];
	vj_ctl_dispatch_fn dispatch;
	vj_ctl_watch_fn watch; /* NULL: nobody watches (after the loop) */
	void *ctx;
	uint64_t serials;
	struct vj_ctl_client clients[VJ_CTL_CLIENTS_MAX];
};

/*
 * Binds `name` in dirfd under a temporary name, sets its owner and mode
 * (0600, owner's), listens, and renames it into place: it is never
 * reachable with the wrong mode. The listening fd is non-blocking.
 */
int vj_ctl_server_open(struct vj_ctl_server *s, int dirfd, const char *name, uid_t owner,
		       const char *sandbox, struct vj_err *e);
void vj_ctl_server_close(struct vj_ctl_server *s);

/* The listening fd is readable: takes every pending connection, greets
 * the ones allowed, refuses the others. Returns the new clients through
 * watch(c, false, false) so that the owner starts reading them. */
void vj_ctl_server_accept(struct vj_ctl_server *s);
/* A client's fd is readable (or writable): reads and answers whole
 * lines (or writes what is queued). A client that hangs up, breaks the
 * framing beyond repair, or lets its queue pass VJ_CTL_QUEUE_MAX is
 * closed (watch(c, false, true)). */
void vj_ctl_client_readable(struct vj_ctl_server *s, struct vj_ctl_client *c);
void vj_ctl_client_writable(struct vj_ctl_server *s, struct vj_ctl_client *c);
/* No new connections; the socket file goes with the run directory. */
void vj_ctl_server_stop_listening(struct vj_ctl_server *s);
/* Writes what is queued for each client, waiting at most a second in all
 * for slow readers, then closes everything. */
void vj_ctl_server_finish(struct vj_ctl_server *s);

/* Queues a finished line (w->buf) for every subscribed client. */
void vj_ctl_broadcast(struct vj_ctl_server *s, const struct vj_jw *w);
/* Queues one line for one client. */
void vj_ctl_send(struct vj_ctl_server *s, struct vj_ctl_client *c, const char *line, size_t len);

#endif
