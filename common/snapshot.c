#include "snapshot.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* ---- CRC32 (IEEE 802.3, reflected, as zlib computes it) --------------- */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const void *data, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const uint8_t *p = data;
	uint32_t c = crc ^ 0xffffffffu;

	pthread_once(&once, crc_table_init);
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

uint32_t vj_crc32(const void *data, size_t len)
{
	return crc_update(0, data, len);
}

/* A section's CRC covers its header (CRC field zero) and its payload:
 * a flipped type, index or length is caught like a flipped register. */
uint32_t vj_snapshot_section_crc(const struct vj_snapshot_section_header *sh, const void *data,
				 size_t len)
{
	struct vj_snapshot_section_header h = *sh;

	h.crc = 0;
	return crc_update(crc_update(0, &h, sizeof(h)), data, len);
}

static uint32_t section_crc(struct vj_snapshot_section_header h, const void *data, size_t len)
{
	return vj_snapshot_section_crc(&h, data, len);
}

/* ---- the host CPU ----------------------------------------------------- */

void vj_snapshot_cpu_host(struct vj_snapshot_cpu *out)
{
	unsigned a = 0, b = 0, c = 0, d = 0, family, model;

	memset(out, 0, sizeof(*out));
	__cpuid(0, a, b, c, d);
	memcpy(out->vendor, &b, 4);
	memcpy(out->vendor + 4, &d, 4);
	memcpy(out->vendor + 8, &c, 4);
	__cpuid(1, a, b, c, d);
	family = (a >> 8) & 0xf;
	model = (a >> 4) & 0xf;
	/* The extended fields count only where the SDM and APM say so. */
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= ((a >> 16) & 0xf) << 4;
	out->family = family;
	out->model = model;
}

/* ---- writing ---------------------------------------------------------- */

