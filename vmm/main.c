/*
 * vmjail-vmm: boots one guest on KVM from a struct vj_vm_config, either
 * handed over by the vmjail launcher (--config-fd, every resource already
 * an fd) or built from standalone flags (paths opened here, before any
 * guest code runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "boot/loader.h"
#include "cleanup.h"
#include "config.h"
#include "control.h"
#include "cpuid.h"
#include "devices/boot_marker.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "exit.h"
#include "host_open.h"
#include "layout.h"
#include "log.h"
#include "migrate.h"
#include "migration_stream.h"
#include "persist.h"
#include "seccomp.h"
#include "vcpu.h"
#include "virtio/devices.h"
#include "virtio/net.h"
#include "vm.h"

/*
 * --timing's steps of the start, each measured from the end of the one
 * before (the first from main()): wall time, this thread's CPU time (user
 * and system together) and page faults. The user/system split and the
 * time before main() come from the kernel's tracepoints instead
 * (bench/first-run-split.sh).
 */
enum start_step {
	STEP_MAIN,    /* main() entered */
	STEP_CONFIG,  /* arguments or the launcher's configuration, inputs opened */
	STEP_VM,      /* (a snapshot read, a migration's hello) guest memory, the VM */
	STEP_GUEST,   /* control channel, the guest's image or state loaded, devices */
	STEP_VCPUS,   /* vCPUs: CPUID, MSRs, registers */
	STEP_LOOP,    /* event loop and control channel */
	STEP_THREADS, /* vCPU threads started */
	STEP_SECCOMP, /* this thread's filter loaded; next: the vCPUs' release */
	STEP_COUNT
};

struct start_stamp {
	uint64_t wall_ns, cpu_ns;
	long faults; /* -1: not counted (getrusage is past the seccomp filter) */
};

struct vmm {
	struct vj_vm_config cfg;
	struct vj_vm vm;
	struct vj_kernel_image kernel;
	struct vj_serial serial;
	struct vj_i8042 i8042;
	int i8042_irq_efd; /* an irqfd on IRQ 1 */
	struct vj_boot_marker marker;
	struct vj_virtio_devices virtio;
	struct vj_control control;
	struct vj_machine machine;
	struct vj_snapshot *snap; /* the snapshot being resumed, or NULL */
	struct vj_migration migration; /* this VM sent elsewhere */
	struct vj_loop_handler migrate_in_h; /* a received VM: the source's END */
	uint32_t migrate_in_flags; /* a received VM: its HELLO's VJ_MIG_HELLO_* */
	int console_fd;
	int signal_fd;
	struct vj_loop_handler stop_handler, signal_handler;
	struct start_stamp steps[STEP_COUNT];
};

static const struct vj_bus_ops ignore_ops = { NULL, NULL };

static enum vj_log_level verbosity(int argc, char **argv)
{
	int level = VJ_LOG_WARN;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--verbose"))
			level++;
		else if (argv[i][0] == '-' && argv[i][1] != '-')
			for (const char *p = argv[i] + 1; *p == 'v'; p++)
				level++;
	}
	return level > VJ_LOG_DEBUG ? VJ_LOG_DEBUG : (enum vj_log_level)level;
}

/* Whether the command line asks for --timing, before it is parsed: the
 * first step's stamp costs two system calls, not paid without it. The
 * launcher's --config-fd carries the setting instead, so a jailed VMM's
 * steps start after its configuration. */
static bool timing_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--timing"))
			return true;
	return false;
}

/* The launcher's opener and checks (host_open.h), on the user's own paths. */
static int open_input(struct vj_file *f, const char *what, int flags, enum vj_file_kind kind)
{
	struct vj_err e;
	int r;

	if (f->fd >= 0 || !f->name[0])
		return 0;
	r = vj_open_file(f, what, flags, kind, VJ_OPEN_OWN_PATH, &e);
	if (r < 0)
		vj_error("%s", e.msg);
	return r;
}

