/*
 * The per-thread seccomp allowlists of vmjail-vmm, as data. At build time
 * seccomp-gen (vmm/seccomp_gen.c) compiles them to BPF with libseccomp;
 * the VMM loads that BPF (vmm/seccomp.c) and links no libseccomp at all.
 * Anything not in a thread's table kills the whole process
 * (SECCOMP_RET_KILL_PROCESS; --seccomp-log only logs, for diagnosis).
 *
 * Each thread loads its own table before the guest runs: the vCPU threads
 * when they start (before the start barrier), the VMM thread right after
 * it started them, so no vCPU thread inherits another's filter. The
 * migration thread is the exception: most VMMs never migrate, so the VMM
 * thread makes it on the first migration request, under its own filter,
 * which the new thread keeps and narrows with its table (seccomp.h). So
 * the VMM thread's table holds every row of the migration thread's, and
 * what pthread_create() needs: clone with exactly a thread's flags (clone3
 * passes its flags in memory, which a filter cannot read: it fails with
 * ENOSYS, and the C library falls back to clone), the new thread's rseq
 * and robust list, and seccomp() to load its table.
 *
 * Never in any table: open, openat, openat2, creat, execve, execveat,
 * socket, connect, bind, ptrace, mount, umount2, pivot_root, chroot,
 * unshare, setns, fork, kill, process_vm_*, bpf, keyctl, capset, setuid
 * and friends, prctl; clone only as above, clone3 never runs, seccomp()
 * only to add a filter. tests/unit/test_seccomp.c checks that.
 *
 * To allow a new system call (a new device, a new backend):
 *  1. find what the thread really calls: `strace -f -o trace vmjail-vmm
 *     ...` with the scenario that exercises it, and look at the calls
 *     after that thread's seccomp(SECCOMP_SET_MODE_FILTER, ...);
 *  2. add a row to the table of the thread that makes the call (the VMM
 *     thread runs the event loop and virtio queue work, vCPU threads run
 *     KVM_RUN and MMIO/port register handlers), with the narrowest
 *     argument check that works: ioctl by request number, flags and modes
 *     by exact value, never PROT_EXEC;
 *  3. write the comment: which code needs it, and why;
 *  4. run `make test`: test_seccomp proves each row both allows its call
 *     and kills every variant its checks exclude.
 */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/kvm.h>

#include "cleanup.h"

#define EQ(a, v) { (a), VJ_SECCOMP_EQ, 0, (v) }
#define MASKED_EQ(a, m, v) { (a), VJ_SECCOMP_MASKED_EQ, (m), (v) }

#define ALLOW(call) { SCMP_SYS(call), #call, 0, { { 0, VJ_SECCOMP_EQ, 0, 0 } }, 0 }
#define REFUSE(call, err) { SCMP_SYS(call), #call " fails with " #err, 0, \
			    { { 0, VJ_SECCOMP_EQ, 0, 0 } }, (err) }
#define ALLOW_IF(call, what, check) { SCMP_SYS(call), what, 1, { check }, 0 }
#define ALLOW_IF2(call, what, c1, c2) { SCMP_SYS(call), what, 2, { c1, c2 }, 0 }
#define IOCTL(req) ALLOW_IF(ioctl, "ioctl " #req, EQ(1, req))
/* What glibc's pthread_create() passes to clone (x86-64: flags first). */
#define THREAD_CLONE_FLAGS                                                             \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)
/* Writable memory is fine; memory the VMM could execute is not. */
#define NO_EXEC(call) ALLOW_IF(call, #call " without PROT_EXEC", MASKED_EQ(2, PROT_EXEC, 0))
/* Memory for malloc and thread stacks: never executable, and never from the
 * host's hugetlb pool, which the cgroup's memory limit does not cover
 * (guest RAM took its share of the pool before any filter). */
#define MMAP ALLOW_IF2(mmap, "mmap without PROT_EXEC or MAP_HUGETLB", \
		       MASKED_EQ(2, PROT_EXEC, 0), MASKED_EQ(3, MAP_HUGETLB, 0))
/* The operation, whatever its FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME. */
#define FUTEX(op) ALLOW_IF(futex, "futex " #op, MASKED_EQ(1, FUTEX_CMD_MASK, op))

#if defined(__SANITIZE_ADDRESS__)
/*
 * Sanitizer builds only (make SANITIZE=1, for tests; never shipped): what
 * the ASan/LSan runtime itself calls on thread exit and for the leak check
 * at process exit, in every thread's table. This widens the filter, so a
 * sanitizer build proves memory safety, and the normal build proves the
 * filter.
 */