static void put(struct vj_snapshot_writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->len + n > VJ_SNAPSHOT_MAX_BYTES) {
		w->err = -E2BIG;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		uint8_t *nb;
		while (cap < w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void vj_snapshot_writer_init(struct vj_snapshot_writer *w, const struct vj_snapshot_cpu *cpu)
{
	struct vj_snapshot_header h;

	memset(w, 0, sizeof(*w));
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VJ_SNAPSHOT_MAGIC, sizeof(h.magic));
	h.version = VJ_SNAPSHOT_VERSION;
	h.cpu = *cpu;
	put(w, &h, sizeof(h));
}

void vj_snapshot_add(struct vj_snapshot_writer *w, uint32_t type, uint32_t index,
		     const void *data, size_t len)
{
	struct vj_snapshot_section_header s = { .type = type, .index = index, .length = len };

	s.crc = section_crc(s, data, len);

	if (w->nsections == VJ_SNAPSHOT_SECTIONS_MAX && !w->err)
		w->err = -E2BIG;
	put(w, &s, sizeof(s));
	put(w, data, len);
	w->nsections++;
}

int vj_snapshot_writer_finish(struct vj_snapshot_writer *w)
{
	struct vj_snapshot_header h;

	if (w->err)
		return w->err;
	memcpy(&h, w->buf, sizeof(h));
	h.nsections = w->nsections;
	h.crc = vj_crc32(&h, offsetof(struct vj_snapshot_header, crc));
	memcpy(w->buf, &h, sizeof(h));
	return 0;
}

void vj_snapshot_writer_free(struct vj_snapshot_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void vj_snapshot_config_from(const struct vj_vm_config *cfg, struct vj_snap_config *out)
{
	struct vj_snap_device *d = out->dev;

	memset(out, 0, sizeof(*out));
	out->vcpus = cfg->vcpus;
	out->memory_mib = cfg->memory_mib;
	for (unsigned i = 0; i < cfg->ndrives && i < VJ_MAX_DRIVES; i++, d++)
		*d = (struct vj_snap_device){ .kind = VJ_SNAP_DEV_BLK,
					      .read_only = cfg->drives[i].read_only };
	for (unsigned i = 0; i < cfg->nnets && i < VJ_MAX_NETS; i++, d++) {
		*d = (struct vj_snap_device){ .kind = VJ_SNAP_DEV_NET,
					      .has_mac = cfg->nets[i].has_mac };
		if (cfg->nets[i].has_mac)
			memcpy(d->mac, cfg->nets[i].mac, 6);
	}
	if (cfg->vsock.enabled)
		*d++ = (struct vj_snap_device){ .kind = VJ_SNAP_DEV_VSOCK,
						.guest_cid = cfg->vsock.guest_cid };
	if (cfg->rng)
		*d++ = (struct vj_snap_device){ .kind = VJ_SNAP_DEV_RNG };
	out->ndevices = (uint32_t)(d - out->dev);
}

/* ---- reading ---------------------------------------------------------- */

static const char *const type_names[] = {
	[VJ_SNAP_CONFIG] = "CONFIG", [VJ_SNAP_VM] = "VM", [VJ_SNAP_VCPU] = "VCPU",
	[VJ_SNAP_UART] = "UART", [VJ_SNAP_I8042] = "I8042",
	[VJ_SNAP_BOOT_MARKER] = "BOOT_MARKER", [VJ_SNAP_VIRTIO] = "VIRTIO",
};

static const char *type_name(uint32_t t)
{
	return t > 0 && t < VJ_SNAP_TYPES_END ? type_names[t] : "unknown";
}

const char *vj_snap_device_kind_name(uint32_t kind)
{
	static const char *const names[] = { "unknown", "blk", "net", "vsock", "rng" };

	return kind < VJ_ARRAY_SIZE(names) ? names[kind] : "unknown";
}

/* virtio device IDs (virtio 1.x, 5): what each kind's transport says. */
static uint32_t virtio_id(uint32_t kind)
{
	static const uint32_t ids[] = { 0, 2, 1, 19, 4 };

	return kind < VJ_ARRAY_SIZE(ids) ? ids[kind] : 0;
}

static const size_t payload_size[] = {
	[VJ_SNAP_CONFIG] = sizeof(struct vj_snap_config),
	[VJ_SNAP_VM] = sizeof(struct vj_snap_vm),
	[VJ_SNAP_VCPU] = sizeof(struct vj_snap_vcpu),
	[VJ_SNAP_UART] = sizeof(struct vj_snap_uart),
	[VJ_SNAP_I8042] = sizeof(struct vj_snap_i8042),
	[VJ_SNAP_BOOT_MARKER] = sizeof(struct vj_snap_boot_marker),
	[VJ_SNAP_VIRTIO] = sizeof(struct vj_snap_virtio),
};

static int check_config(const struct vj_snap_config *c, const char *name, struct vj_err *e)
{
	if (c->vcpus < 1 || c->vcpus > VJ_VCPUS_MAX)
		return vj_fail(e, -EINVAL, "%s: CONFIG: %u vCPUs, out of range 1..%u", name, c->vcpus,
			       VJ_VCPUS_MAX);
	if (c->memory_mib < VJ_MEMORY_MIB_MIN || c->memory_mib > VJ_MEMORY_MIB_MAX ||
	    c->memory_mib % 2)
		return vj_fail(e, -EINVAL, "%s: CONFIG: guest memory %llu MiB is not an even size "
			       "in %u..%u MiB", name, (unsigned long long)c->memory_mib,
			       VJ_MEMORY_MIB_MIN, VJ_MEMORY_MIB_MAX);
	if (c->ndevices > VJ_SNAPSHOT_DEVICES_MAX)
		return vj_fail(e, -EINVAL, "%s: CONFIG: %u devices, at most %u", name, c->ndevices,
			       VJ_SNAPSHOT_DEVICES_MAX);
	for (unsigned i = 0; i < c->ndevices; i++)
		if (!virtio_id(c->dev[i].kind))
			return vj_fail(e, -EINVAL, "%s: CONFIG: device %u is of unknown kind %u", name,
				       i, c->dev[i].kind);
	return 0;
}

static bool power_of_two_or_zero(uint32_t v)
{
	return (v & (v - 1)) == 0;
}

/* A section's own fields, once its length and CRC are right. Payloads
 * need not be aligned in the file: each is copied out before it is read. */
static int check_payload(const struct vj_snapshot_section *s, const struct vj_snap_config *c,
			 const char *name, struct vj_err *e)
{
	static union {
		struct vj_snap_vcpu vcpu;
		struct vj_snap_uart uart;
		struct vj_snap_i8042 kbd;
		struct vj_snap_boot_marker marker;
		struct vj_snap_virtio virtio;
	} u;

	memcpy(&u, s->data, s->length <= sizeof(u) ? s->length : sizeof(u));
	switch (s->type) {
	case VJ_SNAP_VCPU:
		if (s->index >= c->vcpus)
			return vj_fail(e, -EINVAL, "%s: VCPU %u: the snapshot has %u vCPUs", name,
				       s->index, c->vcpus);
		if (u.vcpu.flags & ~VJ_SNAP_VCPU_FLAGS || u.vcpu.nmsrs > VJ_SNAPSHOT_MSRS_MAX)
			return vj_fail(e, -EINVAL, "%s: VCPU %u: flags 0x%x or %u MSRs out of range",
				       name, s->index, u.vcpu.flags, u.vcpu.nmsrs);
		return 0;
	case VJ_SNAP_UART:
		if (u.uart.rx_head >= VJ_SNAP_UART_FIFO || u.uart.rx_count > VJ_SNAP_UART_FIFO)
			return vj_fail(e, -EINVAL, "%s: UART: receive FIFO head %u count %u", name,
				       u.uart.rx_head, u.uart.rx_count);
		return 0;
	case VJ_SNAP_I8042:
		if (u.kbd.head >= VJ_SNAP_I8042_BUF || u.kbd.count > VJ_SNAP_I8042_BUF)
			return vj_fail(e, -EINVAL, "%s: I8042: buffer head %u count %u", name,
				       u.kbd.head, u.kbd.count);
		return 0;
	case VJ_SNAP_BOOT_MARKER:
		if (u.marker.fired > 1)
			return vj_fail(e, -EINVAL, "%s: BOOT_MARKER: %llu", name,
				       (unsigned long long)u.marker.fired);
		return 0;
	case VJ_SNAP_VIRTIO:
		if (s->index >= c->ndevices)
			return vj_fail(e, -EINVAL, "%s: VIRTIO %u: the snapshot has %u devices", name,
				       s->index, c->ndevices);
		if (u.virtio.device_id != virtio_id(c->dev[s->index].kind))
			return vj_fail(e, -EINVAL, "%s: VIRTIO %u: device ID %u, CONFIG says %s",
				       name, s->index, u.virtio.device_id,
				       vj_snap_device_kind_name(c->dev[s->index].kind));
		if (u.virtio.nqueues < 1 || u.virtio.nqueues > VJ_SNAP_VIRTIO_QUEUES)
			return vj_fail(e, -EINVAL, "%s: VIRTIO %u: %u queues", name, s->index,
				       u.virtio.nqueues);
		for (unsigned q = 0; q < u.virtio.nqueues; q++) {
			const struct vj_snap_virtq *vq = &u.virtio.q[q];
			if (!power_of_two_or_zero(vq->size) || vq->ready > 1 || vq->broken > 1 ||
			    vq->indirect > 1)
				return vj_fail(e, -EINVAL, "%s: VIRTIO %u: queue %u malformed", name,
					       s->index, q);
		}
		return 0;
	}
	return 0;
}

/* Exactly the sections a VM of the CONFIG section has, each once. */
static int check_complete(const struct vj_snapshot *s, const char *name, struct vj_err *e)
{
	const struct vj_snap_config *c = &s->summary.config;
	unsigned vcpus = 0, devices = 0;
	static const uint32_t once[] = { VJ_SNAP_VM, VJ_SNAP_UART, VJ_SNAP_I8042,
					 VJ_SNAP_BOOT_MARKER };

	for (unsigned i = 0; i < s->nsections; i++) {
		const struct vj_snapshot_section *a = &s->sections[i];
		for (unsigned j = 0; j < i; j++)
			if (s->sections[j].type == a->type && s->sections[j].index == a->index)
				return vj_fail(e, -EINVAL, "%s: section %s %u appears twice", name,
					       type_name(a->type), a->index);
		vcpus += a->type == VJ_SNAP_VCPU;
		devices += a->type == VJ_SNAP_VIRTIO;
	}
	if (vcpus != c->vcpus)
		return vj_fail(e, -EINVAL, "%s: %u vCPU sections, CONFIG says %u vCPUs", name, vcpus,
			       c->vcpus);
	if (devices != c->ndevices)
		return vj_fail(e, -EINVAL, "%s: %u VIRTIO sections, CONFIG lists %u devices", name,
			       devices, c->ndevices);
	for (unsigned i = 0; i < VJ_ARRAY_SIZE(once); i++)
		if (!vj_snapshot_find(s, once[i], 0))
			return vj_fail(e, -EINVAL, "%s: no %s section", name, type_name(once[i]));
	return 0;
}

/* A vendor string from a file, fit for a message line. */
static void printable(const char vendor[12], char out[13])
{
	for (int i = 0; i < 12; i++)
		out[i] = vendor[i] >= 0x20 && vendor[i] < 0x7f ? vendor[i] : '?';
	out[12] = '\0';
}

static int parse_header(const uint8_t *buf, size_t len, const char *name,
			const struct vj_snapshot_cpu *host, struct vj_snapshot_header *h,
			struct vj_err *e)
{
	if (len < sizeof(*h))
		return vj_fail(e, -EINVAL, "%s: truncated: %zu bytes, shorter than the header", name,
			       len);
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->magic, VJ_SNAPSHOT_MAGIC, sizeof(h->magic)))
		return vj_fail(e, -EINVAL, "%s: not a vmjail snapshot state file (bad magic)", name);
	if (h->version != VJ_SNAPSHOT_VERSION)
		return vj_fail(e, -EPROTO, "%s: snapshot format version %u, this vmjail reads "
			       "version %u", name, h->version, VJ_SNAPSHOT_VERSION);
	if (h->crc != vj_crc32(h, offsetof(struct vj_snapshot_header, crc)) || h->reserved)
		return vj_fail(e, -EINVAL, "%s: header checksum mismatch", name);
	if (host && (memcmp(h->cpu.vendor, host->vendor, sizeof(host->vendor)) ||
		     h->cpu.family != host->family || h->cpu.model != host->model)) {
		char theirs[13], ours[13];
		printable(h->cpu.vendor, theirs);
		printable(host->vendor, ours);
		return vj_fail(e, -ENOEXEC, "%s: taken on a %s CPU family %u model %u, this "
			       "host has a %s CPU family %u model %u", name, theirs, h->cpu.family,
			       h->cpu.model, ours, host->family, host->model);
	}
	if (h->nsections < 1 || h->nsections > VJ_SNAPSHOT_SECTIONS_MAX)
		return vj_fail(e, -EINVAL, "%s: %u sections, expected 1..%u", name, h->nsections,
			       VJ_SNAPSHOT_SECTIONS_MAX);
	return 0;
}

