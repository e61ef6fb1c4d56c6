/*
 * The VM configuration: the one contract between the launcher (jailer/)
 * and the VMM (vmm/). The launcher fills it from a validated policy and
 * hands it over as a sealed memfd; standalone use of vmjail-vmm fills it
 * from flags. Either way vj_config_validate() is the single gate.
 *
 * Files are described by a struct vj_file: a name (for messages, and for
 * opening in standalone mode only) and a file descriptor. Inside the jail
 * the VMM only ever uses the descriptors.
 */
#ifndef VJ_CONFIG_H
#define VJ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define VJ_CONFIG_MAGIC 0x4a4a4d56u /* "VMJJ" */
#define VJ_CONFIG_VERSION 3u

#define VJ_PATH_MAX 512
#define VJ_CMDLINE_MAX 2048 /* x86 COMMAND_LINE_SIZE, terminator included */
#define VJ_VCPUS_MAX 32
#define VJ_MEMORY_MIB_MIN 16
#define VJ_MEMORY_MIB_MAX (256u * 1024u)
#define VJ_MAX_DRIVES 8
#define VJ_MAX_NETS 4
#define VJ_DRIVE_ID_MAX 20 /* virtio-blk GET_ID length */

struct vj_file {
	char name[VJ_PATH_MAX]; /* path or label, used in messages */
	int fd;                 /* -1: not given / not yet opened */
};

enum vj_console_kind {
	VJ_CONSOLE_STDOUT = 0,
	VJ_CONSOLE_NONE,
	VJ_CONSOLE_FILE, /* console.file: append to this file (or fd) */
};

#define VJ_REFILL_MS_MAX 3600000u /* a bucket refills within an hour */

/* Token bucket: size tokens, refilled over refill_ms; one_time_burst is
 * spent before the bucket. size == 0 disables the bucket. */
struct vj_bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_ms;
};

struct vj_rate_limit {
	struct vj_bucket_config bytes;
	struct vj_bucket_config ops;
};

/*
 * A device rate limit's settings, defined once:
 *   X(BUCKET, FIELD, FLAG, KEY, GRAMMAR)
 * FLAG is the key in vmjail-vmm's --drive/--net LIMITS (bw=1M), KEY the
 * policy's rate_limit key (NULL: none; a policy's buckets refill every
 * second), GRAMMAR the value's (common/parse.h), the same in both.
 */
enum vj_rate_grammar { VJ_RATE_SIZE, VJ_RATE_COUNT, VJ_RATE_DURATION };
#define VJ_RATE_FIELDS(X)                                                               \
	X(bytes, size, "bw", "bandwidth", VJ_RATE_SIZE)                                 \
	X(bytes, one_time_burst, "bw-burst", "bandwidth_burst", VJ_RATE_SIZE)           \
	X(bytes, refill_ms, "bw-refill", NULL, VJ_RATE_DURATION)                        \
	X(ops, size, "ops", "ops", VJ_RATE_COUNT)                                       \
	X(ops, one_time_burst, "ops-burst", "ops_burst", VJ_RATE_COUNT)                 \
	X(ops, refill_ms, "ops-refill", NULL, VJ_RATE_DURATION)

struct vj_rate_field {
	const char *flag, *key;
	enum vj_rate_grammar grammar;
	size_t offset; /* of the field in struct vj_rate_limit */
	size_t bucket; /* of its bucket there */
	bool size;     /* the bucket's size: 0 turns the bucket off */
};

#define VJ_RATE_INDEX(bucket, field, ...) VJ_RATE_##bucket##_##field,
enum { VJ_RATE_FIELDS(VJ_RATE_INDEX) VJ_RATE_NFIELDS };
#undef VJ_RATE_INDEX
extern const struct vj_rate_field vj_rate_fields[VJ_RATE_NFIELDS];

static inline uint64_t *vj_rate_field_of(const struct vj_rate_field *f, struct vj_rate_limit *r)
{
	return (uint64_t *)((char *)r + f->offset);
}

/* text in f's grammar: a bucket's size at least 1 or "unlimited" (0,
 * off), a refill period 1ms..1h. -EINVAL or -ERANGE. */
int vj_rate_parse(const struct vj_rate_field *f, const char *text, uint64_t *out);

struct vj_drive_config {
	struct vj_file file;
	char id[VJ_DRIVE_ID_MAX + 1];
	bool read_only;
	struct vj_rate_limit rate;
};

struct vj_net_config {
	struct vj_file tap; /* name: tap interface name; fd: opened tap */
	uint8_t mac[6];
	bool has_mac;
	struct vj_rate_limit rate;
};

struct vj_vsock_config {
	bool enabled;
	uint32_t guest_cid;
	struct vj_file uds;   /* name: host socket path; fd: listening socket */
	struct vj_file uds_dir; /* fd: directory holding <path>_<port> sockets */
	/* fd: connection broker for guest-initiated connections, one end of
	 * a SOCK_SEQPACKET pair (protocol in common/vsock_broker_proto.h);
	 * -1: the guest's connection requests are refused. */
	struct vj_file broker;
};

