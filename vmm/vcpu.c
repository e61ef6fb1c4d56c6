#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "exit.h"
#include "layout.h"
#include "log.h"
#include "seccomp.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 1ull
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_ENABLE (1ull << 11)
#define MTRR_TYPE_WRBACK 6ull

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* vCPU threads wait here, filters installed, until the VMM thread has
 * installed its own: no guest instruction runs before every thread of the
 * process is confined. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static bool start_released;

static int set_msrs(int fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m = {
		.hdr.nmsrs = 3,
		.e = {
			/* The same TSC on every vCPU, written back to back, lets KVM
			 * keep them synchronized: Linux then trusts the TSC. */
			{ .index = MSR_IA32_TSC, .data = 0 },
			{ .index = MSR_IA32_MISC_ENABLE, .data = MSR_IA32_MISC_ENABLE_FAST_STRING },
			/* Write-back by default, as firmware would leave it. */
			{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE | MTRR_TYPE_WRBACK },
		},
	};
	int r = ioctl(fd, KVM_SET_MSRS, &m.hdr);

	return r < 0 ? -errno : (r == (int)m.hdr.nmsrs ? 0 : -EINVAL);
}

static void lvt_set_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

/* LINT0 carries the PIC's ExtINT and LINT1 the NMI, as on a PC. */
static int set_lint(int fd)
{
	struct kvm_lapic_state l;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	lvt_set_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lvt_set_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

int vj_vcpu_create(struct vj_vm *vm, unsigned index, const struct vj_cpuid *supported)
{
	struct vj_vcpu *v = &vm->vcpus[index];
	struct vj_cpuid cpuid;
	int r;

	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	vj_cpuid_for_vcpu(supported, &cpuid, index, vm->nvcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, &cpuid.hdr) < 0)
		return -errno;
	if ((r = set_msrs(v->fd)) < 0)
		return r;
	return set_lint(v->fd);
}

static void dump_registers(struct vj_vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		vj_error("vCPU %u: cannot read registers: %s", v->index, strerror(errno));
		return;
	}
	vj_error("vCPU %u registers: RIP=%016llx RSP=%016llx RFLAGS=%016llx", v->index,
		 r.rip, r.rsp, r.rflags);
	vj_error("  RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx", r.rax, r.rbx, r.rcx, r.rdx);
	vj_error("  RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx", r.rsi, r.rdi, r.rbp, r.r8);
	vj_error("  R9 =%016llx R10=%016llx R11=%016llx R12=%016llx", r.r9, r.r10, r.r11, r.r12);
	vj_error("  R13=%016llx R14=%016llx R15=%016llx", r.r13, r.r14, r.r15);
	vj_error("  CS=%04x(base %llx l%u) SS=%04x CR0=%llx CR2=%llx CR3=%llx CR4=%llx EFER=%llx",
		 s.cs.selector, s.cs.base, s.cs.l, s.ss.selector, s.cr0, s.cr2, s.cr3, s.cr4,
		 s.efer);
	vj_error("  GDT=%llx/%x IDT=%llx/%x", s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

static void handle_io(struct vj_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;

	if (run->io.data_offset >= v->vm->run_size || bytes > v->vm->run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (!vj_bus_write(&v->vm->pio, run->io.port, data, run->io.size))
				vj_debug("unclaimed port write 0x%x", run->io.port);
		} else if (!vj_bus_read(&v->vm->pio, run->io.port, data, run->io.size)) {
			vj_debug("unclaimed port read 0x%x", run->io.port);
		}
	}
}

static void handle_mmio(struct vj_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;

	if (run->mmio.is_write) {
		if (!vj_bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len))
			vj_debug("unclaimed MMIO write 0x%llx", run->mmio.phys_addr);
	} else if (!vj_bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len)) {
		vj_debug("unclaimed MMIO read 0x%llx", run->mmio.phys_addr);
	}
}

static void count_exit(struct vj_vcpu *v, uint32_t reason)
{
	enum vj_exit_kind k = reason == KVM_EXIT_IO     ? VJ_EXIT_KIND_IO
			      : reason == KVM_EXIT_MMIO ? VJ_EXIT_KIND_MMIO
			      : reason == KVM_EXIT_HLT  ? VJ_EXIT_KIND_HLT
							: VJ_EXIT_KIND_OTHER;

	atomic_fetch_add_explicit(&v->exits[k], 1, memory_order_relaxed);
}

