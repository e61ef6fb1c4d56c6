#include "resources.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "netns.h"
#include "rundir.h"
#include "sockfile.h"
#include "tap.h"

/*
 * The guest's vsock host side: a listening socket at the policy's path,
 * or <run_dir>/<id>.vsock, where no policy can name anything (the host
 * file keeps socket roots out of the run directory) and no one but the
 * launcher can write, so that nothing can be in its way. Owned by the
 * launcher's ids (sockfile.h): host programs that reach the guest through
 * it run as them. The "<path>_<port>" sockets the guest connects to are
 * reached through the broker (broker.c), not through the VMM.
 */
static int open_vsock(struct vj_resources *res, struct vj_rundir *rd, struct vj_err *e)
{
	struct vj_vsock_config *vs = &res->cfg.vsock;

	if (!vs->uds.name[0] && (size_t)snprintf(vs->uds.name, sizeof(vs->uds.name), "%s.vsock",
						 rd->path) >= sizeof(vs->uds.name))
		return vj_fail(e, -ENAMETOOLONG, "vsock socket %s.vsock: path too long", rd->path);
	return vj_sockfile_listen(vs->uds.name, (uid_t)-1, (gid_t)-1, rd, &vs->uds.fd, e);
}

int vj_resources_listen_port(const struct vj_resources *res, uint32_t port, struct vj_rundir *rd,
			     uid_t uid, gid_t gid, int *fd, struct vj_err *e)
{
	char path[VJ_PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s_%u", res->cfg.vsock.uds.name, port) >=
	    sizeof(path))
		return vj_fail(e, -ENAMETOOLONG, "vsock socket %s_%u: path too long",
			       res->cfg.vsock.uds.name, port);
	/* Only the broker, which connects as the sandbox's ids, may reach it. */
	return vj_sockfile_listen(path, uid, gid, rd, fd, e);
}

static int default_vmm_path(char *out, size_t len)
{
	char self[VJ_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -errno;
	self[n] = '\0';
	if ((size_t)snprintf(out, len, "%s/vmjail-vmm", dirname(self)) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Far more than a static executable has (vmjail-vmm: 12). */
#define EXEC_MAX_PHDRS 64

/* The jail has no loader and no libraries: only a static binary runs. */
static int check_static_elf(int fd, const char *path, struct vj_err *e)
{
	Elf64_Phdr ph[EXEC_MAX_PHDRS];
	Elf64_Ehdr eh;
	size_t len;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr))
		return vj_fail(e, -ENOEXEC, "%s: not an x86-64 ELF executable", path);
	if (eh.e_phnum > EXEC_MAX_PHDRS)
		return vj_fail(e, -ENOEXEC, "%s: %u program headers, more than the %d expected of "
			       "a static executable", path, eh.e_phnum, EXEC_MAX_PHDRS);
	/* All of them in one read, not one system call per header. */
	len = eh.e_phnum * sizeof(ph[0]);
	if (len && pread(fd, ph, len, (off_t)eh.e_phoff) != (ssize_t)len)
		return vj_fail(e, -ENOEXEC, "%s: truncated program headers", path);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			return vj_fail(e, -ENOEXEC,
				       "%s: dynamically linked; the jail has no loader or libraries, "
				       "so the program must be static",
				       path);
	}
	return 0;
}

static int open_exec(struct vj_resources *res, const struct vj_launch *l, struct vj_err *e)
{
	char path[VJ_PATH_MAX];
	int r;

	if (l->test_exec[0])
		strcpy(path, l->test_exec);
	else if (l->vmm_path[0])
		strcpy(path, l->vmm_path);
	else if ((r = default_vmm_path(path, sizeof(path))) < 0)
		return vj_fail_errno(e, r, "locate vmjail-vmm beside /proc/self/exe");
	res->exec_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (res->exec_fd < 0)
		return vj_fail_errno(e, -errno, "open %s", path);
	return check_static_elf(res->exec_fd, path, e);
}

/* Every descriptor the VMM may hold, in the order of its fd table. New
 * struct vj_file members of the configuration belong here. */
static unsigned config_files(struct vj_vm_config *c, struct vj_file **out)
{
	unsigned n = 0;

	out[n++] = &c->kvm;
	out[n++] = &c->kernel;
	out[n++] = &c->initrd;
	out[n++] = &c->console_file;
	for (uint32_t i = 0; i < c->ndrives; i++)
		out[n++] = &c->drives[i].file;
	for (uint32_t i = 0; i < c->nnets; i++)
		out[n++] = &c->nets[i].tap;
	out[n++] = &c->vsock.uds;
	out[n++] = &c->vsock.uds_dir;
	out[n++] = &c->vsock.broker;
	out[n++] = &c->control;
	out[n++] = &c->restore_state;
	out[n++] = &c->restore_memory;
	out[n++] = &c->migrate_from;
	return n;
}

