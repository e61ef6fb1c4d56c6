/*
 * Live migration, the source side (vmm/MIGRATION.md): pre-copy rounds of
 * guest RAM down a stream while the guest runs, on a thread of its own
 * with its own seccomp table; then the VM paused, the last dirty pages
 * and the state; the source ends only once the destination says it runs,
 * and resumes the guest as if nothing happened on any failure before.
 *
 * Threads: the VMM thread starts a migration (vj_migration_start, from
 * the control channel) and does what only it may do, woken by an eventfd
 * in its loop: pause the VM and gather its state when the migration
 * thread asks, and at the end resume or stop the VM, tell the launcher,
 * and free what the migration used.
 */
#ifndef VJ_MIGRATE_H
#define VJ_MIGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "eventloop.h"
#include "vmm_ctl.h"

struct vj_err;
struct vj_vm_config;

struct vj_machine;

enum vj_migration_phase {
	VJ_MIG_IDLE,       /* no migration */
	VJ_MIG_PRECOPY,    /* the thread sends rounds, the guest runs */
	VJ_MIG_WANT_PAUSE, /* the thread waits for the VMM thread to pause */
	VJ_MIG_PAUSED,     /* paused (or pause_err), state gathered */
	VJ_MIG_DONE,       /* the thread finished; the VMM thread wraps up */
};

/* Called on the VMM thread when a migration ended, before the VM stops
 * (status 0) or runs on (status < 0). */
typedef void (*vj_migration_done_fn)(void *ctx, int status, const struct vj_vmm_migration *out);

struct vj_migration {
	const struct vj_machine *machine;
	pthread_t thread;
	bool started;                  /* the thread, made by the first migration */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vj_migration_phase phase; /* under lock */
	bool quit;                     /* under lock: the VMM is ending */
	int efd;                       /* migration thread -> VMM thread; -1 until then */
	struct vj_loop_handler efd_h;
	vj_migration_done_fn done;
	void *done_ctx;

	/* One migration's, set by vj_migration_start. */
	int fd;
	struct vj_vmm_migrate params;
	uint64_t t0_ns, pause_ns;
	double rate;          /* the link's, bytes per ns, as the pre-copy measured it */
	uint64_t deadline_ns; /* of the paused sends (PAUSED_SEND_MIN_S); 0 before */
	bool send_timed_out;  /* they missed it */
	uint64_t npages;
	uint64_t *dirty;   /* pages to send in the next round */
	uint64_t *slot_bm; /* KVM_GET_DIRTY_LOG's buffer, one slot at a time */
	uint64_t *dev_all; /* every page a device wrote since the start */
	uint64_t *dev_bm;  /* guest RAM's dev_dirty while tracking */
	bool we_paused;    /* the pause is the migration's, not the launcher's */
	/* The writable drives' locks were let go at the pause for the
	 * destination to take (VJ_VMM_MIGRATE_SHARED_DRIVES); a failed
	 * migration takes them back before the guest runs, and while it
	 * cannot, the guest stays paused. Outlives the migration then. */
	bool drives_released;
	int pause_err;
	uint8_t *state;
	size_t state_len;
	int result;
	struct vj_vmm_migration out;
};

/* Before the loop runs; nothing is made until the first migration. */
void vj_migration_init(struct vj_migration *m, const struct vj_machine *machine,
		       vj_migration_done_fn done, void *ctx);
/* VMM thread: starts one, taking fd on success (see VJ_VMM_CTL_MIGRATE_SEND
 * for the statuses). The first makes the migration thread, which loads
 * its own filter on top of the VMM thread's, and its eventfd. */
int vj_migration_start(struct vj_migration *m, int fd, const struct vj_vmm_migrate *p);
/* Whether a migration holds the VM paused (a resume must wait). */
bool vj_migration_holds_pause(struct vj_migration *m);
/* VMM thread, before a resume: the writable drives' locks, if a failed
 * migration could not take them back. 0, or -ENOLCK while another holds
 * one (the guest must not write to an image another VMM writes). */
int vj_migration_retake_drives(struct vj_migration *m);

/* Every writable drive's lock (the source's retake, the destination's
 * take at the handover), or -ENOLCK (another holds it) or another -errno
 * with e naming the first drive not taken, its index in *which. */
int vj_migration_take_drives(const struct vj_vm_config *cfg, unsigned *which, struct vj_err *e);
/* Teardown, VMM thread, vCPUs joined: ends the thread (a migration
 * under way is cut off) and frees everything. */
void vj_migration_destroy(struct vj_migration *m);

#endif