/* Standalone mode only: from here on the VMM uses descriptors alone. */
static int open_inputs(struct vj_vm_config *cfg)
{
	int r;

	/* A kernel still to open means standalone; under the launcher, which
	 * read the host's THP mode outside the jail, there is no /sys. */
	if (cfg->kernel.fd < 0 && cfg->restore_state.fd < 0)
		cfg->host_thp = vj_thp_host_mode();
	if ((r = open_input(&cfg->restore_state, "snapshot state", O_RDONLY, VJ_FILE_REGULAR)) < 0 ||
	    (r = open_input(&cfg->restore_memory, "snapshot memory", O_RDONLY, VJ_FILE_REGULAR)) < 0 ||
	    (r = open_input(&cfg->kernel, "kernel", O_RDONLY, VJ_FILE_REGULAR)) < 0 ||
	    (r = open_input(&cfg->initrd, "initrd", O_RDONLY, VJ_FILE_REGULAR)) < 0)
		return r;
	if (cfg->console == VJ_CONSOLE_FILE &&
	    (r = open_input(&cfg->console_file, "console", O_WRONLY | O_CREAT | O_TRUNC,
			    VJ_FILE_CONSOLE)) < 0)
		return r;
	return vj_virtio_open_inputs(cfg);
}

static void serial_irq(void *ctx, bool level)
{
	struct vj_vm *vm = ctx;

	if (vj_vm_irq_line(vm, VJ_IRQ_COM1, level) < 0)
		vj_debug("KVM_IRQ_LINE %u: %s", VJ_IRQ_COM1, strerror(errno));
}

/*
 * IRQ 1 through an irqfd, an edge per write, from whichever thread queued
 * the byte: a vCPU thread (the guest's own port accesses) or the VMM
 * thread (Ctrl-Alt-Del from the control channel), whose seccomp table so
 * needs no KVM_IRQ_LINE. A full counter means an edge is still on its way.
 */
static void i8042_irq(void *ctx)
{
	struct vmm *m = ctx;
	const uint64_t one = 1;

	if (write(m->i8042_irq_efd, &one, sizeof(one)) < 0)
		vj_debug("i8042 irqfd: %s", strerror(errno));
}

/* A reset ends the VM. The guest tells a panic apart by asking for a
 * warm reset; its value is only ever an exit status, so a guest choosing
 * it freely is harmless. */
static void guest_reset(void *ctx)
{
	struct vj_vm *vm = &((struct vmm *)ctx)->vm;
	uint16_t flag = 0;

	(void)vj_mem_read(&vm->mem, VJ_WARM_RESET_FLAG_ADDR, &flag, sizeof(flag));
	if (flag == VJ_WARM_RESET_FLAG) {
		vj_info("guest requested a warm reset (kernel panic)");
		vj_vm_stop(vm, VJ_EXIT_GUEST_PANIC);
		return;
	}
	vj_info("guest requested a reset");
	vj_vm_stop(vm, VJ_EXIT_GUEST_RESET);
}

static int add_legacy_devices(struct vmm *m)
{
	struct vj_vm *vm = &m->vm;
	int r;

	switch (m->cfg.console) {
	case VJ_CONSOLE_STDOUT:
		m->console_fd = STDOUT_FILENO;
		break;
	case VJ_CONSOLE_NONE:
		m->console_fd = -1;
		break;
	case VJ_CONSOLE_FILE:
		m->console_fd = m->cfg.console_file.fd;
		break;
	}
	vj_serial_init(&m->serial, m->console_fd, m->cfg.console_limit, serial_irq, vm);
	vm->serial = &m->serial;
	vj_i8042_init(&m->i8042, guest_reset, i8042_irq, m);
	m->i8042_irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->i8042_irq_efd < 0)
		return -errno;
	if ((r = vj_vm_irqfd(vm, m->i8042_irq_efd, VJ_IRQ_I8042_KBD)) < 0)
		return r;
	m->marker = (struct vj_boot_marker){ .start_ns = vm->timing.start_ns,
					     .stamp = &vm->timing.marker_ns,
					     .notify_efd = m->control.marker_efd };
	if ((r = vj_bus_add(&vm->pio, VJ_PORT_COM1, VJ_PORT_COM1_SIZE, "serial", &vj_serial_ops,
			    &m->serial)) < 0 ||
	    (r = vj_bus_add(&vm->pio, VJ_PORT_I8042_DATA,
			    VJ_PORT_I8042_CMD - VJ_PORT_I8042_DATA + 1, "i8042", &vj_i8042_ops,
			    &m->i8042)) < 0 ||
	    (r = vj_bus_add(&vm->pio, VJ_PORT_POST, 1, "post", &ignore_ops, NULL)) < 0 ||
	    (r = vj_bus_add(&vm->mmio, VJ_BOOT_MARKER_ADDR, VJ_BOOT_MARKER_SIZE, "boot-marker",
			    &vj_boot_marker_ops, &m->marker)) < 0)
		return r;
	return 0;
}

