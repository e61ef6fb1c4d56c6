/* One virtual machine: KVM handles, guest memory, buses, vCPUs, devices. */
#ifndef VJ_VM_H
#define VJ_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "bus.h"
#include "config.h"
#include "eventloop.h"
#include "memory.h"
#include "snapshot.h"

struct vj_vm;

/* Exits a vCPU took to user space, by kind (VJ_VMM_CTL_STATS). */
enum vj_exit_kind { VJ_EXIT_KIND_IO, VJ_EXIT_KIND_MMIO, VJ_EXIT_KIND_HLT, VJ_EXIT_KIND_OTHER,
		    VJ_EXIT_KINDS };

struct vj_vcpu {
	struct vj_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	unsigned save_gen; /* the last snapshot request this vCPU answered */
	_Atomic uint64_t exits[VJ_EXIT_KINDS];
};

struct vj_timing {
	uint64_t start_ns;     /* VMM main() */
	uint64_t first_run_ns; /* first KVM_RUN issued on vCPU 0 */
	_Atomic uint64_t first_exit_ns;
	_Atomic uint64_t marker_ns;
	/* the VMM's page faults (minor + major) up to the vCPUs' release */
	long faults_before_run;
	uint64_t stopped_ns; /* every vCPU thread joined */
};

struct vj_vm {
	const struct vj_vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct vj_guest_mem mem;
	struct vj_bus pio;
	struct vj_bus mmio;
	struct vj_loop loop;
	unsigned nvcpus;
	struct vj_vcpu vcpus[VJ_VCPUS_MAX];

	/* Stopping: the first vj_vm_stop() wins and sets the status. */
	atomic_bool stopping;
	int exit_status;
	int stop_efd; /* wakes the event loop */

	/* Pausing: the VMM thread asks (pause_req), each vCPU thread parks
	 * itself and counts in (parked), all under pause_lock. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_bool pause_req;
	unsigned parked;
	struct kvm_clock_data clock; /* the guest's clock when it was paused */
	uint64_t paused_at_ns, paused_ns;

	/* Snapshot: the VMM thread asks every parked vCPU thread to save its
	 * own state (KVM's vCPU ioctls belong on the vCPU's thread) into
	 * save_out[index], under pause_lock. */
	unsigned save_gen, saved;
	int save_err;
	struct vj_snap_vcpu *save_out;

	/* What a vCPU's state includes on this host (vj_vm_snapshot_caps),
	 * learnt while /dev/kvm was still open. */
	bool has_xsave, has_xcrs, has_debugregs;
	unsigned nmsrs;
	uint32_t msrs[VJ_SNAPSHOT_MSRS_MAX];

	/* The command line given to the guest, device announcements added. */
	char cmdline[VJ_CMDLINE_MAX];
	size_t cmdline_len;

	struct vj_timing timing;
	struct vj_serial *serial;
};

uint64_t vj_now_ns(void);

int vj_vm_create(struct vj_vm *vm, const struct vj_vm_config *cfg);
void vj_vm_destroy(struct vj_vm *vm);

/* Ends the VM with an exit status (first caller wins). Safe from any
 * thread, including vCPU threads. */
void vj_vm_stop(struct vj_vm *vm, int status);

/* VMM thread. Takes every vCPU out of the guest and holds it, stops
 * serving the devices and saves the guest's clock; resume restores that
 * clock (the guest does not see the paused time pass on its kvmclock)
 * and lets everything go on. 0, or -errno (-ECANCELED: the VM is
 * stopping). Both are no-ops in the state they lead to. */
int vj_vm_pause(struct vj_vm *vm);
int vj_vm_resume(struct vj_vm *vm);
bool vj_vm_paused(const struct vj_vm *vm);

/* vCPU thread, between KVM_RUNs: parks while a pause is asked for, and
 * saves its state with save (vj_vcpu_save) when a paused VM's snapshot
 * asks for it. */
typedef int (*vj_vcpu_save_fn)(struct vj_vcpu *v, struct vj_snap_vcpu *out);
void vj_vcpu_park(struct vj_vcpu *v, vj_vcpu_save_fn save);

/* VMM thread, VM paused: every vCPU's state, each saved by its own
 * thread, in *out[0..nvcpus) (the VM's buffer). 0, or the first -errno. */
int vj_vm_save_vcpus(struct vj_vm *vm, const struct vj_snap_vcpu **out);

/* Before any filter: which optional vCPU state this host's KVM has and
 * which MSRs it can save (the MSRs Linux uses that KVM_GET_MSR_INDEX_LIST
 * names). */
int vj_vm_snapshot_caps(struct vj_vm *vm);

/* The in-kernel PICs, IOAPIC and PIT, and the clock saved by the pause
 * (VMM thread, paused); put back on restore before any vCPU runs. */
int vj_vm_save_state(struct vj_vm *vm, struct vj_snap_vm *out);
int vj_vm_restore_state(struct vj_vm *vm, const struct vj_snap_vm *in, const char **step);

/* Appends " text" to the guest command line; -E2BIG when it would not fit. */
int vj_vm_cmdline_append(struct vj_vm *vm, const char *text);

/* Interrupt plumbing for devices. */
int vj_vm_irq_line(struct vj_vm *vm, unsigned irq, bool level);
int vj_vm_irqfd(struct vj_vm *vm, int efd, unsigned gsi);
int vj_vm_ioeventfd(struct vj_vm *vm, int efd, uint64_t addr, uint32_t len,
		    bool datamatch, uint64_t data);

#endif
