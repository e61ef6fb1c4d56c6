/*
 * A sandbox policy (tenant-supplied, untrusted) and the host configuration
 * (operator-supplied, trusted), as validated structs. The YAML schema is
 * documented in policy/README.md. The launcher works from struct vj_policy
 * only, whether it came from a YAML file or from command-line flags.
 */
#ifndef VJ_POLICY_H
#define VJ_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define VJ_POLICY_VERSION 1
#define VJ_ID_MAX 64           /* sandbox id: [A-Za-z0-9-]{1,64} */
#define VJ_NETNS_NAME_MAX 64
#define VJ_CPUSET_MAX 64
#define VJ_MAX_ROOTS 8
#define VJ_MAX_ARGS 256
#define VJ_MAX_ENV 128
/* `vmjail exec`s one sandbox may run at once at most (the host file's
 * exec_max; each has a vsock port of its own). */
#define VJ_EXEC_SLOTS 8

/* Namespaces the jail creates (bitmask). */
enum vj_ns {
	VJ_NS_MOUNT = 1u << 0,
	VJ_NS_PID = 1u << 1,
	VJ_NS_IPC = 1u << 2,
	VJ_NS_UTS = 1u << 3,
	VJ_NS_NET = 1u << 4,
	VJ_NS_CGROUP = 1u << 5,
	VJ_NS_USER = 1u << 6,
	VJ_NS_ALL_BUT_USER = (1u << 6) - 1,
};

/*
 * Host ids. The built-in range lies where no user or service of a typical
 * host has ids: above the login users (1000..60000), systemd's dynamic
 * users (61184..65519), nobody (65534), the subordinate ids useradd hands
 * out (100000..600100000) and systemd-nspawn's container ranges
 * (524288..1879048191); below systemd's foreign range (from 0x7FFE0000)
 * and 2^31, past which tools may take ids for negative numbers. Each
 * sandbox gets a block of 65536, what a full user namespace maps: 4094
 * blocks, as many sandboxes at once.
 */
#define VJ_IDS_DEFAULT_MIN 0x70000000u   /* 1879048192 */
#define VJ_IDS_DEFAULT_MAX 0x7FFDFFFFu   /* 2147352575 */
#define VJ_IDS_DEFAULT_BLOCK 65536u
#define VJ_USERNS_IDS_MAX 65536u         /* ids one user namespace maps */
#define VJ_NOBODY_ID 65534u              /* never in the range */

/* UINT64_MAX in any limit means "not set: leave the host default". */
#define VJ_UNLIMITED UINT64_MAX

struct vj_cgroup_limits {
	uint64_t cpu_quota_us;   /* cpu.max quota / cpu.cfs_quota_us */
	uint64_t cpu_period_us;  /* cpu.max period / cpu.cfs_period_us */
	uint64_t memory_max;     /* bytes */
	uint64_t memory_swap_max; /* bytes */
	uint64_t pids_max;
	char cpuset_cpus[VJ_CPUSET_MAX]; /* "" = inherit */
	char cpuset_mems[VJ_CPUSET_MAX];
	uint64_t io_weight;      /* 1..10000 (v2 io.weight / v1 blkio.weight scaled) */
	uint64_t cpu_weight;     /* 1..10000 (v2 cpu.weight / v1 cpu.shares scaled) */
};

/* The VM's resources in the units of their rows (policy/settings.h):
 * memory in bytes, timeout in ms; VJ_UNLIMITED for none. */
struct vj_vm_resources {
	uint64_t vcpus;
	uint64_t memory;
	uint64_t timeout;
	uint64_t console_output;
	uint64_t output;
};

struct vj_rlimits {
	uint64_t nofile;
	uint64_t nproc;
	uint64_t fsize;   /* bytes */
	uint64_t core;    /* always 0 unless the operator allows otherwise */
	uint64_t memlock; /* bytes */
};

struct vj_jail_policy {
	/* With a user namespace (VJ_NS_USER), the ids the VMM runs as inside
	 * it; otherwise 0 and unused: host ids are never a policy's, the
	 * launcher gives each sandbox its own (jailer/ids.h). */
	uint32_t uid;
	uint32_t gid;
	uint32_t namespaces; /* enum vj_ns bits */
	/* Ids inside the user namespace, 0..count-1; the launcher maps them
	 * to the sandbox's block of host ids. */
	uint32_t userns_count;
	char netns[VJ_NETNS_NAME_MAX + 1]; /* join /run/netns/<name>; "" = new */
	bool mount_proc; /* a /proc inside the jail root (default: none) */
	struct vj_cgroup_limits cgroup;
	struct vj_rlimits rlimits;
};