/* A file the VMM is done with is closed at once, not at exit: what a
 * VMM taken over later holds, it can read or use again. */
static void drop_fd(int *fd)
{
	vj_closep(fd);
	*fd = -1;
}

/* Kernel, devices (which announce themselves on the command line), then
 * the command line, initrd and boot tables. Returns a VJ_EXIT_* on error. */
static int load_guest(struct vmm *m)
{
	struct vj_vm *vm = &m->vm;
	struct vj_boot_args args = { 0 };
	struct vj_err err;
	int r;

	r = vj_kernel_load(&vm->mem, m->cfg.kernel.fd, m->cfg.kernel.name, &m->kernel, &err);
	drop_fd(&m->cfg.kernel.fd);
	if (r < 0) {
		vj_error("%s", err.msg);
		return VJ_EXIT_CONFIG;
	}
	if ((r = add_legacy_devices(m)) < 0) {
		vj_error("device setup: %s", strerror(-r));
		return VJ_EXIT_KVM;
	}
	/* Before the user's command line: words after its " -- " go to init. */
	if (vj_virtio_devices_create(&m->virtio, vm, false) < 0)
		return VJ_EXIT_DEVICE;
	if (m->cfg.cmdline[0] && vj_vm_cmdline_append(vm, m->cfg.cmdline) < 0) {
		vj_error("command line too long");
		return VJ_EXIT_CONFIG;
	}
	if (m->cfg.initrd.fd >= 0) {
		r = vj_initrd_load(&vm->mem, &m->kernel, m->cfg.initrd.fd, m->cfg.initrd.name,
				   &args.initrd_addr, &args.initrd_size, &err);
		drop_fd(&m->cfg.initrd.fd);
		if (r < 0) {
			vj_error("%s", err.msg);
			return VJ_EXIT_CONFIG;
		}
	}
	args.cmdline = vm->cmdline;
	args.cmdline_len = vm->cmdline_len;
	if (vj_boot_params_write(&vm->mem, &m->kernel, &args, &err) < 0) {
		vj_error("%s", err.msg);
		return VJ_EXIT_CONFIG;
	}
	if (vj_mptable_write(&vm->mem, vm->nvcpus) < 0) {
		vj_error("MP table does not fit in guest memory");
		return VJ_EXIT_CONFIG;
	}
	return 0;
}

static void free_snapshot(struct vmm *m)
{
	if (m->snap)
		vj_snapshot_free(m->snap);
	free(m->snap);
	m->snap = NULL;
}

/*
 * Resuming a snapshot: the state file read and checked whole, and against
 * this VM's configuration, before guest RAM is mapped from the memory
 * file; a memory file of another size is refused too. Returns a
 * VJ_EXIT_* on error.
 */
