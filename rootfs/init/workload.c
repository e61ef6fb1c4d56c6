#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

/* execvp's search list when the workload's environment has no PATH. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int vj_init_workload_add(struct vj_init_workload *w, const struct vj_agent_msg *m,
			 struct vj_err *err)
{
	const bool arg = m->type == VJ_AGENT_ARG;
	char *s;
	int r;

	r = vj_agent_check_strings(w->argc + arg, w->envc + !arg, w->bytes + m->bytes.len + 1, err);
	if (r < 0)
		return r;
	if (!(s = strndup((const char *)m->bytes.data, m->bytes.len)))
		return vj_fail(err, -ENOMEM, "workload: out of memory");
	if (arg)
		w->argv[w->argc++] = s;
	else
		w->env[w->envc++] = s;
	w->bytes += m->bytes.len + 1;
	return 0;
}

int vj_init_workload_check(const struct vj_init_workload *w, struct vj_err *err)
{
	if (w->argc == 0 || w->argv[0][0] == '\0')
		return vj_fail(err, -EINVAL,
			       "workload: no program to run (argv is empty or argv[0] is \"\")");
	return 0;
}

void vj_init_workload_free(struct vj_init_workload *w)
{
	for (uint32_t i = 0; i < w->argc; i++)
		free(w->argv[i]);
	for (uint32_t i = 0; i < w->envc; i++)
		free(w->env[i]);
	w->argc = w->envc = 0;
	w->bytes = 0;
}

/* What a failed child reports through its close-on-exec pipe. */
struct child_failure {
	int step; /* enum vj_init_spawn_failure */
	int err;
	char what[64]; /* the call that failed */
};

static const char *env_path(const struct vj_init_workload *w)
{
	for (uint32_t i = 0; i < w->envc; i++)
		if (!strncmp(w->env[i], "PATH=", 5))
			return w->env[i] + 5;
	return DEFAULT_PATH;
}

/* execvpe(3) searches the caller's PATH, not the new environment's: this
 * one searches the workload's. The first error other than "not found"
 * is the one reported, like a shell does. */
static int exec_search(const struct vj_init_workload *w)
{
	char *const *env = w->env;
	const char *prog = w->argv[0], *dir = env_path(w);
	int err = ENOENT;

	if (strchr(prog, '/')) {
		execve(prog, w->argv, env);
		return errno;
	}
	for (;;) {
		const char *end = strchrnul(dir, ':');
		size_t n = (size_t)(end - dir);
		char path[4096];

		if (n + 1 + strlen(prog) < sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s%s%s", (int)n, dir, n ? "/" : "", prog);
			execve(path, w->argv, env);
			if (errno != ENOENT && errno != ENOTDIR && err == ENOENT)
				err = errno;
		}
		if (!*end)
			return err;
		dir = end + 1;
	}
}

static int set_ids(uint32_t uid, uint32_t gid)
{
	if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	return 0;
}

static __attribute__((noreturn)) void child_fail(int fd, int step, int err, const char *what)
{
	struct child_failure f = { .step = step, .err = err };

	snprintf(f.what, sizeof(f.what), "%s", what);
	(void)!write(fd, &f, sizeof(f));
	_exit(127);
}

/* In the child: the signal state the agent changed goes back to the
 * defaults (an ignored SIGPIPE would survive exec), then the image root,
 * ids, directory, stdio and the program. The ids change before chdir so that the
 * directory is entered with the workload's own permissions. */
