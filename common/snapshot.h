/*
 * The snapshot state file: everything of a paused VM but its RAM (vCPUs,
 * in-kernel interrupt controllers and timer, KVM clock, devices), in one
 * versioned, sectioned file with a CRC32 per section. Written by
 * vmjail-vmm (VJ_VMM_CTL_SNAPSHOT), read back by vmjail-vmm on restore and
 * by the launcher, which checks a policy against the CONFIG summary before
 * it builds a jail. The format, what each section holds and what a clone
 * shares with its siblings: vmm/SNAPSHOT.md.
 *
 * The layout is x86-64's, little-endian, with the kernel's own structures
 * (linux/kvm.h) where KVM defines the state: a snapshot is restored on a
 * host of the same CPU vendor, family and model (the header says which),
 * so there is nothing to convert. Sections follow one another, each with
 * its own length and CRC, and nothing points forward: the same sections
 * can go down a stream (live migration) as they come.
 *
 * Every byte of a state file is input: vj_snapshot_parse() checks the
 * whole file (header, every section's length and CRC, the set of
 * sections against the CONFIG section, each section's own fields) before
 * anyone uses any of it, and refuses anything else with one line naming
 * the file and what is wrong.
 */
#ifndef VJ_SNAPSHOT_H
#define VJ_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "config.h"
#include "error.h"

#define VJ_SNAPSHOT_MAGIC "VJSNAPST" /* 8 bytes, no terminator in the file */
/* Read exactly: another version is refused in one line (-EPROTO). 2:
 * virtio-net has a third queue (control) and VIRTIO sections carry the
 * configuration generation. */
#define VJ_SNAPSHOT_VERSION 2u
/* A state file is a few hundred KiB at most (32 vCPUs of ~7 KiB each): a
 * larger one is refused before it is read. */
#define VJ_SNAPSHOT_MAX_BYTES (4u << 20)
#define VJ_SNAPSHOT_SECTIONS_MAX 128
#define VJ_SNAPSHOT_DEVICES_MAX 16 /* virtio-mmio slots */
#define VJ_SNAPSHOT_MSRS_MAX 64

/* The host CPU a snapshot was taken on, from CPUID. */
struct vj_snapshot_cpu {
	char vendor[12]; /* "GenuineIntel", "AuthenticAMD": not terminated */
	uint32_t family, model; /* display family and model (extended fields added) */
};

struct vj_snapshot_header {
	char magic[8];
	uint32_t version;
	uint32_t nsections;
	struct vj_snapshot_cpu cpu;
	uint32_t reserved; /* 0 */
	uint32_t crc; /* CRC32 of the header up to here */
};

enum vj_snapshot_section_type {
	VJ_SNAP_CONFIG = 1, /* struct vj_snap_config; first, exactly once */
	VJ_SNAP_VM,         /* struct vj_snap_vm; exactly once */
	VJ_SNAP_VCPU,       /* struct vj_snap_vcpu; index = vCPU, one per vCPU */
	VJ_SNAP_UART,       /* struct vj_snap_uart; exactly once */
	VJ_SNAP_I8042,      /* struct vj_snap_i8042; exactly once */
	VJ_SNAP_BOOT_MARKER, /* struct vj_snap_boot_marker; exactly once */
	VJ_SNAP_VIRTIO,     /* struct vj_snap_virtio; index = slot, one per device */
	VJ_SNAP_TYPES_END
};

struct vj_snapshot_section_header {
	uint32_t type;   /* enum vj_snapshot_section_type */
	uint32_t index;  /* vCPU or slot; 0 for the others */
	uint64_t length; /* payload bytes that follow */
	uint32_t crc;    /* CRC32 of this header (crc 0) and the payload */
	uint32_t reserved; /* 0 */
};

/* ---- CONFIG: what a restoring VMM (and the launcher's policy) must match */

