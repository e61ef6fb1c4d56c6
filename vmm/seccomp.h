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
};

/* Installs the allowlist for this thread. VJ_SECCOMP_OFF is a no-op. */
int vj_seccomp_apply(enum vj_thread_kind kind, enum vj_seccomp_mode mode);

#endif