static __attribute__((noreturn)) void child(const struct vj_init_workload *w, int fds[3],
					    int report)
{
	const char *cwd = w->spec.cwd[0] ? w->spec.cwd : "/";
	sigset_t none;
	int r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (setsid() < 0)
		child_fail(report, VJ_INIT_SPAWN_SETUP, errno, "setsid");
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_fail(report, VJ_INIT_SPAWN_SETUP, errno, "dup2");
	if (w->root_dir && (chdir(w->root_dir) < 0 || chroot(".") < 0))
		child_fail(report, VJ_INIT_SPAWN_SETUP, errno, "chroot");
	if ((r = set_ids(w->spec.uid, w->spec.gid)) < 0)
		child_fail(report, VJ_INIT_SPAWN_SETUP, -r, "set uid/gid");
	if (chdir(cwd) < 0)
		child_fail(report, VJ_INIT_SPAWN_SETUP, errno, "chdir");
	child_fail(report, VJ_INIT_SPAWN_EXEC, exec_search(w), "exec");
}

struct pipes {
	int in[2], out[2], err[2], report[2];
};

static void close_pipes(struct pipes *p)
{
	int *all[] = { p->in, p->out, p->err, p->report };

	for (size_t i = 0; i < VJ_ARRAY_SIZE(all); i++)
		for (int j = 0; j < 2; j++)
			vj_closep(&all[i][j]);
}

static int describe_failure(const struct vj_init_workload *w, const struct child_failure *f,
			    enum vj_init_spawn_failure *failure, struct vj_err *err)
{
	char name[128];

	vj_agent_printable(name, sizeof(name), w->argv[0], strlen(w->argv[0]));
	*failure = f->step == VJ_INIT_SPAWN_EXEC ? VJ_INIT_SPAWN_EXEC : VJ_INIT_SPAWN_SETUP;
	if (*failure == VJ_INIT_SPAWN_EXEC)
		return vj_fail_errno(err, -f->err, "exec \"%s\"", name);
	if (!strcmp(f->what, "chdir"))
		return vj_fail_errno(err, -f->err, "workload \"%s\": chdir %s", name,
				     w->spec.cwd[0] ? w->spec.cwd : "/");
	if (!strcmp(f->what, "chroot"))
		return vj_fail_errno(err, -f->err, "workload \"%s\": chroot %s", name,
				     w->root_dir);
	if (!strcmp(f->what, "set uid/gid"))
		return vj_fail_errno(err, -f->err, "workload \"%s\": set uid %u gid %u", name,
				     w->spec.uid, w->spec.gid);
	return vj_fail_errno(err, -f->err, "workload \"%s\": %s", name, f->what);
}

int vj_init_workload_spawn(const struct vj_init_workload *w, struct vj_init_child *c,
			   enum vj_init_spawn_failure *failure, struct vj_err *err)
{
	struct pipes p = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct child_failure f;
	ssize_t n;
	pid_t pid;
	int r;

	*failure = VJ_INIT_SPAWN_SETUP;
	if (pipe2(p.in, O_CLOEXEC) < 0 || pipe2(p.out, O_CLOEXEC) < 0 ||
	    pipe2(p.err, O_CLOEXEC) < 0 || pipe2(p.report, O_CLOEXEC) < 0 ||
	    fcntl(p.in[1], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close_pipes(&p);
		return vj_fail_errno(err, r, "workload pipes");
	}
	pid = fork();
	if (pid == 0) {
		int fds[3] = { p.in[0], p.out[1], p.err[1] };
		close(p.report[0]);
		child(w, fds, p.report[1]);
	}
	if (pid < 0) {
		r = -errno;
		close_pipes(&p);
		return vj_fail_errno(err, r, "fork the workload");
	}
	vj_closep(&p.report[1]);
	do
		n = read(p.report[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		/* The child wrote its failure and exits; reaping it here keeps
		 * it from being reported as the workload's end. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close_pipes(&p);
		if (n != (ssize_t)sizeof(f))
			f = (struct child_failure){ VJ_INIT_SPAWN_SETUP, EIO, "spawn report" };
		return describe_failure(w, &f, failure, err);
	}
	c->pid = pid;
	c->stdin_fd = vj_steal_fd(&p.in[1]);
	c->stdout_fd = vj_steal_fd(&p.out[0]);
	c->stderr_fd = vj_steal_fd(&p.err[0]);
	close_pipes(&p);
	return 0;
}