enum vj_snap_device_kind { VJ_SNAP_DEV_BLK = 1, VJ_SNAP_DEV_NET, VJ_SNAP_DEV_VSOCK,
			   VJ_SNAP_DEV_RNG };

struct vj_snap_device {
	uint32_t kind;      /* enum vj_snap_device_kind */
	uint32_t guest_cid; /* vsock */
	uint8_t read_only;  /* blk: always 1 (a writable drive is never snapshotted) */
	uint8_t has_mac;    /* net */
	uint8_t mac[6];
};

struct vj_snap_config {
	uint32_t vcpus;
	uint32_t ndevices; /* in slot order: drives, nets, vsock, rng */
	uint64_t memory_mib;
	struct vj_snap_device dev[VJ_SNAPSHOT_DEVICES_MAX];
};

/* What the launcher gets back from a state file it validated. */
struct vj_snapshot_summary {
	uint32_t version;
	struct vj_snapshot_cpu cpu;
	struct vj_snap_config config;
};

/* ---- VM ---------------------------------------------------------------- */

struct vj_snap_vm {
	struct kvm_clock_data clock;
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
};

/* ---- vCPU -------------------------------------------------------------- */

#define VJ_SNAP_VCPU_XSAVE 1u     /* xsave holds the FPU/SSE/AVX state, not fpu */
#define VJ_SNAP_VCPU_XCRS 2u      /* xcrs is valid */
#define VJ_SNAP_VCPU_DEBUGREGS 4u /* debugregs is valid */
#define VJ_SNAP_VCPU_FLAGS (VJ_SNAP_VCPU_XSAVE | VJ_SNAP_VCPU_XCRS | VJ_SNAP_VCPU_DEBUGREGS)

_Static_assert(sizeof(struct kvm_xsave) == 4096, "KVM_GET_XSAVE's region is 4 KiB");

struct vj_snap_vcpu {
	uint32_t flags;
	uint32_t nmsrs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	/* struct kvm_xsave's fixed part (KVM_GET_XSAVE, 4 KiB); the kernel's
	 * type ends in a flexible array, which cannot sit in the middle */
	uint32_t xsave[1024];
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_msr_entry msrs[VJ_SNAPSHOT_MSRS_MAX];
};

/* ---- devices ----------------------------------------------------------- */

#define VJ_SNAP_UART_FIFO 16

struct vj_snap_uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fifo_enabled, thr_ipending, irq_level;
	uint8_t rx_head, rx_count;
	uint8_t reserved;
	uint8_t rx[VJ_SNAP_UART_FIFO];
};

#define VJ_SNAP_I8042_BUF 16

struct vj_snap_i8042 {
	uint8_t ctr, outp, last_was_cmd, cmd, kbd_cmd, scanning, kbd_last;
	uint8_t head, count;
	uint8_t reserved[7];
	uint8_t buf[VJ_SNAP_I8042_BUF];
};

struct vj_snap_boot_marker {
	uint64_t fired; /* 1: the guest wrote the marker before the snapshot */
};

#define VJ_SNAP_VIRTIO_QUEUES 3

struct vj_snap_virtq {
	uint32_t num; /* QueueNum as the driver wrote it */
	uint16_t size;
	uint8_t ready, broken, indirect;
	uint8_t reserved;
	uint16_t last_avail, used_idx;
	uint64_t desc_gpa, avail_gpa, used_gpa;
};

/* One virtio-mmio transport. Device-own state is folded into it where a
 * device has any that outlives a request (vmm/SNAPSHOT.md). */
struct vj_snap_virtio {
	uint32_t device_id;
	uint32_t nqueues;
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint32_t isr;
	uint32_t config_generation;
	uint64_t device_features, driver_features;
	struct vj_snap_virtq q[VJ_SNAP_VIRTIO_QUEUES];
};

/* ---- writing ----------------------------------------------------------- */

/* Sections are collected in memory, then written with one pwrite. */
struct vj_snapshot_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nsections;
	int err; /* first failure (-ENOMEM, -E2BIG), sticky */
};

