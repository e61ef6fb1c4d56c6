/*
 * Per-thread seccomp allowlists for vmjail-vmm (libseccomp). Everything
 * not listed kills the process. A thread inherits nothing: the VMM thread
 * and each vCPU thread load their own table before the guest runs.
 *
 * To allow a new syscall, add a row to the table of the thread that makes
 * it, with the narrowest argument filter that works and a comment saying
 * why the VMM needs it.
 */
#include "seccomp.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <seccomp.h>
#include <linux/futex.h>
#include <linux/kvm.h>

#include "cleanup.h"

enum arg_rule { ANY, IOCTL_KVM_VCPU, IOCTL_KVM_VM, NO_EXEC_PROT, FUTEX_OPS };

struct rule {
	int nr;
	enum arg_rule arg;
};

/* The VMM thread: event loop, device work, interrupt injection. */
static const struct rule vmm_rules[] = {
	{ SCMP_SYS(epoll_wait), ANY },     /* the event loop */
	{ SCMP_SYS(epoll_pwait), ANY },    /* glibc may route epoll_wait here */
	{ SCMP_SYS(epoll_ctl), ANY },      /* devices (re)arm their fds */
	{ SCMP_SYS(read), ANY },           /* eventfds, signalfd, backends */
	{ SCMP_SYS(write), ANY },          /* console, eventfds, backends */
	{ SCMP_SYS(ioctl), IOCTL_KVM_VM }, /* interrupt lines */
	{ SCMP_SYS(futex), FUTEX_OPS }, /* pthread locks */
	{ SCMP_SYS(tgkill), ANY },         /* kicking vCPU threads out of KVM_RUN */
	{ SCMP_SYS(getpid), ANY },         /* pthread_kill */
	{ SCMP_SYS(gettid), ANY },
	{ SCMP_SYS(close), ANY },
	{ SCMP_SYS(munmap), ANY },         /* teardown, free() */
	{ SCMP_SYS(mmap), NO_EXEC_PROT },  /* malloc */
	{ SCMP_SYS(mprotect), NO_EXEC_PROT },
	{ SCMP_SYS(madvise), ANY },        /* free(), thread stacks */
	{ SCMP_SYS(brk), ANY },            /* malloc */
	{ SCMP_SYS(clock_gettime), ANY },  /* timing; vDSO fallback */
	{ SCMP_SYS(rt_sigprocmask), ANY },
	{ SCMP_SYS(rt_sigreturn), ANY },
	{ SCMP_SYS(exit), ANY },
	{ SCMP_SYS(exit_group), ANY },
};

/* A vCPU thread: KVM_RUN and the port/MMIO exits it handles itself. */
static const struct rule vcpu_rules[] = {
	{ SCMP_SYS(ioctl), IOCTL_KVM_VCPU }, /* KVM_RUN, register dumps, IRQ lines */
	{ SCMP_SYS(write), ANY },            /* console output, stop eventfd */
	{ SCMP_SYS(futex), FUTEX_OPS },  /* device locks */
	{ SCMP_SYS(tgkill), ANY },           /* kicking the other vCPUs on stop */
	{ SCMP_SYS(getpid), ANY },
	{ SCMP_SYS(gettid), ANY },
	{ SCMP_SYS(clock_gettime), ANY },
	{ SCMP_SYS(rt_sigprocmask), ANY },
	{ SCMP_SYS(rt_sigreturn), ANY },     /* return from the kick handler */
	{ SCMP_SYS(madvise), ANY },          /* thread exit releases its stack */
	{ SCMP_SYS(munmap), ANY },
	{ SCMP_SYS(exit), ANY },
	{ SCMP_SYS(exit_group), ANY },
};

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE,
};

static const unsigned long vm_ioctls[] = {
	KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD,
};

/* What pthread mutexes, condition variables and pthread_join use. */
static const unsigned long futex_ops[] = {
	FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
};

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_EQ, reqs[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *r)
{
	switch (r->arg) {
	case ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	case IOCTL_KVM_VCPU:
		return add_ioctls(ctx, vcpu_ioctls, VJ_ARRAY_SIZE(vcpu_ioctls));
	case IOCTL_KVM_VM:
		return add_ioctls(ctx, vm_ioctls, VJ_ARRAY_SIZE(vm_ioctls));
	case NO_EXEC_PROT:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case FUTEX_OPS:
		for (size_t i = 0; i < VJ_ARRAY_SIZE(futex_ops); i++) {
			int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
						  SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_CMD_MASK,
							  futex_ops[i]));
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	return -EINVAL;
}

int vj_seccomp_apply(enum vj_thread_kind kind, enum vj_seccomp_mode mode)
{
	const struct rule *rules = kind == VJ_THREAD_VCPU ? vcpu_rules : vmm_rules;
	size_t n = kind == VJ_THREAD_VCPU ? VJ_ARRAY_SIZE(vcpu_rules) : VJ_ARRAY_SIZE(vmm_rules);
	scmp_filter_ctx ctx;
	int r = 0;

	if (mode == VJ_SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(mode == VJ_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++)
		r = add_rule(ctx, &rules[i]);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