int vj_snapshot_parse(const uint8_t *buf, size_t len, const char *name,
		      const struct vj_snapshot_cpu *host, struct vj_snapshot *out,
		      struct vj_err *e)
{
	struct vj_snapshot_header h;
	size_t off = sizeof(h);
	int r;

	out->nsections = 0;
	if ((r = parse_header(buf, len, name, host, &h, e)) < 0)
		return r;
	out->summary.version = h.version;
	out->summary.cpu = h.cpu;
	for (unsigned i = 0; i < h.nsections; i++) {
		struct vj_snapshot_section_header sh;
		struct vj_snapshot_section *s = &out->sections[i];
		if (len - off < sizeof(sh))
			return vj_fail(e, -EINVAL, "%s: truncated: %u of %u sections present", name, i,
				       h.nsections);
		memcpy(&sh, buf + off, sizeof(sh));
		off += sizeof(sh);
		if (sh.length > len - off)
			return vj_fail(e, -EINVAL, "%s: truncated: section %u (%s %u) is %llu bytes, "
				       "%zu are left", name, i, type_name(sh.type), sh.index,
				       (unsigned long long)sh.length, len - off);
		if (sh.crc != section_crc(sh, buf + off, sh.length) || sh.reserved)
			return vj_fail(e, -EINVAL, "%s: section %u (%s %u): checksum mismatch", name,
				       i, type_name(sh.type), sh.index);
		if (sh.type == 0 || sh.type >= VJ_SNAP_TYPES_END)
			return vj_fail(e, -EINVAL, "%s: section %u is of unknown type %u", name, i,
				       sh.type);
		if (sh.length != payload_size[sh.type])
			return vj_fail(e, -EINVAL, "%s: section %u (%s %u): %llu bytes, expected %zu",
				       name, i, type_name(sh.type), sh.index,
				       (unsigned long long)sh.length, payload_size[sh.type]);
		if ((i == 0) != (sh.type == VJ_SNAP_CONFIG))
			return vj_fail(e, -EINVAL, "%s: section %u is %s; CONFIG comes first, once",
				       name, i, type_name(sh.type));
		*s = (struct vj_snapshot_section){ sh.type, sh.index, sh.length, buf + off };
		off += sh.length;
		out->nsections = i + 1;
		if (i == 0) {
			memcpy(&out->summary.config, s->data, sizeof(out->summary.config));
			if ((r = check_config(&out->summary.config, name, e)) < 0)
				return r;
		} else if ((r = check_payload(s, &out->summary.config, name, e)) < 0) {
			return r;
		}
	}
	if (off != len)
		return vj_fail(e, -EINVAL, "%s: %zu bytes after the last section", name, len - off);
	return check_complete(out, name, e);
}

