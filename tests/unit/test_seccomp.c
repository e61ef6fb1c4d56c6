/*
 * The VMM's seccomp allowlists, proved row by row against the kernel (in
 * the spirit of Firecracker's test_seccomp_validate): for every row a
 * forked helper loads the same filter and makes the call with the row's
 * allowed arguments (it must survive; the call itself fails harmlessly on
 * fd -1 and the like), then once per argument check with that argument
 * changed to a value no row allows (it must die of SIGSYS). Calls that no
 * row names must die too, and --seccomp-log must only log. The migration
 * thread is made under the VMM thread's filter and adds its own: its
 * helper loads both, as the thread ends up with them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <unistd.h>

#include "unit.h"
#include "seccomp.h"

#define NO_ARG (~0ull) /* -1: every fd, pointer and size argument is bad */

struct call {
	long nr;
	unsigned long long a[6];
};

/* What the kernel must do with a call: let it through (whatever the call
 * then returns), fail it with ENOSYS without running it, or kill the
 * process. */
enum verdict { SURVIVES, REFUSED, KILLED };

#define HELPER_SAW_ENOSYS 3

static const char *const kind_names[] = { "vmm", "vcpu", "migrate" };

/* The helper's way out must itself be allowed: vCPU and migration
 * threads exit with exit(2), the VMM thread with exit_group(2). */
static void helper_exit(enum vj_thread_kind kind, int status)
{
	syscall(kind == VJ_THREAD_VMM ? SYS_exit_group : SYS_exit, status);
}

/* This thread's filters as a thread of that kind has them. */
static int apply_as(enum vj_thread_kind kind, enum vj_seccomp_mode mode)
{
	int r = 0;

	if (kind == VJ_THREAD_MIGRATE)
		r = vj_seccomp_apply(VJ_THREAD_VMM, mode);
	return r < 0 ? r : vj_seccomp_apply(kind, mode);
}

static enum verdict run_filtered(enum vj_thread_kind kind, enum vj_seccomp_mode mode,
				 const struct call *c)
{
	struct rlimit no_core = { 0, 0 };
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* A row's call may crash the helper (rt_sigreturn with no frame):
		 * that must end it, not land in cmocka's or a sanitizer's
		 * handler, which would run the rest of the suite in the child. */
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		setrlimit(RLIMIT_CORE, &no_core);
		if (apply_as(kind, mode) < 0)
			_exit(99);
		long r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		helper_exit(kind, r < 0 && errno == ENOSYS ? HELPER_SAW_ENOSYS : 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 99);
	if (WIFEXITED(status) && WEXITSTATUS(status) == HELPER_SAW_ENOSYS)
		return REFUSED;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? KILLED : SURVIVES;
}

static bool check_holds(const struct vj_seccomp_check *k, unsigned long long v)
{
	return k->cmp == VJ_SECCOMP_EQ ? v == k->value : (v & k->mask) == k->value;
}

/* Whether any row of the table lets this call through. */
static bool table_allows(const struct vj_seccomp_rule *rules, unsigned n, const struct call *c)
{
	for (unsigned i = 0; i < n; i++) {
		bool all = rules[i].nr == c->nr && !rules[i].refuse_errno;
		for (unsigned j = 0; all && j < rules[i].nchecks; j++)
			all = check_holds(&rules[i].checks[j], c->a[rules[i].checks[j].arg]);
		if (all)
			return true;
	}
	return false;
}

static struct call allowed_call(const struct vj_seccomp_rule *r)
{
	struct call c = { .nr = r->nr };

	for (int i = 0; i < 6; i++)
		c.a[i] = NO_ARG;
	for (unsigned j = 0; j < r->nchecks; j++)
		c.a[r->checks[j].arg] = r->checks[j].value;
	return c;
}

/* The row's call with one checked argument changed so that no row of the
 * table allows it any more; false if no such value was found. */