static int read_snapshot(struct vmm *m)
{
	struct vj_vm_config *cfg = &m->cfg;
	struct vj_err e = { 0 };
	struct stat st;
	int r;

	m->snap = calloc(1, sizeof(*m->snap));
	if (!m->snap)
		return VJ_EXIT_KVM;
	r = vj_snapshot_load(cfg->restore_state.fd, cfg->restore_state.name, m->snap, &e);
	drop_fd(&cfg->restore_state.fd);
	if (r == 0 && (r = vj_snapshot_check_config(&m->snap->summary.config, cfg, &e)) < 0)
		vj_wrap(&e, "%s does not fit this VM", cfg->restore_state.name);
	if (r < 0) {
		vj_error("%s", e.msg);
		return VJ_EXIT_CONFIG;
	}
	if (fstat(cfg->restore_memory.fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != cfg->memory_mib * VJ_MiB) {
		vj_error("%s: %lld bytes, not a snapshot memory file of %llu MiB",
			 cfg->restore_memory.name, (long long)st.st_size,
			 (unsigned long long)cfg->memory_mib);
		return VJ_EXIT_CONFIG;
	}
	return 0;
}

/* ---- receiving a live migration (vmm/MIGRATION.md) ---- */

/* Before the VM exists: the source's HELLO against this configuration,
 * answered ACCEPT or REFUSE with the reason. Returns a VJ_EXIT_*. */
static int receive_hello(struct vmm *m)
{
	int fd = m->cfg.migrate_from.fd;
	struct vj_snapshot_cpu host;
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	int r;

	vj_snapshot_cpu_host(&host);
	r = vj_mig_read_frame(fd, "the source", &f, &e);
	if (r == 0 && f.type != VJ_MIG_HELLO)
		r = vj_fail(&e, -EPROTO, "the source: %s frame where HELLO comes",
			    vj_mig_frame_name(f.type));
	vj_mig_frame_free(&f);
	if (r == 0)
		r = vj_mig_check_hello(&f.u.hello, &host, &m->cfg, &e);
	if (r == 0)
		m->migrate_in_flags = f.u.hello.flags;
	if (r < 0) {
		(void)vj_mig_send_reason(fd, VJ_MIG_REFUSE, e.msg);
		vj_error("migration refused: %s", e.msg);
		return VJ_EXIT_MIGRATION;
	}
	if ((r = vj_mig_send(fd, VJ_MIG_ACCEPT, NULL, 0)) < 0) {
		vj_error("migration: answering the source: %s", strerror(-r));
		return VJ_EXIT_MIGRATION;
	}
	return 0;
}

/* Guest RAM as the source sends it, then its state, checked like a
 * snapshot's state file (every section, and against this configuration).
 * Returns a VJ_EXIT_*. */
static int receive_guest(struct vmm *m)
{
	const struct vj_guest_mem *mem = &m->vm.mem;
	int fd = m->cfg.migrate_from.fd;
	uint64_t pages = mem->size / VJ_MIG_PAGE, received = 0;
	struct vj_snapshot_cpu host;
	struct vj_err e = { 0 };
	int r;

	vj_snapshot_cpu_host(&host);
	for (;;) {
		struct vj_mig_frame f;
		if ((r = vj_mig_read_frame(fd, "the source", &f, &e)) < 0)
			break;
		if (f.type == VJ_MIG_MEMORY) {
			uint8_t *at;
			if ((r = vj_mig_check_run(&f.u.run, pages, &e)) < 0)
				break;
			at = mem->base + f.u.run.first_page * VJ_MIG_PAGE;
			if (f.u.run.flags & VJ_MIG_RUN_ZERO)
				memset(at, 0, (size_t)f.u.run.npages * VJ_MIG_PAGE);
			else if ((r = vj_mig_read_full(fd, at, f.data_len)) < 0) {
				vj_fail_errno(&e, r == -EPIPE ? -EIO : r, "the source: MEMORY data");
				break;
			}
			received += f.u.run.npages;
			continue;
		}
		if (f.type == VJ_MIG_STATE) {
			m->snap = calloc(1, sizeof(*m->snap));
			if (!m->snap) {
				vj_mig_frame_free(&f);
				r = vj_fail(&e, -ENOMEM, "the source's state: out of memory");
				break;
			}
			r = vj_snapshot_parse(f.state, f.length, "the source's state", &host, m->snap,
					      &e);
			m->snap->buf = f.state; /* vj_snapshot_free() frees it */
			if (r == 0 && (r = vj_snapshot_check_config_of(&m->snap->summary.config,
									     &m->cfg, "the source", &e)) < 0)
				vj_wrap(&e, "the source's state does not fit this VM");
			if (r == 0)
				vj_info("migration: %llu pages and %llu bytes of state received",
					(unsigned long long)received, (unsigned long long)f.length);
			break;
		}
		vj_mig_frame_free(&f);
		if (f.type == VJ_MIG_ABORT)
			r = vj_fail(&e, -ECANCELED, "the source gave the migration up: %s",
				    f.u.refuse.reason);
		else
			r = vj_fail(&e, -EPROTO, "the source: %s frame among the memory",
				    vj_mig_frame_name(f.type));
		break;
	}
	if (r < 0) {
		vj_error("migration: %s", e.msg);
		return VJ_EXIT_MIGRATION;
	}
	return 0;
}

/*
 * The writable drives' handover (vmm/MIGRATION.md): the source let their
 * locks go before it sent STATE; this VMM takes them before its guest
 * runs, or refuses the guest (the source then takes them back and runs
 * on). Returns a VJ_EXIT_*.
 */
static int take_drives(struct vmm *m)
{
	struct vj_err e = { 0 };
	char reason[200];
	unsigned i;

	if (vj_migration_take_drives(&m->cfg, &i, &e) == 0)
		return 0;
	/* Short: the source puts it in a line of its own. */
	snprintf(reason, sizeof(reason), "drive %u is locked by another process (%.120s)", i, e.msg);
	(void)vj_mig_send_reason(m->cfg.migrate_from.fd, VJ_MIG_REFUSE, reason);
	vj_error("migration refused: %s", e.msg);
	return VJ_EXIT_MIGRATION;
}

/* The VMM thread, guest running: the source's END makes this VM the one;
 * a stream that ends without it means the source may have resumed the
 * guest, which must never run in two places. */
static void on_source(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	int fd = m->cfg.migrate_from.fd;
	struct vj_mig_frame f;
	struct vj_err e = { 0 };
	int r;

	(void)events;
	r = vj_mig_read_frame(fd, "the source", &f, &e);
	vj_mig_frame_free(&f);
	vj_loop_del_own(&m->vm.loop, fd);
	drop_fd(&m->cfg.migrate_from.fd);
	if (r == 0 && f.type == VJ_MIG_END) {
		vj_info("migration: received; the source has ended");
		return;
	}
	if (r == 0)
		vj_fail(&e, -EPROTO, "%s frame where END comes", vj_mig_frame_name(f.type));
	vj_error("migration: the source did not confirm (%s); the guest stops here so that it "
		 "never runs twice", e.msg);
	vj_vm_stop(&m->vm, VJ_EXIT_MIGRATION);
}

/* Devices as the configuration has them, then their state, the VM's and
 * the vCPUs' from the snapshot. No kernel: the guest is in its memory. */
static int restore_guest(struct vmm *m)
{
	int r;

	drop_fd(&m->cfg.kernel.fd);
	drop_fd(&m->cfg.initrd.fd);
	if ((r = add_legacy_devices(m)) < 0) {
		vj_error("device setup: %s", strerror(-r));
		return VJ_EXIT_KVM;
	}
	if (vj_virtio_devices_create(&m->virtio, &m->vm, true) < 0)
		return VJ_EXIT_DEVICE;
	return 0;
}

static int create_vcpus(struct vmm *m)
{
	struct vj_vm *vm = &m->vm;
	struct vj_cpuid *supported = malloc(sizeof(*supported));
	int r;

	if (!supported)
		return -ENOMEM;
	r = vj_cpuid_supported(vm->kvm_fd, supported);
	if (r < 0) {
		vj_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		free(supported);
		return r;
	}
	for (unsigned i = 0; i < vm->nvcpus && r == 0; i++) {
		r = vj_vcpu_create(vm, i, supported);
		if (r < 0)
			vj_error("vCPU %u setup: %s", i, strerror(-r));
	}
	free(supported);
	if (r == 0 && (r = vj_vm_snapshot_caps(vm)) < 0)
		vj_error("KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
	if (r == 0 && m->snap)
		return vj_machine_restore(&m->machine, m->snap);
	if (r == 0 && (r = vj_boot_setup_bsp(&vm->mem, vm->vcpus[0].fd, &m->kernel)) < 0)
		vj_error("vCPU 0 boot state: %s", strerror(-r));
	return r;
}

static void on_stop(void *opaque, uint32_t events)
{
	struct vj_vm *vm = opaque;

	(void)events;
	vm->loop.stop = true;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(m->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		vj_info("stopping on signal %u", si.ssi_signo);
		vj_vm_stop(&m->vm, VJ_EXIT_STOPPED);
	}
}

static int setup_loop(struct vmm *m, const sigset_t *stop_signals)
{
	struct vj_vm *vm = &m->vm;
	int r;

	m->signal_fd = signalfd(-1, stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->signal_fd < 0)
		return -errno;
	m->stop_handler = (struct vj_loop_handler){ on_stop, vm };
	m->signal_handler = (struct vj_loop_handler){ on_signal, m };
	if ((r = vj_loop_add_own(&vm->loop, vm->stop_efd, EPOLLIN, &m->stop_handler)) < 0 ||
	    (r = vj_loop_add_own(&vm->loop, m->signal_fd, EPOLLIN, &m->signal_handler)) < 0)
		return r;
	return vj_control_start(&m->control, m->cfg.control.fd);
}

static void print_timing(const struct vj_vm *vm)
{
	const struct vj_timing *t = &vm->timing;
	uint64_t exit_ns = atomic_load(&t->first_exit_ns), marker = atomic_load(&t->marker_ns);

	/* Absolute CLOCK_MONOTONIC stamps, so that a benchmark can measure
	 * from before it exec'd the VMM; then the same relative to main(). */
	fprintf(stderr,
		"vmjail-vmm: timing start_ns=%llu first_run_ns=%llu first_exit_ns=%llu "
		"marker_ns=%llu\n",
		(unsigned long long)t->start_ns, (unsigned long long)t->first_run_ns,
		(unsigned long long)exit_ns, (unsigned long long)marker);
	fprintf(stderr, "vmjail-vmm: timing main->first KVM_RUN %.3f ms, ->first exit %.3f ms",
		(double)(t->first_run_ns - t->start_ns) / 1e6,
		exit_ns ? (double)(exit_ns - t->start_ns) / 1e6 : 0.0);
	if (marker)
		fprintf(stderr, ", ->boot marker %.3f ms", (double)(marker - t->start_ns) / 1e6);
	fprintf(stderr, ", page faults before the guest ran %ld\n", t->faults_before_run);
}

/* After the VM is gone: how long KVM took to tear it down (the last
 * close of its descriptors runs kvm_destroy_vm in this thread). */
static void print_teardown_timing(const struct vj_vm *vm, uint64_t destroyed_ns)
{
	fprintf(stderr, "vmjail-vmm: timing stopped_ns=%llu destroyed_ns=%llu (VM teardown %.3f ms)\n",
		(unsigned long long)vm->timing.stopped_ns, (unsigned long long)destroyed_ns,
		(double)(destroyed_ns - vm->timing.stopped_ns) / 1e6);
}

static long page_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) < 0 ? -1 : ru.ru_minflt + ru.ru_majflt;
}

