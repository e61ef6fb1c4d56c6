#include "virtio/mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "layout.h"
#include "log.h"
#include "vm.h"
#include "snapshot.h"

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2
#define NO_SHM_REGION 0xffffffffu

static void efd_signal(int efd)
{
	uint64_t one = 1;

	/* Cannot block (EFD_NONBLOCK) and cannot overflow in practice; a
	 * lost wake-up here would only delay the guest, never corrupt it. */
	(void)!write(efd, &one, sizeof(one));
}

static void efd_drain(int efd)
{
	uint64_t v;

	(void)!read(efd, &v, sizeof(v));
}

bool vj_virtio_running(const struct vj_virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

bool vj_virtio_has_feature(const struct vj_virtio_dev *d, unsigned bit)
{
	return bit < 64 && (d->driver_features & (1ull << bit));
}

struct vj_virtq *vj_virtio_queue(struct vj_virtio_dev *d, unsigned q)
{
	if (q >= d->nqueues || !vj_virtio_running(d) || !d->vq[q].ready || d->vq[q].broken)
		return NULL;
	return &d->vq[q];
}

static void raise_interrupt(struct vj_virtio_dev *d, uint32_t why)
{
	d->isr |= why;
	efd_signal(d->irq_efd);
}

void vj_virtio_notify_used(struct vj_virtio_dev *d, unsigned q)
{
	if (q < d->nqueues && d->vq[q].ready && vj_virtq_wants_interrupt(&d->vq[q]))
		raise_interrupt(d, VIRTIO_MMIO_INT_VRING);
}

void vj_virtio_needs_reset(struct vj_virtio_dev *d)
{
	if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	/* Info, not warning: a guest can repeat this at will. */
	vj_info("%s: the driver broke the device; it needs a reset", d->name);
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

void vj_virtio_config_changed(struct vj_virtio_dev *d, bool tell)
{
	d->config_generation++;
	if (tell && vj_virtio_running(d))
		raise_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

void vj_virtio_kick(struct vj_virtio_dev *d, unsigned q)
{
	if (q < d->nqueues)
		efd_signal(d->notify[q].efd);
}

void vj_virtio_lock(struct vj_virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->reset_pending) {
		d->reset_pending = false;
		if (d->ops->reset)
			d->ops->reset(d);
	}
}

void vj_virtio_unlock(struct vj_virtio_dev *d)
{
	/* Any queue work may have found a ring broken, whichever queue it
	 * was started for. */
	for (unsigned i = 0; i < d->nqueues; i++)
		if (d->vq[i].broken)
			vj_virtio_needs_reset(d);
	pthread_mutex_unlock(&d->lock);
}

void vj_virtio_process(struct vj_virtio_dev *d, unsigned q)
{
	vj_virtio_lock(d);
	if (vj_virtio_queue(d, q))
		d->ops->queue_work(d, q);
	vj_virtio_unlock(d);
}

/* ---- registers (vCPU threads, lock held) ----------------------------- */

static void device_reset(struct vj_virtio_dev *d)
{
	d->status = 0;
	d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
	d->driver_features = 0;
	d->isr = 0;
	for (unsigned i = 0; i < d->nqueues; i++) {
		vj_virtq_reset(&d->vq[i]);
		d->queue_num[i] = 0;
	}
	d->reset_pending = true;
	efd_signal(d->ctl_efd);
}

static bool features_acceptable(const struct vj_virtio_dev *d)
{
	/* A driver without VIRTIO_F_VERSION_1 expects the legacy interface,
	 * which this device does not implement. */
	return !(d->driver_features & ~d->features) &&
	       (d->driver_features & (1ull << VIRTIO_F_VERSION_1));
}

static void status_write(struct vj_virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status, next;

	if (v == 0) {
		device_reset(d);
		return;
	}
	/* Bits only accumulate until a reset; NEEDS_RESET is the device's. */
	next = ((v & 0xff) | old) & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	next |= old & VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((next & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !features_acceptable(d)) {
		vj_debug("%s: refusing driver features 0x%llx", d->name,
			 (unsigned long long)d->driver_features);
		next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if (!(next & VIRTIO_CONFIG_S_FEATURES_OK))
		next &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	d->status = next;
	/* Buffers made available before DRIVER_OK were not looked at. */
	if ((next & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		for (unsigned i = 0; i < d->nqueues; i++)
			efd_signal(d->notify[i].efd);
}

static struct vj_virtq *selected_queue(struct vj_virtio_dev *d)
{
	return d->queue_sel < d->nqueues ? &d->vq[d->queue_sel] : NULL;
}

static void queue_ready_write(struct vj_virtio_dev *d, uint32_t v)
{
	struct vj_virtq *q = selected_queue(d);
	int r;

	if (!q)
		return;
	if (v == 0) {
		/* Linux writes 0 on teardown and reads it back. */
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	q->indirect = vj_virtio_has_feature(d, VIRTIO_RING_F_INDIRECT_DESC);
	q->size = d->queue_num[d->queue_sel] > UINT16_MAX ? 0 : (uint16_t)d->queue_num[d->queue_sel];
	r = vj_virtq_enable(q, d->mem, d->queue_max);
	if (r < 0) {
		vj_debug("%s: queue %u: size %u desc 0x%llx avail 0x%llx used 0x%llx refused: %s",
			 d->name, d->queue_sel, d->queue_num[d->queue_sel],
			 (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
			 (unsigned long long)q->used_gpa, strerror(-r));
		vj_virtio_needs_reset(d);
	}
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffull) | (uint64_t)half << 32;
	else
		*v = (*v & ~0xffffffffull) | half;
}

static void queue_addr_write(struct vj_virtio_dev *d, uint64_t off, uint32_t v)
{
	struct vj_virtq *q = selected_queue(d);
	bool high = off & 4;

	if (!q || q->ready)
		return;
	switch (off & ~4ull) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_half(&q->desc_gpa, high, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_half(&q->avail_gpa, high, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_half(&q->used_gpa, high, v);
		break;
	}
}

static void reg_write(struct vj_virtio_dev *d, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if ((d->status & VIRTIO_CONFIG_S_DRIVER) &&
		    !(d->status & VIRTIO_CONFIG_S_FEATURES_OK) && d->drv_features_sel < 2)
			set_half(&d->driver_features, d->drv_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (selected_queue(d) && !selected_queue(d)->ready)
			d->queue_num[d->queue_sel] = v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		queue_ready_write(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Only reached when no ioeventfd matched. Anything but a
		 * queue index is ignored, as is a notify before ready (the
		 * VMM thread checks readiness). */
		if (v < d->nqueues)
			efd_signal(d->notify[v].efd);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->isr &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		queue_addr_write(d, off, v);
		break;
	default:
		break; /* read-only, legacy-only or unknown: ignored */
	}
}

static uint32_t queue_addr_read(struct vj_virtio_dev *d, uint64_t off)
{
	struct vj_virtq *q = selected_queue(d);
	uint64_t a = 0;

	if (!q)
		return 0;
	switch (off & ~4ull) {
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		a = q->desc_gpa;
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		a = q->avail_gpa;
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		a = q->used_gpa;
		break;
	}
	return (off & 4) ? (uint32_t)(a >> 32) : (uint32_t)a;
}

static uint32_t reg_read(struct vj_virtio_dev *d, uint64_t off)
{
	uint64_t features = d->features | (1ull << VIRTIO_F_VERSION_1);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VJ_VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_features_sel > 1)
			return 0;
		return (uint32_t)(features >> (32 * d->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return selected_queue(d) ? d->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return selected_queue(d) && selected_queue(d)->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		return queue_addr_read(d, off);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return NO_SHM_REGION;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	default:
		return 0;
	}
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vj_virtio_dev *d = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* Config space: any width; bytes past its end read as 0. */
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		for (uint32_t i = 0; i < len; i++)
			if (c + i < d->config_len)
				data[i] = ((const uint8_t *)d->config)[c + i];
	} else if (len == 4 && off % 4 == 0) {
		uint32_t v = reg_read(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vj_virtio_dev *d = opaque;
	uint32_t v;

	/* No device has a writable configuration field: config writes, in
	 * range or past the end, are dropped. Registers are 32-bit only. */
	if (off >= VIRTIO_MMIO_CONFIG || len != 4 || off % 4)
		return;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&d->lock);
	reg_write(d, off, v);
	pthread_mutex_unlock(&d->lock);
}

const struct vj_bus_ops vj_virtio_mmio_ops = { .read = mmio_read, .write = mmio_write };

/* ---- set-up ---------------------------------------------------------- */

static void on_notify(void *opaque, uint32_t events)
{
	struct vj_virtio_notify *n = opaque;

	(void)events;
	efd_drain(n->efd);
	vj_virtio_process(n->dev, n->q);
}

static void on_ctl(void *opaque, uint32_t events)
{
	struct vj_virtio_dev *d = opaque;

	(void)events;
	efd_drain(d->ctl_efd);
	vj_virtio_lock(d);
	vj_virtio_unlock(d);
}

int vj_virtio_init(struct vj_virtio_dev *d, const char *name, uint32_t device_id,
		   uint64_t features, unsigned nqueues, uint16_t queue_max,
		   const void *config, uint32_t config_len, const struct vj_virtio_ops *ops,
		   const struct vj_guest_mem *mem)
{
	memset(d, 0, sizeof(*d));
	d->irq_efd = d->ctl_efd = -1;
	for (unsigned i = 0; i < VJ_VIRTIO_MAX_QUEUES; i++)
		d->notify[i].efd = -1;
	if (nqueues == 0 || nqueues > VJ_VIRTIO_MAX_QUEUES || queue_max > VJ_VIRTQ_MAX_SIZE)
		return -EINVAL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->device_id = device_id;
	d->features = features | (1ull << VIRTIO_F_VERSION_1);
	d->nqueues = nqueues;
	d->queue_max = queue_max;
	d->config = config;
	d->config_len = config_len;
	d->mem = mem;
	pthread_mutex_init(&d->lock, NULL);
	d->ops = ops; /* from here on vj_virtio_destroy() has work to do */
	d->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->ctl_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_efd < 0 || d->ctl_efd < 0)
		return -errno;
	d->ctl_h = (struct vj_loop_handler){ on_ctl, d };
	for (unsigned i = 0; i < nqueues; i++) {
		struct vj_virtio_notify *n = &d->notify[i];
		n->dev = d;
		n->q = i;
		n->h = (struct vj_loop_handler){ on_notify, n };
		n->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->efd < 0)
			return -errno;
	}
	return 0;
}

void vj_virtio_destroy(struct vj_virtio_dev *d)
{
	if (!d->ops)
		return;
	for (unsigned i = 0; i < VJ_VIRTIO_MAX_QUEUES; i++)
		if (d->notify[i].efd >= 0)
			close(d->notify[i].efd);
	if (d->irq_efd >= 0)
		close(d->irq_efd);
	if (d->ctl_efd >= 0)
		close(d->ctl_efd);
	pthread_mutex_destroy(&d->lock);
	d->irq_efd = d->ctl_efd = -1;
	d->ops = NULL;
}

int vj_virtio_attach(struct vj_virtio_dev *d, struct vj_vm *vm, unsigned slot)
{
	char arg[64];
	int r;

	if (slot >= VJ_VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	d->mmio_base = VJ_VIRTIO_MMIO_BASE + slot * VJ_VIRTIO_MMIO_SIZE;
	d->irq = VJ_IRQ_VIRTIO_FIRST + slot;
	d->loop = &vm->loop;
	if ((r = vj_bus_add(&vm->mmio, d->mmio_base, VJ_VIRTIO_MMIO_SIZE, d->name,
			    &vj_virtio_mmio_ops, d)) < 0)
		return r;
	if ((r = vj_vm_irqfd(vm, d->irq_efd, d->irq)) < 0)
		return r;
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vj_virtio_notify *n = &d->notify[i];
		if ((r = vj_vm_ioeventfd(vm, n->efd, d->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
					 true, i)) < 0 ||
		    (r = vj_loop_add(d->loop, n->efd, EPOLLIN, &n->h)) < 0)
			return r;
	}
	if ((r = vj_loop_add(d->loop, d->ctl_efd, EPOLLIN, &d->ctl_h)) < 0)
		return r;
	snprintf(arg, sizeof(arg), "virtio_mmio.device=4K@0x%llx:%u",
		 (unsigned long long)d->mmio_base, d->irq);
	return vj_vm_cmdline_append(vm, arg);
}

void vj_virtio_save(struct vj_virtio_dev *d, struct vj_snap_virtio *o)
{
	memset(o, 0, sizeof(*o));
	vj_virtio_lock(d);
	o->device_id = d->device_id;
	o->nqueues = d->nqueues;
	o->status = d->status;
	o->dev_features_sel = d->dev_features_sel;
	o->drv_features_sel = d->drv_features_sel;
	o->queue_sel = d->queue_sel;
	o->isr = d->isr;
	o->config_generation = d->config_generation;
	o->device_features = d->features;
	o->driver_features = d->driver_features;
	for (unsigned i = 0; i < d->nqueues && i < VJ_SNAP_VIRTIO_QUEUES; i++) {
		const struct vj_virtq *q = &d->vq[i];
		/* A chain taken but not answered yet is handed back to the
		 * ring: the restored device takes it again. */
		unsigned back = d->ops->in_flight ? d->ops->in_flight(d, i) : 0;
		o->q[i] = (struct vj_snap_virtq){
			.num = d->queue_num[i], .size = q->size, .ready = q->ready,
			.broken = q->broken, .indirect = q->indirect,
			.last_avail = (uint16_t)(q->last_avail - back), .used_idx = q->used_idx,
			.desc_gpa = q->desc_gpa, .avail_gpa = q->avail_gpa, .used_gpa = q->used_gpa,
		};
	}
	pthread_mutex_unlock(&d->lock);
}

int vj_virtio_restore(struct vj_virtio_dev *d, const struct vj_snap_virtio *in)
{
	int r = 0;

	if (in->device_id != d->device_id || in->nqueues != d->nqueues ||
	    in->device_features != d->features)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	d->status = in->status;
	d->dev_features_sel = in->dev_features_sel;
	d->drv_features_sel = in->drv_features_sel;
	d->queue_sel = in->queue_sel;
	d->isr = in->isr;
	d->config_generation = in->config_generation;
	d->driver_features = in->driver_features & d->features;
	for (unsigned i = 0; i < d->nqueues && r == 0; i++) {
		const struct vj_snap_virtq *sq = &in->q[i];
		struct vj_virtq *q = &d->vq[i];
		vj_virtq_reset(q);
		d->queue_num[i] = sq->num;
		q->size = sq->size;
		q->desc_gpa = sq->desc_gpa;
		q->avail_gpa = sq->avail_gpa;
		q->used_gpa = sq->used_gpa;
		q->indirect = sq->indirect;
		if (!sq->ready)
			continue;
		/* The same checks as the driver's own QueueReady write. */
		r = vj_virtq_enable(q, d->mem, d->queue_max);
		q->last_avail = sq->last_avail;
		q->used_idx = sq->used_idx;
		q->broken = sq->broken;
	}
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return r;
	/* Whatever the driver made available meanwhile is looked at once the
	 * event loop runs. */
	for (unsigned i = 0; i < d->nqueues; i++)
		if (d->vq[i].ready)
			efd_signal(d->notify[i].efd);
	return 0;
}