static bool denied_variant(const struct vj_seccomp_rule *rules, unsigned n,
			   const struct vj_seccomp_rule *r, unsigned j, struct call *out)
{
	const struct vj_seccomp_check *k = &r->checks[j];
	unsigned long long low_mask_bit = k->mask & -k->mask;
	const unsigned long long candidates[] = {
		k->value ^ low_mask_bit, k->value ^ 1, k->value + 0x100, k->value ^ 0x80000000ull,
		~k->value, 0x5a5a5a5aull,
	};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		*out = allowed_call(r);
		out->a[k->arg] = candidates[i];
		if (!check_holds(k, candidates[i]) && !table_allows(rules, n, out))
			return true;
	}
	return false;
}

/* Sanitizer builds widen the filter for the ASan runtime (see
 * vmm/seccomp.c); the normal build proves these. */
static bool named_unconditionally(const struct vj_seccomp_rule *rules, unsigned n, long nr)
{
	for (unsigned i = 0; i < n; i++)
		if (rules[i].nr == nr && rules[i].nchecks == 0 && !rules[i].refuse_errno)
			return true;
	return false;
}

static bool table_refuses(const struct vj_seccomp_rule *rules, unsigned n, long nr)
{
	for (unsigned i = 0; i < n; i++)
		if (rules[i].nr == nr && rules[i].refuse_errno)
			return true;
	return false;
}

static void rows_are_well_formed(void **state)
{
	(void)state;
	for (int kind = VJ_THREAD_VMM; kind < VJ_THREAD_KINDS; kind++) {
		unsigned n;
		const struct vj_seccomp_rule *rules = vj_seccomp_rules(kind, &n);
		assert_true(n > 0);
		for (unsigned i = 0; i < n; i++) {
			assert_true(rules[i].nr >= 0);
			assert_non_null(rules[i].what);
			assert_true(rules[i].nchecks <= VJ_SECCOMP_CHECKS_MAX);
			/* ENOSYS is the one refusal a C library falls back from */
			assert_true(rules[i].refuse_errno == 0 || rules[i].refuse_errno == ENOSYS);
			for (unsigned j = 0; j < rules[i].nchecks; j++) {
				const struct vj_seccomp_check *k = &rules[i].checks[j];
				assert_true(k->arg < 6);
				/* A masked value outside its mask could never match. */
				if (k->cmp == VJ_SECCOMP_MASKED_EQ)
					assert_true((k->value & ~k->mask) == 0);
			}
		}
	}
}

static void every_row_allows_its_call(void **state)
{
	(void)state;
	for (int kind = VJ_THREAD_VMM; kind < VJ_THREAD_KINDS; kind++) {
		unsigned n;
		const struct vj_seccomp_rule *rules = vj_seccomp_rules(kind, &n);
		for (unsigned i = 0; i < n; i++) {
			struct call c = allowed_call(&rules[i]);
			enum verdict v = run_filtered(kind, VJ_SECCOMP_ENFORCE, &c);
			/* An allowed call may fail with ENOSYS itself (futex with
			 * no valid operation): only a refusing row must. */
			if (rules[i].refuse_errno ? v != REFUSED : v == KILLED)
				fail_msg("%s: \"%s\" was %s", kind_names[kind], rules[i].what,
					 rules[i].refuse_errno ? "not refused" : "killed");
		}
	}
}

