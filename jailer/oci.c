#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "daemon.h"
#include "exec_client.h"
#include "flags.h"
#include "image/image.h"
#include "image_launch.h"
#include "json.h"
#include "launch.h"
#include "log.h"
#include "oci_spec.h"
#include "parse.h"
#include "policy_load.h"
#include "run.h"
#include "scalar.h"
#include "status.h"

#define STATE_FILE "state.json"
#define START_FIFO "start.fifo"
#define STARTED_FILE "started"
#define STATE_MAX (32 * 1024)
#define OCI_VERSION "1.0.2"
/* How long delete --force waits for the launcher to end after the VM was
 * killed: the launcher's clean-up is quick; this is a bound, not a pace. */
#define DELETE_WAIT_MS 30000

/* The runc global options (before the verb). */
struct globals {
	int daemon_status; /* create: what the process exits with, its message printed */
	const char *root;
	const char *log;
	bool log_json;
	bool debug;
};

bool vj_oci_invoked(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return !strcmp(slash ? slash + 1 : argv0, VJ_OCI_PROG);
}

/* ---- state.json ---------------------------------------------------------------- */

int vj_oci_state_format(const struct vj_oci_state *st, char *buf, size_t cap, struct vj_err *e)
{
	struct vj_jw w;
	int r;

	vj_jw_init(&w, cap - 1);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "id");
	vj_jw_string(&w, st->id);
	vj_jw_key(&w, "bundle");
	vj_jw_string(&w, st->bundle);
	vj_jw_key(&w, "rootfs");
	vj_jw_string(&w, st->rootfs);
	vj_jw_key(&w, "run_dir");
	vj_jw_string(&w, st->run_dir);
	vj_jw_key(&w, "pid");
	vj_jw_i64(&w, st->pid);
	vj_jw_key(&w, "pid_start");
	vj_jw_u64(&w, st->pid_start);
	vj_jw_key(&w, "created_ns");
	vj_jw_u64(&w, st->created_ns);
	vj_jw_key(&w, "annotations");
	vj_jw_json(&w, st->annotations, strlen(st->annotations));
	vj_jw_object_end(&w);
	if ((r = vj_jw_finish(&w)) == 0)
		memcpy(buf, w.buf, w.len + 1);
	vj_jw_free(&w);
	return r < 0 ? vj_fail_errno(e, r, "state of container %s", st->id) : 0;
}

static int state_text(const struct vj_json *root, const char *key, char *out, size_t cap)
{
	const char *s;

	if (vj_json_string(vj_json_get(root, key), &s) < 0 || strlen(s) >= cap)
		return -EINVAL;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int vj_oci_state_parse(const char *text, size_t len, struct vj_oci_state *st, struct vj_err *e)
{
	const struct vj_json *a;
	struct vj_json_doc doc;
	struct vj_jw w;
	int64_t pid;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = vj_json_parse(text, len, 4096, &doc, e)) < 0)
		return r;
	a = vj_json_get(doc.root, "annotations");
	r = state_text(doc.root, "id", st->id, sizeof(st->id));
	if (r == 0)
		r = state_text(doc.root, "bundle", st->bundle, sizeof(st->bundle));
	if (r == 0)
		r = state_text(doc.root, "rootfs", st->rootfs, sizeof(st->rootfs));
	if (r == 0)
		r = state_text(doc.root, "run_dir", st->run_dir, sizeof(st->run_dir));
	if (r == 0 && (vj_json_i64(vj_json_get(doc.root, "pid"), &pid) < 0 || pid < 0 ||
		       pid > INT32_MAX))
		r = -EINVAL;
	st->pid = (int)pid;
	if (r == 0)
		r = vj_json_u64(vj_json_get(doc.root, "pid_start"), UINT64_MAX, &st->pid_start);
	if (r == 0)
		r = vj_json_u64(vj_json_get(doc.root, "created_ns"), UINT64_MAX, &st->created_ns);
	if (r == 0 && (!a || a->type != VJ_JSON_OBJECT))
		r = -EINVAL;
	if (r == 0) {
		vj_jw_init(&w, sizeof(st->annotations) - 1);
		vj_jw_tree(&w, a);
		if ((r = vj_jw_finish(&w)) == 0)
			memcpy(st->annotations, w.buf, w.len + 1);
		vj_jw_free(&w);
	}
	vj_json_free(&doc);
	return r < 0 ? vj_fail(e, -EINVAL, STATE_FILE ": malformed") : 0;
}

/* RFC 3339 with nanoseconds, UTC: what Go's time.Time reads back. */
static void rfc3339(uint64_t ns, char *buf, size_t cap)
{
	const time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, ".%09" PRIu64 "Z", ns % 1000000000u);
}

int vj_oci_state_json(const struct vj_oci_state *st, const char *status, char *buf, size_t cap,
		      struct vj_err *e)
{
	const bool stopped = !strcmp(status, "stopped");
	char created[48];
	struct vj_jw w;
	int r;