int vj_snapshot_load(int state_fd, const char *name, struct vj_snapshot *out, struct vj_err *e)
{
	struct vj_snapshot_cpu host;
	struct stat st;
	size_t got = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (fstat(state_fd, &st) < 0)
		return vj_fail_errno(e, -errno, "%s", name);
	if (!S_ISREG(st.st_mode))
		return vj_fail(e, -EINVAL, "%s: not a regular file", name);
	if (st.st_size > (off_t)VJ_SNAPSHOT_MAX_BYTES)
		return vj_fail(e, -EFBIG, "%s: %lld bytes, a state file is at most %u", name,
			       (long long)st.st_size, VJ_SNAPSHOT_MAX_BYTES);
	out->buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!out->buf)
		return vj_fail_errno(e, -ENOMEM, "%s", name);
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(state_fd, out->buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			vj_snapshot_free(out);
			return vj_fail_errno(e, r, "%s: read", name);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	vj_snapshot_cpu_host(&host);
	r = vj_snapshot_parse(out->buf, got, name, &host, out, e);
	if (r < 0)
		vj_snapshot_free(out);
	return r;
}

void vj_snapshot_free(struct vj_snapshot *s)
{
	free(s->buf);
	s->buf = NULL;
	s->nsections = 0;
}

const struct vj_snapshot_section *vj_snapshot_find(const struct vj_snapshot *s, uint32_t type,
						   uint32_t index)
{
	for (unsigned i = 0; i < s->nsections; i++)
		if (s->sections[i].type == type && s->sections[i].index == index)
			return &s->sections[i];
	return NULL;
}

