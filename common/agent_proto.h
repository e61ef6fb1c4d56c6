/*
 * The launcher <-> guest agent protocol (rootfs/PROTOCOL.md), shared by
 * both ends: vmjail-init in the guest and jailer/agent.c on the host.
 *
 * A frame is an 8-byte header {u32 length, u16 type, u16 flags}, little
 * endian, followed by `length` payload bytes. The codec here works on
 * bytes only; struct vj_agent_rx / vj_agent_tx move frames over any
 * connected stream fd (vsock in the guest, AF_UNIX on the host, a
 * socketpair in tests).
 *
 * Every decoder treats its input as hostile: lengths are checked against
 * the hard limits below before anything is read or copied, reserved bits
 * and trailing bytes are errors, and strings never contain NUL.
 */
#ifndef VJ_AGENT_PROTO_H
#define VJ_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define VJ_AGENT_MAGIC 0x47414a56u /* "VJAG" as little-endian bytes */
/* Protocol versions both ends speak; HELLO agrees on one of them. */
#define VJ_AGENT_VERSION_MIN 1u
#define VJ_AGENT_VERSION_MAX 6u
/* The first version with SETTIME: a peer of an older one refuses it. */
#define VJ_AGENT_VERSION_SETTIME 2u
/* The first version with RESTORED: a sandbox restored from a snapshot
 * needs an agent of at least this one. */
#define VJ_AGENT_VERSION_RESTORED 3u
/* The first version with ROOT: a container image's root needs it. */
#define VJ_AGENT_VERSION_ROOT 4u
/* The first version with EXEC, EXEC_SPEC and ATTACH: a second process
 * beside the workload, on a connection of its own. */
#define VJ_AGENT_VERSION_EXEC 5u
/* The first version with CONTINUE: a sandbox migrated to another host
 * needs an agent of at least this one. */
#define VJ_AGENT_VERSION_CONTINUE 6u

#define VJ_AGENT_HDR_LEN 8u
#define VJ_AGENT_PAYLOAD_MAX (64u * 1024)
#define VJ_AGENT_FRAME_MAX (VJ_AGENT_HDR_LEN + VJ_AGENT_PAYLOAD_MAX)

/* Limits of one workload; the policy's (policy/README.md) fit in them. */
#define VJ_AGENT_ARGC_MAX 256u
#define VJ_AGENT_ENVC_MAX 128u
#define VJ_AGENT_STRINGS_MAX (64u * 1024) /* argv + env, a NUL per string */
#define VJ_AGENT_CWD_MAX 4095u
#define VJ_AGENT_HOSTNAME_MAX 64u
#define VJ_AGENT_ERROR_MAX 1024u
#define VJ_AGENT_SIGNAL_MAX 64u /* SIGRTMAX on Linux */
/* Host entropy a RESTORED frame carries: 512 bits, twice the 256-bit key
 * the guest kernel's generator is reseeded to. */
#define VJ_AGENT_ENTROPY_LEN 64u
/* Network interfaces a RESTORED frame may name a MAC for (eth0..eth3). */
#define VJ_AGENT_NETS_MAX 4u
/* A ROOT frame: the image's drive is one of /dev/vda..vdz, its User at
 * most this long. */
#define VJ_AGENT_ROOT_DRIVES 26u
#define VJ_AGENT_USER_MAX 255u

/* An exec's connection proves itself with the token its EXEC frame
 * carried: 128 bits from the host's getrandom(2). */
#define VJ_AGENT_TOKEN_LEN 16u

/* Where the agent connects when the kernel command line names no
 * vmjail.port=: the host side listens on "<vsock uds>_1024". */
#define VJ_AGENT_DEFAULT_PORT 1024u

enum vj_agent_type {
	VJ_AGENT_HELLO = 0x01,     /* both ways, first frame */
	VJ_AGENT_ERROR = 0x02,     /* both ways, last frame */
	VJ_AGENT_WORKLOAD = 0x10,  /* launcher: ids, cwd, hostname, network */
	VJ_AGENT_ARG = 0x11,       /* launcher: one argv string */
	VJ_AGENT_ENV = 0x12,       /* launcher: one NAME=value string */
	VJ_AGENT_START = 0x13,     /* launcher: run it */
	VJ_AGENT_RESTORED = 0x14,  /* launcher, version 3: this VM is a restored clone */
	VJ_AGENT_ROOT = 0x15,      /* launcher, version 4: run the workload in an image root */
	VJ_AGENT_EXEC = 0x16,      /* launcher, version 5: start an exec, connect to a port */
	VJ_AGENT_EXEC_SPEC = 0x17, /* launcher, version 5, exec connection: ids, cwd */
	VJ_AGENT_CONTINUE = 0x18,  /* launcher, version 6: relay the workload that runs */
	VJ_AGENT_STDIN = 0x20,     /* launcher: bytes for the workload's stdin */
	VJ_AGENT_STDIN_EOF = 0x21, /* launcher: close the workload's stdin */
	VJ_AGENT_SIGNAL = 0x22,    /* launcher: signal the workload */
	VJ_AGENT_SETTIME = 0x23,   /* launcher, version 2: set the guest's wall clock */
	VJ_AGENT_STDOUT = 0x30,    /* agent: the workload's stdout bytes */
	VJ_AGENT_STDERR = 0x31,    /* agent: the workload's stderr bytes */
	VJ_AGENT_EXIT = 0x32,      /* agent: how the workload ended */
	VJ_AGENT_ATTACH = 0x33,    /* agent, version 5: first frame of an exec connection */
};