/* Returns false when the VM must stop. */
static bool handle_exit(struct vj_vcpu *v)
{
	struct kvm_run *run = v->run;

	count_exit(v, run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		return true; /* the in-kernel LAPIC wakes the vCPU */
	case KVM_EXIT_SHUTDOWN:
		vj_error("vCPU %u: guest triple fault", v->index);
		dump_registers(v);
		vj_vm_stop(v->vm, VJ_EXIT_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vj_error("vCPU %u: KVM internal error, suberror %u%s", v->index,
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
				 ? " (instruction emulation failed)" : "");
		dump_registers(v);
		vj_vm_stop(v->vm, VJ_EXIT_EMULATION);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vj_error("vCPU %u: KVM could not enter the guest (reason 0x%llx)", v->index,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		dump_registers(v);
		vj_vm_stop(v->vm, VJ_EXIT_EMULATION);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vj_info("vCPU %u: guest system event %u", v->index, run->system_event.type);
		vj_vm_stop(v->vm, VJ_EXIT_GUEST_RESET);
		return false;
	default:
		vj_error("vCPU %u: unexpected KVM exit reason %u", v->index, run->exit_reason);
		vj_vm_stop(v->vm, VJ_EXIT_KVM);
		return false;
	}
}

/*
 * An exit the vCPU took last may still owe KVM its completion (the value
 * of a port or MMIO read goes into the guest's register on the next
 * KVM_RUN): with immediate_exit set, KVM_RUN completes it and returns
 * without entering the guest. A string instruction may need a few rounds.
 */
static int finish_pending_exit(struct vj_vcpu *v)
{
	for (int i = 0; i < 64; i++) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				return 0;
			if (errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!handle_exit(v))
			return -ECANCELED;
	}
	return -EBUSY;
}

static int get_msrs(struct vj_vcpu *v, struct vj_snap_vcpu *o)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[VJ_SNAPSHOT_MSRS_MAX];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = v->vm->nmsrs;
	for (unsigned i = 0; i < v->vm->nmsrs; i++)
		m.e[i].index = v->vm->msrs[i];
	r = ioctl(v->fd, KVM_GET_MSRS, &m.hdr);
	if (r < 0)
		return -errno;
	if (r != (int)m.hdr.nmsrs)
		return -EIO;
	o->nmsrs = m.hdr.nmsrs;
	memcpy(o->msrs, m.e, sizeof(m.e[0]) * m.hdr.nmsrs);
	return 0;
}

int vj_vcpu_save(struct vj_vcpu *v, struct vj_snap_vcpu *o)
{
	const struct vj_vm *vm = v->vm;
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = finish_pending_exit(v)) < 0)
		return r;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &o->mp_state) < 0 ||
	    ioctl(v->fd, KVM_GET_REGS, &o->regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &o->sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_LAPIC, &o->lapic) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &o->events) < 0)
		return -errno;
	if (vm->has_xsave) {
		if (ioctl(v->fd, KVM_GET_XSAVE, (struct kvm_xsave *)(void *)o->xsave) < 0)
			return -errno;
		o->flags |= VJ_SNAP_VCPU_XSAVE;
	} else if (ioctl(v->fd, KVM_GET_FPU, &o->fpu) < 0) {
		return -errno;
	}
	if (vm->has_xcrs) {
		if (ioctl(v->fd, KVM_GET_XCRS, &o->xcrs) < 0)
			return -errno;
		o->flags |= VJ_SNAP_VCPU_XCRS;
	}
	if (vm->has_debugregs) {
		if (ioctl(v->fd, KVM_GET_DEBUGREGS, &o->debugregs) < 0)
			return -errno;
		o->flags |= VJ_SNAP_VCPU_DEBUGREGS;
	}
	return get_msrs(v, o);
}

/* KVM's own checks stand between a state file and the vCPU: each ioctl
 * refuses what the CPU would not accept. The order is KVM's: the APIC
 * base (in sregs) before the LAPIC, the LAPIC before the TSC deadline
 * (an MSR), pending events last. */
int vj_vcpu_restore(struct vj_vcpu *v, const struct vj_snap_vcpu *in, const char **step)
{
	struct vj_snap_vcpu *c = malloc(sizeof(*c)); /* ioctls take non-const */
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[VJ_SNAPSHOT_MSRS_MAX];
	} m;
	int r = 0;

	if (!c)
		return -ENOMEM;
	*c = *in;