	rfc3339(st->created_ns, created, sizeof(created));
	vj_jw_init(&w, cap - 1);
	vj_jw_object_begin(&w);
	vj_jw_key(&w, "ociVersion");
	vj_jw_string(&w, OCI_VERSION);
	vj_jw_key(&w, "id");
	vj_jw_string(&w, st->id);
	vj_jw_key(&w, "status");
	vj_jw_string(&w, status);
	/* The spec: pid is REQUIRED when created or running, and there is no
	 * process to name once stopped. */
	vj_jw_key(&w, "pid");
	vj_jw_i64(&w, stopped ? 0 : st->pid);
	vj_jw_key(&w, "bundle");
	vj_jw_string(&w, st->bundle);
	vj_jw_key(&w, "rootfs");
	vj_jw_string(&w, st->rootfs);
	vj_jw_key(&w, "created");
	vj_jw_string(&w, created);
	vj_jw_key(&w, "owner");
	vj_jw_string(&w, "");
	vj_jw_key(&w, "annotations");
	vj_jw_json(&w, st->annotations, strlen(st->annotations));
	vj_jw_object_end(&w);
	if ((r = vj_jw_finish(&w)) == 0)
		memcpy(buf, w.buf, w.len + 1);
	vj_jw_free(&w);
	return r < 0 ? vj_fail_errno(e, r, "state of container %s", st->id) : 0;
}

/* ---- the state directory ---------------------------------------------------------- */

static int state_dir(const struct globals *g, const char *id, char *out, size_t cap,
		     struct vj_err *e)
{
	if (!vj_name_is_sandbox_id(id))
		return vj_fail(e, -EINVAL, "container id \"%.80s\": expected letters, digits and "
				"'-', 1 to %d", id, VJ_ID_MAX);
	if ((size_t)snprintf(out, cap, "%s/%s", g->root, id) >= cap)
		return vj_fail(e, -ENAMETOOLONG, "--root %s: too long", g->root);
	return 0;
}

static int write_state(const char *dir, const struct vj_oci_state *st, struct vj_err *e)
{
	static char text[STATE_MAX];
	char tmp[2 * VJ_PATH_MAX], path[2 * VJ_PATH_MAX];
	cleanup_fd int fd = -1;
	size_t len;
	int r;

	if ((r = vj_oci_state_format(st, text, sizeof(text), e)) < 0)
		return r;
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "%s/" STATE_FILE ".tmp", dir);
	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || rename(tmp, path) < 0)
		return vj_fail_errno(e, errno ? -errno : -EIO, "write %s", path);
	return 0;
}