static void every_argument_check_kills_what_it_excludes(void **state)
{
	unsigned tested = 0;

	(void)state;
	for (int kind = VJ_THREAD_VMM; kind < VJ_THREAD_KINDS; kind++) {
		unsigned n;
		const struct vj_seccomp_rule *rules = vj_seccomp_rules(kind, &n);
		for (unsigned i = 0; i < n; i++) {
#if defined(__SANITIZE_ADDRESS__)
			if (named_unconditionally(rules, n, rules[i].nr))
				continue;
#endif
			for (unsigned j = 0; j < rules[i].nchecks; j++) {
				struct call c;
				if (!denied_variant(rules, n, &rules[i], j, &c))
					fail_msg("%s: \"%s\": no value of argument %u is denied",
						 kind_names[kind], rules[i].what, rules[i].checks[j].arg);
				if (run_filtered(kind, VJ_SECCOMP_ENFORCE, &c) != KILLED)
					fail_msg("%s: \"%s\" with argument %u = 0x%llx was not killed",
						 kind_names[kind], rules[i].what, rules[i].checks[j].arg,
						 c.a[rules[i].checks[j].arg]);
				tested++;
			}
		}
	}
	/* ioctl numbers, fallocate modes... and, where sanitizer rows do
	 * not allow the call outright, PROT_EXEC, futex ops, tgkill. */
#if defined(__SANITIZE_ADDRESS__)
	assert_true(tested >= 6);
#else
	assert_true(tested >= 14);
#endif
}

/* What a VMM must never do, whatever its guest made it do. */
static const struct { long nr; const char *name; } forbidden[] = {
	{ SYS_open, "open" }, { SYS_openat, "openat" }, { SYS_openat2, "openat2" },
	{ SYS_creat, "creat" }, { SYS_execve, "execve" }, { SYS_execveat, "execveat" },
	{ SYS_socket, "socket" }, { SYS_connect, "connect" }, { SYS_bind, "bind" },
	{ SYS_ptrace, "ptrace" }, { SYS_mount, "mount" }, { SYS_umount2, "umount2" },
	{ SYS_pivot_root, "pivot_root" }, { SYS_chroot, "chroot" }, { SYS_unshare, "unshare" },
	{ SYS_setns, "setns" }, { SYS_clone, "clone" }, { SYS_clone3, "clone3" },
	{ SYS_fork, "fork" }, { SYS_kill, "kill" }, { SYS_process_vm_readv, "process_vm_readv" },
	{ SYS_process_vm_writev, "process_vm_writev" }, { SYS_bpf, "bpf" },
	{ SYS_keyctl, "keyctl" }, { SYS_capset, "capset" }, { SYS_setuid, "setuid" },
	{ SYS_setresuid, "setresuid" }, { SYS_setgid, "setgid" }, { SYS_prctl, "prctl" },
	{ SYS_seccomp, "seccomp" }, { SYS_init_module, "init_module" },
	{ SYS_finit_module, "finit_module" }, { SYS_kexec_load, "kexec_load" },
	{ SYS_reboot, "reboot" }, { SYS_perf_event_open, "perf_event_open" },
	{ SYS_userfaultfd, "userfaultfd" }, { SYS_io_uring_setup, "io_uring_setup" },
	{ SYS_memfd_create, "memfd_create" }, { SYS_mknod, "mknod" }, { SYS_chmod, "chmod" },
};

static void forbidden_calls_are_in_no_table_and_kill(void **state)
{
	(void)state;
	for (int kind = VJ_THREAD_VMM; kind < VJ_THREAD_KINDS; kind++) {
		unsigned n;
		const struct vj_seccomp_rule *rules = vj_seccomp_rules(kind, &n);
		for (size_t f = 0; f < sizeof(forbidden) / sizeof(forbidden[0]); f++) {
			struct call c = { .nr = forbidden[f].nr };
#if defined(__SANITIZE_ADDRESS__)
			if (named_unconditionally(rules, n, c.nr))
				continue;
#endif
			for (int i = 0; i < 6; i++)
				c.a[i] = NO_ARG;
			if (table_allows(rules, n, &c) || named_unconditionally(rules, n, c.nr))
				fail_msg("%s: %s is in the table", kind_names[kind], forbidden[f].name);
			/* clone3 in the VMM thread's: refused, never run */
			if (run_filtered(kind, VJ_SECCOMP_ENFORCE, &c) !=
			    (table_refuses(rules, n, c.nr) ? REFUSED : KILLED))
				fail_msg("%s: %s was not killed", kind_names[kind], forbidden[f].name);
		}
	}
}