enum vj_agent_exit_kind {
	VJ_AGENT_EXITED = 0,   /* value: exit status 0..255 */
	VJ_AGENT_SIGNALED = 1, /* value: signal 1..64 */
};

struct vj_agent_net {
	bool enabled;
	uint8_t addr[4]; /* IPv4, in address order (10.0.0.2 = {10,0,0,2}) */
	uint8_t prefix;  /* 1..32 */
	uint8_t gateway[4]; /* 0.0.0.0: no default route */
};

/* The WORKLOAD frame: everything about the run but argv and env. */
struct vj_agent_spec {
	uint32_t uid, gid;
	struct vj_agent_net net;
	char cwd[VJ_AGENT_CWD_MAX + 1];           /* "": "/" */
	char hostname[VJ_AGENT_HOSTNAME_MAX + 1]; /* "": left as it is */
};

/* The clone's own MAC for the guest's interface eth<index>. */
struct vj_agent_mac {
	uint8_t index; /* 0..VJ_AGENT_NETS_MAX-1, increasing within a frame */
	uint8_t mac[6]; /* unicast, not all zero */
};

/* The RESTORED frame: what makes a clone of a snapshot a machine of its
 * own before its workload runs. */
struct vj_agent_restored {
	uint8_t entropy[VJ_AGENT_ENTROPY_LEN]; /* fresh host randomness */
	uint64_t realtime_ns;                  /* CLOCK_REALTIME, ns since the epoch */
	char hostname[VJ_AGENT_HOSTNAME_MAX + 1]; /* "": left as it is */
	uint8_t nmacs; /* 0..VJ_AGENT_NETS_MAX; an interface not named keeps its MAC */
	struct vj_agent_mac macs[VJ_AGENT_NETS_MAX];
};

enum vj_agent_root_fs {
	VJ_AGENT_ROOT_EROFS = 1,
	VJ_AGENT_ROOT_EXT4 = 2,
};

/* The ROOT frame: the workload's root is a read-only drive under a
 * writable overlay, and User is resolved in it. */
struct vj_agent_root {
	uint8_t drive;     /* 0..VJ_AGENT_ROOT_DRIVES-1: /dev/vda + drive */
	uint8_t fstype;    /* enum vj_agent_root_fs */
	uint64_t upper_size; /* bytes of the overlay's tmpfs; 0: the kernel's default */
	char user[VJ_AGENT_USER_MAX + 1]; /* "uid[:gid]", "name[:group]"; "": WORKLOAD's ids */
};

/* EXEC: the agent connects to the host's vsock port `port` and sends
 * ATTACH with the same id and token on that connection. */
struct vj_agent_exec {
	uint32_t id; /* 1.. */
	uint32_t port; /* 1..4294967294 */
	uint8_t token[VJ_AGENT_TOKEN_LEN];
};

/* ATTACH: the first frame the agent sends on an exec's connection. */
struct vj_agent_attach {
	uint32_t id;
	uint8_t token[VJ_AGENT_TOKEN_LEN];
};

#define VJ_AGENT_XSPEC_IDS 1u /* uid and gid given; otherwise the workload's */
#define VJ_AGENT_XSPEC_CWD 2u /* cwd given; otherwise the workload's */

/* EXEC_SPEC: what of the exec differs from the workload it runs beside. */
struct vj_agent_exec_spec {
	uint32_t flags; /* VJ_AGENT_XSPEC_* */
	uint32_t uid, gid; /* 0 without VJ_AGENT_XSPEC_IDS */
	char cwd[VJ_AGENT_CWD_MAX + 1]; /* absolute with VJ_AGENT_XSPEC_CWD; "" without */
};