/* What backs guest RAM (vmm/memory.c). Anonymous memory in every case,
 * never a file: nothing of it sits in the VMM's descriptor table, and
 * RLIMIT_FSIZE need not leave room for it. */
enum vj_memory_backing {
	VJ_MEMORY_THP = 0, /* transparent huge pages where the host's THP allows */
	VJ_MEMORY_4K,      /* 4 KiB pages only: guest RAM taken page by page */
	VJ_MEMORY_HUGETLB, /* 2 MiB pages reserved from the host's hugetlb pool */
};
#define VJ_MEMORY_BACKING_NAMES { "thp", "4k", "hugetlb" }

/* The host's /sys/kernel/mm/transparent_hugepage/enabled, read before the
 * jail (which has no /sys) and passed on so the VMM can say what its
 * guest RAM got. */
enum vj_thp_mode {
	VJ_THP_UNKNOWN = 0, /* not readable: no THP in the kernel, or no sysfs */
	VJ_THP_ALWAYS,
	VJ_THP_MADVISE,
	VJ_THP_NEVER,
};

enum vj_seccomp_mode {
	VJ_SECCOMP_ENFORCE = 0, /* kill the process on a violation */
	VJ_SECCOMP_LOG,         /* log violations: diagnosis only */
	VJ_SECCOMP_OFF,         /* standalone development only */
};

struct vj_vm_config {
	uint32_t magic;
	uint32_t version;
	uint32_t size;

	uint32_t vcpus;
	uint64_t memory_mib;
	char cmdline[VJ_CMDLINE_MAX];

	struct vj_file kvm;
	struct vj_file kernel;
	struct vj_file initrd;

	enum vj_console_kind console;
	struct vj_file console_file;
	uint64_t console_limit; /* bytes of guest console output; 0 = none */

	uint32_t ndrives;
	struct vj_drive_config drives[VJ_MAX_DRIVES];
	uint32_t nnets;
	struct vj_net_config nets[VJ_MAX_NETS];
	struct vj_vsock_config vsock;
	bool rng;

	enum vj_memory_backing memory_backing;
	enum vj_thp_mode host_thp;

	enum vj_seccomp_mode seccomp;
	bool timing; /* print start-up timestamps on stderr */
	/* Set by a launcher that returns as soon as the guest has ended (its
	 * background teardown, jailer/README.md "Teardown"): the VMM lets go
	 * of stdout and stderr before the VM's teardown, so that a reader of
	 * them sees EOF then. Never set otherwise: a VMM keeps its stdio. */
	bool release_stdio;
	/* fd: the launcher's control channel (common/vmm_ctl.h), a
	 * SOCK_SEQPACKET socket; -1: none (standalone without --control-fd). */
	struct vj_file control;
	/* A snapshot to resume instead of booting (vmm/SNAPSHOT.md): its
	 * state file and its memory file, both read-only. fd -1 (and no
	 * name): boot the kernel. With them the kernel may be absent. */
	struct vj_file restore_state, restore_memory;
	/* A live migration to receive instead of booting (vmm/MIGRATION.md):
	 * the stream from the source VMM, read and answered on this fd. fd
	 * -1: none. With it the kernel may be absent. */
	struct vj_file migrate_from;
};

void vj_config_init(struct vj_vm_config *cfg);

/* Whether the VM resumes a snapshot rather than boots a kernel. */
bool vj_config_restoring(const struct vj_vm_config *cfg);
/* Whether the VM is received from a migration stream. */
bool vj_config_migrating(const struct vj_vm_config *cfg);

/* Checks every field; on failure leaves one line naming the field and the
 * reason in err and returns -EINVAL. */
int vj_config_validate(const struct vj_vm_config *cfg, struct vj_err *err);

/* Standalone flags of vmjail-vmm. Returns 0, 1 when --help was printed,
 * or -errno with a one-line reason in err. */
int vj_config_parse_args(struct vj_vm_config *cfg, int argc, char **argv,
			 struct vj_err *err);
void vj_config_usage(const char *prog);

/* The long options vj_config_parse_args() takes (zero-terminated): the
 * launcher accepts the same flags and hands them through. */
struct option;
const struct option *vj_config_options(void);

/* "thp", "4k", "hugetlb" <-> enum vj_memory_backing; -EINVAL for any
 * other word. */
int vj_memory_backing_parse(const char *word, enum vj_memory_backing *out);
const char *vj_memory_backing_name(enum vj_memory_backing b);

/* The mode in the text of /sys/kernel/mm/transparent_hugepage/enabled
 * ("always [madvise] never\n": the bracketed word); VJ_THP_UNKNOWN for
 * anything else. */
enum vj_thp_mode vj_thp_mode_parse(const char *text);
const char *vj_thp_mode_name(enum vj_thp_mode m);
/* Reads that file: VJ_THP_UNKNOWN when it cannot. Before the jail only. */
enum vj_thp_mode vj_thp_host_mode(void);

/* Launcher -> VMM hand-over through a sealed memfd. */
int vj_config_to_memfd(const struct vj_vm_config *cfg);
int vj_config_from_fd(int fd, struct vj_vm_config *cfg, struct vj_err *err);

#endif