static void log_mode_logs_instead_of_killing(void **state)
{
	struct call c = { .nr = SYS_socket, .a = { NO_ARG, NO_ARG, NO_ARG, NO_ARG, NO_ARG, NO_ARG } };

	(void)state;
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_LOG, &c), SURVIVES);
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_LOG, &c), SURVIVES);
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), KILLED);
}

static void off_mode_installs_nothing(void **state)
{
	struct call c = { .nr = SYS_getuid };

	(void)state;
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_OFF, &c), SURVIVES);
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), KILLED);
}

/* The threads' tables differ where the threads differ. */
static void only_vcpus_run_the_guest_and_only_the_vmm_closes(void **state)
{
	struct call run = { .nr = SYS_ioctl, .a = { NO_ARG, KVM_RUN, 0, 0, 0, 0 } };
	struct call close_fd = { .nr = SYS_close, .a = { NO_ARG } };

	(void)state;
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &run), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &run), KILLED);
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &close_fd), KILLED);
#endif
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &close_fd), SURVIVES);
}

/* An IRQ line is raised by ioctl on vCPU threads only (the UART's); the
 * VMM thread raises interrupts by writing irqfds, as the i8042 does for a
 * Ctrl-Alt-Del the launcher asks for. */
static void only_vcpus_set_irq_lines_and_both_write_irqfds(void **state)
{
	struct call line = { .nr = SYS_ioctl, .a = { NO_ARG, KVM_IRQ_LINE, 0, 0, 0, 0 } };
	struct call irqfd = { .nr = SYS_write, .a = { NO_ARG, NO_ARG, 8 } };

	(void)state;
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &line), SURVIVES);
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &line), KILLED);
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &irqfd), SURVIVES);
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &irqfd), SURVIVES);
}

/* A live migration: the VMM thread makes its thread under its own filter,
 * which the thread keeps, so it holds the migration thread's calls too;
 * the migration thread itself cannot run the guest, write files, make
 * threads or load filters; a vCPU thread cannot touch dirty logging. */
static void migration_calls_belong_to_their_thread(void **state)
{
	static const unsigned long mig[] = { KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG };
	static const struct call vmm_only[] = {
		{ SYS_ioctl, { NO_ARG, KVM_RUN, 0, 0, 0, 0 } },
		{ SYS_ioctl, { NO_ARG, KVM_GET_CLOCK, 0, 0, 0, 0 } },
		{ SYS_pwrite64, { NO_ARG, 0, 0, 0, 0, 0 } },
		{ SYS_eventfd2, { 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0 } },
		{ SYS_seccomp, { SECCOMP_SET_MODE_FILTER, 0, NO_ARG, 0, 0, 0 } },
	};
	unsigned nvmm, nmig;
	const struct vj_seccomp_rule *vmm = vj_seccomp_rules(VJ_THREAD_VMM, &nvmm);
	const struct vj_seccomp_rule *own = vj_seccomp_rules(VJ_THREAD_MIGRATE, &nmig);

	(void)state;
	for (unsigned i = 0; i < nmig; i++) {
		struct call c = allowed_call(&own[i]);
		if (!table_allows(vmm, nvmm, &c))
			fail_msg("migrate: \"%s\" is not in the VMM thread's table, which the "
				 "migration thread runs under too", own[i].what);
	}
	for (size_t i = 0; i < sizeof(mig) / sizeof(mig[0]); i++) {
		struct call c = { .nr = SYS_ioctl, .a = { NO_ARG, mig[i], 0, 0, 0, 0 } };
		assert_int_equal(run_filtered(VJ_THREAD_MIGRATE, VJ_SECCOMP_ENFORCE, &c), SURVIVES);
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
		assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &c), KILLED);