/*
 * The guest runs at a new place: each network interface asks its driver
 * to announce it, so that the switches learn its new port at once, not
 * from its next frame. After a migration every one does (the guest
 * carries its MAC along); after a restore only those whose MAC the
 * guest keeps: a clone given a MAC of its own still holds the
 * snapshot's until its agent changes it, and announcing that one from
 * the clone's port would take the traffic of the original, which may
 * still run (vmm/SNAPSHOT.md).
 */
static void announce_nets(struct vmm *m, bool migrated)
{
	for (unsigned i = 0; i < m->virtio.nnet; i++) {
		struct vj_net *n = m->virtio.net[i];
		if ((migrated || n->mac_kept) && vj_net_announce(n))
			vj_info("%s: the guest is asked to announce itself", n->vdev.name);
	}
}

static void stamp_step(struct vmm *m, enum start_step step, bool faults)
{
	struct timespec cpu;
	struct start_stamp *s = &m->steps[step];

	if (step != STEP_MAIN && !m->cfg.timing)
		return;
	s->wall_ns = vj_now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	s->cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ull + (uint64_t)cpu.tv_nsec;
	s->faults = faults ? page_faults() : -1;
}

static void print_steps(const struct vmm *m)
{
	static const char *const names[STEP_COUNT] = {
		[STEP_CONFIG] = "config", [STEP_VM] = "vm", [STEP_GUEST] = "guest",
		[STEP_VCPUS] = "vcpus", [STEP_LOOP] = "loop", [STEP_THREADS] = "threads",
		[STEP_SECCOMP] = "seccomp",
	};

	fprintf(stderr, "vmjail-vmm: timing steps (ms wall/ms CPU/page faults)");
	for (unsigned i = STEP_CONFIG; i < STEP_COUNT; i++) {
		const struct start_stamp *a = &m->steps[i - 1], *b = &m->steps[i];

		if (!a->wall_ns) { /* main() not stamped: see timing_asked() */
			fprintf(stderr, " %s=-", names[i]);
			continue;
		}
		fprintf(stderr, " %s=%.3f/%.3f/", names[i], (double)(b->wall_ns - a->wall_ns) / 1e6,
			(double)(b->cpu_ns - a->cpu_ns) / 1e6);
		if (a->faults >= 0 && b->faults >= 0)
			fprintf(stderr, "%ld", b->faults - a->faults);
		else
			fputc('-', stderr);
	}
	fputc('\n', stderr);
}