int vj_snapshot_copy(const struct vj_snapshot *s, uint32_t type, uint32_t index, void *out,
		      size_t len)
{
	const struct vj_snapshot_section *x = vj_snapshot_find(s, type, index);

	if (!x || x->length != len)
		return -ENOENT;
	memcpy(out, x->data, len);
	return 0;
}

int vj_snapshot_read_summary(int state_fd, struct vj_snapshot_summary *out, struct vj_err *e)
{
	cleanup_free struct vj_snapshot *s = malloc(sizeof(*s));
	char link[64], name[VJ_PATH_MAX];
	ssize_t n;
	int r;

	if (!s)
		return vj_fail_errno(e, -ENOMEM, "snapshot state");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", state_fd);
	n = readlink(link, name, sizeof(name) - 1);
	if (n > 0)
		name[n] = '\0';
	else
		snprintf(name, sizeof(name), "snapshot state (fd %d)", state_fd);
	r = vj_snapshot_load(state_fd, name, s, e);
	if (r < 0)
		return r;
	*out = s->summary;
	vj_snapshot_free(s);
	return 0;
}

static int check_device(const struct vj_snap_device *s, const struct vj_snap_device *c,
			unsigned slot, const char *who, struct vj_err *e)
{
	if (s->kind != c->kind)
		return vj_fail(e, -EINVAL, "device slot %u: %s has %s, the configuration %s",
			       slot, who, vj_snap_device_kind_name(s->kind),
			       vj_snap_device_kind_name(c->kind));
	if (s->kind == VJ_SNAP_DEV_BLK && s->read_only != c->read_only)
		return vj_fail(e, -EINVAL, "drive in slot %u: %s has it %s, the "
			       "configuration %s", slot, who, s->read_only ? "read-only" : "writable",
			       c->read_only ? "read-only" : "writable");
	if (s->kind == VJ_SNAP_DEV_VSOCK && s->guest_cid != c->guest_cid)
		return vj_fail(e, -EINVAL, "vsock guest CID: %s has %u, the configuration "
			       "%u", who, s->guest_cid, c->guest_cid);
	/* A net interface's MAC may differ: a clone is a new machine, and
	 * the restore gives the device the clone's own (vj_net_restore_mac). */
	return 0;
}

