/*
 * The live migration stream (vmm/MIGRATION.md): what a source vmjail-vmm
 * sends down a byte stream (a socket, an ssh pipe) to a destination
 * vmjail-vmm, and what the destination answers on the same stream.
 *
 * The stream is a run of frames, each a fixed header (magic, type,
 * payload length, CRC32) and its payload:
 *
 *   source -> destination: HELLO, then MEMORY frames (round 0 all of
 *   guest RAM but its zero pages, later rounds the pages dirtied since),
 *   then STATE (the snapshot state file of common/snapshot.h, as it is),
 *   then, once RUNNING came back, END; or ABORT at any point.
 *   destination -> source: ACCEPT or REFUSE after HELLO, RUNNING once
 *   its vCPUs run.
 *
 * Every byte of it is input to the side that reads it: a source can be
 * hostile or broken, and so can a destination. vj_mig_read_frame() checks
 * a frame's magic, type, length (exact for fixed payloads, bounded for
 * the others) and CRC before anyone looks at its payload, and
 * vj_mig_check_hello() / vj_mig_check_run() what the fields say against
 * the reader's own VM. A MEMORY frame's CRC covers its header and its
 * run descriptor, not the page data, which goes straight into guest RAM;
 * the transport (ssh) vouches for the data.
 */
#ifndef VJ_MIGRATION_STREAM_H
#define VJ_MIGRATION_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define VJ_MIG_MAGIC "VJMIGRAT" /* HELLO's, 8 bytes, no terminator */
#define VJ_MIG_FRAME_MAGIC 0x474d4a56u /* "VJMG" little-endian, each frame */
/* Moves with VJ_SNAPSHOT_VERSION: STATE is a state file, and a
 * destination that would refuse it must refuse at HELLO, before any
 * memory. 2: state file version 2. */
#define VJ_MIG_VERSION 2u
#define VJ_MIG_PAGE 4096u
/* Pages in one MEMORY frame: 1 MiB of data at most, so that a frame's
 * length is bounded and a receiver never buffers more. */
#define VJ_MIG_RUN_PAGES_MAX 256u
#define VJ_MIG_REASON_MAX 200

enum vj_mig_frame_type {
	VJ_MIG_HELLO = 1, /* struct vj_mig_hello */
	VJ_MIG_ACCEPT,    /* empty */
	VJ_MIG_REFUSE,    /* struct vj_mig_refuse */
	VJ_MIG_MEMORY,    /* struct vj_mig_run, then its pages unless VJ_MIG_RUN_ZERO */
	VJ_MIG_STATE,     /* a snapshot state file, at most VJ_SNAPSHOT_MAX_BYTES */
	VJ_MIG_RUNNING,   /* empty */
	VJ_MIG_END,       /* empty */
	VJ_MIG_ABORT,     /* struct vj_mig_refuse: why the source gave up */
	VJ_MIG_TYPES_END
};

struct vj_mig_frame_header {
	uint32_t magic;  /* VJ_MIG_FRAME_MAGIC */
	uint32_t type;   /* enum vj_mig_frame_type */
	uint64_t length; /* payload bytes that follow */
	uint32_t crc;    /* CRC32 of this header (crc 0) and the payload (MEMORY: its run) */
	uint32_t reserved; /* 0 */
};

/* A guest agent in the guest runs the sandbox's workload, for the
 * destination's launcher to continue (rootfs/PROTOCOL.md, CONTINUE). */
#define VJ_MIG_HELLO_AGENT 1u

/* What the destination must match before it accepts a byte of memory. */
struct vj_mig_hello {
	char magic[8]; /* VJ_MIG_MAGIC */
	uint32_t version;
	uint32_t page_size; /* VJ_MIG_PAGE */
	struct vj_snapshot_cpu cpu;
	uint32_t flags; /* VJ_MIG_HELLO_*; other bits 0 */
	struct vj_snap_config config;
};

/* One run of guest pages, numbered from the start of guest RAM (its
 * regions in guest-physical order, the MMIO gap left out). */
