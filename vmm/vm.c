#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "exit.h"
#include "layout.h"
#include "log.h"

/* KVM-private addresses in the MMIO gap, below the IOAPIC. */
#define VJ_KVM_TSS_ADDR 0xfffbd000ULL
#define VJ_KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

uint64_t vj_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int kvm_open(struct vj_vm *vm, const struct vj_vm_config *cfg)
{
	int api;

	if (cfg->kvm.fd >= 0) {
		vm->kvm_fd = cfg->kvm.fd;
	} else {
		vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (vm->kvm_fd < 0) {
			int e = errno;
			vj_error("open /dev/kvm: %s", strerror(e));
			return -e;
		}
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		vj_error("/dev/kvm: KVM API version %d, need %d", api, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static int kvm_require(struct vj_vm *vm)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_PIT2, "PIT2" },
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
		{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
		{ KVM_CAP_IRQFD, "IRQFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	};

	for (size_t i = 0; i < VJ_ARRAY_SIZE(caps); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			vj_error("/dev/kvm: required capability KVM_CAP_%s missing", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

/*
 * The order matters for start-up time: registering guest memory before
 * the in-kernel irqchip exists is two orders of magnitude cheaper than
 * after (measured on a nested KVM: ~0.05 ms against ~6 ms).
 */
int vj_vm_create(struct vj_vm *vm, const struct vj_vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = VJ_KVM_IDENTITY_MAP_ADDR;
	uint64_t start_ns = vm->timing.start_ns;
	char desc[320];
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->timing.start_ns = start_ns;
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	vm->loop.epfd = vm->loop.dev_epfd = -1;
	vm->nvcpus = cfg->vcpus;
	for (unsigned i = 0; i < VJ_VCPUS_MAX; i++)
		vm->vcpus[i].fd = -1;
	vj_bus_init(&vm->pio, "port");
	vj_bus_init(&vm->mmio, "MMIO");
	atomic_init(&vm->stopping, false);
	atomic_init(&vm->pause_req, false);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);

	if ((r = kvm_open(vm, cfg)) < 0 || (r = kvm_require(vm)) < 0)
		return r;
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((ssize_t)vm->run_size <= 0)
		return -errno;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = -errno;
		vj_error("KVM_CREATE_VM: %s", strerror(-r));
		return r;
	}
	if (vj_config_restoring(cfg))
		r = vj_mem_map_file(&vm->mem, cfg->memory_mib * VJ_MiB, cfg->restore_memory.fd);
	else
		r = vj_mem_create(&vm->mem, cfg->memory_mib * VJ_MiB, cfg->memory_backing,
				  cfg->host_thp);
	if (r < 0) {
		vj_error("guest memory (%llu MiB): %s", (unsigned long long)cfg->memory_mib,
			 strerror(-r));
		return r;
	}
	vj_mem_describe(&vm->mem, cfg->memory_backing, cfg->host_thp, desc, sizeof(desc));
	if (vj_config_restoring(cfg))
		vj_info("guest RAM %llu MiB: %s, mapped copy-on-write",
			(unsigned long long)cfg->memory_mib, cfg->restore_memory.name);
	/* An operator who reserved a pool wants to hear that it was short. */
	else if (cfg->memory_backing == VJ_MEMORY_HUGETLB && vm->mem.backing != VJ_MEMORY_HUGETLB)
		vj_warn("%s", desc);
	else
		vj_info("%s", desc);
	if ((r = vj_mem_register(&vm->mem, vm->vm_fd)) < 0) {
		vj_error("KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
		return r;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VJ_KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		r = -errno;
		vj_error("KVM irqchip/PIT setup: %s", strerror(-r));
		return r;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return -errno;
	if ((r = vj_loop_init(&vm->loop)) < 0)
		return r;
	return 0;
}

void vj_vm_destroy(struct vj_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	vj_loop_destroy(&vm->loop);
	vj_mem_destroy(&vm->mem);
	free(vm->save_out);
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

/* immediate_exit makes a vCPU that is about to enter the guest return at
 * once; the signal takes one that is already inside KVM_RUN out. */
static void kick_vcpus(struct vj_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vj_vcpu *v = &vm->vcpus[i];
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, SIGUSR1);
	}
}

void vj_vm_stop(struct vj_vm *vm, int status)
{
	bool expected = false;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, true))
		return;
	vm->exit_status = status;
	kick_vcpus(vm);
	/* Parked vCPUs wake up to leave, and a pause waiting for them ends. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	(void)!write(vm->stop_efd, &one, sizeof(one));
}

/* How long a pause waits for every vCPU to come out of the guest: they
 * leave KVM_RUN within microseconds of the kick; this only bounds a bug. */
#define PAUSE_WAIT_S 5

static unsigned running_vcpus(const struct vj_vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nvcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

/* pause_lock held: every started vCPU has parked, or -errno. */
static int wait_parked(struct vj_vm *vm)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PAUSE_WAIT_S;
	while (vm->parked < running_vcpus(vm) && !atomic_load(&vm->stopping) && r == 0)
		r = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
	if (atomic_load(&vm->stopping))
		return -ECANCELED;
	return r ? -r : 0;
}

static void release_vcpus(struct vj_vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vj_vm_pause(struct vj_vm *vm)
{
	int r;

	if (atomic_load(&vm->pause_req))
		return 0;
	atomic_store(&vm->pause_req, true);
	kick_vcpus(vm);
	pthread_mutex_lock(&vm->pause_lock);
	r = wait_parked(vm);
	pthread_mutex_unlock(&vm->pause_lock);
	if (r == 0 && (r = vj_loop_devices(&vm->loop, false)) == 0 &&
	    ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->clock) < 0)
		r = -errno;
	if (r < 0) {
		vj_loop_devices(&vm->loop, true);
		release_vcpus(vm);
		return r;
	}
	vm->paused_at_ns = vj_now_ns();
	return 0;
}

int vj_vm_resume(struct vj_vm *vm)
{
	/* Only the value: with KVM_CLOCK_REALTIME KVM would add the time
	 * that passed meanwhile, which is what restoring it avoids. */
	struct kvm_clock_data clock = { .clock = vm->clock.clock };
	int r;

	if (!atomic_load(&vm->pause_req))
		return 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return -errno;
	if ((r = vj_loop_devices(&vm->loop, true)) < 0)
		return r;
	vm->paused_ns += vj_now_ns() - vm->paused_at_ns;
	release_vcpus(vm);
	return 0;
}

bool vj_vm_paused(const struct vj_vm *vm)
{
	return atomic_load(&vm->pause_req);
}

void vj_vcpu_park(struct vj_vcpu *v, vj_vcpu_save_fn save)
{
	struct vj_vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping)) {
		if (v->save_gen != vm->save_gen) {
			unsigned gen = vm->save_gen;
			struct vj_snap_vcpu *out = &vm->save_out[v->index];
			int r;
			/* Unlocked: finishing an exit may call a device, which
			 * may stop the VM, which takes this lock. */
			pthread_mutex_unlock(&vm->pause_lock);
			r = save(v, out);
			pthread_mutex_lock(&vm->pause_lock);
			v->save_gen = gen;
			if (r < 0 && !vm->save_err)
				vm->save_err = r;
			vm->saved++;
			pthread_cond_broadcast(&vm->pause_cond);
			continue;
		}
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	}
	vm->parked--;
	/* The pause set it to take this vCPU out; it must enter again. A stop
	 * meanwhile is seen before the next KVM_RUN. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vj_vm_cmdline_append(struct vj_vm *vm, const char *text)
{
	size_t n = strlen(text);
	size_t sep = vm->cmdline_len ? 1 : 0;

	if (vm->cmdline_len + sep + n >= sizeof(vm->cmdline))
		return -E2BIG;
	if (sep)
		vm->cmdline[vm->cmdline_len++] = ' ';
	memcpy(vm->cmdline + vm->cmdline_len, text, n + 1);
	vm->cmdline_len += n;
	return 0;
}

int vj_vm_irq_line(struct vj_vm *vm, unsigned irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vj_vm_irqfd(struct vj_vm *vm, int efd, unsigned gsi)
{
	struct kvm_irqfd f = { .fd = (uint32_t)efd, .gsi = gsi };

	return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int vj_vm_ioeventfd(struct vj_vm *vm, int efd, uint64_t addr, uint32_t len, bool datamatch,
		    uint64_t data)
{
	struct kvm_ioeventfd io = {
		.datamatch = data, .addr = addr, .len = len, .fd = efd,
		.flags = datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int vj_vm_save_vcpus(struct vj_vm *vm, const struct vj_snap_vcpu **out)
{
	struct timespec until;
	int r = 0;

	if (!atomic_load(&vm->pause_req))
		return -EBUSY;
	if (running_vcpus(vm) != vm->nvcpus)
		return -ESRCH;
	/* The VM's own, never freed before the vCPU threads are gone: a
	 * thread late to answer writes into it, not into freed memory. */
	if (!vm->save_out && !(vm->save_out = calloc(vm->nvcpus, sizeof(*vm->save_out))))
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PAUSE_WAIT_S;
	pthread_mutex_lock(&vm->pause_lock);
	vm->saved = 0;
	vm->save_err = 0;
	vm->save_gen++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->saved < vm->nvcpus && !atomic_load(&vm->stopping) && r == 0)
		r = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
	if (atomic_load(&vm->stopping))
		r = ECANCELED;
	r = r ? -r : vm->save_err;
	pthread_mutex_unlock(&vm->pause_lock);
	*out = vm->save_out;
	return r;
}

/* The MSRs a Linux guest and the test guests rely on: time (TSC,
 * kvmclock, TSC deadline), system calls, MTRRs and PAT, the paravirtual
 * features. TSC first, so that KVM syncs it across vCPUs; the deadline
 * after it, as it is relative to the TSC. */
static const uint32_t snapshot_msrs[] = {
	0x10,       /* IA32_TSC */
	0x3b,       /* IA32_TSC_ADJUST */
	0x174, 0x175, 0x176, /* SYSENTER_CS/ESP/EIP */
	0x1a0,      /* IA32_MISC_ENABLE */
	0x277,      /* IA32_PAT */
	0x2ff,      /* MTRR default type */
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable MTRRs */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	0x250, 0x258, 0x259, /* fixed MTRRs */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, SFMASK */
	0xc0000102, /* KERNEL_GS_BASE */
	0xc0000103, /* TSC_AUX */
	0x48,       /* SPEC_CTRL */
	0x11, 0x12, /* kvmclock, old numbers */
	0x4b564d00, 0x4b564d01, /* kvmclock: wall clock, system time */
	0x4b564d02, 0x4b564d03, 0x4b564d04, 0x4b564d06, /* async PF, steal time, PV EOI,
							  * async PF interrupt */
	0x6e0,      /* IA32_TSC_DEADLINE */
};

_Static_assert(VJ_ARRAY_SIZE(snapshot_msrs) <= VJ_SNAPSHOT_MSRS_MAX, "MSR list fits a snapshot");

int vj_vm_snapshot_caps(struct vj_vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	cleanup_free struct kvm_msr_list *list = NULL;

	vm->has_xsave = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	vm->has_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	vm->has_debugregs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	list = malloc(sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0)
		return -errno;
	vm->nmsrs = 0;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(snapshot_msrs); i++)
		for (uint32_t j = 0; j < list->nmsrs; j++)
			if (list->indices[j] == snapshot_msrs[i]) {
				vm->msrs[vm->nmsrs++] = snapshot_msrs[i];
				break;
			}
	return 0;
}