int vj_snapshot_check_config_of(const struct vj_snap_config *snap, const struct vj_vm_config *cfg,
				const char *who, struct vj_err *e)
{
	struct vj_snap_config c;
	int r;

	vj_snapshot_config_from(cfg, &c);
	if (snap->vcpus != c.vcpus)
		return vj_fail(e, -EINVAL, "vCPUs: %s has %u, the configuration %u",
			       who, snap->vcpus, c.vcpus);
	if (snap->memory_mib != c.memory_mib)
		return vj_fail(e, -EINVAL, "memory: %s has %llu MiB, the configuration "
			       "%llu MiB", who, (unsigned long long)snap->memory_mib,
			       (unsigned long long)c.memory_mib);
	for (unsigned i = 0; i < snap->ndevices && i < c.ndevices; i++)
		if ((r = check_device(&snap->dev[i], &c.dev[i], i, who, e)) < 0)
			return r;
	if (snap->ndevices != c.ndevices)
		return vj_fail(e, -EINVAL, "devices: %s has %u, the configuration %u",
			       who, snap->ndevices, c.ndevices);
	return 0;
}

int vj_snapshot_check_config(const struct vj_snap_config *snap, const struct vj_vm_config *cfg,
			     struct vj_err *e)
{
	return vj_snapshot_check_config_of(snap, cfg, "the snapshot", e);
}
