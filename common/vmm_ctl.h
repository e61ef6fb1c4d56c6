/*
 * The private control channel between the launcher and its VMM: one end
 * of a SOCK_SEQPACKET socket pair, handed to the VMM like any other
 * resource (struct vj_vm_config .control). The launcher asks, the VMM
 * answers; the VMM also tells the launcher what happened unasked (the
 * boot marker). Fixed-size messages, one per packet: nothing to parse
 * but a type and a sequence number, and nothing a guest can put there.
 * Users and tools never speak this: they speak the launcher's control
 * socket (jailer/CONTROL.md).
 */
#ifndef VJ_VMM_CTL_H
#define VJ_VMM_CTL_H

#include <stdint.h>

#define VJ_VMM_CTL_VERSION 1

enum vj_vmm_ctl_op {
	/* launcher -> VMM; each gets one VJ_VMM_CTL_REPLY with its seq */
	VJ_VMM_CTL_PAUSE = 1, /* every vCPU out of KVM_RUN and held, devices idle */
	VJ_VMM_CTL_RESUME,    /* the guest runs again, its clock as it was */
	VJ_VMM_CTL_STATS,     /* the reply carries struct vj_vmm_stats */
	/* VMM -> launcher */
	VJ_VMM_CTL_REPLY,
	VJ_VMM_CTL_EVENT_BOOT_MARKER, /* the guest wrote the boot marker; u64 = ns
				       * of CLOCK_MONOTONIC when it did */
	/* launcher -> VMM: the guest's keyboard types Ctrl-Alt-Del (press and
	 * release), the way to ask a guest without an agent to shut down
	 * (Linux sends its init SIGINT, or reboots). Status 0 once the keys
	 * are queued for the guest, which says nothing of whether it reads
	 * them; -EAGAIN while the guest keeps its keyboard disabled, as it
	 * does before its driver is up and while it shuts down; -ENOBUFS
	 * while an earlier Ctrl-Alt-Del still waits unread. */
	VJ_VMM_CTL_CTRL_ALT_DEL,
	/* launcher -> VMM, with two descriptors (SCM_RIGHTS): the snapshot's
	 * state file and memory file, fresh and empty, opened for writing.
	 * The VMM writes the paused VM's state and RAM into them
	 * (vmm/SNAPSHOT.md), fsyncs both, closes its copies and replies 0;
	 * -EBUSY: the VM is not paused; -EROFS: it has a writable drive;
	 * -EFBIG: guest RAM exceeds the VMM's RLIMIT_FSIZE; -EBADF: not
	 * exactly two descriptors came; other -errno: a write or KVM failed
	 * (the files are then to be thrown away). The VM stays paused. */
	VJ_VMM_CTL_SNAPSHOT,
	/* launcher -> VMM, with one descriptor (SCM_RIGHTS): a connected
	 * stream to the destination VMM, and data.migrate. The VMM starts a
	 * live migration (vmm/MIGRATION.md) on a thread of its own and
	 * replies 0 at once, the guest still running; -EALREADY: one is under
	 * way; -EBUSY: the VM is paused; -EROFS: it has a writable drive and
	 * VJ_VMM_MIGRATE_SHARED_DRIVES is not set; -EBADF: not exactly one
	 * descriptor; -EINVAL: parameters out of range. The outcome comes
	 * later as VJ_VMM_CTL_EVENT_MIGRATED. */
	VJ_VMM_CTL_MIGRATE_SEND,
	/* VMM -> launcher: a migration ended. status 0: the destination runs
	 * the guest, and this VMM ends with VJ_EXIT_MIGRATED right after;
	 * otherwise the guest runs on here as before (data.migration says
	 * why). */
	VJ_VMM_CTL_EVENT_MIGRATED,
	/* VMM -> launcher: a VMM started with a migration stream
	 * (--migrate-from-fd) received the guest, runs it and told the source
	 * so; u64: VJ_VMM_MIGRATE_AGENT when the source had a guest agent's
	 * session. A VMM that cannot receive it exits instead (status 9). */
	VJ_VMM_CTL_EVENT_RECEIVED,
	/* VMM -> launcher: the guest has ended, its console and devices are
	 * flushed and the VMM's stdout and stderr are closed; status: what
	 * the VMM exits with (vmm/exit.h). Sent once, right before the VMM
	 * tears its VM down and exits, which can take KVM far longer than
	 * the guest's end: a launcher that need not wait for that may act on
	 * the status now (jailer/README.md, "Teardown"). A VMM that dies
	 * otherwise sends nothing; its pidfd says how it ended. */
	VJ_VMM_CTL_EVENT_ENDED,
};

/* VJ_VMM_CTL_MIGRATE_SEND's parameters. */
#define VJ_VMM_MIGRATE_SHARED_DRIVES 1u /* the writable drives are shared storage */
/* A guest agent runs the sandbox's workload: the stream says so, and the
 * destination's VMM passes it on in VJ_VMM_CTL_EVENT_RECEIVED's u64, so
 * that its launcher continues the agent's session. */
#define VJ_VMM_MIGRATE_AGENT 2u
#define VJ_VMM_MIGRATE_ROUNDS_MAX 32
struct vj_vmm_migrate {
	uint64_t max_downtime_ns; /* the pause the guest may see; 1 ms..60 s */
	uint32_t max_rounds;      /* memory rounds at most, round 0 and the paused one
				   * included; 2..30 */
	uint32_t flags;           /* VJ_VMM_MIGRATE_* */
};

/* What a migration did, for VJ_VMM_CTL_EVENT_MIGRATED. */
struct vj_vmm_migration {
	uint64_t total_ns;    /* request to the end */
	uint64_t downtime_ns; /* pause to the destination's RUNNING */
	uint64_t bytes;       /* sent down the stream */
	uint32_t rounds;      /* memory rounds sent, the last (paused) one included */
	uint32_t round_limit; /* 1: it stopped at the round limit, not by converging */
	uint64_t pages[VJ_VMM_MIGRATE_ROUNDS_MAX]; /* pages sent per round */
	char reason[160];     /* status != 0: why, one line */
};

/* Exits of all vCPUs by kind, and per device slot what it moved. */
#define VJ_VMM_STATS_DEVICES 16

struct vj_vmm_dev_stats {
	char name[12];      /* "blk", "net", "vsock", "rng"; "" for a free slot */
	uint64_t requests;  /* chains completed */
	uint64_t bytes;     /* bytes moved for the guest, both ways */
	uint64_t throttled; /* times a rate limiter held the device back */
};

struct vj_vmm_stats {
	uint64_t exits_io, exits_mmio, exits_hlt, exits_other;
	uint64_t paused_ns; /* time spent paused, in all */
	struct vj_vmm_dev_stats dev[VJ_VMM_STATS_DEVICES];
};

struct vj_vmm_ctl_msg {
	uint32_t version; /* VJ_VMM_CTL_VERSION */
	uint32_t op;      /* enum vj_vmm_ctl_op */
	uint32_t seq;     /* chosen by the launcher; a reply carries its request's */
	int32_t status;   /* replies: 0 or a negative errno */
	union {
		uint64_t u64;
		struct vj_vmm_stats stats;
		struct vj_vmm_migrate migrate;
		struct vj_vmm_migration migration;
	} data;
};

#endif