#define SANITIZER_ROWS                                                                   \
	ALLOW(sigaltstack), ALLOW(prctl), ALLOW(clone), ALLOW(wait4), ALLOW(ptrace),    \
	ALLOW(sched_yield), ALLOW(openat), ALLOW(open), ALLOW(getdents64), ALLOW(getdents), \
	ALLOW(read),                                                                    \
	ALLOW(close), ALLOW(fstat), ALLOW(newfstatat), ALLOW(lseek), ALLOW(mmap),       \
	ALLOW(munmap), ALLOW(mprotect), ALLOW(madvise), ALLOW(futex),                   \
	ALLOW(sched_getaffinity), ALLOW(readlink), ALLOW(getpid), ALLOW(gettid),        \
	ALLOW(tgkill), ALLOW(rt_sigaction), ALLOW(rt_sigprocmask), ALLOW(write),        \
	ALLOW(exit), ALLOW(exit_group), ALLOW(getppid), ALLOW(setrlimit),               \
	ALLOW(getrlimit), ALLOW(prlimit64), ALLOW(uname), ALLOW(pipe2), ALLOW(dup2)
#else
#define SANITIZER_ROWS
#endif

/*
 * The VMM thread: the epoll event loop, virtio queue work (ioeventfds in,
 * irqfds out), the stop signal, the launcher's control channel, and
 * teardown once the vCPUs are gone. Interrupts leave through irqfds
 * registered before the filter (virtio's, and the i8042's IRQ 1 for a
 * Ctrl-Alt-Del the launcher asks for), so its only ioctls are the VM
 * clock's.
 */
