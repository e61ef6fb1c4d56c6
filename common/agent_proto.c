#include "agent_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

#define WORKLOAD_FIXED_LEN 28u
/* RESTORED: entropy, u64 realtime_ns, u16 host_len, u8 mac count, u8
 * reserved; then the hostname, then per MAC u8 index, u8 reserved, 6 bytes. */
#define RESTORED_FIXED_LEN (VJ_AGENT_ENTROPY_LEN + 12u)
#define RESTORED_MAC_LEN 8u
#define WORKLOAD_FLAG_NET 1u
/* ROOT: u8 drive, u8 fstype, u16 reserved, u32 user_len, u64 upper_size;
 * then User. */
#define ROOT_FIXED_LEN 16u
#define EXEC_LEN (8u + VJ_AGENT_TOKEN_LEN)
#define ATTACH_LEN (4u + VJ_AGENT_TOKEN_LEN)
/* EXEC_SPEC: u32 flags, u32 uid, u32 gid, u16 cwd_len, u16 reserved; cwd */
#define XSPEC_FIXED_LEN 16u
#define XSPEC_FLAGS (VJ_AGENT_XSPEC_IDS | VJ_AGENT_XSPEC_CWD)

/* Payload length bounds per type: checked from the header alone, so an
 * impossible length is refused before a byte of payload is read. */
static const struct type_info {
	uint32_t type;
	const char *name;
	uint32_t min, max;
	bool bytes; /* the payload is a byte string: msg.bytes */
} types[] = {
	{ VJ_AGENT_HELLO, "HELLO", 8, 8, false },
	{ VJ_AGENT_ERROR, "ERROR", 1, VJ_AGENT_ERROR_MAX, true },
	{ VJ_AGENT_WORKLOAD, "WORKLOAD", WORKLOAD_FIXED_LEN,
	  WORKLOAD_FIXED_LEN + VJ_AGENT_CWD_MAX + VJ_AGENT_HOSTNAME_MAX, false },
	{ VJ_AGENT_ARG, "ARG", 0, VJ_AGENT_STRINGS_MAX - 1, true },
	{ VJ_AGENT_ENV, "ENV", 2, VJ_AGENT_STRINGS_MAX - 1, true },
	{ VJ_AGENT_START, "START", 0, 0, false },
	{ VJ_AGENT_RESTORED, "RESTORED", RESTORED_FIXED_LEN,
	  RESTORED_FIXED_LEN + VJ_AGENT_HOSTNAME_MAX + VJ_AGENT_NETS_MAX * RESTORED_MAC_LEN, false },
	{ VJ_AGENT_ROOT, "ROOT", ROOT_FIXED_LEN, ROOT_FIXED_LEN + VJ_AGENT_USER_MAX, false },
	{ VJ_AGENT_EXEC, "EXEC", EXEC_LEN, EXEC_LEN, false },
	{ VJ_AGENT_EXEC_SPEC, "EXEC_SPEC", XSPEC_FIXED_LEN, XSPEC_FIXED_LEN + VJ_AGENT_CWD_MAX,
	  false },
	{ VJ_AGENT_CONTINUE, "CONTINUE", 0, 0, false },
	{ VJ_AGENT_STDIN, "STDIN", 1, VJ_AGENT_PAYLOAD_MAX, true },
	{ VJ_AGENT_STDIN_EOF, "STDIN_EOF", 0, 0, false },
	{ VJ_AGENT_SIGNAL, "SIGNAL", 4, 4, false },
	{ VJ_AGENT_SETTIME, "SETTIME", 8, 8, false },
	{ VJ_AGENT_STDOUT, "STDOUT", 1, VJ_AGENT_PAYLOAD_MAX, true },
	{ VJ_AGENT_STDERR, "STDERR", 1, VJ_AGENT_PAYLOAD_MAX, true },
	{ VJ_AGENT_EXIT, "EXIT", 8, 8, false },
	{ VJ_AGENT_ATTACH, "ATTACH", ATTACH_LEN, ATTACH_LEN, false },
};

