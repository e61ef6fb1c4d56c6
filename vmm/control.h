/*
 * The VMM's side of the launcher's control channel (common/vmm_ctl.h):
 * pause, resume, statistics, Ctrl-Alt-Del and snapshots on request, the
 * boot marker unasked. It
 * runs on the VMM thread among the VMM's own fds, so a paused VM still
 * answers.
 */
#ifndef VJ_VMM_CONTROL_H
#define VJ_VMM_CONTROL_H

#include "eventloop.h"
#include "vmm_ctl.h"

struct vj_vm;
struct vj_virtio_devices;
struct vj_i8042;
struct vj_machine;
struct vj_migration;

struct vj_control {
	struct vj_vm *vm;
	const struct vj_virtio_devices *devs;
	struct vj_i8042 *i8042; /* Ctrl-Alt-Del */
	const struct vj_machine *machine; /* snapshots */
	struct vj_migration *migration;   /* live migrations; NULL: none */
	int fd;         /* the channel; -1 when there is none */
	int marker_efd; /* the boot marker device writes it (a vCPU thread) */
	struct vj_loop_handler fd_h, marker_h;
};

/* Creates marker_efd (always: the boot marker device takes it). */
int vj_control_init(struct vj_control *c, const struct vj_machine *machine);
/* Serves fd (a SOCK_SEQPACKET socket, made non-blocking here), if >= 0.
 * Before the seccomp filter: fcntl is not in it. */
int vj_control_start(struct vj_control *c, int fd);
void vj_control_destroy(struct vj_control *c);
/* An event with no data for the launcher (VJ_VMM_CTL_EVENT_RECEIVED). */
void vj_control_event(struct vj_control *c, uint32_t op, uint64_t u64);
/* The guest's end, with the VMM's exit status (VJ_VMM_CTL_EVENT_ENDED). */
void vj_control_ended(struct vj_control *c, int status);
/* A migration's end, for the launcher (vj_migration_done_fn). */
void vj_control_migrated(void *ctx, int status, const struct vj_vmm_migration *out);

#endif