#define VJ_MIG_RUN_ZERO 1u /* the pages are all zero: no data follows */
struct vj_mig_run {
	uint32_t round;
	uint32_t flags; /* VJ_MIG_RUN_ZERO */
	uint64_t first_page;
	uint32_t npages; /* 1..VJ_MIG_RUN_PAGES_MAX */
	uint32_t reserved; /* 0 */
};

struct vj_mig_refuse {
	char reason[VJ_MIG_REASON_MAX]; /* terminated; printable when read */
};

/* A frame as read: its type, and its payload (MEMORY: the run, its data
 * still on the stream, data_len bytes of it). */
struct vj_mig_frame {
	uint32_t type;
	uint64_t length;
	union {
		struct vj_mig_hello hello;
		struct vj_mig_run run;
		struct vj_mig_refuse refuse;
	} u;
	uint8_t *state; /* STATE: length bytes, malloc'd; vj_mig_frame_free() */
	uint64_t data_len; /* MEMORY: page bytes that follow on the stream */
};

const char *vj_mig_frame_name(uint32_t type);

/* ---- writing: whole frames, retried over short writes and EINTR ---- */

/* 0, or -errno of the write (-EPIPE when the peer is gone). */
int vj_mig_send(int fd, uint32_t type, const void *payload, size_t len);
/* A MEMORY frame: the run and, unless it is a zero run, npages pages
 * from data. */
int vj_mig_send_run(int fd, const struct vj_mig_run *run, const void *data);
/* The same on a socket, never blocked past deadline_ns (CLOCK_MONOTONIC;
 * 0: none, and any stream): -ETIMEDOUT when the frame is not all written
 * by then. */
int vj_mig_send_until(int fd, uint32_t type, const void *payload, size_t len,
		      uint64_t deadline_ns);
int vj_mig_send_run_until(int fd, const struct vj_mig_run *run, const void *data,
			  uint64_t deadline_ns);
int vj_mig_send_reason(int fd, uint32_t type, const char *reason);

void vj_mig_hello_init(struct vj_mig_hello *h, const struct vj_snapshot_cpu *cpu,
		       const struct vj_snap_config *config);

/* ---- reading ---- */

/*
 * Reads one frame's header and payload (MEMORY: the run only) from fd,
 * and checks magic, type, length and CRC; `peer` names the other side in
 * messages ("the source"). 0; -EPIPE at a clean end of stream before a
 * header ("the source closed the stream"); -EIO on a short frame or a
 * read error; -EPROTO on anything malformed; one line in e each time.
 */
int vj_mig_read_frame(int fd, const char *peer, struct vj_mig_frame *f, struct vj_err *e);
void vj_mig_frame_free(struct vj_mig_frame *f);

/* Reads exactly len bytes: 0, -EPIPE at end of stream, or -errno. */
int vj_mig_read_full(int fd, void *buf, size_t len);

/*
 * The HELLO against this side: magic, version, page size, this host's
 * CPU (NULL: any), and the CONFIG against cfg (vj_snapshot_check_config:
 * vCPUs, memory, devices). 0, or -EPROTO / -ENOEXEC / -EINVAL with one
 * line naming both values.
 */
int vj_mig_check_hello(const struct vj_mig_hello *h, const struct vj_snapshot_cpu *host,
		       const struct vj_vm_config *cfg, struct vj_err *e);

/* A run against guest RAM of total_pages pages: in range, sizes right. */
int vj_mig_check_run(const struct vj_mig_run *run, uint64_t total_pages, struct vj_err *e);

/* ---- dirty bitmaps (KVM's layout: bit i of 64-bit word i / 64) ---- */

/*
 * The next run of set bits at or after *pos among the first nbits, at
 * most max bits long (0: unbounded): true with *start and *len, *pos
 * moved past it; false when there is none. Bits past nbits in the last
 * word are ignored.
 */
bool vj_bitmap_next_run(const uint64_t *bm, uint64_t nbits, uint64_t *pos, uint64_t max,
			uint64_t *start, uint64_t *len);
uint64_t vj_bitmap_count(const uint64_t *bm, uint64_t nbits);

#endif