static const struct type_info *type_info(uint32_t type)
{
	for (size_t i = 0; i < VJ_ARRAY_SIZE(types); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

bool vj_agent_version_spoken(uint32_t v)
{
	return v >= VJ_AGENT_VERSION_MIN && v <= VJ_AGENT_VERSION_MAX;
}

uint16_t vj_agent_version_pick(uint16_t min, uint16_t max)
{
	for (uint32_t v = max; v >= min && v > 0; v--)
		if (vj_agent_version_spoken(v))
			return (uint16_t)v;
	return 0;
}

const char *vj_agent_type_name(uint32_t type)
{
	const struct type_info *t = type_info(type);

	return t ? t->name : "unknown";
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int vj_agent_decode_header(const uint8_t hdr[VJ_AGENT_HDR_LEN], uint32_t *type, uint32_t *len,
			   struct vj_err *err)
{
	const uint32_t n = get32(hdr), t = get16(hdr + 4), flags = get16(hdr + 6);
	const struct type_info *ti = type_info(t);

	if (!ti)
		return vj_fail(err, -EPROTO, "frame header: unknown type 0x%04x", t);
	if (flags)
		return vj_fail(err, -EPROTO, "%s frame: reserved flags 0x%04x set", ti->name,
			       flags);
	if (n > ti->max)
		return vj_fail(err, -EMSGSIZE, "%s frame: length %u exceeds %u", ti->name, n,
			       ti->max);
	if (n < ti->min)
		return vj_fail(err, -EPROTO, "%s frame: length %u is below %u", ti->name, n,
			       ti->min);
	*type = t;
	*len = n;
	return 0;
}

static bool has_nul(const uint8_t *p, size_t n)
{
	return memchr(p, 0, n) != NULL;
}

static bool is_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

static bool is_env_name_char(uint8_t c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

static bool is_hostname(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '.'))
			return false;
	return true;
}

static int decode_env(const uint8_t *p, uint32_t len, struct vj_err *err)
{
	uint32_t i = 0;

	while (i < len && p[i] != '=') {
		if (!is_env_name_char(p[i], i == 0))
			return vj_fail(err, -EPROTO,
				       "ENV frame: byte %u of the name is not [A-Za-z_][A-Za-z0-9_]*",
				       i);
		i++;
	}
	if (i == 0 || i == len)
		return vj_fail(err, -EPROTO, "ENV frame: expected NAME=value");
	if (has_nul(p, len))
		return vj_fail(err, -EPROTO, "ENV frame: contains a NUL byte");
	return 0;
}

static int decode_net(const uint8_t *p, uint32_t flags, struct vj_agent_net *net,
		      struct vj_err *err)
{
	static const uint8_t zero[4];

	net->enabled = flags & WORKLOAD_FLAG_NET;
	memcpy(net->addr, p, 4);
	net->prefix = p[4];
	memcpy(net->gateway, p + 8, 4);
	if (p[5] || p[6] || p[7])
		return vj_fail(err, -EPROTO, "WORKLOAD frame: reserved bytes set");
	if (!net->enabled) {
		if (memcmp(net->addr, zero, 4) || net->prefix || memcmp(net->gateway, zero, 4))
			return vj_fail(err, -EPROTO,
				       "WORKLOAD frame: network fields set without the network flag");
		return 0;
	}
	if (!memcmp(net->addr, zero, 4))
		return vj_fail(err, -EPROTO, "WORKLOAD frame: address 0.0.0.0");
	if (net->prefix < 1 || net->prefix > 32)
		return vj_fail(err, -EPROTO, "WORKLOAD frame: prefix length %u is not 1..32",
			       net->prefix);
	return 0;
}

static int decode_workload(const uint8_t *p, uint32_t len, struct vj_agent_spec *s,
			   struct vj_err *err)
{
	const uint32_t flags = get32(p + 8);
	const uint32_t cwd_len = get16(p + 24), host_len = get16(p + 26);
	const uint8_t *cwd = p + WORKLOAD_FIXED_LEN, *host = cwd + cwd_len;
	int r;

	memset(s, 0, sizeof(*s));
	s->uid = get32(p);
	s->gid = get32(p + 4);
	if (flags & ~WORKLOAD_FLAG_NET)
		return vj_fail(err, -EPROTO, "WORKLOAD frame: unknown flags 0x%x",
			       flags & ~WORKLOAD_FLAG_NET);
	if ((r = decode_net(p + 12, flags, &s->net, err)) < 0)
		return r;
	if (cwd_len > VJ_AGENT_CWD_MAX)
		return vj_fail(err, -EMSGSIZE, "WORKLOAD frame: cwd length %u exceeds %u",
			       cwd_len, VJ_AGENT_CWD_MAX);
	if (host_len > VJ_AGENT_HOSTNAME_MAX)
		return vj_fail(err, -EMSGSIZE, "WORKLOAD frame: hostname length %u exceeds %u",
			       host_len, VJ_AGENT_HOSTNAME_MAX);
	if (WORKLOAD_FIXED_LEN + cwd_len + host_len != len)
		return vj_fail(err, -EPROTO,
			       "WORKLOAD frame: length %u, but its fields add up to %u", len,
			       WORKLOAD_FIXED_LEN + cwd_len + host_len);
	if (cwd_len && (cwd[0] != '/' || has_nul(cwd, cwd_len)))
		return vj_fail(err, -EPROTO,
			       "WORKLOAD frame: cwd is not an absolute path without NUL bytes");
	if (!is_hostname(host, host_len))
		return vj_fail(err, -EPROTO,
			       "WORKLOAD frame: hostname has a byte outside [A-Za-z0-9.-]");
	memcpy(s->cwd, cwd, cwd_len);
	memcpy(s->hostname, host, host_len);
	return 0;
}

/* A MAC the guest kernel would take for an interface's own: not a
 * multicast address, not all zero. */
static bool is_unicast_mac(const uint8_t m[6])
{
	static const uint8_t zero[6];

	return !(m[0] & 1) && memcmp(m, zero, 6) != 0;
}

static int decode_macs(const uint8_t *p, struct vj_agent_restored *r, struct vj_err *err)
{
	for (unsigned i = 0; i < r->nmacs; i++, p += RESTORED_MAC_LEN) {
		struct vj_agent_mac *m = &r->macs[i];
		m->index = p[0];
		memcpy(m->mac, p + 2, 6);
		if (p[1])
			return vj_fail(err, -EPROTO, "RESTORED frame: MAC %u: reserved byte set", i);
		if (m->index >= VJ_AGENT_NETS_MAX || (i && m->index <= r->macs[i - 1].index))
			return vj_fail(err, -EPROTO, "RESTORED frame: MAC %u: interface %u is out of "
				       "order or not below %u", i, m->index, VJ_AGENT_NETS_MAX);
		if (!is_unicast_mac(m->mac))
			return vj_fail(err, -EPROTO, "RESTORED frame: MAC %u: not a unicast address",
				       i);
	}
	return 0;
}

static int decode_restored(const uint8_t *p, uint32_t len, struct vj_agent_restored *r,
			   struct vj_err *err)
{
	const uint8_t *host = p + RESTORED_FIXED_LEN;
	const uint32_t host_len = get16(p + VJ_AGENT_ENTROPY_LEN + 8);
	const uint32_t nmacs = p[VJ_AGENT_ENTROPY_LEN + 10];

	memset(r, 0, sizeof(*r));
	memcpy(r->entropy, p, VJ_AGENT_ENTROPY_LEN);
	r->realtime_ns = get64(p + VJ_AGENT_ENTROPY_LEN);
	if (p[VJ_AGENT_ENTROPY_LEN + 11])
		return vj_fail(err, -EPROTO, "RESTORED frame: reserved byte set");
	if (host_len > VJ_AGENT_HOSTNAME_MAX)
		return vj_fail(err, -EMSGSIZE, "RESTORED frame: hostname length %u exceeds %u",
			   host_len, VJ_AGENT_HOSTNAME_MAX);
	if (nmacs > VJ_AGENT_NETS_MAX)
		return vj_fail(err, -EMSGSIZE, "RESTORED frame: %u MACs exceed %u", nmacs,
			       VJ_AGENT_NETS_MAX);
	if (RESTORED_FIXED_LEN + host_len + nmacs * RESTORED_MAC_LEN != len)
		return vj_fail(err, -EPROTO, "RESTORED frame: length %u, but its fields add up to %u", len,
			   RESTORED_FIXED_LEN + host_len + nmacs * RESTORED_MAC_LEN);
	if (!is_hostname(host, host_len))
		return vj_fail(err, -EPROTO, "RESTORED frame: hostname has a byte outside [A-Za-z0-9.-]");
	memcpy(r->hostname, host, host_len);
	r->nmacs = (uint8_t)nmacs;
	return decode_macs(host + host_len, r, err);
}

static int decode_exec(const uint8_t *p, struct vj_agent_exec *x, struct vj_err *err)
{
	x->id = get32(p);
	x->port = get32(p + 4);
	memcpy(x->token, p + 8, VJ_AGENT_TOKEN_LEN);
	if (!x->id)
		return vj_fail(err, -EPROTO, "EXEC frame: exec id 0");
	if (x->port == 0 || x->port == UINT32_MAX)
		return vj_fail(err, -EPROTO, "EXEC frame: port %u is not 1..4294967294", x->port);
	return 0;
}

static int decode_attach(const uint8_t *p, struct vj_agent_attach *a, struct vj_err *err)
{
	a->id = get32(p);
	memcpy(a->token, p + 4, VJ_AGENT_TOKEN_LEN);
	return a->id ? 0 : vj_fail(err, -EPROTO, "ATTACH frame: exec id 0");
}

static int decode_xspec(const uint8_t *p, uint32_t len, struct vj_agent_exec_spec *x,
			struct vj_err *err)
{
	const uint32_t cwd_len = get16(p + 12);
	const uint8_t *cwd = p + XSPEC_FIXED_LEN;

	memset(x, 0, sizeof(*x));
	x->flags = get32(p);
	x->uid = get32(p + 4);
	x->gid = get32(p + 8);
	if (x->flags & ~XSPEC_FLAGS)
		return vj_fail(err, -EPROTO, "EXEC_SPEC frame: unknown flags 0x%x",
			       x->flags & ~XSPEC_FLAGS);
	if (get16(p + 14))
		return vj_fail(err, -EPROTO, "EXEC_SPEC frame: reserved bytes set");
	if (!(x->flags & VJ_AGENT_XSPEC_IDS) && (x->uid || x->gid))
		return vj_fail(err, -EPROTO, "EXEC_SPEC frame: uid or gid set without the ids flag");
	if (cwd_len > VJ_AGENT_CWD_MAX)
		return vj_fail(err, -EMSGSIZE, "EXEC_SPEC frame: cwd length %u exceeds %u", cwd_len,
			       VJ_AGENT_CWD_MAX);
	if (XSPEC_FIXED_LEN + cwd_len != len)
		return vj_fail(err, -EPROTO, "EXEC_SPEC frame: length %u, but its fields add up to %u",
			       len, XSPEC_FIXED_LEN + cwd_len);
	if (!(x->flags & VJ_AGENT_XSPEC_CWD) != !cwd_len)
		return vj_fail(err, -EPROTO, "EXEC_SPEC frame: a cwd needs the cwd flag, and the flag "
			       "a cwd");
	if (cwd_len && (cwd[0] != '/' || has_nul(cwd, cwd_len)))
		return vj_fail(err, -EPROTO,
			       "EXEC_SPEC frame: cwd is not an absolute path without NUL bytes");
	memcpy(x->cwd, cwd, cwd_len);
	return 0;
}

static int decode_exit(const uint8_t *p, struct vj_agent_msg *m, struct vj_err *err)
{
	const uint32_t kind = get32(p), value = get32(p + 4);

	if (kind == VJ_AGENT_EXITED && value > 255)
		return vj_fail(err, -EPROTO, "EXIT frame: exit status %u is not 0..255", value);
	if (kind == VJ_AGENT_SIGNALED && (value < 1 || value > VJ_AGENT_SIGNAL_MAX))
		return vj_fail(err, -EPROTO, "EXIT frame: signal %u is not 1..%u", value,
			       VJ_AGENT_SIGNAL_MAX);
	if (kind != VJ_AGENT_EXITED && kind != VJ_AGENT_SIGNALED)
		return vj_fail(err, -EPROTO, "EXIT frame: unknown kind %u", kind);
	m->exit.kind = (enum vj_agent_exit_kind)kind;
	m->exit.value = value;
	return 0;
}

static int decode_root(const uint8_t *p, uint32_t len, struct vj_agent_root *r,
		       struct vj_err *err)
{
	const uint32_t user_len = get32(p + 4);

	r->drive = p[0];
	r->fstype = p[1];
	if (get16(p + 2))
		return vj_fail(err, -EPROTO, "ROOT frame: reserved bytes set");
	if (r->drive >= VJ_AGENT_ROOT_DRIVES)
		return vj_fail(err, -EPROTO, "ROOT frame: drive %u is not 0..%u", r->drive,
			       VJ_AGENT_ROOT_DRIVES - 1);
	if (r->fstype != VJ_AGENT_ROOT_EROFS && r->fstype != VJ_AGENT_ROOT_EXT4)
		return vj_fail(err, -EPROTO, "ROOT frame: unknown file system type %u", r->fstype);
	if (user_len > VJ_AGENT_USER_MAX || ROOT_FIXED_LEN + user_len != len)
		return vj_fail(err, -EPROTO, "ROOT frame: length %u, but its fields add up to %u",
			       len, ROOT_FIXED_LEN + user_len);
	r->upper_size = get64(p + 8);
	if (!is_printable(p + ROOT_FIXED_LEN, user_len))
		return vj_fail(err, -EPROTO, "ROOT frame: User has a byte outside printable ASCII");
	memcpy(r->user, p + ROOT_FIXED_LEN, user_len);
	r->user[user_len] = '\0';
	return 0;
}

static ssize_t encode_root(const struct vj_agent_root *r, uint8_t *p)
{
	const size_t user_len = strnlen(r->user, sizeof(r->user));

	if (user_len > VJ_AGENT_USER_MAX || r->drive >= VJ_AGENT_ROOT_DRIVES ||
	    (r->fstype != VJ_AGENT_ROOT_EROFS && r->fstype != VJ_AGENT_ROOT_EXT4) ||
	    !is_printable((const uint8_t *)r->user, user_len))
		return -EPROTO;
	p[0] = r->drive;
	p[1] = r->fstype;
	put16(p + 2, 0);
	put32(p + 4, (uint32_t)user_len);
	put64(p + 8, r->upper_size);
	memcpy(p + ROOT_FIXED_LEN, r->user, user_len);
	return (ssize_t)(ROOT_FIXED_LEN + user_len);
}

int vj_agent_decode_payload(uint32_t type, const uint8_t *p, uint32_t len, struct vj_agent_msg *m,
			    struct vj_err *err)
{
	const struct type_info *ti = type_info(type);
	int r = 0;

	if (!ti)
		return vj_fail(err, -EPROTO, "frame: unknown type 0x%04x", type);
	if (len > ti->max || len < ti->min)
		return vj_fail(err, len > ti->max ? -EMSGSIZE : -EPROTO,
			       "%s frame: length %u is not %u..%u", ti->name, len, ti->min, ti->max);
	m->type = (enum vj_agent_type)type;
	switch (type) {
	case VJ_AGENT_HELLO:
		if (get32(p) != VJ_AGENT_MAGIC)
			return vj_fail(err, -EPROTO, "HELLO frame: bad magic 0x%08x", get32(p));
		m->hello.min = get16(p + 4);
		m->hello.max = get16(p + 6);
		if (!m->hello.min || m->hello.min > m->hello.max)
			return vj_fail(err, -EPROTO, "HELLO frame: bad version range %u..%u",
				       m->hello.min, m->hello.max);
		break;
	case VJ_AGENT_WORKLOAD:
		r = decode_workload(p, len, &m->spec, err);
		break;
	case VJ_AGENT_RESTORED:
		r = decode_restored(p, len, &m->restored, err);
		break;
	case VJ_AGENT_ROOT:
		r = decode_root(p, len, &m->root, err);
		break;
	case VJ_AGENT_ERROR:
		if (!is_printable(p, len))
			return vj_fail(err, -EPROTO,
				       "ERROR frame: text has a byte outside printable ASCII");
		break;
	case VJ_AGENT_ARG:
		if (has_nul(p, len))
			return vj_fail(err, -EPROTO, "ARG frame: contains a NUL byte");
		break;
	case VJ_AGENT_ENV:
		r = decode_env(p, len, err);
		break;
	case VJ_AGENT_SIGNAL:
		m->signal = get32(p);
		if (m->signal < 1 || m->signal > VJ_AGENT_SIGNAL_MAX)
			return vj_fail(err, -EPROTO, "SIGNAL frame: signal %u is not 1..%u",
				       m->signal, VJ_AGENT_SIGNAL_MAX);
		break;
	case VJ_AGENT_SETTIME:
		m->realtime_ns = get64(p);
		break;
	case VJ_AGENT_EXIT:
		r = decode_exit(p, m, err);
		break;
	case VJ_AGENT_EXEC:
		r = decode_exec(p, &m->exec, err);
		break;
	case VJ_AGENT_ATTACH:
		r = decode_attach(p, &m->attach, err);
		break;
	case VJ_AGENT_EXEC_SPEC:
		r = decode_xspec(p, len, &m->xspec, err);
		break;
	}
	if (ti->bytes) {
		m->bytes.data = p;
		m->bytes.len = len;
	}
	return r;
}

static void encode_workload(const struct vj_agent_spec *s, uint8_t *p, size_t cwd_len,
			    size_t host_len)
{
	const struct vj_agent_net *net = &s->net;

	memset(p, 0, WORKLOAD_FIXED_LEN);
	put32(p, s->uid);
	put32(p + 4, s->gid);
	if (net->enabled) {
		put32(p + 8, WORKLOAD_FLAG_NET);
		memcpy(p + 12, net->addr, 4);
		p[16] = net->prefix;
		memcpy(p + 20, net->gateway, 4);
	}
	put16(p + 24, (uint16_t)cwd_len);
	put16(p + 26, (uint16_t)host_len);
	memcpy(p + WORKLOAD_FIXED_LEN, s->cwd, cwd_len);
	memcpy(p + WORKLOAD_FIXED_LEN + cwd_len, s->hostname, host_len);
}

/* Writes the payload of m at p (room for VJ_AGENT_PAYLOAD_MAX bytes) and
 * returns its length, or -errno for what cannot be encoded at all. */
static ssize_t encode_restored(const struct vj_agent_restored *r, uint8_t *p, size_t host_len)
{
	uint8_t *mac = p + RESTORED_FIXED_LEN + host_len;

	memcpy(p, r->entropy, VJ_AGENT_ENTROPY_LEN);
	put64(p + VJ_AGENT_ENTROPY_LEN, r->realtime_ns);
	put16(p + VJ_AGENT_ENTROPY_LEN + 8, (uint16_t)host_len);
	p[VJ_AGENT_ENTROPY_LEN + 10] = r->nmacs;
	p[VJ_AGENT_ENTROPY_LEN + 11] = 0;
	memcpy(p + RESTORED_FIXED_LEN, r->hostname, host_len);
	for (unsigned i = 0; i < r->nmacs; i++, mac += RESTORED_MAC_LEN) {
		mac[0] = r->macs[i].index;
		mac[1] = 0;
		memcpy(mac + 2, r->macs[i].mac, 6);
	}
	return (ssize_t)(RESTORED_FIXED_LEN + host_len + r->nmacs * RESTORED_MAC_LEN);
}

static ssize_t encode_xspec(const struct vj_agent_exec_spec *x, uint8_t *p)
{
	const size_t cwd_len = strnlen(x->cwd, sizeof(x->cwd));

	if (cwd_len > VJ_AGENT_CWD_MAX)
		return -EMSGSIZE;
	put32(p, x->flags);
	put32(p + 4, x->uid);
	put32(p + 8, x->gid);
	put16(p + 12, (uint16_t)cwd_len);
	put16(p + 14, 0);
	memcpy(p + XSPEC_FIXED_LEN, x->cwd, cwd_len);
	return (ssize_t)(XSPEC_FIXED_LEN + cwd_len);
}

static ssize_t encode_payload(const struct vj_agent_msg *m, uint8_t *p)
{
	size_t cwd_len, host_len;

	switch (m->type) {
	case VJ_AGENT_EXEC:
		put32(p, m->exec.id);
		put32(p + 4, m->exec.port);
		memcpy(p + 8, m->exec.token, VJ_AGENT_TOKEN_LEN);
		return EXEC_LEN;
	case VJ_AGENT_ATTACH:
		put32(p, m->attach.id);
		memcpy(p + 4, m->attach.token, VJ_AGENT_TOKEN_LEN);
		return ATTACH_LEN;
	case VJ_AGENT_EXEC_SPEC:
		return encode_xspec(&m->xspec, p);
	case VJ_AGENT_HELLO:
		put32(p, VJ_AGENT_MAGIC);
		put16(p + 4, m->hello.min);
		put16(p + 6, m->hello.max);
		return 8;
	case VJ_AGENT_WORKLOAD:
		cwd_len = strnlen(m->spec.cwd, sizeof(m->spec.cwd));
		host_len = strnlen(m->spec.hostname, sizeof(m->spec.hostname));
		if (cwd_len > VJ_AGENT_CWD_MAX || host_len > VJ_AGENT_HOSTNAME_MAX)
			return -EMSGSIZE;
		encode_workload(&m->spec, p, cwd_len, host_len);
		return (ssize_t)(WORKLOAD_FIXED_LEN + cwd_len + host_len);
	case VJ_AGENT_RESTORED:
		host_len = strnlen(m->restored.hostname, sizeof(m->restored.hostname));
		if (host_len > VJ_AGENT_HOSTNAME_MAX || m->restored.nmacs > VJ_AGENT_NETS_MAX)
			return -EMSGSIZE;
		return encode_restored(&m->restored, p, host_len);
	case VJ_AGENT_ROOT:
		return encode_root(&m->root, p);
	case VJ_AGENT_SIGNAL:
		put32(p, m->signal);
		return 4;
	case VJ_AGENT_SETTIME:
		put64(p, m->realtime_ns);
		return 8;
	case VJ_AGENT_EXIT:
		put32(p, m->exit.kind);
		put32(p + 4, m->exit.value);
		return 8;
	case VJ_AGENT_START:
	case VJ_AGENT_CONTINUE:
	case VJ_AGENT_STDIN_EOF:
		return 0;
	case VJ_AGENT_ERROR:
	case VJ_AGENT_ARG:
	case VJ_AGENT_ENV:
	case VJ_AGENT_STDIN:
	case VJ_AGENT_STDOUT:
	case VJ_AGENT_STDERR:
		if (m->bytes.len > VJ_AGENT_PAYLOAD_MAX)
			return -EMSGSIZE;
		if (m->bytes.len)
			memcpy(p, m->bytes.data, m->bytes.len);
		return (ssize_t)m->bytes.len;
	}
	return -EINVAL;
}

/* Encoding ends by decoding its own output: one definition of what a
 * valid frame is, so neither end can send what the other must refuse. */
ssize_t vj_agent_encode(const struct vj_agent_msg *m, uint8_t *out, size_t cap, struct vj_err *err)
{
	struct vj_agent_msg check;
	uint32_t type, len;
	ssize_t n;
	int r;

	if (cap < VJ_AGENT_FRAME_MAX)
		return vj_fail(err, -ENOBUFS, "encode: buffer of %zu bytes is too small", cap);
	n = encode_payload(m, out + VJ_AGENT_HDR_LEN);
	if (n < 0)
		return vj_fail(err, (int)n, "%s frame: %s", vj_agent_type_name(m->type),
			       n == -EMSGSIZE ? "too long to encode" : "unknown type");
	put32(out, (uint32_t)n);
	put16(out + 4, (uint16_t)m->type);
	put16(out + 6, 0);
	if ((r = vj_agent_decode_header(out, &type, &len, err)) < 0 ||
	    (r = vj_agent_decode_payload(type, out + VJ_AGENT_HDR_LEN, len, &check, err)) <
		    0)
		return r;
	return (ssize_t)(VJ_AGENT_HDR_LEN + len);
}

int vj_agent_check_strings(uint32_t argc, uint32_t envc, size_t bytes, struct vj_err *err)
{
	if (argc > VJ_AGENT_ARGC_MAX)
		return vj_fail(err, -E2BIG, "workload: more than %u arguments",
			       VJ_AGENT_ARGC_MAX);
	if (envc > VJ_AGENT_ENVC_MAX)
		return vj_fail(err, -E2BIG, "workload: more than %u environment variables",
			       VJ_AGENT_ENVC_MAX);
	if (bytes > VJ_AGENT_STRINGS_MAX)
		return vj_fail(err, -E2BIG,
			       "workload: arguments and environment exceed %u bytes", VJ_AGENT_STRINGS_MAX);
	return 0;
}

void vj_agent_printable(char *out, size_t cap, const void *text, size_t len)
{
	const uint8_t *t = text;
	size_t i;

	if (!cap)
		return;
	for (i = 0; i < len && i < cap - 1; i++)
		out[i] = t[i] >= 0x20 && t[i] <= 0x7e ? (char)t[i] : '?';
	out[i] = '\0';
}

ssize_t vj_agent_rx_read(struct vj_agent_rx *rx, int fd)
{
	ssize_t n;

	if (rx->have == sizeof(rx->buf))
		return -ENOBUFS;
	do
		n = read(fd, rx->buf + rx->have, sizeof(rx->buf) - rx->have);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rx->have += (size_t)n;
	return n;
}

int vj_agent_rx_next(struct vj_agent_rx *rx, struct vj_agent_msg *m, struct vj_err *err)
{
	uint32_t type, len;
	int r;

	if (rx->have < VJ_AGENT_HDR_LEN)
		return 0;
	if ((r = vj_agent_decode_header(rx->buf, &type, &len, err)) < 0)
		return r;
	if (rx->have < VJ_AGENT_HDR_LEN + len)
		return 0;
	r = vj_agent_decode_payload(type, rx->buf + VJ_AGENT_HDR_LEN, len, m, err);
	if (r < 0)
		return r;
	rx->current = VJ_AGENT_HDR_LEN + len;
	return 1;
}

void vj_agent_rx_consume(struct vj_agent_rx *rx)
{
	memmove(rx->buf, rx->buf + rx->current, rx->have - rx->current);
	rx->have -= rx->current;
	rx->current = 0;
}

int vj_agent_tx_put(struct vj_agent_tx *tx, const struct vj_agent_msg *m, struct vj_err *err)
{
	ssize_t n;

	if (vj_agent_tx_busy(tx))
		return vj_fail(err, -EBUSY, "%s frame: the previous frame is not sent yet",
			       vj_agent_type_name(m->type));
	n = vj_agent_encode(m, tx->buf, sizeof(tx->buf), err);
	if (n < 0)
		return (int)n;
	tx->len = (size_t)n;
	tx->off = 0;
	return 0;
}

int vj_agent_tx_write(struct vj_agent_tx *tx, int fd)
{
	while (vj_agent_tx_busy(tx)) {
		ssize_t n = send(fd, tx->buf + tx->off, tx->len - tx->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		tx->off += (size_t)n;
	}
	return 0;
}

int vj_agent_send(struct vj_agent_tx *tx, int fd, const struct vj_agent_msg *m)
{
	struct vj_err err;
	int r = vj_agent_tx_put(tx, m, &err);

	while (r == 0 && vj_agent_tx_busy(tx)) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		if ((r = vj_agent_tx_write(tx, fd)) < 0 || !vj_agent_tx_busy(tx))
			break;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			r = -errno;
	}
	if (r < 0)
		tx->len = tx->off = 0; /* the stream is broken: nothing of it is owed */
	return r;
}