static const struct vj_seccomp_rule vmm_rules[] = {
	ALLOW(epoll_wait), /* the event loop */
	ALLOW(epoll_ctl),  /* a device starts or stops polling its backend (tap) */
	ALLOW(read),       /* eventfds (queue notify, device control, stop), signalfd,
			    * rate-limit timerfds, frames from the tap, control
			    * channel requests */
	ALLOW(write),      /* console output, irqfd eventfds (virtio, i8042), control
			    * channel replies */
	/* pause and resume on the launcher's request: the guest's kvmclock
	 * is saved while its vCPUs are held and put back before they run, so
	 * the guest does not see the paused time pass */
	IOCTL(KVM_GET_CLOCK),
	IOCTL(KVM_SET_CLOCK),
	/* a snapshot of the paused VM (VJ_VMM_CTL_SNAPSHOT): the in-kernel
	 * PICs and IOAPIC, and the PIT; vCPU state is read by the vCPU
	 * threads themselves */
	IOCTL(KVM_GET_IRQCHIP),
	IOCTL(KVM_GET_PIT2),
	/* a snapshot: the state file and guest RAM into the two descriptors
	 * the launcher passed, each at its offset (the memory file sparse,
	 * so by offset, not by stream) */
	ALLOW(pwrite64),
	/* a snapshot: the memory file as long as guest RAM where its last
	 * pages are zero, which were left as holes */
	ALLOW(ftruncate),
	/* a snapshot: both files on disk before the launcher calls it taken */
	ALLOW(fsync),
	/* a snapshot: the VMM's own RLIMIT_FSIZE as it is now (the launcher
	 * may have raised it for the snapshot), read only: pid 0, no new
	 * limit */
	ALLOW_IF2(prlimit64, "prlimit64 reading its own limit", EQ(0, 0), EQ(2, 0)),
	ALLOW(writev),     /* virtio-net: a frame to the tap */
	ALLOW(preadv),     /* virtio-blk: reads */
	ALLOW(pwritev),    /* virtio-blk: writes */
	ALLOW(fdatasync),  /* virtio-blk: flush */
	/* a resume after a migration that failed once the source had let its
	 * writable drives' locks go: they are taken back first, without
	 * waiting (vmm/MIGRATION.md) */
	ALLOW_IF(flock, "flock LOCK_EX|LOCK_NB", EQ(1, LOCK_EX | LOCK_NB)),
	/* a migration's stream (VJ_VMM_CTL_MIGRATE_SEND): its sends bounded
	 * in time, so that a stalled link fails the migration */
	ALLOW_IF2(setsockopt, "setsockopt SOL_SOCKET SO_SNDTIMEO", EQ(1, SOL_SOCKET),
		  EQ(2, SO_SNDTIMEO)),
	/* virtio-blk discard and write-zeroes; KEEP_SIZE: never grows the image */
	ALLOW_IF(fallocate, "fallocate punch hole",
		 EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)),
	ALLOW_IF(fallocate, "fallocate zero range",
		 EQ(1, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)),
	/* virtio-rng; never blocks the event loop */
	ALLOW_IF(getrandom, "getrandom GRND_NONBLOCK", EQ(2, GRND_NONBLOCK)),
	ALLOW(timerfd_settime), /* a throttled device arms its rate limiter */
	ALLOW(accept4), /* virtio-vsock: host programs connecting to its socket */
	ALLOW(sendmsg), /* virtio-vsock: guest data to host sockets, broker requests */
	ALLOW(recvmsg), /* virtio-vsock: host data, broker answers (SCM_RIGHTS) */
	/* virtio-vsock: at end of stream, whether the host also hung up (one
	 * socket, no wait); the migration thread: a reply on its stream */
	ALLOW_IF(poll, "poll one fd", EQ(1, 1)),
	/* virtio-vsock: the guest shut down its sending side */
	ALLOW_IF(shutdown, "shutdown SHUT_WR", EQ(1, SHUT_WR)),
	FUTEX(FUTEX_WAIT),      /* device locks shared with the vCPU threads */
	FUTEX(FUTEX_WAKE),
	FUTEX(FUTEX_WAIT_BITSET), /* condition variables, pthread_join */
	/* kicking vCPU threads out of KVM_RUN when the VM stops */
	ALLOW_IF(tgkill, "tgkill SIGUSR1", EQ(2, SIGUSR1)),
	ALLOW(getpid),         /* pthread_kill */
	ALLOW(rt_sigprocmask), /* pthread_kill masks signals around tgkill */
	MMAP,                  /* malloc */
	NO_EXEC(mprotect),     /* malloc growing a heap */
	ALLOW(munmap),         /* free; teardown of guest memory and kvm_run areas */
	ALLOW(brk),            /* malloc */
	/* free returning memory; the only advice the VMM gives after setup */
	ALLOW_IF(madvise, "madvise MADV_DONTNEED", EQ(2, MADV_DONTNEED)),
	ALLOW(clock_gettime), /* timing; only where the clock has no vDSO */
	ALLOW(close),         /* teardown */
	ALLOW(exit_group),
	/*
	 * The first migration request (vmm/migrate.c) makes the migration
	 * thread and the eventfd it wakes this thread with; the thread runs
	 * under this table as well as its own, so its two KVM ioctls and the
	 * drives' lock release are here too, though this thread never makes
	 * them.
	 */
	ALLOW_IF(flock, "flock LOCK_UN", EQ(1, LOCK_UN)),
	ALLOW_IF(eventfd2, "eventfd2 EFD_CLOEXEC|EFD_NONBLOCK", EQ(1, EFD_CLOEXEC | EFD_NONBLOCK)),
	ALLOW_IF(clone, "clone a thread", EQ(0, THREAD_CLONE_FLAGS)),
	REFUSE(clone3, ENOSYS),
	ALLOW_IF(rseq, "rseq registering", EQ(2, 0)), /* the new thread, in glibc */
	ALLOW(set_robust_list),                       /* the same */
	ALLOW(exit),                                  /* its end (the migration thread's) */
	ALLOW_IF2(seccomp, "seccomp adding a filter", EQ(0, SECCOMP_SET_MODE_FILTER), EQ(1, 0)),
	IOCTL(KVM_SET_USER_MEMORY_REGION),
	IOCTL(KVM_GET_DIRTY_LOG),
	SANITIZER_ROWS
};

/*
 * A vCPU thread: KVM_RUN, and the port/MMIO exits it handles itself
 * (UART registers, i8042 registers, boot marker, virtio-mmio registers).
 */
