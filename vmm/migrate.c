#include "migrate.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "exit.h"
#include "host_open.h"
#include "log.h"
#include "migration_stream.h"
#include "persist.h"
#include "seccomp.h"
#include "vm.h"

/* How long the destination may take to answer HELLO (it checks the
 * configuration) and STATE (it restores and starts its vCPUs). */
#define HELLO_WAIT_MS 30000
#define RUNNING_WAIT_MS 60000
/* How long a failed migration waits for the destination to let go of a
 * writable drive it may have locked (it does when it ends). */
#define RETAKE_WAIT_MS 10000
/* How long a send may wait for the destination to take a byte: a link
 * that stalls (a peer that stops reading but does not hang up) fails the
 * migration like one that breaks, instead of holding the guest in it. */
#define SEND_STALL_S 30 /* send_error() says it */
/* How long the paused guest's last pages and its state may take to go:
 * four times what the link's measured rate says, at least this. A
 * destination that takes bytes, but only a trickle, would otherwise hold
 * the guest paused for as long as it likes; SEND_STALL_S bounds only a
 * link that takes nothing. */
#define PAUSED_SEND_MIN_S 30
#define PAUSED_SEND_MARGIN 4

static uint64_t words(uint64_t nbits)
{
	return (nbits + 63) / 64;
}

static void fail(struct vj_migration *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct vj_migration *m, const char *fmt, ...)
{
	va_list ap;

	if (m->out.reason[0])
		return; /* the first failure is the one to report */
	va_start(ap, fmt);
	vsnprintf(m->out.reason, sizeof(m->out.reason), fmt, ap);
	va_end(ap);
}

/* A send's failure, in words: SO_SNDTIMEO's EAGAIN is a stalled link. */
static const char *send_error(int r)
{
	if (r == -EAGAIN || r == -EWOULDBLOCK)
		return "the destination took nothing for 30 s";
	return strerror(-r);
}

/* ---- dirty logging ---------------------------------------------------- */