int vj_vm_save_state(struct vj_vm *vm, struct vj_snap_vm *out)
{
	memset(out, 0, sizeof(*out));
	out->clock = vm->clock;
	out->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	out->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	out->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &out->pic_master) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &out->pic_slave) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &out->ioapic) < 0 ||
	    ioctl(vm->vm_fd, KVM_GET_PIT2, &out->pit) < 0)
		return -errno;
	return 0;
}

int vj_vm_restore_state(struct vj_vm *vm, const struct vj_snap_vm *in, const char **step)
{
	struct kvm_irqchip chip[3] = { in->pic_master, in->pic_slave, in->ioapic };
	static const uint32_t ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					 KVM_IRQCHIP_IOAPIC };
	struct kvm_pit_state2 pit = in->pit;

	for (int i = 0; i < 3; i++) {
		*step = "KVM_SET_IRQCHIP";
		if (chip[i].chip_id != ids[i])
			return -EINVAL;
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0)
			return -errno;
	}
	*step = "KVM_SET_PIT2";
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return -errno;
	/* Only the value, as a resume does: the guest's clock goes on from
	 * where the snapshot stopped it, not from the wall clock. */
	vm->clock = (struct kvm_clock_data){ .clock = in->clock.clock };
	*step = "KVM_SET_CLOCK";
	return ioctl(vm->vm_fd, KVM_SET_CLOCK, &vm->clock) < 0 ? -errno : 0;
}