static const struct vj_seccomp_rule vcpu_rules[] = {
	IOCTL(KVM_RUN),       /* the vCPU loop; a snapshot's completion of the last exit */
	IOCTL(KVM_IRQ_LINE),  /* the UART raises and lowers IRQ 4 */
	IOCTL(KVM_GET_REGS),  /* register dump on a fatal exit */
	IOCTL(KVM_GET_SREGS), /* same; and a snapshot, as the rows below */
	/* a snapshot (VJ_VMM_CTL_SNAPSHOT): a parked vCPU thread saves its own
	 * vCPU's state, as KVM wants vCPU ioctls made on the vCPU's thread */
	IOCTL(KVM_GET_MP_STATE),
	IOCTL(KVM_GET_LAPIC),
	IOCTL(KVM_GET_VCPU_EVENTS),
	IOCTL(KVM_GET_XSAVE), /* FPU, SSE, AVX state where KVM has XSAVE */
	IOCTL(KVM_GET_FPU),   /* the same where it has not */
	IOCTL(KVM_GET_XCRS),
	IOCTL(KVM_GET_DEBUGREGS),
	IOCTL(KVM_GET_MSRS),  /* TSC, kvmclock, syscall and MTRR MSRs (vm.c) */
	ALLOW(write),         /* console output; a virtio device's control or notify
			       * eventfd; the stop eventfd; the i8042's irqfd */
	FUTEX(FUTEX_WAIT),    /* device locks */
	FUTEX(FUTEX_WAKE),
	FUTEX(FUTEX_WAIT_BITSET), /* the start barrier (condition variable) */
	/* a vCPU that stops the VM kicks the others out of KVM_RUN */
	ALLOW_IF(tgkill, "tgkill SIGUSR1", EQ(2, SIGUSR1)),
	ALLOW(getpid),         /* pthread_kill */
	ALLOW(rt_sigprocmask), /* pthread_kill; thread exit */
	ALLOW(rt_sigreturn),   /* return from the no-op kick handler */
	MMAP,                  /* malloc in this thread's arena */
	NO_EXEC(mprotect),     /* the arena growing */
	ALLOW(munmap),         /* the arena trimmed at thread exit */
	ALLOW(brk),            /* malloc falling back to the main arena */
	/* thread exit releases its stack */
	ALLOW_IF(madvise, "madvise MADV_DONTNEED", EQ(2, MADV_DONTNEED)),
	ALLOW(clock_gettime), /* first-exit timestamp; only where the clock has no vDSO */
	ALLOW(exit),          /* thread exit */
	SANITIZER_ROWS
};

/*
 * The live migration thread (vmm/migrate.c): turns the guest's dirty
 * logging on and off, reads the dirty logs, and sends guest RAM and the
 * state down the stream the launcher passed; the VMM thread pauses and
 * resumes the VM for it. It opens nothing and makes no thread. Loaded on
 * top of the VMM thread's filter, which it inherits: every row here must
 * be allowed there too (test_seccomp proves the two stacked).
 */
static const struct vj_seccomp_rule migrate_rules[] = {
	/* dirty-page logging on the guest RAM slots on (KVM_MEM_LOG_DIRTY_PAGES)
	 * for a migration and off after it; the same slots, the same host
	 * addresses (its argument is a pointer: no finer check is possible) */
	IOCTL(KVM_SET_USER_MEMORY_REGION),
	IOCTL(KVM_GET_DIRTY_LOG), /* the pages the guest wrote since the last call */
	ALLOW(writev),     /* frames down the stream */
	/* the paused guest's last frames, never blocked past their deadline */
	ALLOW_IF(sendmsg, "sendmsg MSG_DONTWAIT|MSG_NOSIGNAL",
		 EQ(2, MSG_DONTWAIT | MSG_NOSIGNAL)),
	ALLOW(read),       /* the destination's replies */
	/* waiting for a reply on the one stream, or for room in it, bounded */
	ALLOW_IF(poll, "poll one fd", EQ(1, 1)),
	ALLOW(write),      /* waking the VMM thread (eventfd) */
	/* the writable drives' handover on shared storage (vmm/MIGRATION.md):
	 * at the pause, each image flushed and its lock let go for the
	 * destination; on a failure, the lock taken back, without waiting
	 * (the waits between tries are the poll above, on no descriptor) */
	ALLOW(fdatasync),
	ALLOW_IF(flock, "flock LOCK_UN", EQ(1, LOCK_UN)),
	ALLOW_IF(flock, "flock LOCK_EX|LOCK_NB", EQ(1, LOCK_EX | LOCK_NB)),
	FUTEX(FUTEX_WAIT), /* its lock and condition variable shared with the VMM thread */
	FUTEX(FUTEX_WAKE),
	FUTEX(FUTEX_WAIT_BITSET),
	MMAP,              /* malloc */
	NO_EXEC(mprotect),
	ALLOW(munmap),
	ALLOW(brk),
	ALLOW_IF(madvise, "madvise MADV_DONTNEED", EQ(2, MADV_DONTNEED)), /* free; thread exit */
	ALLOW(clock_gettime), /* round and downtime timing; only where the clock has no vDSO */
	ALLOW(rt_sigprocmask), /* thread exit */
	ALLOW(exit),           /* thread exit */
	SANITIZER_ROWS
};

const struct vj_seccomp_rule *vj_seccomp_rules(enum vj_thread_kind kind, unsigned *n)
{
	if (kind == VJ_THREAD_MIGRATE) {
		*n = VJ_ARRAY_SIZE(migrate_rules);
		return migrate_rules;
	}
	if (kind == VJ_THREAD_VCPU) {
		*n = VJ_ARRAY_SIZE(vcpu_rules);
		return vcpu_rules;
	}
	*n = VJ_ARRAY_SIZE(vmm_rules);
	return vmm_rules;
}