static int run(struct vmm *m)
{
	struct vj_vm *vm = &m->vm;
	sigset_t all, stop_signals;
	int r;

	/* Every thread starts with all signals blocked; vCPU threads unblock
	 * their kick signal, the VMM thread takes the rest via signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	if ((r = setup_loop(m, &stop_signals)) < 0) {
		vj_error("event loop: %s", strerror(-r));
		return VJ_EXIT_KVM;
	}
	stamp_step(m, STEP_LOOP, true);
	r = vj_vcpus_start(vm);
	/* Before the filter, which has no getrusage. */
	stamp_step(m, STEP_THREADS, true);
	if (m->cfg.timing)
		vm->timing.faults_before_run = m->steps[STEP_THREADS].faults;
	if (r < 0)
		vj_error("starting vCPU threads: %s", strerror(-r));
	if (r == 0 && (r = vj_seccomp_apply(VJ_THREAD_VMM, m->cfg.seccomp)) < 0) {
		vj_error("installing seccomp filter: %s", strerror(-r));
		vj_vm_stop(vm, VJ_EXIT_KVM);
	}
	stamp_step(m, STEP_SECCOMP, false);
	vj_vcpus_release(vm);
	if (r == 0 && vj_config_migrating(&m->cfg)) {
		/* The vCPUs run: the source may end. */
		int e = vj_mig_send(m->cfg.migrate_from.fd, VJ_MIG_RUNNING, NULL, 0);
		m->migrate_in_h = (struct vj_loop_handler){ on_source, m };
		if (e == 0)
			e = vj_loop_add_own(&vm->loop, m->cfg.migrate_from.fd, EPOLLIN,
					    &m->migrate_in_h);
		if (e < 0) {
			vj_error("migration: telling the source the guest runs: %s", strerror(-e));
			vj_vm_stop(vm, VJ_EXIT_MIGRATION);
		} else {
			vj_control_event(&m->control, VJ_VMM_CTL_EVENT_RECEIVED,
					 m->migrate_in_flags & VJ_MIG_HELLO_AGENT ?
						 VJ_VMM_MIGRATE_AGENT : 0);
			announce_nets(m, true);
		}
	} else if (r == 0 && m->snap) {
		announce_nets(m, false);
	}
	if (r == 0 && (r = vj_loop_run(&vm->loop)) < 0) {
		vj_error("event loop: %s", strerror(-r));
		vj_vm_stop(vm, VJ_EXIT_KVM);
	}
	vj_vcpus_join(vm);
	vm->timing.stopped_ns = vj_now_ns();
	vj_migration_destroy(&m->migration);
	vj_serial_flush(&m->serial);
	if (m->cfg.timing) {
		print_timing(vm);
		print_steps(m);
	}
	return vm->exit_status;
}