struct vj_limits {
	uint64_t timeout_ms;    /* wall clock for the whole sandbox; 0 = none */
	uint64_t console_bytes; /* guest console output cap */
	uint64_t output_bytes;  /* cap on each of the workload's stdout and stderr */
};

/* What runs inside the guest (per request). */
struct vj_workload {
	uint32_t argc;
	char *argv[VJ_MAX_ARGS + 1];
	uint32_t envc;
	char *env[VJ_MAX_ENV + 1];
};

struct vj_policy {
	uint32_t version;
	char id[VJ_ID_MAX + 1];
	struct vj_vm_config vm; /* file names filled, fds -1: the launcher opens */
	struct vj_jail_policy jail;
	struct vj_limits limits;
	enum vj_seccomp_mode seccomp;
	struct vj_workload workload;
};

/* Operator configuration, default /etc/vmjail/host.yaml. */
/* Whether a foreground `vmjail run` returns once its sandbox is gone
 * (wait), or once the workload's status and output are delivered, the
 * VM's and jail's teardown finishing behind it (background). */
enum vj_teardown { VJ_TEARDOWN_WAIT, VJ_TEARDOWN_BACKGROUND };
#define VJ_TEARDOWN_NAMES { "wait", "background" }

struct vj_host_config {
	unsigned nkernel_roots, nimage_roots, nsocket_roots;
	char kernel_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	char image_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	char socket_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	/* Where `vmjail snapshot` may write (none by default); apart from
	 * run_dir and from every other root, which a policy can name. */
	unsigned nsnapshot_roots;
	char snapshot_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	/* Storage every host a sandbox may migrate between mounts at the same
	 * path (none by default): a writable drive beneath one of these
	 * migrates, its lock handed from the source's VMM to the destination's
	 * (vmm/MIGRATION.md). The operator's word: no policy can say it. */
	unsigned nshared_roots;
	char shared_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	/* The host ids the launcher gives sandboxes, id_block consecutive
	 * uids and gids to each, no two live sandboxes the same. */
	uint32_t uid_min, uid_max;
	uint32_t gid_min, gid_max;
	uint32_t id_block;
	/* max.vcpus, max.memory, ...; max_vm.output is also the default of
	 * limits.output. */
	struct vj_vm_resources max_vm;
	struct vj_cgroup_limits max_cgroup;
	char cgroup_parent[VJ_PATH_MAX]; /* e.g. "vmjail" under each hierarchy */
	char run_dir[VJ_PATH_MAX];       /* jail dirs, pid files: /run/vmjail */
	bool has_owner;                  /* owner: who may control every sandbox */
	uint32_t exec_max;               /* `vmjail exec`s at once per sandbox, 0..VJ_EXEC_SLOTS */
	uint32_t owner;
	bool allow_seccomp_log;
	uint32_t required_namespaces; /* enum vj_ns bits no policy may drop */
	unsigned nnetns;              /* named netns a policy may join */
	char allowed_netns[VJ_MAX_ROOTS][VJ_NETNS_NAME_MAX + 1];
	struct vj_rlimits max_rlimits;
	/* What backs guest RAM where a policy does not choose; only where it
	 * is hugetlb may a policy ask for hugetlb (the pool is the operator's). */
	enum vj_memory_backing memory_backing;
	/* What `vmjail run` waits for before it returns (jailer/README.md,
	 * "Teardown"). */
	enum vj_teardown teardown;
	/* vmjail-runc (jailer/OCI.md): the policy of a container whose
	 * config.json names none ("": such containers are refused), and where
	 * the policies it may name (io.vmjail.policy) must lie. */
	char oci_policy[VJ_PATH_MAX];
	unsigned noci_policy_roots;
	char oci_policy_roots[VJ_MAX_ROOTS][VJ_PATH_MAX];
	/* Container images (jailer/image/image.h), host file `images:`: where their
	 * root images are cached, the cache's size, and the bounds on what
	 * one image may hold. */
	char image_cache[VJ_PATH_MAX];
	uint64_t image_cache_max;  /* bytes of the whole cache (LRU eviction) */
	uint64_t image_max_files;  /* entries of one image, its layers together */
	uint64_t image_max_bytes;  /* bytes of one image's files */
	bool image_ext4;           /* images.format: ext4 root images, not erofs */
	char source[VJ_PATH_MAX];     /* the host file, or "built-in defaults" */
};

#endif
