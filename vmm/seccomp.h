/*
 * Per-thread seccomp allowlists of vmjail-vmm. Each thread installs the
 * filter for its kind before the first guest instruction runs.
 */
#ifndef VJ_SECCOMP_H
#define VJ_SECCOMP_H

#include "config.h"

enum vj_thread_kind {
	VJ_THREAD_VMM,  /* main thread: event loop, devices' queue work */
	VJ_THREAD_VCPU, /* one per vCPU: KVM_RUN and exit handling */
	VJ_THREAD_MIGRATE, /* live migration: dirty logs, guest RAM down a stream */
	VJ_THREAD_KINDS
};

/*
 * Installs the allowlist for this thread. VJ_SECCOMP_OFF is a no-op. A
 * migration thread is made by the VMM thread under its filter, which it
 * keeps: its own table goes on top, so that only the calls in both run,
 * and the VMM thread's table holds all of the migration thread's.
 */
int vj_seccomp_apply(enum vj_thread_kind kind, enum vj_seccomp_mode mode);

/*
 * The allowlists as data, for the tests that prove every row both allows
 * what it names and kills anything else. A row allows its system call
 * when all its checks hold: argument `arg` equals `value` (EQ), or
 * (argument & mask) == value (MASKED_EQ).
 */
enum vj_seccomp_cmp { VJ_SECCOMP_EQ, VJ_SECCOMP_MASKED_EQ };

struct vj_seccomp_check {
	unsigned arg; /* 0..5 */
	enum vj_seccomp_cmp cmp;
	unsigned long long mask;
	unsigned long long value;
};

#define VJ_SECCOMP_CHECKS_MAX 2

struct vj_seccomp_rule {
	int nr;
	const char *what; /* "ioctl KVM_RUN", for messages */
	unsigned nchecks;
	struct vj_seccomp_check checks[VJ_SECCOMP_CHECKS_MAX];
	/* Not 0: the call does not run but fails with this errno (a call
	 * the C library tries first and falls back from), instead of being
	 * allowed. */
	int refuse_errno;
};

const struct vj_seccomp_rule *vj_seccomp_rules(enum vj_thread_kind kind, unsigned *n);

#endif