#endif
	}
	for (size_t i = 0; i < sizeof(vmm_only) / sizeof(vmm_only[0]); i++) {
#if !defined(__SANITIZE_ADDRESS__)
		assert_int_equal(run_filtered(VJ_THREAD_MIGRATE, VJ_SECCOMP_ENFORCE, &vmm_only[i]),
				 KILLED);
#endif
		if (vmm_only[i].a[1] != KVM_RUN)
			assert_int_not_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE,
							  &vmm_only[i]), KILLED);
	}
}

/* The VMM thread's table lets pthread_create() make a thread (clone3
 * refused, clone with a thread's flags) and nothing else of the kind. */
static void the_vmm_thread_clones_threads_only(void **state)
{
	struct call clone3 = { .nr = SYS_clone3, .a = { NO_ARG, NO_ARG, 0, 0, 0, 0 } };
	struct call fork_like = { .nr = SYS_clone, .a = { SIGCHLD, 0, 0, 0, 0, 0 } };
	struct call newns = { .nr = SYS_clone,
			      .a = { CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0, 0 } };

	(void)state;
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &clone3), REFUSED);
#if !defined(__SANITIZE_ADDRESS__)
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &fork_like), KILLED);
	assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &newns), KILLED);
	assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &clone3), KILLED);
	assert_int_equal(run_filtered(VJ_THREAD_MIGRATE, VJ_SECCOMP_ENFORCE, &clone3), KILLED);
#else
	(void)fork_like;
	(void)newns;
#endif
}

static struct call thread_call;

static void *idle_thread(void *arg)
{
	return arg;
}

/* As vmm/migrate.c's thread: its own table on top, then one call, then
 * the thread's return (glibc's exit path) under both filters. */
static void *migration_thread(void *arg)
{
	(void)arg;
	if (vj_seccomp_apply(VJ_THREAD_MIGRATE, VJ_SECCOMP_ENFORCE) < 0)
		_exit(99);
	syscall(thread_call.nr, thread_call.a[0], thread_call.a[1], thread_call.a[2],
		thread_call.a[3], thread_call.a[4], thread_call.a[5]);
	return NULL;
}

/* The real thing: a thread made with pthread_create() by a thread under
 * the VMM filter, as the first migration request makes it. */
static enum verdict run_in_migration_thread(const struct call *c)
{
	int status;
	pid_t pid;

	thread_call = *c;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		signal(SIGABRT, SIG_DFL);
		/* The VMM made its vCPU threads before its filter: glibc's
		 * once-per-process set-up for threads (a signal handler) is done. */
		if (pthread_create(&t, NULL, idle_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
			_exit(98);
		if (vj_seccomp_apply(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE) < 0)
			_exit(99);
		if (pthread_create(&t, NULL, migration_thread, NULL) != 0)
			_exit(98);
		pthread_join(t, NULL);
		helper_exit(VJ_THREAD_VMM, 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) >= 98);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? KILLED : SURVIVES;
}

static void a_migration_thread_made_late_has_its_own_table(void **state)
{
	struct call dirty = { .nr = SYS_ioctl, .a = { NO_ARG, KVM_GET_DIRTY_LOG, 0, 0, 0, 0 } };
	struct call pwr = { .nr = SYS_pwrite64, .a = { NO_ARG, 0, 0, 0, 0, 0 } };
	struct call filter = { .nr = SYS_seccomp, .a = { SECCOMP_SET_MODE_FILTER, 0, NO_ARG } };

	(void)state;
	assert_int_equal(run_in_migration_thread(&dirty), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
	assert_int_equal(run_in_migration_thread(&pwr), KILLED);
	assert_int_equal(run_in_migration_thread(&filter), KILLED);
#else
	(void)pwr;
	(void)filter;
#endif
}

/* A snapshot: each parked vCPU thread reads its own vCPU's state, the VMM
 * thread the VM's and writes the files; neither can do the other's part. */
static void snapshot_calls_belong_to_their_thread(void **state)
{
	static const unsigned long vcpu_reads[] = { KVM_GET_MSRS, KVM_GET_LAPIC, KVM_GET_XSAVE,
						    KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
						    KVM_GET_FPU, KVM_GET_XCRS, KVM_GET_DEBUGREGS };
	static const unsigned long vm_reads[] = { KVM_GET_IRQCHIP, KVM_GET_PIT2 };
	static const long file_calls[] = { SYS_pwrite64, SYS_ftruncate, SYS_fsync };

	(void)state;
	for (size_t i = 0; i < sizeof(vcpu_reads) / sizeof(vcpu_reads[0]); i++) {
		struct call c = { .nr = SYS_ioctl, .a = { NO_ARG, vcpu_reads[i], 0, 0, 0, 0 } };
		assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &c), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), KILLED);
#endif
	}
	for (size_t i = 0; i < sizeof(vm_reads) / sizeof(vm_reads[0]); i++) {
		struct call c = { .nr = SYS_ioctl, .a = { NO_ARG, vm_reads[i], 0, 0, 0, 0 } };
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
		assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &c), KILLED);