/*
 * The guest is over and everything it wrote is out (run() flushed the
 * console): the launcher learns the status before the VM's teardown,
 * which in KVM waits for kernel threads and grace periods. Where the
 * launcher returns then (release_stdio), its caller's stdout and stderr
 * are let go first, so that a reader of them sees EOF as soon as the
 * launcher returns; with --timing stderr stays for the teardown's
 * figure.
 */
static void report_end(struct vmm *m, int status)
{
	if (m->control.fd < 0)
		return;
	if (m->cfg.release_stdio) {
		close(STDOUT_FILENO);
		if (!m->cfg.timing)
			close(STDERR_FILENO);
	}
	vj_control_ended(&m->control, status);
}

int main(int argc, char **argv)
{
	static struct vmm m; /* large: keep it off the stack */
	struct vj_err err;
	int r, status;

	m.signal_fd = -1;
	m.i8042_irq_efd = -1;
	m.vm.timing.start_ns = vj_now_ns();
	if (timing_asked(argc, argv))
		stamp_step(&m, STEP_MAIN, true);
	/* One malloc arena: vCPU threads barely allocate, and a per-thread
	 * arena would reserve address space and touch pages for nothing. */
	mallopt(M_ARENA_MAX, 1);
	vj_log_init("vmjail-vmm", verbosity(argc, argv));
	/*
	 * First, before guest memory exists or the guest runs: a process that
	 * is not dumpable keeps every process without CAP_SYS_PTRACE out of
	 * its /proc/PID/fd, /proc/PID/mem (guest RAM) and ptrace,
	 * even one with its own uid, and is never dumped to a core file.
	 * Jailed, the exec that follows the jail's change of ids made the VMM
	 * dumpable again; its seccomp filter allows no prctl() later.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		vj_error("prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
		return VJ_EXIT_KVM;
	}
	signal(SIGPIPE, SIG_IGN);

	vj_config_init(&m.cfg);
	r = vj_config_parse_args(&m.cfg, argc, argv, &err);
	if (r == 1) {
		vj_config_usage(argv[0]);
		return 0;
	}
	if (r < 0) {
		vj_error("%s", err.msg);
		return VJ_EXIT_CONFIG;
	}
	if (open_inputs(&m.cfg) < 0)
		return VJ_EXIT_CONFIG;
	stamp_step(&m, STEP_CONFIG, true);
	if (vj_config_restoring(&m.cfg) && (status = read_snapshot(&m)) != 0) {
		free_snapshot(&m);
		return status;
	}
	/* Nothing of the source's is taken before its VM is found to fit. */
	if (vj_config_migrating(&m.cfg) && (status = receive_hello(&m)) != 0)
		return status;
	r = vj_vm_create(&m.vm, &m.cfg);
	stamp_step(&m, STEP_VM, true);
	/* Mapped copy-on-write: the mapping holds the file, the VMM no
	 * descriptor of it. */
	drop_fd(&m.cfg.restore_memory.fd);
	if (r < 0) {
		vj_vm_destroy(&m.vm);
		free_snapshot(&m);
		return VJ_EXIT_KVM;
	}
	m.machine = (struct vj_machine){ .vm = &m.vm, .serial = &m.serial, .i8042 = &m.i8042,
					 .marker = &m.marker, .virtio = &m.virtio };
	if ((r = vj_control_init(&m.control, &m.machine)) < 0) {
		vj_error("control channel: %s", strerror(-r));
		vj_vm_destroy(&m.vm);
		return VJ_EXIT_KVM;
	}
	vj_migration_init(&m.migration, &m.machine, vj_control_migrated, &m.control);
	m.control.migration = &m.migration;
	if (vj_config_migrating(&m.cfg) &&
	    ((status = receive_guest(&m)) != 0 || (status = take_drives(&m)) != 0)) {
		vj_migration_destroy(&m.migration);
		vj_control_destroy(&m.control);
		vj_vm_destroy(&m.vm);
		free_snapshot(&m);
		return status;
	}
	status = m.snap ? restore_guest(&m) : load_guest(&m);
	stamp_step(&m, STEP_GUEST, true);
	if (status == 0 && create_vcpus(&m) < 0)
		status = VJ_EXIT_KVM;
	stamp_step(&m, STEP_VCPUS, true);
	/* /dev/kvm answers system-wide questions and makes VMs: with the VM
	 * and its vCPUs made, the VMM has nothing more to ask it (the VM and
	 * vCPU descriptors do the rest), and a VMM taken over must not make
	 * VMs of its own. */
	drop_fd(&m.vm.kvm_fd);
	m.cfg.kvm.fd = -1;
	if (status == 0) {
		status = run(&m);
		report_end(&m, status);
	}
	vj_serial_destroy(&m.serial);
	vj_i8042_destroy(&m.i8042);
	if (m.i8042_irq_efd >= 0)
		close(m.i8042_irq_efd);
	if (m.signal_fd >= 0)
		close(m.signal_fd);
	vj_virtio_devices_destroy(&m.virtio);
	vj_control_destroy(&m.control);
	vj_vm_destroy(&m.vm);
	if (m.cfg.timing && m.vm.timing.stopped_ns)
		print_teardown_timing(&m.vm, vj_now_ns());
	free_snapshot(&m);
	return status;
}