void vj_snapshot_cpu_host(struct vj_snapshot_cpu *out);
void vj_snapshot_writer_init(struct vj_snapshot_writer *w, const struct vj_snapshot_cpu *cpu);
void vj_snapshot_add(struct vj_snapshot_writer *w, uint32_t type, uint32_t index,
		     const void *data, size_t len);
/* Seals the header (section count, CRC). 0, or the first error. */
int vj_snapshot_writer_finish(struct vj_snapshot_writer *w);
void vj_snapshot_writer_free(struct vj_snapshot_writer *w);

/* The CONFIG section a VM of this configuration has. */
void vj_snapshot_config_from(const struct vj_vm_config *cfg, struct vj_snap_config *out);

/* ---- reading ----------------------------------------------------------- */

struct vj_snapshot_section {
	uint32_t type, index;
	uint64_t length;
	const uint8_t *data;
};

struct vj_snapshot {
	uint8_t *buf; /* the whole file (vj_snapshot_load) or NULL */
	struct vj_snapshot_summary summary;
	unsigned nsections;
	struct vj_snapshot_section sections[VJ_SNAPSHOT_SECTIONS_MAX];
};

/*
 * Checks a whole state file in buf[0..len) and indexes its sections
 * (pointers into buf). `name` is the file for messages; `host` the CPU
 * it must have been taken on (NULL: any). 0, or -EINVAL (-EPROTO for a
 * foreign version, -ENOEXEC for another CPU) with one line in e.
 */
int vj_snapshot_parse(const uint8_t *buf, size_t len, const char *name,
		      const struct vj_snapshot_cpu *host, struct vj_snapshot *out,
		      struct vj_err *e);

/* Reads state_fd from offset 0 (at most VJ_SNAPSHOT_MAX_BYTES) and
 * parses it against this host's CPU; vj_snapshot_free() releases it. */
int vj_snapshot_load(int state_fd, const char *name, struct vj_snapshot *out, struct vj_err *e);
void vj_snapshot_free(struct vj_snapshot *s);

/* The one section of this type and index; NULL if there is none. Its
 * data may be unaligned: read it through vj_snapshot_copy(). */
const struct vj_snapshot_section *vj_snapshot_find(const struct vj_snapshot *s, uint32_t type,
						   uint32_t index);
/* The section's payload into out, which is len bytes: -ENOENT when there
 * is no such section or it has another length. */
int vj_snapshot_copy(const struct vj_snapshot *s, uint32_t type, uint32_t index, void *out,
		     size_t len);

/*
 * For the launcher: validates the whole file (every CRC, the version,
 * this host's CPU) and returns its CONFIG summary. The file is named in
 * messages by what /proc/self/fd says it is.
 */
int vj_snapshot_read_summary(int state_fd, struct vj_snapshot_summary *out, struct vj_err *e);

/*
 * Whether a VM of configuration cfg can resume this snapshot: vCPUs,
 * memory and the device list must be the same. 0, or -EINVAL with one
 * line naming the field and both values ("snapshot has 2 vCPUs, the
 * configuration 1").
 */
int vj_snapshot_check_config(const struct vj_snap_config *snap, const struct vj_vm_config *cfg,
			     struct vj_err *e);

/* The same, naming the other side who ("the source") instead of "the
 * snapshot". */
int vj_snapshot_check_config_of(const struct vj_snap_config *snap, const struct vj_vm_config *cfg,
				const char *who, struct vj_err *e);

/* "blk", "net", "vsock", "rng"; "unknown" otherwise. */
const char *vj_snap_device_kind_name(uint32_t kind);

uint32_t vj_crc32(const void *data, size_t len);
/* A section's CRC: its header (whatever its crc field holds) with crc 0,
 * then its payload. */
uint32_t vj_snapshot_section_crc(const struct vj_snapshot_section_header *sh, const void *data,
				 size_t len);

#endif
