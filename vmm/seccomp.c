/*
 * Loads the VMM's seccomp filters, compiled to BPF at build time from the
 * allowlists in vmm/seccomp_rules.c (see vmm/seccomp_gen.c).
 */
#include "seccomp.h"

#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "cleanup.h"
#include "seccomp_bpf.inc"

#define PROG(a) { .len = VJ_ARRAY_SIZE(a), .filter = (struct sock_filter *)(a) }

int vj_seccomp_apply(enum vj_thread_kind kind, enum vj_seccomp_mode mode)
{
	struct sock_fprog prog;

	if (mode == VJ_SECCOMP_OFF)
		return 0;
	if (kind == VJ_THREAD_VCPU)
		prog = mode == VJ_SECCOMP_LOG ? (struct sock_fprog)PROG(bpf_vcpu_log)
					      : (struct sock_fprog)PROG(bpf_vcpu_kill);
	else if (kind == VJ_THREAD_MIGRATE)
		prog = mode == VJ_SECCOMP_LOG ? (struct sock_fprog)PROG(bpf_migrate_log)
					      : (struct sock_fprog)PROG(bpf_migrate_kill);
	else
		prog = mode == VJ_SECCOMP_LOG ? (struct sock_fprog)PROG(bpf_vmm_log)
					      : (struct sock_fprog)PROG(bpf_vmm_kill);
	/* Required for an unprivileged filter; the jail has set it already.
	 * A migration thread inherited it from the VMM thread, whose filter
	 * allows no prctl. */
	if (kind != VJ_THREAD_MIGRATE && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Per thread on purpose: no TSYNC, every thread loads its own table
	 * (the migration thread on top of the VMM thread's, see seccomp.h). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