static int read_state(const struct globals *g, const char *id, struct vj_oci_state *st,
		      char *dir, size_t cap, struct vj_err *e)
{
	static char text[STATE_MAX];
	char path[2 * VJ_PATH_MAX];
	cleanup_fd int fd = -1;
	ssize_t n;
	int r;

	if ((r = state_dir(g, id, dir, cap, e)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return vj_fail(e, -ENOENT, "container %s does not exist", id);
	if (fd < 0)
		return vj_fail_errno(e, -errno, "%s", path);
	n = read(fd, text, sizeof(text));
	if (n < 0 || n == (ssize_t)sizeof(text))
		return vj_fail(e, -EINVAL, "%s: unreadable or too long", path);
	if ((r = vj_oci_state_parse(text, (size_t)n, st, e)) < 0)
		return vj_wrap(e, "container %s", id);
	return 0;
}

/* Every file create puts there, then the directory. */
static void remove_state(const char *dir)
{
	static const char *const files[] = { STATE_FILE, STATE_FILE ".tmp", START_FIFO,
					     STARTED_FILE };
	char path[2 * VJ_PATH_MAX];

	for (size_t i = 0; i < VJ_ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* A zombie is as good as gone: the launcher has finished its clean-up,
 * only its parent's wait is left. */
static bool launcher_alive(const struct vj_oci_state *st)
{
	char path[64], buf[512], *p;
	cleanup_fd int fd = -1;
	ssize_t n;

	if (st->pid <= 0 || vj_proc_start_time(st->pid) != st->pid_start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", st->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static const char *status_of(const struct vj_oci_state *st, const char *dir)
{
	char path[2 * VJ_PATH_MAX], state[32];
	cleanup_fd int rd = -1;
	int exit_status;

	if (!launcher_alive(st))
		return "stopped";
	snprintf(path, sizeof(path), "%s/%s", st->run_dir, st->id);
	rd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rd >= 0 && vj_status_read(rd, state, sizeof(state), &exit_status) == 0) {
		if (!strcmp(state, "paused"))
			return "paused";
		if (!strcmp(state, "exited"))
			return "stopped";
	}
	snprintf(path, sizeof(path), "%s/" STARTED_FILE, dir);
	return access(path, F_OK) == 0 ? "running" : "created";
}

/* ---- verb options ------------------------------------------------------------------ */

/* One "--name VALUE", "--name=VALUE" or "-name VALUE" (runc's parser takes
 * every form); *i advances past what was taken. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, n))
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
		return true;
	}
	if (a[n] || *i + 1 >= argc)
		return false;
	*value = argv[++*i];
	return true;
}

static bool opt_flag(const char *arg, const char *name)
{
	if (arg[0] != '-')
		return false;
	arg += arg[1] == '-' ? 2 : 1;
	return !strcmp(arg, name);
}

/* The one positional argument every verb but features takes. */
static int one_id(int nargs, char **args, const char *verb, const char **id, struct vj_err *e)
{
	*id = "";
	if (nargs < 1)
		return vj_fail(e, -EINVAL, "%s: a container id is required", verb);
	*id = args[0];
	return 0;
}

/* ---- create, start ---------------------------------------------------------------- */

struct create_opts {
	const char *bundle, *pid_file, *console_socket, *preserve_fds;
	const char *id;
};

static int host_load(struct vj_host_config *host, struct vj_err *e)
{
	/* The shim's environment is containerd's, which the operator sets. */
	const char *path = getenv("VMJAIL_HOST_CONFIG");

	return vj_host_config_load(host, path && path[0] ? path : NULL, e);
}

static int absolute(const char *path, char *out, size_t cap, struct vj_err *e)
{
	char cwd[VJ_PATH_MAX];

	if (path[0] == '/') {
		if ((size_t)snprintf(out, cap, "%s", path) >= cap)
			return vj_fail(e, -ENAMETOOLONG, "%s: path too long", path);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return vj_fail_errno(e, -errno, "getcwd");
	if ((size_t)snprintf(out, cap, "%s/%s", cwd, path) >= cap)
		return vj_fail(e, -ENAMETOOLONG, "%s: path too long", path);
	return 0;
}

/* config.json and the policy it names, onto l: everything checked before
 * anything is created. */
static int prepare(struct vj_launch *l, struct vj_oci_spec *spec, const struct create_opts *o,
		   char *bundle, struct vj_root_image *root, struct vj_err *e)
{
	char policy[VJ_PATH_MAX];
	int r;

	if (o->console_socket)
		return vj_fail(e, -EINVAL, "--console-socket: a terminal (process.terminal) is not "
				"supported yet");
	if (o->preserve_fds && strcmp(o->preserve_fds, "0"))
		return vj_fail(e, -EINVAL, "--preserve-fds %s: passing extra fds into a VM is not "
				"supported", o->preserve_fds);
	if ((r = vj_oci_canonical(o->bundle ? o->bundle : ".", bundle)) < 0)
		return vj_fail_errno(e, r, "--bundle %s", o->bundle ? o->bundle : ".");
	if ((r = host_load(&l->host, e)) < 0)
		return r;
	vj_launch_init(l);
	if ((r = vj_oci_spec_load(spec, bundle, e)) < 0)
		return r;
	if ((r = vj_oci_spec_policy(spec, &l->host, policy, e)) < 0 ||
	    (r = vj_policy_load_file(&l->policy, policy, &l->host, e)) < 0)
		return r;
	snprintf(l->policy_path, sizeof(l->policy_path), "%s", policy);
	if ((r = vj_oci_spec_apply(spec, o->id, l, e)) < 0)
		return r;
	for (unsigned i = 0; i < spec->nignored; i++)
		vj_info("config.json: %s: not applied (jailer/OCI.md says why)", spec->ignored[i]);
	l->oci = true;
	if (o->pid_file && (r = absolute(o->pid_file, l->pid_file, sizeof(l->pid_file), e)) < 0)
		return r;
	/* The bundle's root directory becomes the guest's read-only root
	 * image, the writable layer being the guest's own (in memory); made
	 * for this container alone and removed when it ends. */
	if ((r = vj_image_from_rootfs(&l->host, spec->root_path, root, e)) < 0)
		return vj_wrap(e, "config.json: root.path");
	return vj_launch_attach_root(l, root, e);
}

static int mkdir_parents(const char *path)
{
	char buf[VJ_PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0711) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0711) < 0 && errno != EEXIST ? -errno : 0;
}

static int make_state_dir(const struct globals *g, const char *dir, const char *id,
			  struct vj_err *e)
{
	char fifo[2 * VJ_PATH_MAX];

	int r;

	/* Callers name a root per namespace (the shim's --runc-root/NS),
	 * whose parent need not exist yet. */
	if ((r = mkdir_parents(g->root)) < 0)
		return vj_fail_errno(e, r, "--root %s", g->root);
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? vj_fail(e, -EEXIST, "container %s exists already", id)
				       : vj_fail_errno(e, -errno, "state directory %s", dir);
	snprintf(fifo, sizeof(fifo), "%s/" START_FIFO, dir);
	if (mkfifo(fifo, 0600) < 0) {
		r = -errno;
		remove_state(dir);
		return vj_fail_errno(e, r, "%s", fifo);
	}
	return 0;
}

/*
 * The launcher, in the background as the container's init: the caller's
 * stdio stays its stdio (the container's streams), its pid goes to the
 * pid file once the guest's agent holds the workload, and it exits with
 * the workload's status.
 */
static int launcher(struct vj_launch *l, struct vj_oci_state *st, const char *dir,
		    int *report_fd)
{
	char fifo[2 * VJ_PATH_MAX];
	struct vj_err e;
	int status;

	snprintf(fifo, sizeof(fifo), "%s/" START_FIFO, dir);
	l->start_fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	st->pid = (int)getpid();
	st->pid_start = vj_proc_start_time(st->pid);
	if (l->start_fd < 0) {
		vj_error("create %s: %s: %s", st->id, fifo, strerror(errno));
		return VJ_LAUNCH_FAILED;
	}
	if (write_state(dir, st, &e) < 0) {
		vj_error("create %s: %s", st->id, e.msg);
		return VJ_LAUNCH_FAILED;
	}
	status = vj_run(l, report_fd, &e);
	if (status < 0) {
		vj_error("create %s: %s", st->id, e.msg);
		status = VJ_LAUNCH_FAILED;
	}
	vj_daemon_report(report_fd, VJ_LAUNCH_FAILED);
	close(l->start_fd);
	return status;
}

static int oci_create(struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_launch l; /* large: off the stack */
	static struct vj_oci_spec spec;
	static struct vj_oci_state st;
	static struct vj_root_image root;
	struct create_opts o = { 0 };
	char dir[VJ_PATH_MAX], bundle[VJ_PATH_MAX];
	struct timespec now;
	int report_fd = -1, status, r, nargs = 0;
	char *args[2];

	for (int i = 1; i < argc; i++) {
		if (opt_value(argc, argv, &i, "bundle", &o.bundle) ||
		    opt_value(argc, argv, &i, "b", &o.bundle) ||
		    opt_value(argc, argv, &i, "pid-file", &o.pid_file) ||
		    opt_value(argc, argv, &i, "console-socket", &o.console_socket) ||
		    opt_value(argc, argv, &i, "preserve-fds", &o.preserve_fds) ||
		    opt_flag(argv[i], "no-pivot") || opt_flag(argv[i], "no-new-keyring"))
			continue;
		if (argv[i][0] == '-')
			return vj_fail(e, -EINVAL, "create: unknown option %s", argv[i]);
		if (nargs == 2)
			return vj_fail(e, -EINVAL, "create: one container id expected");
		args[nargs++] = argv[i];
	}
	if ((r = one_id(nargs, args, "create", &o.id, e)) < 0 ||
	    (r = state_dir(g, o.id, dir, sizeof(dir), e)) < 0)
		return r;
	if (geteuid() != 0)
		return vj_fail(e, -EPERM, "create: needs root (namespaces, cgroups, changing ids)");
	r = prepare(&l, &spec, &o, bundle, &root, e);
	if (r == 0 && (r = make_state_dir(g, dir, o.id, e)) == 0) {
		memset(&st, 0, sizeof(st));
		snprintf(st.id, sizeof(st.id), "%s", o.id);
		snprintf(st.bundle, sizeof(st.bundle), "%s", bundle);
		snprintf(st.rootfs, sizeof(st.rootfs), "%s", spec.root_path);
		snprintf(st.run_dir, sizeof(st.run_dir), "%s", l.host.run_dir);
		snprintf(st.annotations, sizeof(st.annotations), "%s", spec.annotations);
		clock_gettime(CLOCK_REALTIME, &now);
		st.created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		if ((r = write_state(dir, &st, e)) < 0)
			remove_state(dir);
	}
	vj_oci_spec_free(&spec);
	if (r < 0) {
		vj_root_image_release(&root);
		vj_policy_free(&l.policy);
		return r;
	}
	/* The daemon keeps the root image's lock (image.h): without it the
	 * next container's sweep would take the image for a dead one's. */
	r = vj_daemonize(&report_fd, root.lock_held ? &root.lock_fd : NULL, &status, e);
	if (r == 0) {
		/* The daemon: from here on the container's init, and the owner
		 * of the root image, which it removes at the end. */
		g->daemon_status = launcher(&l, &st, dir, &report_fd);
		vj_root_image_release(&root);
		vj_policy_free(&l.policy);
		return 1;
	}
	/* After a fork the daemon owns the file (and removed it if it
	 * failed); this process frees its copy of the names only. */
	if (r > 0)
		root.remove_after = false;
	vj_root_image_release(&root);
	vj_policy_free(&l.policy);
	if (r < 0 || status != 0)
		remove_state(dir);
	if (r < 0)
		return r;
	/* A failed daemon printed why: its line is the last in the log, which
	 * is the one the shim reports. */
	g->daemon_status = status;
	return 1;
}

static int oci_start(const struct globals *g, int nargs, char **args, struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX], path[2 * VJ_PATH_MAX];
	cleanup_fd int fd = -1;
	cleanup_fd int mark = -1;
	const char *id, *status;
	int r;

	if ((r = one_id(nargs, args, "start", &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r;
	status = status_of(&st, dir);
	if (strcmp(status, "created"))
		return vj_fail(e, -EINVAL, "cannot start a container that is %s (%s)", status, id);
	/* The mark first: a `state` right after start says running. */
	snprintf(path, sizeof(path), "%s/" STARTED_FILE, dir);
	mark = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mark < 0)
		return errno == EEXIST ? vj_fail(e, -EINVAL, "container %s was started already", id)
				       : vj_fail_errno(e, -errno, "%s", path);
	snprintf(path, sizeof(path), "%s/" START_FIFO, dir);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || write(fd, "s", 1) != 1)
		return vj_fail_errno(e, -errno, "start %s: its launcher is gone", id);
	return 0;
}

/* ---- state, kill, delete ---------------------------------------------------------- */

static int oci_state(const struct globals *g, int nargs, char **args, struct vj_err *e)
{
	static struct vj_oci_state st;
	static char out[STATE_MAX + 1024];
	char dir[VJ_PATH_MAX];
	const char *id;
	int r;

	if ((r = one_id(nargs, args, "state", &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0 ||
	    (r = vj_oci_state_json(&st, status_of(&st, dir), out, sizeof(out), e)) < 0)
		return r;
	puts(out);
	return 0;
}

static int parse_signal(const char *s)
{
	uint64_t n;

	if (vj_parse_u64(s, 1, 64, &n) == 0)
		return (int)n;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < 65; i++) {
		const char *name = sigabbrev_np(i);
		if (name && !strcmp(name, s))
			return i;
	}
	return -1;
}

static int request(const struct vj_oci_state *st, const char *command, const char *args,
		   struct vj_err *e)
{
	struct vj_json_doc doc;
	const struct vj_json *ret;
	int r = vj_cli_request(st->run_dir, st->id, command, args, &doc, &ret, e);

	if (r == 0)
		vj_json_free(&doc);
	return r;
}

/* A created container's workload has not begun: the signal ends its VM,
 * as a signal to a process that never ran would end it. A paused guest
 * could not act on SIGKILL until resumed, as a frozen process can: that
 * too ends the VM at once. */
static int kill_container(const struct vj_oci_state *st, const char *status, int sig,
			  struct vj_err *e)
{
	char args[64];

	if (!strcmp(status, "created") || (sig == SIGKILL && !strcmp(status, "paused"))) {
		snprintf(args, sizeof(args), "{\"signal\":9,\"vm\":true}");
		return request(st, "kill", args, e);
	}
	snprintf(args, sizeof(args), "{\"signal\":%d,\"vm\":false}", sig);
	if (request(st, "kill", args, e) == 0)
		return 0;
	/* The workload may be gone already while the VM ends: SIGKILL still
	 * means the end. */
	if (sig != SIGKILL)
		return e->code;
	vj_warn("kill %s: signal 9 to the workload: %s; ending its VM", st->id, e->msg);
	return request(st, "kill", "{\"signal\":9,\"vm\":true}", e);
}

static int oci_kill(const struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX];
	char *args[2];
	const char *id, *status;
	int nargs = 0, sig = SIGTERM, r;

	for (int i = 1; i < argc; i++) {
		if (opt_flag(argv[i], "all") || opt_flag(argv[i], "a"))
			continue;
		if (argv[i][0] == '-' || nargs == 2)
			return vj_fail(e, -EINVAL, "kill: unexpected %s", argv[i]);
		args[nargs++] = argv[i];
	}
	if (nargs == 2 && (sig = parse_signal(args[1])) < 0)
		return vj_fail(e, -EINVAL, "kill: \"%s\" is not a signal", args[1]);
	if ((r = one_id(nargs, args, "kill", &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r;
	status = status_of(&st, dir);
	if (!strcmp(status, "stopped"))
		return vj_fail(e, -ESRCH, "container %s: container not running", st.id);
	if ((r = kill_container(&st, status, sig, e)) < 0)
		return vj_wrap(e, "kill %s", st.id);
	return 0;
}

/* Until the launcher has ended (and so cleaned up) or timeout_ms passed. */
static int wait_launcher(const struct vj_oci_state *st, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (!launcher_alive(st))
			return 0;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static int oci_delete(const struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX];
	char *args[1];
	const char *id, *status;
	bool force = false;
	int nargs = 0, r;

	for (int i = 1; i < argc; i++) {
		if (opt_flag(argv[i], "force") || opt_flag(argv[i], "f")) {
			force = true;
			continue;
		}
		if (argv[i][0] == '-' || nargs == 1)
			return vj_fail(e, -EINVAL, "delete: unexpected %s", argv[i]);
		args[nargs++] = argv[i];
	}
	if ((r = one_id(nargs, args, "delete", &id, e)) < 0)
		return r;
	if ((r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r == -ENOENT && force ? 0 : r;
	status = status_of(&st, dir);
	if (strcmp(status, "stopped")) {
		if (strcmp(status, "created") && !force)
			return vj_fail(e, -EBUSY, "cannot delete container %s that is %s: kill it "
					"first, or use --force", id, status);
		if ((r = request(&st, "kill", "{\"signal\":9,\"vm\":true}", e)) < 0 &&
		    launcher_alive(&st))
			return vj_wrap(e, "delete %s", id);
		if (wait_launcher(&st, DELETE_WAIT_MS) < 0)
			return vj_fail(e, -ETIMEDOUT, "delete %s: its launcher (pid %d) did not end "
					"within %d ms", id, st.pid, DELETE_WAIT_MS);
	}
	remove_state(dir);
	return 0;
}

/* ---- pause, resume, ps, events --------------------------------------------------- */

static int oci_pause(const struct globals *g, int nargs, char **args, const char *verb,
		     struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX];
	const char *id;
	int r;

	if ((r = one_id(nargs, args, verb, &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r;
	if (!strcmp(status_of(&st, dir), "stopped"))
		return vj_fail(e, -ESRCH, "container %s: container not running", id);
	if ((r = request(&st, verb, NULL, e)) < 0)
		return vj_wrap(e, "%s %s", verb, id);
	return 0;
}

/*
 * The host processes of the container: its launcher. The guest's own
 * processes have no host pid, and the VMM lives in a pid namespace of its
 * own; the launcher is the process that signals reach the workload
 * through and that exits with its status.
 */
static int oci_ps(const struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX];
	const char *format = "table", *id;
	char *args[1];
	int nargs = 0, r;
	bool alive;

	for (int i = 1; i < argc; i++) {
		if (opt_value(argc, argv, &i, "format", &format) ||
		    opt_value(argc, argv, &i, "f", &format))
			continue;
		if (argv[i][0] == '-' || nargs == 1)
			return vj_fail(e, -EINVAL, "ps: unexpected %s", argv[i]);
		args[nargs++] = argv[i];
	}
	if (strcmp(format, "json") && strcmp(format, "table"))
		return vj_fail(e, -EINVAL, "ps --format %s: expected json or table", format);
	if ((r = one_id(nargs, args, "ps", &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r;
	alive = launcher_alive(&st);
	if (!strcmp(format, "json"))
		alive ? printf("[%d]\n", st.pid) : printf("[]\n");
	else if (alive)
		printf("PID\n%d\n", st.pid);
	else
		printf("PID\n");
	return 0;
}

/* One runc "stats" event (runc's types.Event) from the sandbox's stats:
 * CPU time and cgroup memory; what vmjail does not count is left out. */
static int print_stats(const struct vj_oci_state *st, struct vj_err *e)
{
	struct vj_json_doc doc;
	const struct vj_json *ret;
	uint64_t cpu_usec = 0, memory = 0;
	int r;

	if ((r = vj_cli_request(st->run_dir, st->id, "stats", NULL, &doc, &ret, e)) < 0)
		return r;
	(void)vj_json_u64(vj_json_get(ret, "cpu_usec"), UINT64_MAX / 1000, &cpu_usec);
	(void)vj_json_u64(vj_json_get(ret, "memory_bytes"), UINT64_MAX, &memory);
	vj_json_free(&doc);
	printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{\"cpu\":{\"usage\":{\"total\":%" PRIu64
	       "}},\"memory\":{\"usage\":{\"usage\":%" PRIu64 "}}}}\n",
	       st->id, cpu_usec * 1000, memory);
	fflush(stdout);
	return 0;
}

static int oci_events(const struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_oci_state st;
	char dir[VJ_PATH_MAX];
	const char *interval = "5s", *id;
	uint64_t ms;
	bool stats = false;
	char *args[1];
	int nargs = 0, r;

	for (int i = 1; i < argc; i++) {
		if (opt_flag(argv[i], "stats")) {
			stats = true;
			continue;
		}
		if (opt_value(argc, argv, &i, "interval", &interval))
			continue;
		if (argv[i][0] == '-' || nargs == 1)
			return vj_fail(e, -EINVAL, "events: unexpected %s", argv[i]);
		args[nargs++] = argv[i];
	}
	if (vj_scalar_duration_ms(interval, &ms) < 0 || ms == 0)
		return vj_fail(e, -EINVAL, "events --interval %s: expected a duration", interval);
	if ((r = one_id(nargs, args, "events", &id, e)) < 0 ||
	    (r = read_state(g, id, &st, dir, sizeof(dir), e)) < 0)
		return r;
	for (;;) {
		if (!launcher_alive(&st))
			return stats ? vj_fail(e, -ESRCH, "container %s: container not running",
					       st.id) : 0;
		if ((r = print_stats(&st, e)) < 0)
			return r;
		if (stats)
			return 0;
		struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- exec ------------------------------------------------------------------------------ */

struct exec_opts {
	const char *process, *pid_file, *console_socket;
	bool detach;
	const char *id;
};

static int read_process(const char *path, struct vj_oci_spec *s, struct vj_err *e)
{
	cleanup_free char *buf = malloc(VJ_OCI_CONFIG_MAX + 1);
	cleanup_fd int fd = -1;
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return vj_fail(e, -ENOMEM, "--process %s: out of memory", path);
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return vj_fail_errno(e, -errno, "--process %s", path);
	while ((n = read(fd, buf + len, VJ_OCI_CONFIG_MAX + 1 - len)) > 0 &&
	       len + (size_t)n <= VJ_OCI_CONFIG_MAX)
		len += (size_t)n;
	if (n < 0)
		return vj_fail_errno(e, -errno, "--process %s: read", path);
	if (n > 0)
		return vj_fail(e, -EFBIG, "--process %s: larger than %u bytes", path,
			       (unsigned)VJ_OCI_CONFIG_MAX);
	return vj_oci_process_parse(s, buf, len, e);
}

/*
 * The exec'd process as its caller sees it: this process (or, with
 * --detach, a daemon of it that becomes the caller's subreaper's child),
 * holding the caller's stdio, which vmjail exec hands to the launcher, and
 * exiting with the process's status.
 */
static int exec_wait(const struct vj_oci_state *st, const struct vj_oci_spec *s, struct vj_err *e)
{
	struct vj_exec_params p = {
		.argv = (char *const *)s->argv,
		.argc = s->argc,
		.env = (char *const *)s->env,
		.envc = s->envc,
		.cwd = s->cwd,
		.has_user = true,
		.uid = s->uid,
		.gid = s->gid,
		.stdio = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
	};
	uint32_t exec_id;
	int status;

	e->msg[0] = '\0';
	status = vj_exec_client(st->run_dir, st->id, &p, &exec_id, e);

	if (status < 0) {
		vj_error("exec %s: %s", st->id, e->msg);
		return VJ_EXEC_FAILED;
	}
	if (e->msg[0])
		vj_error("exec %s: %s", st->id, e->msg);
	return status;
}

static int oci_exec(struct globals *g, int argc, char **argv, struct vj_err *e)
{
	static struct vj_oci_state st;
	static struct vj_oci_spec spec;
	struct exec_opts o = { 0 };
	char dir[VJ_PATH_MAX], pid_file[VJ_PATH_MAX];
	int report_fd = -1, status, r, nargs = 0;
	const char *ignored;
	char *args[1];

	for (int i = 1; i < argc; i++) {
		if (opt_value(argc, argv, &i, "process", &o.process) ||
		    opt_value(argc, argv, &i, "p", &o.process) ||
		    opt_value(argc, argv, &i, "pid-file", &o.pid_file) ||
		    opt_value(argc, argv, &i, "console-socket", &o.console_socket) ||
		    opt_value(argc, argv, &i, "preserve-fds", &ignored))
			continue;
		if (opt_flag(argv[i], "detach") || opt_flag(argv[i], "d")) {
			o.detach = true;
			continue;
		}
		if (argv[i][0] == '-' || nargs == 1)
			return vj_fail(e, -EINVAL, "exec: unexpected %s (--process FILE is the one "
					"form supported)", argv[i]);
		args[nargs++] = argv[i];
	}
	if (o.console_socket)
		return vj_fail(e, -EINVAL, "exec --console-socket: a terminal is not supported yet");
	if (!o.process)
		return vj_fail(e, -EINVAL, "exec: --process FILE is required");
	if ((r = one_id(nargs, args, "exec", &o.id, e)) < 0 ||
	    (r = read_state(g, o.id, &st, dir, sizeof(dir), e)) < 0 ||
	    (r = read_process(o.process, &spec, e)) < 0)
		return r;
	if (strcmp(status_of(&st, dir), "running")) {
		vj_oci_spec_free(&spec);
		return vj_fail(e, -EINVAL, "cannot exec in a container that is %s (%s)",
			       status_of(&st, dir), o.id);
	}
	if (o.pid_file && (r = absolute(o.pid_file, pid_file, sizeof(pid_file), e)) < 0) {
		vj_oci_spec_free(&spec);
		return r;
	}
	if (!o.detach) {
		g->daemon_status = exec_wait(&st, &spec, e);
		vj_oci_spec_free(&spec);
		return 1;
	}
	if ((r = vj_daemonize(&report_fd, NULL, &status, e)) == 0) {
		/* The daemon: its pid is the exec's for the caller. */
		if (o.pid_file && vj_pidfile_write(pid_file, (int)getpid(), false, e) < 0) {
			vj_error("exec %s: %s", o.id, e->msg);
			vj_daemon_report(&report_fd, VJ_EXEC_FAILED);
			g->daemon_status = VJ_EXEC_FAILED;
		} else {
			vj_daemon_report_keep_stdio(&report_fd);
			g->daemon_status = exec_wait(&st, &spec, e);
		}
		vj_oci_spec_free(&spec);
		return 1;
	}
	vj_oci_spec_free(&spec);
	if (r < 0)
		return r;
	g->daemon_status = status;
	return 1;
}

/* ---- features ------------------------------------------------------------------------ */

/* What this runtime does with config.json (runtime-spec features.md):
 * the lists name only what is honoured, OCI.md the rest. */
static int oci_features(void)
{
	puts("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.1.0\","
	     "\"hooks\":[],"
	     "\"mountOptions\":[],"
	     "\"linux\":{\"namespaces\":[],\"capabilities\":[],"
	     "\"cgroup\":{\"v1\":true,\"v2\":true,\"systemd\":false,\"systemdUser\":false},"
	     "\"seccomp\":{\"enabled\":false},\"apparmor\":{\"enabled\":false},"
	     "\"selinux\":{\"enabled\":false}},"
	     "\"annotations\":{\"io.vmjail.runtime\":\"vmjail\","
	     "\"io.vmjail.policy\":\"a policy file under the host file's oci.policy_roots\"}}");
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: " VJ_OCI_PROG " [--root DIR] [--log FILE] [--log-format text|json] "
		   "[--debug] COMMAND\n"
		   "  create --bundle DIR [--pid-file F] ID   boot the sandbox, hold the workload\n"
		   "  start ID                                 run the workload\n"
		   "  state ID                                 the OCI state, as JSON\n"
		   "  kill [--all] ID [SIGNAL]                 signal the workload (created: end the VM)\n"
		   "  delete [--force] ID                      forget a stopped container\n"
		   "  pause ID | resume ID | ps [--format json] ID | events [--stats] ID\n"
		   "  exec --process FILE [--detach] [--pid-file F] ID   a second process\n"
		   "  features                                 what config.json may say\n"
		   "The container's bundle config.json, its policy and the host file's bounds:\n"
		   "jailer/OCI.md.\n");
}

/* runc's global options, before the verb; *i ends on the verb. */
static int parse_globals(int argc, char **argv, int *i, struct globals *g, struct vj_err *e)
{
	const char *format = "text", *ignored;

	for (*i = 1; *i < argc && argv[*i][0] == '-'; ++*i) {
		if (opt_value(argc, argv, i, "root", &g->root) ||
		    opt_value(argc, argv, i, "log", &g->log) ||
		    opt_value(argc, argv, i, "log-format", &format))
			continue;
		if (opt_flag(argv[*i], "debug")) {
			g->debug = true;
			continue;
		}
		/* rootless: the launcher runs as root or not at all; criu:
		 * checkpoints go through `vmjail snapshot`, never criu. */
		if (opt_value(argc, argv, i, "rootless", &ignored) ||
		    opt_value(argc, argv, i, "criu", &ignored))
			continue;
		if (opt_flag(argv[*i], "systemd-cgroup"))
			return vj_fail(e, -EINVAL, "--systemd-cgroup: vmjail places each sandbox in a "
					"cgroup of its own under the host file's cgroup_parent; set "
					"SystemdCgroup = false for this runtime");
		if (opt_flag(argv[*i], "help") || opt_flag(argv[*i], "h"))
			return 1;
		if (opt_flag(argv[*i], "version") || opt_flag(argv[*i], "v"))
			return 2;
		return vj_fail(e, -EINVAL, "unknown global option %s", argv[*i]);
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return vj_fail(e, -EINVAL, "--log-format %s: expected text or json", format);
	g->log_json = !strcmp(format, "json");
	return 0;
}

static int run_verb(struct globals *g, int argc, char **argv, struct vj_err *e)
{
	const char *verb = argv[0];

	if (!strcmp(verb, "create"))
		return oci_create(g, argc, argv, e);
	if (!strcmp(verb, "start"))
		return oci_start(g, argc - 1, argv + 1, e);
	if (!strcmp(verb, "state"))
		return oci_state(g, argc - 1, argv + 1, e);
	if (!strcmp(verb, "kill"))
		return oci_kill(g, argc, argv, e);
	if (!strcmp(verb, "delete"))
		return oci_delete(g, argc, argv, e);
	if (!strcmp(verb, "pause") || !strcmp(verb, "resume"))
		return oci_pause(g, argc - 1, argv + 1, verb, e);
	if (!strcmp(verb, "ps"))
		return oci_ps(g, argc, argv, e);
	if (!strcmp(verb, "events"))
		return oci_events(g, argc, argv, e);
	if (!strcmp(verb, "features"))
		return oci_features();
	if (!strcmp(verb, "exec"))
		return oci_exec(g, argc, argv, e);
	if (!strcmp(verb, "run") || !strcmp(verb, "checkpoint") || !strcmp(verb, "restore") ||
	    !strcmp(verb, "update") || !strcmp(verb, "spec") || !strcmp(verb, "list"))
		return vj_fail(e, -ENOTSUP, "%s: not supported by " VJ_OCI_PROG, verb);
	return vj_fail(e, -EINVAL, "unknown command \"%s\" (" VJ_OCI_PROG " --help)", verb);
}

int vj_oci_main(int argc, char **argv)
{
	struct globals g = { .root = VJ_OCI_ROOT_DEFAULT };
	struct vj_err e;
	int i, r;

	vj_log_init(VJ_OCI_PROG, VJ_LOG_WARN);
	r = parse_globals(argc, argv, &i, &g, &e);
	if (r == 1 || (r == 0 && i >= argc)) {
		usage(r == 1 ? stdout : stderr);
		return r == 1 ? 0 : 1;
	}
	if (r == 2) {
		printf(VJ_OCI_PROG " (vmjail)\nspec: " OCI_VERSION "\n");
		return 0;
	}
	if (g.log)
		vj_log_set_file(g.log, g.log_json);
	if (g.debug)
		vj_log_set_level(VJ_LOG_DEBUG);
	if (r == 0)
		r = run_verb(&g, argc - i, argv + i, &e);
	if (r == 1)
		return g.daemon_status;
	if (r < 0) {
		vj_error("%s", e.msg);
		return 1;
	}
	return 0;
}