/* One decoded frame. Byte strings point into the frame they came from. */
struct vj_agent_msg {
	enum vj_agent_type type;
	union {
		struct {
			uint16_t min, max;
		} hello;
		struct vj_agent_spec spec; /* WORKLOAD */
		struct vj_agent_restored restored; /* RESTORED */
		struct vj_agent_root root; /* ROOT */
		struct vj_agent_exec exec; /* EXEC */
		struct vj_agent_attach attach; /* ATTACH */
		struct vj_agent_exec_spec xspec; /* EXEC_SPEC */
		struct {
			const uint8_t *data;
			size_t len;
		} bytes; /* ERROR, ARG, ENV, STDIN, STDOUT, STDERR */
		uint32_t signal;
		uint64_t realtime_ns; /* SETTIME: CLOCK_REALTIME, ns since the epoch */
		struct {
			enum vj_agent_exit_kind kind;
			uint32_t value;
		} exit;
	};
};

const char *vj_agent_type_name(uint32_t type);

/* Whether this codec speaks version v (VJ_AGENT_VERSION_MIN..MAX). */
bool vj_agent_version_spoken(uint32_t v);
/* The newest version spoken within min..max, or 0 when there is none. */
uint16_t vj_agent_version_pick(uint16_t min, uint16_t max);

/*
 * Decoding. On a malformed input each returns -EMSGSIZE (a length over a
 * limit) or -EPROTO (anything else) and leaves one line in err, e.g.
 * "STDOUT frame: length 70000 exceeds 65536". The header decoder rejects
 * an oversized length or an unknown type before any payload is read.
 */
int vj_agent_decode_header(const uint8_t hdr[VJ_AGENT_HDR_LEN], uint32_t *type, uint32_t *len,
			   struct vj_err *err);
int vj_agent_decode_payload(uint32_t type, const uint8_t *payload, uint32_t len,
			    struct vj_agent_msg *m, struct vj_err *err);

/* Encodes m as one frame into out[cap] (at least VJ_AGENT_FRAME_MAX).
 * Refuses (-EMSGSIZE, -EPROTO, with err set) to encode what the decoder
 * would reject. Returns the frame length. */
ssize_t vj_agent_encode(const struct vj_agent_msg *m, uint8_t *out, size_t cap, struct vj_err *err);

/* The accumulated argv/env size check both ends apply. Returns 0 or
 * -E2BIG with a reason in err. */
int vj_agent_check_strings(uint32_t argc, uint32_t envc, size_t bytes, struct vj_err *err);

/* Copies text into out[cap] for an ERROR frame or a message line: bytes
 * outside printable ASCII become '?', and it is cut to fit. */
void vj_agent_printable(char *out, size_t cap, const void *text, size_t len);

/* Frames in: bytes read from the stream accumulate here until a frame is
 * complete. Heap-allocate it (it holds one whole frame). */
struct vj_agent_rx {
	size_t have;    /* bytes in buf */
	size_t current; /* length of the frame at buf[0] once it is complete */
	uint8_t buf[VJ_AGENT_FRAME_MAX];
};

/* One read(2) into the free space. Returns the bytes read, 0 at end of
 * stream, -errno (-EAGAIN included). */
ssize_t vj_agent_rx_read(struct vj_agent_rx *rx, int fd);

/* Decodes the frame at the front: 1 with *m filled (valid until
 * vj_agent_rx_consume), 0 when more bytes are needed, or a negative errno
 * with err set. A bad header fails as soon as its 8 bytes are in. */
int vj_agent_rx_next(struct vj_agent_rx *rx, struct vj_agent_msg *m, struct vj_err *err);
void vj_agent_rx_consume(struct vj_agent_rx *rx);

/* Frames out: one encoded frame and how much of it was written. */
struct vj_agent_tx {
	size_t len, off;
	uint8_t buf[VJ_AGENT_FRAME_MAX];
};

static inline bool vj_agent_tx_busy(const struct vj_agent_tx *tx)
{
	return tx->off < tx->len;
}

/* Encodes m into an idle tx (-EBUSY otherwise); err as for encode. */
int vj_agent_tx_put(struct vj_agent_tx *tx, const struct vj_agent_msg *m, struct vj_err *err);
/* Writes what the fd takes now (never raises SIGPIPE). Returns 0 (check
 * vj_agent_tx_busy for the rest) or -errno; -EAGAIN is not an error. */
int vj_agent_tx_write(struct vj_agent_tx *tx, int fd);
/* put + write until done, waiting in poll(2) if fd is non-blocking; for
 * frames the caller built itself (an encoding error is -EPROTO). */
int vj_agent_send(struct vj_agent_tx *tx, int fd, const struct vj_agent_msg *m);

#endif