static int set_logging(struct vj_migration *m, bool on)
{
	const struct vj_vm *vm = m->machine->vm;

	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = vm->mem.regions[i].gpa,
			.memory_size = vm->mem.regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.regions[i].host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Adds to m->dirty every page written since the last call: the guest's
 * (KVM's log of each slot, which the call clears) and the devices' (taken
 * word by word from dev_dirty, and kept in dev_all: see finish_pages).
 * Regions start on 2 MiB boundaries of guest RAM, so a slot's bitmap
 * lands on whole words of ours.
 */
static int harvest(struct vj_migration *m)
{
	const struct vj_guest_mem *mem = &m->machine->vm->mem;

	for (unsigned i = 0; i < mem->nregions; i++) {
		uint64_t first = (uint64_t)(mem->regions[i].host - mem->base) / VJ_MIG_PAGE;
		uint64_t n = mem->regions[i].size / VJ_MIG_PAGE;
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = m->slot_bm };
		memset(m->slot_bm, 0, words(n) * 8);
		if (ioctl(m->machine->vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		for (uint64_t w = 0; w < words(n); w++)
			m->dirty[first / 64 + w] |= m->slot_bm[w];
	}
	for (uint64_t w = 0; w < words(m->npages); w++) {
		uint64_t d = __atomic_exchange_n(&m->dev_bm[w], 0, __ATOMIC_SEQ_CST);
		m->dirty[w] |= d;
		m->dev_all[w] |= d;
	}
	return 0;
}

/* ---- sending ---------------------------------------------------------- */

static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < VJ_MIG_PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Pages [first, first + n) as runs of zero pages (no data) and runs of
 * data; in round 0 the zero runs are left out: the destination's RAM
 * starts zeroed. */
static int send_pages(struct vj_migration *m, uint32_t round, uint64_t first, uint64_t n)
{
	const uint8_t *base = m->machine->vm->mem.base;
	uint64_t at = first, end = first + n;
	int r;

	while (at < end) {
		bool zero = page_zero(base + at * VJ_MIG_PAGE);
		uint64_t len = 1;
		while (at + len < end && len < VJ_MIG_RUN_PAGES_MAX &&
		       page_zero(base + (at + len) * VJ_MIG_PAGE) == zero)
			len++;
		if (!zero || round > 0) {
			struct vj_mig_run run = { .round = round, .flags = zero ? VJ_MIG_RUN_ZERO : 0,
						  .first_page = at, .npages = (uint32_t)len };
			if ((r = vj_mig_send_run_until(m->fd, &run, base + at * VJ_MIG_PAGE,
							 m->deadline_ns)) < 0)
				return r;
			m->out.bytes += sizeof(struct vj_mig_frame_header) + sizeof(run) +
					(zero ? 0 : len * VJ_MIG_PAGE);
		}
		at += len;
	}
	return 0;
}

/* Every page set in m->dirty, which it clears; the count in *pages. */
static int send_dirty(struct vj_migration *m, uint32_t round, uint64_t *pages)
{
	uint64_t pos = 0, start, len;
	int r;

	*pages = 0;
	while (vj_bitmap_next_run(m->dirty, m->npages, &pos, 0, &start, &len)) {
		if ((r = send_pages(m, round, start, len)) < 0)
			return r;
		*pages += len;
	}
	memset(m->dirty, 0, words(m->npages) * 8);
	return 0;
}

static uint64_t now_ns(void)
{
	return vj_now_ns();
}

/* One frame from the destination within ms, checking the quit flag. */
static int await_reply(struct vj_migration *m, int ms, struct vj_mig_frame *f)
{
	struct vj_err e = { 0 };
	struct pollfd p = { .fd = m->fd, .events = POLLIN };
	int r;

	for (int waited = 0;; waited += 100) {
		bool quit;
		pthread_mutex_lock(&m->lock);
		quit = m->quit;
		pthread_mutex_unlock(&m->lock);
		if (quit) {
			fail(m, "the VMM is ending");
			return -ECANCELED;
		}
		r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0)
			break;
		if (waited >= ms) {
			fail(m, "the destination did not answer within %d s", ms / 1000);
			return -ETIMEDOUT;
		}
	}
	if ((r = vj_mig_read_frame(m->fd, "the destination", f, &e)) < 0) {
		fail(m, "%s", e.msg);
		return r;
	}
	if (f->type == VJ_MIG_REFUSE) {
		fail(m, "the destination refused: %s", f->u.refuse.reason);
		return -ECONNREFUSED;
	}
	return 0;
}

/* The VMM thread pauses the VM and gathers its state for us. */
static int ask_pause(struct vj_migration *m)
{
	const uint64_t one = 1;

	pthread_mutex_lock(&m->lock);
	m->phase = VJ_MIG_WANT_PAUSE;
	m->pause_err = 0;
	pthread_mutex_unlock(&m->lock);
	if (write(m->efd, &one, sizeof(one)) != sizeof(one))
		return -EIO;
	pthread_mutex_lock(&m->lock);
	while (m->phase == VJ_MIG_WANT_PAUSE && !m->quit)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	if (m->pause_err < 0)
		fail(m, "pausing the VM: %s", strerror(-m->pause_err));
	return m->pause_err < 0 ? m->pause_err : m->phase == VJ_MIG_PAUSED ? 0 : -ECANCELED;
}

/* Saturated at a day: a link measured that slow takes for ever, and the
 * figure must stay a number the paused sends' deadline can add to. */
#define ESTIMATE_MAX_NS (86400.0 * 1e9)

static uint64_t estimate_ns(uint64_t pages, double bytes_per_ns)
{
	const double ns = bytes_per_ns > 0 ? (double)pages * VJ_MIG_PAGE / bytes_per_ns : 0;

	return (uint64_t)(ns < ESTIMATE_MAX_NS ? ns : ESTIMATE_MAX_NS);
}

static int precopy(struct vj_migration *m, uint32_t *round)
{
	const struct vj_vm *vm = m->machine->vm;
	struct vj_mig_hello hello;
	struct vj_snap_config config;
	struct vj_snapshot_cpu cpu;
	struct vj_mig_frame f;
	double rate;
	uint64_t t, pages, sent;
	int r;

	vj_snapshot_cpu_host(&cpu);
	vj_snapshot_config_from(vm->cfg, &config);
	vj_mig_hello_init(&hello, &cpu, &config);
	if (m->params.flags & VJ_VMM_MIGRATE_AGENT)
		hello.flags |= VJ_MIG_HELLO_AGENT;
	if ((r = vj_mig_send(m->fd, VJ_MIG_HELLO, &hello, sizeof(hello))) < 0) {
		fail(m, "sending to the destination: %s", send_error(r));
		return r;
	}
	m->out.bytes += sizeof(struct vj_mig_frame_header) + sizeof(hello);
	if ((r = await_reply(m, HELLO_WAIT_MS, &f)) < 0)
		return r;
	vj_mig_frame_free(&f);
	if (f.type != VJ_MIG_ACCEPT) {
		fail(m, "the destination answered HELLO with %s", vj_mig_frame_name(f.type));
		return -EPROTO;
	}
	/* Round 0: all of guest RAM. The pages it writes meanwhile are in
	 * the log for round 1. */
	t = now_ns();
	sent = m->out.bytes;
	if ((r = send_pages(m, 0, 0, m->npages)) < 0) {
		fail(m, "sending guest RAM: %s", send_error(r));
		return r;
	}
	m->out.pages[0] = m->npages;
	rate = (double)(m->out.bytes - sent) / (double)(now_ns() - t + 1);
	for (*round = 1;; (*round)++) {
		if ((r = harvest(m)) < 0) {
			fail(m, "reading the dirty log: %s", strerror(-r));
			return r;
		}
		pages = vj_bitmap_count(m->dirty, m->npages);
		/* What is left goes in the pause: stop when it fits the
		 * downtime at the rate the link has shown, or at the limit. */
		m->rate = rate;
		if (estimate_ns(pages, rate) <= m->params.max_downtime_ns)
			return 0;
		if (*round + 1 >= m->params.max_rounds) {
			m->out.round_limit = 1;
			return 0;
		}
		t = now_ns();
		sent = m->out.bytes;
		if ((r = send_dirty(m, *round, &m->out.pages[*round])) < 0) {
			fail(m, "sending guest RAM: %s", send_error(r));
			return r;
		}
		/* Rounds of a few pages say little of the link. */
		if (m->out.bytes - sent >= 256 * 1024)
			rate = (double)(m->out.bytes - sent) / (double)(now_ns() - t + 1);
	}
}

/* Paused: the last pages, the state, then RUNNING from the destination.
 * dev_all goes too: a device marks a page after its write, but a write
 * in flight when a round took its bit could land after that round read
 * the page; every page a device wrote during the migration is sent once
 * more now that no device runs. */
static int stop_and_copy(struct vj_migration *m, uint32_t round)
{
	struct vj_mig_frame f;
	uint64_t pages, budget_ns;
	int r;

	if ((r = harvest(m)) < 0) {
		fail(m, "reading the dirty log: %s", strerror(-r));
		return r;
	}
	for (uint64_t w = 0; w < words(m->npages); w++)
		m->dirty[w] |= m->dev_all[w];
	pages = vj_bitmap_count(m->dirty, m->npages);
	budget_ns = PAUSED_SEND_MARGIN *
		    estimate_ns(pages + m->state_len / VJ_MIG_PAGE + 1, m->rate);
	if (budget_ns < PAUSED_SEND_MIN_S * 1000000000ull)
		budget_ns = PAUSED_SEND_MIN_S * 1000000000ull;
	m->deadline_ns = m->pause_ns + budget_ns;
	if ((r = send_dirty(m, round, &m->out.pages[round])) < 0 ||
	    (r = vj_mig_send_until(m->fd, VJ_MIG_STATE, m->state, m->state_len,
				   m->deadline_ns)) < 0) {
		if (r == -ETIMEDOUT) {
			m->send_timed_out = true;
			fail(m, "the destination took the paused guest's last %llu dirty pages and "
			     "its state too slowly: not all sent %llu s into the pause",
			     (unsigned long long)pages, (unsigned long long)(budget_ns / 1000000000ull));
		}
		fail(m, "sending to the destination: %s", send_error(r));
		return r;
	}
	m->out.rounds = round + 1;
	m->out.bytes += sizeof(struct vj_mig_frame_header) + m->state_len;
	if ((r = await_reply(m, RUNNING_WAIT_MS, &f)) < 0)
		return r;
	vj_mig_frame_free(&f);
	if (f.type != VJ_MIG_RUNNING) {
		fail(m, "the destination answered STATE with %s", vj_mig_frame_name(f.type));
		return -EPROTO;
	}
	m->out.downtime_ns = now_ns() - m->pause_ns;
	/* The destination runs the guest from here on; END tells it that the
	 * source will not (a destination that misses it stops its guest). */
	if ((r = vj_mig_send(m->fd, VJ_MIG_END, NULL, 0)) < 0)
		vj_info("migration: END not sent (%s); the destination may stop", strerror(-r));
	return 0;
}

/* ---- the writable drives' handover ------------------------------------ */

/*
 * Paused, devices idle: every write the guest made is in the image's
 * file (fdatasync: on shared storage, visible to the destination's host),
 * and the lock goes, so that the destination's VMM can take it before its
 * guest runs. drives_released is set first: from the first unlock on, a
 * failure must take the locks back before the guest runs again.
 */
static int release_drives(struct vj_migration *m)
{
	const struct vj_vm_config *cfg = m->machine->vm->cfg;

	for (unsigned i = 0; i < cfg->ndrives; i++) {
		const struct vj_drive_config *d = &cfg->drives[i];
		int r;
		if (d->read_only)
			continue;
		if (fdatasync(d->file.fd) < 0) {
			r = -errno;
			fail(m, "flushing drive %u (%s): %s", i, d->file.name, strerror(-r));
			return r;
		}
		m->drives_released = true;
		if (flock(d->file.fd, LOCK_UN) < 0) {
			r = -errno;
			fail(m, "unlocking drive %u (%s): %s", i, d->file.name, strerror(-r));
			return r;
		}
	}
	return 0;
}

int vj_migration_take_drives(const struct vj_vm_config *cfg, unsigned *which, struct vj_err *e)
{
	int r;

	for (unsigned i = 0; i < cfg->ndrives; i++) {
		if (!cfg->drives[i].read_only && (r = vj_lock_drive(&cfg->drives[i], i, e)) < 0) {
			*which = i;
			return r == -EBUSY ? -ENOLCK : r;
		}
	}
	return 0;
}

/*
 * A migration that failed after the release: the destination may hold a
 * lock it took after STATE, until it ends (which it does when the stream
 * ends without END). Waits for it, bounded; the migration thread's
 * filter lets it sleep only in poll, on no descriptor.
 */
static void retake_drives(struct vj_migration *m)
{
	struct pollfd none = { .fd = -1 };
	struct vj_err e = { 0 };
	unsigned which = 0;
	int r = 0;

	for (int waited = 0; waited <= RETAKE_WAIT_MS; waited += 100) {
		if ((r = vj_migration_take_drives(m->machine->vm->cfg, &which, &e)) != -ENOLCK)
			break;
		(void)poll(&none, 1, 100);
	}
	if (r == 0) {
		m->drives_released = false;
		return;
	}
	/* The reason says both: why the migration failed, and why the
	 * guest cannot run on here. */
	{
		char first[91];
		snprintf(first, sizeof(first), "%.90s", m->out.reason);
		snprintf(m->out.reason, sizeof(m->out.reason),
			 "%s; the guest stays paused: drive %u is locked by another process", first,
			 which);
	}
}

static int migrate(struct vj_migration *m)
{
	uint32_t round = 0;
	int r;

	if ((r = set_logging(m, true)) < 0) {
		fail(m, "turning dirty-page logging on: %s", strerror(-r));
		return r;
	}
	if ((r = precopy(m, &round)) < 0 || (r = ask_pause(m)) < 0)
		return r;
	m->pause_ns = now_ns();
	/* Before the last pages and STATE: the destination takes the
	 * drives' locks once it has STATE, so they must be free by then. */
	if ((m->params.flags & VJ_VMM_MIGRATE_SHARED_DRIVES) && (r = release_drives(m)) < 0)
		return r;
	return stop_and_copy(m, round);
}

static void *thread_main(void *arg)
{
	struct vj_migration *m = arg;
	const uint64_t one = 1;
	int r;

	r = vj_seccomp_apply(VJ_THREAD_MIGRATE, m->machine->vm->cfg->seccomp);
	if (r < 0) {
		vj_error("migration thread: installing seccomp filter: %s", strerror(-r));
		vj_vm_stop(m->machine->vm, VJ_EXIT_KVM);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&m->lock);
		while (m->phase != VJ_MIG_PRECOPY && !m->quit)
			pthread_cond_wait(&m->cond, &m->lock);
		if (m->quit) {
			pthread_mutex_unlock(&m->lock);
			return NULL;
		}
		pthread_mutex_unlock(&m->lock);
		r = migrate(m);
		if (r < 0) {
			/* The destination discards what it has; it may be gone.
			 * A link that took nothing for SEND_STALL_S, or too
			 * little by the paused sends' deadline, would keep
			 * ABORT as long again: the stream's end (free_run) says
			 * it instead. */
			if (r != -EAGAIN && r != -EWOULDBLOCK && !m->send_timed_out)
				(void)vj_mig_send_reason(m->fd, VJ_MIG_ABORT, m->out.reason);
			if (m->drives_released)
				retake_drives(m);
		}
		/* Logging costs the guest a fault on its first write to each
		 * page after every harvest: off again, whatever the outcome. */
		if (set_logging(m, false) < 0)
			vj_info("migration: dirty-page logging stays on: %s", strerror(errno));
		pthread_mutex_lock(&m->lock);
		m->result = r;
		m->phase = VJ_MIG_DONE;
		pthread_mutex_unlock(&m->lock);
		if (write(m->efd, &one, sizeof(one)) != sizeof(one))
			vj_error("migration: cannot wake the VMM thread");
	}
}

/* ---- the VMM thread's part -------------------------------------------- */

static void free_run(struct vj_migration *m)
{
	atomic_store(&m->machine->vm->mem.dev_dirty, NULL);
	free(m->dirty);
	free(m->slot_bm);
	free(m->dev_all);
	free(m->dev_bm);
	free(m->state);
	m->dirty = m->slot_bm = m->dev_all = m->dev_bm = NULL;
	m->state = NULL;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

static void do_pause(struct vj_migration *m)
{
	struct vj_snapshot_writer w = { 0 };
	struct vj_vm *vm = m->machine->vm;
	int r = 0;

	m->we_paused = !vj_vm_paused(vm);
	if (m->we_paused && (r = vj_vm_pause(vm)) < 0)
		m->we_paused = false;
	if (r == 0 && (r = vj_machine_save_state(m->machine, &w)) == 0) {
		m->state = w.buf;
		m->state_len = w.len;
	} else {
		vj_snapshot_writer_free(&w);
	}
	pthread_mutex_lock(&m->lock);
	m->pause_err = r;
	m->phase = VJ_MIG_PAUSED;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void do_done(struct vj_migration *m)
{
	struct vj_vm *vm = m->machine->vm;
	struct vj_vmm_migration out = m->out;
	int r = m->result;

	out.total_ns = now_ns() - m->t0_ns;
	if (r == 0) {
		vj_info("migration: done in %.1f ms, downtime %.1f ms, %llu bytes, %u rounds%s",
			(double)out.total_ns / 1e6, (double)out.downtime_ns / 1e6,
			(unsigned long long)out.bytes, out.rounds,
			out.round_limit ? " (round limit)" : "");
	} else if (m->drives_released) {
		/* Another VMM holds a drive's lock: it may write the image, so
		 * this guest must not. It stays paused until a resume can take
		 * the lock (vj_migration_retake_drives). */
		vj_error("migration failed: %s", out.reason);
		r = -ENOLCK;
	} else {
		vj_error("migration failed, the guest runs on here: %s", out.reason);
		if (m->we_paused && (r = vj_vm_resume(vm)) < 0)
			vj_error("migration: resuming the guest: %s", strerror(-r));
		r = m->result;
	}
	free_run(m);
	pthread_mutex_lock(&m->lock);
	m->phase = VJ_MIG_IDLE;
	m->we_paused = false;
	pthread_mutex_unlock(&m->lock);
	if (m->done)
		m->done(m->done_ctx, r, &out);
	if (r == 0)
		vj_vm_stop(vm, VJ_EXIT_MIGRATED);
}

static void on_efd(void *opaque, uint32_t events)
{
	struct vj_migration *m = opaque;
	enum vj_migration_phase phase;
	uint64_t n;

	(void)events;
	if (read(m->efd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&m->lock);
	phase = m->phase;
	pthread_mutex_unlock(&m->lock);
	if (phase == VJ_MIG_WANT_PAUSE)
		do_pause(m);
	else if (phase == VJ_MIG_DONE)
		do_done(m);
}

void vj_migration_init(struct vj_migration *m, const struct vj_machine *machine,
		       vj_migration_done_fn done, void *ctx)
{
	*m = (struct vj_migration){ .machine = machine, .done = done, .done_ctx = ctx, .fd = -1,
				    .efd = -1 };
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
}

/*
 * The first migration's: the eventfd and the thread. Most VMMs are never
 * asked to migrate, so none pays for them at start-up; the thread is made
 * under this thread's seccomp filter and narrows it with its own.
 */
static int start_thread(struct vj_migration *m)
{
	int r;

	if (m->efd < 0) {
		m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->efd < 0)
			return -errno;
		m->efd_h = (struct vj_loop_handler){ on_efd, m };
		if ((r = vj_loop_add_own(&m->machine->vm->loop, m->efd, EPOLLIN, &m->efd_h)) < 0) {
			close(m->efd);
			m->efd = -1;
			return r;
		}
	}
	if ((r = pthread_create(&m->thread, NULL, thread_main, m)) != 0)
		return -r;
	m->started = true;
	return 0;
}

int vj_migration_start(struct vj_migration *m, int fd, const struct vj_vmm_migrate *p)
{
	const struct vj_vm *vm = m->machine->vm;
	const struct vj_vm_config *cfg = vm->cfg;
	uint64_t n = vm->mem.size / VJ_MIG_PAGE, bytes = words(n) * 8;
	enum vj_migration_phase phase;

	int r;

	pthread_mutex_lock(&m->lock);
	phase = m->phase;
	pthread_mutex_unlock(&m->lock);
	if (phase != VJ_MIG_IDLE)
		return -EALREADY;
	if (p->max_rounds < 2 || p->max_rounds > VJ_VMM_MIGRATE_ROUNDS_MAX - 2 ||
	    p->max_downtime_ns < 1000000 || p->max_downtime_ns > 60000000000ull ||
	    p->flags & ~(VJ_VMM_MIGRATE_SHARED_DRIVES | VJ_VMM_MIGRATE_AGENT))
		return -EINVAL;
	if (vj_vm_paused(vm)) {
		vj_info("migration refused: the VM is paused (resume it first)");
		return -EBUSY;
	}
	for (unsigned i = 0; i < cfg->ndrives && !(p->flags & VJ_VMM_MIGRATE_SHARED_DRIVES); i++) {
		if (!cfg->drives[i].read_only) {
			vj_info("migration refused: drive %u (%s) is writable and local", i,
				cfg->drives[i].file.name);
			return -EROFS;
		}
	}
	if (!m->started && (r = start_thread(m)) < 0) {
		vj_error("migration: starting its thread: %s", strerror(-r));
		return r;
	}
	m->npages = n;
	m->dirty = calloc(1, bytes);
	m->slot_bm = calloc(1, bytes);
	m->dev_all = calloc(1, bytes);
	m->dev_bm = calloc(1, bytes);
	if (!m->dirty || !m->slot_bm || !m->dev_all || !m->dev_bm) {
		free_run(m);
		return -ENOMEM;
	}
	/* Bounded sends (SEND_STALL_S): a blocking writev on a stalled link
	 * would otherwise wait forever. Not a socket: unbounded, as it was. */
	{
		struct timeval tv = { .tv_sec = SEND_STALL_S };
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			vj_info("migration: no send timeout on the stream: %s", strerror(errno));
	}
	m->fd = fd;
	m->params = *p;
	m->out = (struct vj_vmm_migration){ 0 };
	m->result = 0;
	m->pause_err = 0;
	m->state = NULL;
	m->rate = 0;
	m->deadline_ns = 0;
	m->send_timed_out = false;
	m->t0_ns = now_ns();
	/* The devices mark their writes from here on, before the guest's
	 * logging starts: nothing written after round 0 read a page is
	 * missed. */
	atomic_store(&((struct vj_vm *)vm)->mem.dev_dirty, m->dev_bm);
	pthread_mutex_lock(&m->lock);
	m->phase = VJ_MIG_PRECOPY;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

bool vj_migration_holds_pause(struct vj_migration *m)
{
	bool held;

	pthread_mutex_lock(&m->lock);
	held = m->phase == VJ_MIG_WANT_PAUSE || m->phase == VJ_MIG_PAUSED ||
	       (m->phase == VJ_MIG_DONE && m->we_paused);
	pthread_mutex_unlock(&m->lock);
	return held;
}

int vj_migration_retake_drives(struct vj_migration *m)
{
	struct vj_err e = { 0 };
	unsigned which;
	int r;

	if (!m->drives_released)
		return 0;
	if ((r = vj_migration_take_drives(m->machine->vm->cfg, &which, &e)) < 0) {
		vj_error("resume refused: %s", e.msg);
		return r;
	}
	m->drives_released = false;
	vj_info("migration: the writable drives are this VMM's again");
	return 0;
}

void vj_migration_destroy(struct vj_migration *m)
{
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->quit = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		/* A thread blocked sending: the stream's end makes it fail. */
		if (m->fd >= 0)
			(void)shutdown(m->fd, SHUT_WR);
		pthread_join(m->thread, NULL);
		m->started = false;
	}
	if (m->dirty)
		free_run(m);
	if (m->efd >= 0)
		close(m->efd);
	m->efd = -1;
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}