int vj_resources_seal(struct vj_resources *res, struct vj_err *e)
{
	struct vj_vm_config copy = res->cfg;
	struct vj_file *mine[VJ_PASS_MAX], *theirs[VJ_PASS_MAX];
	unsigned n = config_files(&res->cfg, mine);
	int fd;

	config_files(&copy, theirs);
	res->npass = 0;
	for (unsigned i = 0; i < n; i++) {
		if (mine[i]->fd < 0)
			continue;
		theirs[i]->fd = 3 + (int)res->npass;
		res->pass[res->npass++] = mine[i]->fd;
	}
	res->config_fd = 3 + (int)res->npass;
	fd = vj_config_to_memfd(&copy);
	if (fd < 0)
		return vj_fail_errno(e, fd, "write the VM configuration to a memfd");
	res->memfd = fd;
	res->pass[res->npass++] = fd;
	return 0;
}

/* A resumed snapshot needs no kernel: its guest's is in its memory. */
static int open_all_files(struct vj_resources *res, const char *netns, bool restoring,
			  bool receiving, struct vj_err *e)
{
	struct vj_vm_config *c = &res->cfg;
	int r;

	c->kvm.fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (c->kvm.fd < 0)
		return vj_fail_errno(e, -errno, "open /dev/kvm");
	if (restoring) {
		c->kernel.name[0] = c->initrd.name[0] = '\0';
	} else if ((r = vj_open_file(&c->kernel, "kernel", O_RDONLY, VJ_FILE_REGULAR,
				     VJ_OPEN_TENANT_PATH, e)) < 0 ||
		   (c->initrd.name[0] &&
		    (r = vj_open_file(&c->initrd, "initrd", O_RDONLY, VJ_FILE_REGULAR,
				      VJ_OPEN_TENANT_PATH, e)) < 0)) {
		return r;
	}
	if (c->console == VJ_CONSOLE_FILE &&
	    (r = vj_open_file(&c->console_file, "console", O_WRONLY | O_CREAT | O_TRUNC,
			      VJ_FILE_CONSOLE, VJ_OPEN_TENANT_PATH, e)) < 0)
		return r;
	for (uint32_t i = 0; i < c->ndrives; i++) {
		struct vj_drive_config *d = &c->drives[i];
		/* A received guest's writable drives are locked by the source
		 * until the handover: its VMM takes the lock then. */
		if ((r = receiving ? vj_open_drive_incoming(d, i, VJ_OPEN_TENANT_PATH, e) :
				     vj_open_drive(d, i, VJ_OPEN_TENANT_PATH, e)) < 0)
			return r;
	}
	for (uint32_t i = 0; i < c->nnets; i++)
		if ((r = vj_tap_create(&c->nets[i].tap, netns, VJ_HOST_NETNS, e)) < 0)
			return r;
	return 0;
}

void vj_resources_init(struct vj_resources *res)
{
	memset(res, 0, sizeof(*res));
	vj_config_init(&res->cfg);
	res->memfd = res->exec_fd = res->devnull = -1;
}

int vj_resources_open(struct vj_resources *res, const struct vj_launch *l, struct vj_rundir *rd,
		      struct vj_err *e)
{
	struct vj_file *f[VJ_PASS_MAX];
	unsigned n;
	int r;

	res->cfg = l->policy.vm;
	res->cfg.seccomp = l->policy.seccomp;
	res->cfg.timing = l->timing;
	/* The VMM has no /sys in the jail to tell what its guest RAM got. */
	res->cfg.host_thp = vj_thp_host_mode();
	/* A policy names files; every descriptor here is one we opened. */
	n = config_files(&res->cfg, f);
	for (unsigned i = 0; i < n; i++)
		f[i]->fd = -1;
	if ((r = open_exec(res, l, e)) < 0 ||
	    (r = open_all_files(res, l->policy.jail.netns, l->from_snapshot[0] != '\0',
				l->migrate_from[0] != '\0', e)) < 0)
		return r;
	if (res->cfg.vsock.enabled && (r = open_vsock(res, rd, e)) < 0)
		return r;
	if ((res->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return vj_fail_errno(e, -errno, "open /dev/null");
	return 0;
}

static int dup_into(struct vj_file *f, int fd, const char *dir, const char *file,
		    struct vj_err *e)
{
	snprintf(f->name, sizeof(f->name), "%.400s/%s", dir, file);
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return f->fd < 0 ? vj_fail_errno(e, -errno, "snapshot %s: dup %s", dir, file) : 0;
}

int vj_resources_restore(struct vj_resources *res, const char *dir, int state_fd, int memory_fd,
			 struct vj_err *e)
{
	int r;

	if ((r = dup_into(&res->cfg.restore_state, state_fd, dir, "state", e)) < 0 ||
	    (r = dup_into(&res->cfg.restore_memory, memory_fd, dir, "memory", e)) < 0)
		return r;
	return 0;
}

void vj_resources_close(struct vj_resources *res)
{
	struct vj_file *f[VJ_PASS_MAX];
	unsigned n = config_files(&res->cfg, f);

	for (unsigned i = 0; i < n; i++) {
		vj_closep(&f[i]->fd);
		f[i]->fd = -1;
	}
	vj_closep(&res->memfd);
	vj_closep(&res->exec_fd);
	vj_closep(&res->devnull);
	res->memfd = res->exec_fd = res->devnull = -1;
	res->npass = 0;
}