#define SET(req, field) \
	if (r == 0 && (*step = #req, ioctl(v->fd, req, &c->field) < 0)) \
		r = -errno;
	SET(KVM_SET_MP_STATE, mp_state)
	SET(KVM_SET_REGS, regs)
	SET(KVM_SET_SREGS, sregs)
	if (c->flags & VJ_SNAP_VCPU_XSAVE) {
		*step = "KVM_SET_XSAVE";
		if (r == 0 && ioctl(v->fd, KVM_SET_XSAVE, (struct kvm_xsave *)(void *)c->xsave) < 0)
			r = -errno;
	} else {
		SET(KVM_SET_FPU, fpu)
	}
	if (c->flags & VJ_SNAP_VCPU_XCRS) {
		SET(KVM_SET_XCRS, xcrs)
	}
	if (c->flags & VJ_SNAP_VCPU_DEBUGREGS) {
		SET(KVM_SET_DEBUGREGS, debugregs)
	}
	SET(KVM_SET_LAPIC, lapic)
#undef SET
	if (r == 0) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = c->nmsrs;
		memcpy(m.e, c->msrs, sizeof(m.e[0]) * c->nmsrs);
		*step = "KVM_SET_MSRS";
		r = ioctl(v->fd, KVM_SET_MSRS, &m.hdr);
		if (r >= 0 && r < (int)c->nmsrs) {
			vj_error("vCPU %u: KVM refuses MSR 0x%x = 0x%llx", v->index, c->msrs[r].index,
				 (unsigned long long)c->msrs[r].data);
			r = -EINVAL;
		} else {
			r = r < 0 ? -errno : 0;
		}
	}
	if (r == 0) {
		*step = "KVM_SET_VCPU_EVENTS";
		if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &c->events) < 0)
			r = -errno;
	}
	free(c);
	return r;
}

static void *vcpu_thread(void *arg)
{
	struct vj_vcpu *v = arg;
	struct vj_vm *vm = v->vm;
	sigset_t kick;
	int r;

	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	r = vj_seccomp_apply(VJ_THREAD_VCPU, vm->cfg->seccomp);
	if (r < 0) {
		vj_error("vCPU %u: installing seccomp filter: %s", v->index, strerror(-r));
		vj_vm_stop(vm, VJ_EXIT_KVM);
	}
	pthread_mutex_lock(&start_lock);
	while (!start_released)
		pthread_cond_wait(&start_cond, &start_lock);
	pthread_mutex_unlock(&start_lock);

	if (v->index == 0)
		vm->timing.first_run_ns = vj_now_ns();
	while (!atomic_load(&vm->stopping)) {
		if (atomic_load(&vm->pause_req)) {
			vj_vcpu_park(v, vj_vcpu_save);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vj_error("vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
			vj_vm_stop(vm, VJ_EXIT_KVM);
			break;
		}
		if (v->index == 0 && !atomic_load_explicit(&vm->timing.first_exit_ns,
							   memory_order_relaxed))
			atomic_store(&vm->timing.first_exit_ns, vj_now_ns());
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

/* Exit handling is shallow (a device callback, a log line): a small
 * stack keeps thread creation and the VMM's footprint small. */
#define VCPU_STACK_BYTES (256 * 1024)

int vj_vcpus_start(struct vj_vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	pthread_attr_t attr;
	int r;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	if ((r = pthread_attr_init(&attr)) || (r = pthread_attr_setstacksize(&attr, VCPU_STACK_BYTES)))
		return -r;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vj_vcpu *v = &vm->vcpus[i];
		r = pthread_create(&v->thread, &attr, vcpu_thread, v);
		if (r) {
			/* Threads already started leave once released. */
			vj_vm_stop(vm, VJ_EXIT_KVM);
			break;
		}
		v->started = true;
	}
	pthread_attr_destroy(&attr);
	return -r;
}

void vj_vcpus_release(struct vj_vm *vm)
{
	(void)vm;
	pthread_mutex_lock(&start_lock);
	start_released = true;
	pthread_cond_broadcast(&start_cond);
	pthread_mutex_unlock(&start_lock);
}

void vj_vcpus_join(struct vj_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
}