#endif
	}
	for (size_t i = 0; i < sizeof(file_calls) / sizeof(file_calls[0]); i++) {
		struct call c = { .nr = file_calls[i], .a = { NO_ARG, 0, 0, 0, 0, 0 } };
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &c), SURVIVES);
#if !defined(__SANITIZE_ADDRESS__)
		assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &c), KILLED);
#endif
	}
	{
		struct call get = { .nr = SYS_prlimit64, .a = { 0, RLIMIT_FSIZE, 0, 0x1000, 0, 0 } };
		struct call set = { .nr = SYS_prlimit64, .a = { 0, RLIMIT_FSIZE, 0x1000, 0, 0, 0 } };
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &get), SURVIVES);
#if defined(__SANITIZE_ADDRESS__)
		(void)set;
#else
		assert_int_equal(run_filtered(VJ_THREAD_VMM, VJ_SECCOMP_ENFORCE, &set), KILLED);
		assert_int_equal(run_filtered(VJ_THREAD_VCPU, VJ_SECCOMP_ENFORCE, &get), KILLED);
#endif
	}
	/* Restoring is done before any filter: no thread may set state. */
	for (int kind = VJ_THREAD_VMM; kind < VJ_THREAD_KINDS; kind++) {
		struct call set = { .nr = SYS_ioctl, .a = { NO_ARG, KVM_SET_MSRS, 0, 0, 0, 0 } };
		struct call irq = { .nr = SYS_ioctl, .a = { NO_ARG, KVM_SET_IRQCHIP, 0, 0, 0, 0 } };
#if defined(__SANITIZE_ADDRESS__)
		(void)set;
		(void)irq;
#else
		assert_int_equal(run_filtered(kind, VJ_SECCOMP_ENFORCE, &set), KILLED);
		assert_int_equal(run_filtered(kind, VJ_SECCOMP_ENFORCE, &irq), KILLED);
#endif
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_are_well_formed),
		cmocka_unit_test(every_row_allows_its_call),
		cmocka_unit_test(every_argument_check_kills_what_it_excludes),
		cmocka_unit_test(forbidden_calls_are_in_no_table_and_kill),
		cmocka_unit_test(log_mode_logs_instead_of_killing),
		cmocka_unit_test(off_mode_installs_nothing),
		cmocka_unit_test(only_vcpus_run_the_guest_and_only_the_vmm_closes),
		cmocka_unit_test(only_vcpus_set_irq_lines_and_both_write_irqfds),
		cmocka_unit_test(snapshot_calls_belong_to_their_thread),
		cmocka_unit_test(migration_calls_belong_to_their_thread),
		cmocka_unit_test(the_vmm_thread_clones_threads_only),
		cmocka_unit_test(a_migration_thread_made_late_has_its_own_table),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
