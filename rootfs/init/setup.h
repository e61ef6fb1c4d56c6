/*
 * The guest system around the workload, done by vmjail-init as PID 1:
 * the kernel file systems, the hostname, and the final power-off.
 */
#ifndef VJ_INIT_SETUP_H
#define VJ_INIT_SETUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* /proc, /sys, /dev (devtmpfs, with /dev/pts and /dev/shm), /tmp, /run;
 * a missing mount point is created. Returns 0 or -errno with err set. */
int vj_init_mount_all(struct vj_err *err);

int vj_init_set_hostname(const char *name, struct vj_err *err);

/* CLOCK_REALTIME from the launcher (SETTIME). Returns 0 or -errno with
 * err set. */
int vj_init_set_clock(uint64_t realtime_ns, struct vj_err *err);

/*
 * A VM restored from a snapshot shares its random generator's state with
 * every other clone of that snapshot: len bytes of host entropy are mixed
 * into the input pool (RNDADDENTROPY, credited in full: the launcher took
 * them from getrandom(2)) and the generator is reseeded from it at once
 * (RNDRESEEDCRNG), so that getrandom(2), /dev/urandom and
 * /proc/sys/kernel/random/uuid differ between clones from the next read
 * on. Returns 0 or -errno with why set.
 */
int vj_init_reseed(const uint8_t *bytes, size_t len, struct vj_err *err);

/*
 * Ctrl-Alt-Del (from the VMM's keyboard, the launcher's way to stop a VM
 * whose agent it cannot ask) becomes SIGINT to PID 1 instead of an
 * immediate reboot, so that the workload gets to end cleanly. Returns 0
 * or -errno; in a child pid namespace (tests) the kernel refuses it with
 * -EINVAL, and there is no keyboard there anyway.
 */
int vj_init_ctrl_alt_del_to_init(void);

/*
 * Flushes file systems and resets the machine: the VMM runs guests with
 * reboot=k, so the reset goes through the i8042 and ends the VMM with
 * status 0. (RB_POWER_OFF would end in a hlt with interrupts off that
 * KVM keeps to itself.) In a pid namespace it ends the namespace instead:
 * its init dies of SIGHUP. Returns only if reboot(2) failed.
 */
int vj_init_power_off(void);

#endif
