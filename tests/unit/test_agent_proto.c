/* The launcher <-> agent codec (common/agent_proto.c): every frame type
 * round-trips, and every class of malformed frame is refused with a reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "agent_proto.h"
#include "cleanup.h"

static uint8_t frame[VJ_AGENT_FRAME_MAX];
static struct vj_err why;

static void hdr(uint8_t *p, uint32_t len, uint16_t type, uint16_t flags)
{
	p[0] = (uint8_t)len;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 24);
	p[4] = (uint8_t)type;
	p[5] = (uint8_t)(type >> 8);
	p[6] = (uint8_t)flags;
	p[7] = (uint8_t)(flags >> 8);
}

static int decode_header(uint32_t len, uint16_t type, uint16_t flags)
{
	uint8_t h[VJ_AGENT_HDR_LEN];
	uint32_t t, n;

	hdr(h, len, type, flags);
	why.msg[0] = '\0';
	return vj_agent_decode_header(h, &t, &n, &why);
}

/* Decodes payload p[len] as type; the reason must mention `expect`. */
static int decode(uint32_t type, const void *p, uint32_t len, struct vj_agent_msg *m)
{
	why.msg[0] = '\0';
	return vj_agent_decode_payload(type, p, len, m, &why);
}

static void assert_why(const char *expect)
{
	if (!strstr(why.msg, expect))
		fail_msg("reason \"%s\" does not mention \"%s\"", why.msg, expect);
}

/* Encodes m, decodes the frame back into out. */
static void round_trip(const struct vj_agent_msg *m, struct vj_agent_msg *out)
{
	uint32_t type, len;
	ssize_t n = vj_agent_encode(m, frame, sizeof(frame), &why);

	assert_true(n >= (ssize_t)VJ_AGENT_HDR_LEN);
	assert_int_equal(vj_agent_decode_header(frame, &type, &len, &why), 0);
	assert_int_equal(type, m->type);
	assert_int_equal(n, VJ_AGENT_HDR_LEN + len);
	assert_int_equal(vj_agent_decode_payload(type, frame + VJ_AGENT_HDR_LEN, len, out, &why),
			 0);
}

static struct vj_agent_msg bytes_msg(enum vj_agent_type type, const void *p, size_t len)
{
	struct vj_agent_msg m = { .type = type };

	m.bytes.data = p;
	m.bytes.len = len;
	return m;
}

static void header_is_little_endian_with_type_and_zero_flags(void **state)
{
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_STDOUT, "hello", 5);
	(void)state;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), 13);
	static const uint8_t expect[] = { 5, 0, 0, 0, 0x30, 0, 0, 0, 'h', 'e', 'l', 'l', 'o' };
	assert_memory_equal(frame, expect, sizeof(expect));
}

static void header_rejects_unknown_type(void **state)
{
	(void)state;
	assert_int_equal(decode_header(0, 0x7777, 0), -EPROTO);
	assert_why("unknown type 0x7777");
	assert_int_equal(decode_header(0, 0, 0), -EPROTO);
}

static void header_rejects_reserved_flags(void **state)
{
	(void)state;
	assert_int_equal(decode_header(5, VJ_AGENT_STDOUT, 0x8000), -EPROTO);
	assert_why("reserved flags 0x8000");
}

static void header_rejects_lengths_over_the_limit_before_any_payload(void **state)
{
	(void)state;
	assert_int_equal(decode_header(0xffffffffu, VJ_AGENT_STDOUT, 0), -EMSGSIZE);
	assert_why("STDOUT frame: length 4294967295 exceeds 65536");
	assert_int_equal(decode_header(VJ_AGENT_PAYLOAD_MAX + 1, VJ_AGENT_STDIN, 0), -EMSGSIZE);
	assert_int_equal(decode_header(VJ_AGENT_PAYLOAD_MAX, VJ_AGENT_STDIN, 0), 0);
	/* per-type limits, not only the frame limit */
	assert_int_equal(decode_header(VJ_AGENT_ERROR_MAX + 1, VJ_AGENT_ERROR, 0), -EMSGSIZE);
	assert_int_equal(decode_header(9, VJ_AGENT_HELLO, 0), -EMSGSIZE);
	assert_int_equal(decode_header(1, VJ_AGENT_START, 0), -EMSGSIZE);
	assert_int_equal(decode_header(5, VJ_AGENT_SIGNAL, 0), -EMSGSIZE);
	assert_int_equal(decode_header(VJ_AGENT_STRINGS_MAX, VJ_AGENT_ARG, 0), -EMSGSIZE);
}

static void header_rejects_lengths_below_the_type_minimum(void **state)
{
	(void)state;
	assert_int_equal(decode_header(7, VJ_AGENT_HELLO, 0), -EPROTO);
	assert_why("HELLO frame: length 7 is below 8");
	assert_int_equal(decode_header(0, VJ_AGENT_STDOUT, 0), -EPROTO);
	assert_int_equal(decode_header(0, VJ_AGENT_ERROR, 0), -EPROTO);
	assert_int_equal(decode_header(3, VJ_AGENT_SIGNAL, 0), -EPROTO);
	assert_int_equal(decode_header(27, VJ_AGENT_WORKLOAD, 0), -EPROTO);
}

static void payload_decoder_checks_lengths_itself(void **state)
{
	struct vj_agent_msg m;
	uint8_t p[16] = { 0 };
	(void)state;
	assert_int_equal(decode(VJ_AGENT_EXIT, p, 9, &m), -EMSGSIZE);
	assert_int_equal(decode(VJ_AGENT_EXIT, p, 7, &m), -EPROTO);
	assert_int_equal(decode(0x99, p, 0, &m), -EPROTO);
}

static void hello_round_trips(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { 1, 3 } }, out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.hello.min, 1);
	assert_int_equal(out.hello.max, 3);
}

static void hello_rejects_bad_magic_and_version_ranges(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { 1, 1 } }, out;
	(void)state;
	assert_true(vj_agent_encode(&m, frame, sizeof(frame), &why) > 0);
	uint8_t *p = frame + VJ_AGENT_HDR_LEN;
	p[0] ^= 1;
	assert_int_equal(decode(VJ_AGENT_HELLO, p, 8, &out), -EPROTO);
	assert_why("bad magic");
	p[0] ^= 1;
	p[4] = 0; /* min 0 */
	assert_int_equal(decode(VJ_AGENT_HELLO, p, 8, &out), -EPROTO);
	assert_why("version range 0..1");
	p[4] = 2; /* min 2 > max 1 */
	assert_int_equal(decode(VJ_AGENT_HELLO, p, 8, &out), -EPROTO);
}

/* CONTINUE (version 6) is empty: any payload is refused from the header. */
static void continue_is_empty_and_bounded_from_the_header(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_CONTINUE }, out;
	(void)state;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), VJ_AGENT_HDR_LEN);
	assert_int_equal(frame[4], 0x18);
	round_trip(&m, &out);
	assert_int_equal(out.type, VJ_AGENT_CONTINUE);
	assert_int_equal(decode_header(0, VJ_AGENT_CONTINUE, 0), 0);
	assert_int_equal(decode_header(1, VJ_AGENT_CONTINUE, 0), -EMSGSIZE);
	assert_why("CONTINUE frame: length 1 exceeds 0");
	assert_int_equal(decode_header(0, VJ_AGENT_CONTINUE, 1), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_CONTINUE, frame, 1, &out), -EMSGSIZE);
	assert_string_equal(vj_agent_type_name(VJ_AGENT_CONTINUE), "CONTINUE");
}

/* The newest version both speak is agreed. */
static void the_version_picked_is_the_newest_one_spoken(void **state)
{
	(void)state;
	assert_int_equal(vj_agent_version_pick(1, 6), 6);
	assert_int_equal(vj_agent_version_pick(1, 5), 5);
	assert_int_equal(vj_agent_version_pick(1, 9), 6);
	assert_int_equal(vj_agent_version_pick(6, 6), 6);
	assert_int_equal(vj_agent_version_pick(1, 1), 1);
	assert_int_equal(vj_agent_version_pick(4, 5), 5);
	assert_int_equal(vj_agent_version_pick(7, 9), 0);
	assert_int_equal(vj_agent_version_pick(0, 0), 0);
	assert_true(vj_agent_version_spoken(4));
	assert_true(vj_agent_version_spoken(5));
	assert_false(vj_agent_version_spoken(0));
	assert_false(vj_agent_version_spoken(7));
	assert_true(vj_agent_version_spoken(3));
	assert_true(vj_agent_version_spoken(6));
}

static struct vj_agent_spec full_spec(void)
{
	struct vj_agent_spec s = {
		.uid = 1000,
		.gid = 100,
		.net = { .enabled = true, .addr = { 10, 0, 2, 15 }, .prefix = 24,
			 .gateway = { 10, 0, 2, 2 } },
	};
	strcpy(s.cwd, "/srv/work");
	strcpy(s.hostname, "fn-42.example");
	return s;
}

static void workload_round_trips(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_WORKLOAD, .spec = full_spec() }, out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.spec.uid, 1000);
	assert_int_equal(out.spec.gid, 100);
	assert_true(out.spec.net.enabled);
	assert_memory_equal(out.spec.net.addr, m.spec.net.addr, 4);
	assert_int_equal(out.spec.net.prefix, 24);
	assert_memory_equal(out.spec.net.gateway, m.spec.net.gateway, 4);
	assert_string_equal(out.spec.cwd, "/srv/work");
	assert_string_equal(out.spec.hostname, "fn-42.example");
}

static void workload_round_trips_empty_fields_and_no_network(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_WORKLOAD }, out;
	(void)state;
	round_trip(&m, &out);
	assert_false(out.spec.net.enabled);
	assert_string_equal(out.spec.cwd, "");
	assert_string_equal(out.spec.hostname, "");
}

/* A valid WORKLOAD payload (full_spec) in p; returns its length. */
static uint32_t workload_payload(uint8_t *p)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_WORKLOAD, .spec = full_spec() };
	ssize_t n = vj_agent_encode(&m, frame, sizeof(frame), &why);

	assert_true(n > 0);
	memcpy(p, frame + VJ_AGENT_HDR_LEN, (size_t)n - VJ_AGENT_HDR_LEN);
	return (uint32_t)n - VJ_AGENT_HDR_LEN;
}

static void workload_rejects_bad_flags_and_reserved_bytes(void **state)
{
	static uint8_t p[8192];
	struct vj_agent_msg m;
	uint32_t n = workload_payload(p);
	(void)state;
	p[9] = 1; /* flags bit 8 */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	assert_why("unknown flags 0x100");
	p[9] = 0;
	p[17] = 1; /* reserved after the prefix */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	assert_why("reserved");
}

static void workload_rejects_bad_network_fields(void **state)
{
	static uint8_t p[8192];
	struct vj_agent_msg m;
	uint32_t n = workload_payload(p);
	(void)state;
	p[16] = 0; /* prefix 0 */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	assert_why("prefix length 0");
	p[16] = 33;
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	p[16] = 24;
	memset(p + 12, 0, 4); /* address 0.0.0.0 */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	assert_why("0.0.0.0");
	p[12] = 10;
	p[8] = 0; /* no network flag, fields still set */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
	assert_why("without the network flag");
}

static void workload_rejects_lengths_that_do_not_add_up(void **state)
{
	static uint8_t p[8192];
	struct vj_agent_msg m;
	uint32_t n = workload_payload(p);
	(void)state;
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n + 1, &m), -EPROTO);
	assert_why("add up");
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n - 1, &m), -EPROTO);
	p[24] = 0xff; /* cwd length 0x??ff, past the frame and the limit */
	p[25] = 0xff;
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EMSGSIZE);
	assert_why("cwd length 65535 exceeds 4095");
	n = workload_payload(p);
	p[26] = VJ_AGENT_HOSTNAME_MAX + 1;
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EMSGSIZE);
	assert_why("hostname length 65 exceeds 64");
}

static void workload_rejects_relative_cwd_nul_and_bad_hostname(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_WORKLOAD, .spec = full_spec() };
	static uint8_t p[8192];
	uint32_t n;
	(void)state;
	strcpy(m.spec.cwd, "srv");
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	assert_why("absolute");
	m.spec = full_spec();
	strcpy(m.spec.hostname, "a b");
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	assert_why("hostname");
	n = workload_payload(p);
	p[28 + 3] = '\0'; /* inside "/srv/work" */
	assert_int_equal(decode(VJ_AGENT_WORKLOAD, p, n, &m), -EPROTO);
}

static void strings_round_trip(void **state)
{
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_ARG, "", 0), out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.bytes.len, 0);
	m = bytes_msg(VJ_AGENT_ENV, "PATH=/bin:/usr/bin", 18);
	round_trip(&m, &out);
	assert_int_equal(out.bytes.len, 18);
	assert_memory_equal(out.bytes.data, "PATH=/bin:/usr/bin", 18);
	m = bytes_msg(VJ_AGENT_ENV, "_X1=", 4); /* empty value */
	round_trip(&m, &out);
}

static void arg_rejects_nul(void **state)
{
	struct vj_agent_msg m;
	(void)state;
	assert_int_equal(decode(VJ_AGENT_ARG, "a\0b", 3, &m), -EPROTO);
	assert_why("NUL");
}

static void env_rejects_bad_names_missing_equals_and_nul(void **state)
{
	struct vj_agent_msg m;
	(void)state;
	assert_int_equal(decode(VJ_AGENT_ENV, "NOEQUALS", 8, &m), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_ENV, "=value", 6, &m), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_ENV, "1X=v", 4, &m), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_ENV, "A-B=v", 5, &m), -EPROTO);
	assert_why("byte 1 of the name");
	assert_int_equal(decode(VJ_AGENT_ENV, "A=v\0w", 5, &m), -EPROTO);
	assert_why("NUL");
}

static void empty_frames_carry_nothing(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_START }, out;
	(void)state;
	round_trip(&m, &out);
	m.type = VJ_AGENT_STDIN_EOF;
	round_trip(&m, &out);
	assert_int_equal(decode(VJ_AGENT_START, "x", 1, &out), -EMSGSIZE);
}

static void data_frames_round_trip_up_to_the_limit(void **state)
{
	uint8_t *big = calloc(1, VJ_AGENT_PAYLOAD_MAX + 1);
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_STDERR, big, VJ_AGENT_PAYLOAD_MAX), out;
	(void)state;
	big[0] = 0; /* any bytes, NUL included */
	round_trip(&m, &out);
	assert_int_equal(out.bytes.len, VJ_AGENT_PAYLOAD_MAX);
	m.bytes.len++;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EMSGSIZE);
	m.bytes.len = 0;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	free(big);
}

static void signal_round_trips_and_rejects_out_of_range(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_SIGNAL, .signal = 64 }, out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.signal, 64);
	m.signal = 0;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_SIGNAL, "\x41\0\0\0", 4, &out), -EPROTO);
	assert_why("signal 65 is not 1..64");
}

static void settime_round_trips_every_u64_little_endian(void **state)
{
	static const uint64_t values[] = { 0, 1700000000123456789ull, UINT64_MAX };
	struct vj_agent_msg m = { .type = VJ_AGENT_SETTIME }, out;
	(void)state;
	for (size_t i = 0; i < VJ_ARRAY_SIZE(values); i++) {
		m.realtime_ns = values[i];
		round_trip(&m, &out);
		assert_int_equal(out.type, VJ_AGENT_SETTIME);
		assert_true(out.realtime_ns == values[i]);
	}
	m.realtime_ns = 0x0807060504030201ull;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), 16);
	static const uint8_t expect[] = { 8, 0, 0, 0, 0x23, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_memory_equal(frame, expect, sizeof(expect));
}

/* Exactly 8 bytes: the header alone refuses every other length, before
 * a byte of payload is read, and so does the payload decoder. */
static void settime_refuses_every_length_but_8(void **state)
{
	static const uint32_t too_long[] = { 9, 16, VJ_AGENT_PAYLOAD_MAX, VJ_AGENT_PAYLOAD_MAX + 1,
					     0xffffffffu };
	struct vj_agent_msg m;
	uint8_t p[16] = { 0 };
	(void)state;
	for (uint32_t len = 0; len < 8; len++) {
		assert_int_equal(decode_header(len, VJ_AGENT_SETTIME, 0), -EPROTO);
		assert_why("SETTIME frame: length");
		assert_int_equal(decode(VJ_AGENT_SETTIME, p, len, &m), -EPROTO);
	}
	for (size_t i = 0; i < VJ_ARRAY_SIZE(too_long); i++) {
		assert_int_equal(decode_header(too_long[i], VJ_AGENT_SETTIME, 0), -EMSGSIZE);
		assert_why("exceeds 8");
	}
	assert_int_equal(decode(VJ_AGENT_SETTIME, p, 9, &m), -EMSGSIZE);
	assert_int_equal(decode(VJ_AGENT_SETTIME, p, 16, &m), -EMSGSIZE);
	assert_int_equal(decode_header(8, VJ_AGENT_SETTIME, 0), 0);
	assert_int_equal(decode_header(8, VJ_AGENT_SETTIME, 1), -EPROTO);
}

static void root_round_trips_drive_fs_size_and_user(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ROOT }, out;
	(void)state;
	m.root.drive = 2;
	m.root.fstype = VJ_AGENT_ROOT_EROFS;
	m.root.upper_size = 64ull << 20;
	snprintf(m.root.user, sizeof(m.root.user), "app:staff");
	round_trip(&m, &out);
	assert_int_equal(out.type, VJ_AGENT_ROOT);
	assert_int_equal(out.root.drive, 2);
	assert_int_equal(out.root.fstype, VJ_AGENT_ROOT_EROFS);
	assert_true(out.root.upper_size == 64ull << 20);
	assert_string_equal(out.root.user, "app:staff");
	m.root.user[0] = '\0';
	round_trip(&m, &out);
	assert_string_equal(out.root.user, "");
}

static void root_refuses_bad_fields(void **state)
{
	uint8_t p[16 + 4] = { 0, VJ_AGENT_ROOT_EROFS };
	struct vj_agent_msg out;
	(void)state;
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 16, &out), 0);
	p[0] = 26;
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 16, &out), -EPROTO);
	assert_why("ROOT frame: drive 26 is not 0..25");
	p[0] = 0;
	p[1] = 9;
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 16, &out), -EPROTO);
	assert_why("ROOT frame: unknown file system type 9");
	p[1] = VJ_AGENT_ROOT_EXT4;
	p[2] = 1;
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 16, &out), -EPROTO);
	assert_why("ROOT frame: reserved bytes set");
	p[2] = 0;
	p[4] = 4; /* User of 4 bytes in a 16-byte frame */
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 16, &out), -EPROTO);
	assert_why("ROOT frame: length 16, but its fields add up to 20");
	memcpy(p + 16, "ap\np", 4);
	assert_int_equal(decode(VJ_AGENT_ROOT, p, 20, &out), -EPROTO);
	assert_why("User has a byte outside printable ASCII");
	assert_int_equal(decode_header(16 + VJ_AGENT_USER_MAX + 1, VJ_AGENT_ROOT, 0), -EMSGSIZE);
}

static struct vj_agent_msg restored_msg(const char *hostname)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_RESTORED };

	for (unsigned i = 0; i < VJ_AGENT_ENTROPY_LEN; i++)
		m.restored.entropy[i] = (uint8_t)(0xa0 + i);
	m.restored.realtime_ns = 0x0807060504030201ull;
	snprintf(m.restored.hostname, sizeof(m.restored.hostname), "%s", hostname);
	return m;
}

static void restored_round_trips_entropy_clock_and_hostname(void **state)
{
	struct vj_agent_msg m = restored_msg("clone-7.example"), out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.type, VJ_AGENT_RESTORED);
	assert_memory_equal(out.restored.entropy, m.restored.entropy, VJ_AGENT_ENTROPY_LEN);
	assert_true(out.restored.realtime_ns == 0x0807060504030201ull);
	assert_string_equal(out.restored.hostname, "clone-7.example");
	assert_int_equal(out.restored.nmacs, 0);
	m = restored_msg("");
	round_trip(&m, &out);
	assert_string_equal(out.restored.hostname, "");
}

static void restored_round_trips_macs(void **state)
{
	struct vj_agent_msg m = restored_msg("c1"), out;
	(void)state;
	m.restored.nmacs = 2;
	m.restored.macs[0] = (struct vj_agent_mac){ 1, { 0x02, 0, 0, 0, 0, 0x11 } };
	m.restored.macs[1] = (struct vj_agent_mac){ 3, { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why),
			 VJ_AGENT_HDR_LEN + 76 + 2 + 16);
	/* After the hostname: index, reserved, the six bytes. */
	static const uint8_t macs[] = { 1, 0, 0x02, 0, 0, 0, 0, 0x11,
					3, 0, 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	assert_int_equal(frame[VJ_AGENT_HDR_LEN + 74], 2);
	assert_memory_equal(frame + VJ_AGENT_HDR_LEN + 78, macs, sizeof(macs));
	round_trip(&m, &out);
	assert_string_equal(out.restored.hostname, "c1");
	assert_int_equal(out.restored.nmacs, 2);
	assert_int_equal(out.restored.macs[0].index, 1);
	assert_memory_equal(out.restored.macs[0].mac, m.restored.macs[0].mac, 6);
	assert_int_equal(out.restored.macs[1].index, 3);
	assert_memory_equal(out.restored.macs[1].mac, m.restored.macs[1].mac, 6);
	m.restored.nmacs = VJ_AGENT_NETS_MAX;
	for (unsigned i = 0; i < VJ_AGENT_NETS_MAX; i++)
		m.restored.macs[i] = (struct vj_agent_mac){ (uint8_t)i, { 0x02, 1, 2, 3, 4, 5 } };
	round_trip(&m, &out);
	assert_int_equal(out.restored.nmacs, VJ_AGENT_NETS_MAX);
}

static void restored_refuses_bad_mac_counts_indexes_and_addresses(void **state)
{
	struct vj_agent_msg m = restored_msg(""), out;
	uint8_t *p = frame + VJ_AGENT_HDR_LEN;
	(void)state;
	m.restored.nmacs = 1;
	m.restored.macs[0] = (struct vj_agent_mac){ 0, { 0x02, 0, 0, 0, 0, 1 } };
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), VJ_AGENT_HDR_LEN + 84);
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), 0);
	/* The header bound: fixed part, the longest hostname, every MAC. */
	assert_int_equal(decode_header(76 + 64 + 8 * VJ_AGENT_NETS_MAX, VJ_AGENT_RESTORED, 0), 0);
	assert_int_equal(decode_header(76 + 64 + 8 * VJ_AGENT_NETS_MAX + 1, VJ_AGENT_RESTORED, 0),
			 -EMSGSIZE);
	/* Count and length must agree exactly, both ways. */
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 83, &out), -EPROTO);
	assert_why("its fields add up to 84");
	p[74] = 2;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("its fields add up to 92");
	p[74] = VJ_AGENT_NETS_MAX + 1;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EMSGSIZE);
	assert_why("5 MACs exceed 4");
	p[74] = 255;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EMSGSIZE);
	p[74] = 1;
	p[75] = 1;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("RESTORED frame: reserved byte set");
	p[75] = 0;
	p[77] = 1;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("MAC 0: reserved byte set");
	p[77] = 0;
	p[76] = VJ_AGENT_NETS_MAX;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("MAC 0: interface 4 is out of order");
	p[76] = 0;
	p[78] = 0x03; /* multicast */
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("MAC 0: not a unicast address");
	memset(p + 78, 0, 6);
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 84, &out), -EPROTO);
	assert_why("MAC 0: not a unicast address");
	/* Two entries for one interface, or out of order. */
	m.restored.nmacs = 2;
	m.restored.macs[1] = (struct vj_agent_mac){ 0, { 0x02, 0, 0, 0, 0, 2 } };
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	assert_why("MAC 1: interface 0 is out of order");
	m.restored.macs[0].index = 2;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
	m.restored.nmacs = VJ_AGENT_NETS_MAX + 1;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EMSGSIZE);
}

/* entropy (64), realtime_ns (8, little endian), host_len (2), MAC count
 * (1), reserved (1), hostname: what PROTOCOL.md says, byte for byte. */
static void restored_layout_is_the_documented_one(void **state)
{
	struct vj_agent_msg m = restored_msg("ab");
	(void)state;
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why),
			 VJ_AGENT_HDR_LEN + 78);
	assert_int_equal(frame[0], 78);
	assert_int_equal(frame[4], 0x14);
	assert_int_equal(frame[8], 0xa0);
	assert_int_equal(frame[8 + 63], 0xa0 + 63);
	static const uint8_t tail[] = { 1, 2, 3, 4, 5, 6, 7, 8, 2, 0, 0, 0, 'a', 'b' };
	assert_memory_equal(frame + 8 + 64, tail, sizeof(tail));
}

static void restored_refuses_bad_lengths_reserved_bytes_and_hostnames(void **state)
{
	struct vj_agent_msg m = restored_msg("ok"), out;
	uint8_t *p = frame + VJ_AGENT_HDR_LEN;
	(void)state;
	assert_int_equal(decode_header(75, VJ_AGENT_RESTORED, 0), -EPROTO);
	assert_why("RESTORED frame: length 75 is below 76");
	assert_int_equal(decode_header(76 + 64, VJ_AGENT_RESTORED, 0), 0);
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why),
			 VJ_AGENT_HDR_LEN + 78);
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 77, &out), -EPROTO);
	assert_why("its fields add up to 78");
	p[74] = 1;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 78, &out), -EPROTO);
	assert_why("its fields add up to 86");
	p[74] = 0;
	p[75] = 1;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 78, &out), -EPROTO);
	assert_why("reserved byte set");
	p[75] = 0;
	p[76] = '/';
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 78, &out), -EPROTO);
	assert_why("hostname has a byte outside");
	p[76] = 'o';
	p[72] = 65;
	assert_int_equal(decode(VJ_AGENT_RESTORED, p, 78, &out), -EMSGSIZE);
	assert_why("hostname length 65 exceeds 64");
	m = restored_msg("bad host");
	assert_int_equal(vj_agent_encode(&m, frame, sizeof(frame), &why), -EPROTO);
}

static void exit_round_trips_and_rejects_bad_kind_and_values(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_EXIT, .exit = { VJ_AGENT_EXITED, 255 } }, out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.exit.kind, VJ_AGENT_EXITED);
	assert_int_equal(out.exit.value, 255);
	m.exit.kind = VJ_AGENT_SIGNALED;
	m.exit.value = 9;
	round_trip(&m, &out);
	assert_int_equal(out.exit.kind, VJ_AGENT_SIGNALED);
	assert_int_equal(decode(VJ_AGENT_EXIT, "\0\0\0\0\0\1\0\0", 8, &out), -EPROTO);
	assert_why("exit status 256");
	assert_int_equal(decode(VJ_AGENT_EXIT, "\1\0\0\0\0\0\0\0", 8, &out), -EPROTO);
	assert_why("signal 0");
	assert_int_equal(decode(VJ_AGENT_EXIT, "\2\0\0\0\0\0\0\0", 8, &out), -EPROTO);
	assert_why("unknown kind 2");
}

static void error_text_must_be_printable_ascii(void **state)
{
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_ERROR, "chdir /x: No such file", 22), out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(decode(VJ_AGENT_ERROR, "bad\x1b[2J", 7, &out), -EPROTO);
	assert_why("printable ASCII");
	assert_int_equal(decode(VJ_AGENT_ERROR, "line\n", 5, &out), -EPROTO);
	assert_int_equal(decode(VJ_AGENT_ERROR, "caf\xc3\xa9", 5, &out), -EPROTO);
}

static void printable_replaces_and_truncates(void **state)
{
	char out[6];
	(void)state;
	vj_agent_printable(out, sizeof(out), "a\nb\x80", 4);
	assert_string_equal(out, "a?b?");
	vj_agent_printable(out, sizeof(out), "abcdefgh", 8);
	assert_string_equal(out, "abcde");
}

static void string_limits_count_arguments_environment_and_bytes(void **state)
{
	(void)state;
	assert_int_equal(vj_agent_check_strings(256, 128, 65536, &why), 0);
	assert_int_equal(vj_agent_check_strings(257, 0, 2, &why), -E2BIG);
	assert_why("256 arguments");
	assert_int_equal(vj_agent_check_strings(1, 129, 2, &why), -E2BIG);
	assert_int_equal(vj_agent_check_strings(1, 0, 65537, &why), -E2BIG);
}

static void type_names_are_known(void **state)
{
	(void)state;
	assert_string_equal(vj_agent_type_name(VJ_AGENT_STDIN_EOF), "STDIN_EOF");
	assert_string_equal(vj_agent_type_name(VJ_AGENT_SETTIME), "SETTIME");
	assert_string_equal(vj_agent_type_name(VJ_AGENT_RESTORED), "RESTORED");
	assert_string_equal(vj_agent_type_name(0x4242), "unknown");
}

/* rx over a socketpair: frames come whole whatever the read sizes. */
static void rx_assembles_frames_fed_byte_by_byte(void **state)
{
	struct vj_agent_rx *rx = calloc(1, sizeof(*rx));
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_STDOUT, "abc", 3), out;
	int sv[2];
	ssize_t n;
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n = vj_agent_encode(&m, frame, sizeof(frame), &why);
	for (ssize_t i = 0; i < n; i++) {
		assert_int_equal(vj_agent_rx_next(rx, &out, &why), 0);
		assert_int_equal(write(sv[1], frame + i, 1), 1);
		assert_int_equal(vj_agent_rx_read(rx, sv[0]), 1);
	}
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), 1);
	assert_int_equal(out.type, VJ_AGENT_STDOUT);
	assert_memory_equal(out.bytes.data, "abc", 3);
	vj_agent_rx_consume(rx);
	assert_int_equal(rx->have, 0);
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), 0);
	close(sv[1]);
	assert_int_equal(vj_agent_rx_read(rx, sv[0]), 0);
	close(sv[0]);
	free(rx);
}

static void rx_takes_two_frames_from_one_read(void **state)
{
	struct vj_agent_rx *rx = calloc(1, sizeof(*rx));
	struct vj_agent_msg a = bytes_msg(VJ_AGENT_STDOUT, "one", 3), out;
	struct vj_agent_msg b = { .type = VJ_AGENT_EXIT, .exit = { VJ_AGENT_EXITED, 3 } };
	ssize_t n1, n2;
	int sv[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n1 = vj_agent_encode(&a, frame, sizeof(frame), &why);
	assert_int_equal(write(sv[1], frame, (size_t)n1), n1);
	n2 = vj_agent_encode(&b, frame, sizeof(frame), &why);
	assert_int_equal(write(sv[1], frame, (size_t)n2), n2);
	assert_int_equal(vj_agent_rx_read(rx, sv[0]), n1 + n2);
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), 1);
	assert_int_equal(out.type, VJ_AGENT_STDOUT);
	vj_agent_rx_consume(rx);
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), 1);
	assert_int_equal(out.type, VJ_AGENT_EXIT);
	assert_int_equal(out.exit.value, 3);
	close(sv[0]);
	close(sv[1]);
	free(rx);
}

static void rx_rejects_a_bad_header_before_its_payload_arrives(void **state)
{
	struct vj_agent_rx *rx = calloc(1, sizeof(*rx));
	struct vj_agent_msg out;
	(void)state;
	hdr(rx->buf, 0x7fffffff, VJ_AGENT_STDOUT, 0);
	rx->have = VJ_AGENT_HDR_LEN;
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), -EMSGSIZE);
	hdr(rx->buf, 4, VJ_AGENT_SIGNAL, 0);
	memset(rx->buf + VJ_AGENT_HDR_LEN, 0, 4); /* signal 0 */
	rx->have = VJ_AGENT_HDR_LEN + 3;
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), 0);
	rx->have++;
	assert_int_equal(vj_agent_rx_next(rx, &out, &why), -EPROTO);
	free(rx);
}

static void tx_refuses_a_second_frame_until_the_first_is_written(void **state)
{
	struct vj_agent_tx *tx = calloc(1, sizeof(*tx));
	struct vj_agent_msg m = bytes_msg(VJ_AGENT_STDIN, "x", 1);
	uint8_t got[16];
	int sv[2];
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vj_agent_tx_put(tx, &m, &why), 0);
	assert_int_equal(vj_agent_tx_put(tx, &m, &why), -EBUSY);
	assert_int_equal(vj_agent_tx_write(tx, sv[0]), 0);
	assert_false(vj_agent_tx_busy(tx));
	assert_int_equal(read(sv[1], got, sizeof(got)), 9);
	assert_int_equal(got[8], 'x');
	m.bytes.len = 0; /* invalid: nothing is queued */
	assert_int_equal(vj_agent_tx_put(tx, &m, &why), -EPROTO);
	assert_false(vj_agent_tx_busy(tx));
	close(sv[1]);
	m.bytes.len = 1;
	assert_int_equal(vj_agent_send(tx, sv[0], &m), -EPIPE); /* and no SIGPIPE */
	close(sv[0]);
	free(tx);
}


/* ---- version 5: EXEC, ATTACH, EXEC_SPEC ---------------------------------- */

static void exec_round_trips_id_port_and_token(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_EXEC }, out;
	(void)state;
	m.exec.id = 0x01020304;
	m.exec.port = UINT32_MAX - 1;
	for (unsigned i = 0; i < VJ_AGENT_TOKEN_LEN; i++)
		m.exec.token[i] = (uint8_t)(0xa0 + i);
	round_trip(&m, &out);
	assert_int_equal(out.exec.id, 0x01020304);
	assert_int_equal(out.exec.port, UINT32_MAX - 1);
	assert_memory_equal(out.exec.token, m.exec.token, VJ_AGENT_TOKEN_LEN);
	/* id, port, token, little endian, nothing else */
	assert_int_equal(frame[VJ_AGENT_HDR_LEN], 0x04);
	assert_int_equal(frame[VJ_AGENT_HDR_LEN + 8], 0xa0);
	assert_int_equal(frame[0], 8 + VJ_AGENT_TOKEN_LEN);
}

static void exec_refuses_id_0_port_0_port_max_and_other_lengths(void **state)
{
	uint8_t p[8 + VJ_AGENT_TOKEN_LEN] = { 0, 0, 0, 0, 1, 0, 0, 0 };
	struct vj_agent_msg m;
	(void)state;
	assert_int_equal(decode(VJ_AGENT_EXEC, p, sizeof(p), &m), -EPROTO);
	assert_why("exec id 0");
	p[0] = 1;
	memset(p + 4, 0, 4);
	assert_int_equal(decode(VJ_AGENT_EXEC, p, sizeof(p), &m), -EPROTO);
	assert_why("port 0");
	memset(p + 4, 0xff, 4);
	assert_int_equal(decode(VJ_AGENT_EXEC, p, sizeof(p), &m), -EPROTO);
	assert_why("port 4294967295");
	assert_int_equal(decode_header(sizeof(p) + 1, VJ_AGENT_EXEC, 0), -EMSGSIZE);
	assert_int_equal(decode_header(sizeof(p) - 1, VJ_AGENT_EXEC, 0), -EPROTO);
}

static void attach_round_trips_and_refuses_id_0_and_other_lengths(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_ATTACH }, out;
	uint8_t p[4 + VJ_AGENT_TOKEN_LEN] = { 0 };
	(void)state;
	m.attach.id = UINT32_MAX;
	memset(m.attach.token, 0x5a, VJ_AGENT_TOKEN_LEN);
	round_trip(&m, &out);
	assert_int_equal(out.attach.id, UINT32_MAX);
	assert_memory_equal(out.attach.token, m.attach.token, VJ_AGENT_TOKEN_LEN);
	assert_int_equal(decode(VJ_AGENT_ATTACH, p, sizeof(p), &m), -EPROTO);
	assert_why("exec id 0");
	assert_int_equal(decode_header(sizeof(p) + 1, VJ_AGENT_ATTACH, 0), -EMSGSIZE);
	assert_int_equal(decode_header(sizeof(p) - 1, VJ_AGENT_ATTACH, 0), -EPROTO);
}

static void exec_spec_round_trips_with_and_without_ids_and_cwd(void **state)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_EXEC_SPEC }, out;
	(void)state;
	round_trip(&m, &out);
	assert_int_equal(out.xspec.flags, 0);
	assert_string_equal(out.xspec.cwd, "");
	m.xspec.flags = VJ_AGENT_XSPEC_IDS | VJ_AGENT_XSPEC_CWD;
	m.xspec.uid = 1000;
	m.xspec.gid = UINT32_MAX;
	memset(m.xspec.cwd, 'a', VJ_AGENT_CWD_MAX);
	m.xspec.cwd[0] = '/';
	round_trip(&m, &out);
	assert_int_equal(out.xspec.uid, 1000);
	assert_int_equal(out.xspec.gid, UINT32_MAX);
	assert_int_equal(strlen(out.xspec.cwd), VJ_AGENT_CWD_MAX);
}

static void exec_spec_refuses_flags_reserved_ids_cwd_and_lengths(void **state)
{
	uint8_t p[16 + 8] = { 0 };
	struct vj_agent_msg m;
	(void)state;
	p[0] = 4; /* an unknown flag */
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 16, &m), -EPROTO);
	assert_why("unknown flags 0x4");
	p[0] = 0;
	p[15] = 1;
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 16, &m), -EPROTO);
	assert_why("reserved");
	p[15] = 0;
	p[4] = 1; /* a uid without the ids flag */
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 16, &m), -EPROTO);
	assert_why("without the ids flag");
	p[4] = 0;
	p[12] = 4; /* a cwd without the cwd flag */
	memcpy(p + 16, "/tmp", 4);
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 20, &m), -EPROTO);
	assert_why("cwd flag");
	p[0] = VJ_AGENT_XSPEC_CWD;
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 20, &m), 0);
	assert_string_equal(m.xspec.cwd, "/tmp");
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 21, &m), -EPROTO);
	assert_why("add up to 20");
	p[12] = 0; /* the flag without a cwd */
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 16, &m), -EPROTO);
	assert_why("cwd flag");
	p[12] = 4;
	p[16] = 't'; /* relative */
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 20, &m), -EPROTO);
	assert_why("absolute");
	p[16] = '/';
	p[18] = '\0';
	assert_int_equal(decode(VJ_AGENT_EXEC_SPEC, p, 20, &m), -EPROTO);
	assert_why("NUL");
	assert_int_equal(decode_header(16 + VJ_AGENT_CWD_MAX + 1, VJ_AGENT_EXEC_SPEC, 0),
			 -EMSGSIZE);
	assert_int_equal(decode_header(15, VJ_AGENT_EXEC_SPEC, 0), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_is_little_endian_with_type_and_zero_flags),
		cmocka_unit_test(header_rejects_unknown_type),
		cmocka_unit_test(header_rejects_reserved_flags),
		cmocka_unit_test(header_rejects_lengths_over_the_limit_before_any_payload),
		cmocka_unit_test(header_rejects_lengths_below_the_type_minimum),
		cmocka_unit_test(payload_decoder_checks_lengths_itself),
		cmocka_unit_test(hello_round_trips),
		cmocka_unit_test(hello_rejects_bad_magic_and_version_ranges),
		cmocka_unit_test(continue_is_empty_and_bounded_from_the_header),
		cmocka_unit_test(the_version_picked_is_the_newest_one_spoken),
		cmocka_unit_test(workload_round_trips),
		cmocka_unit_test(workload_round_trips_empty_fields_and_no_network),
		cmocka_unit_test(workload_rejects_bad_flags_and_reserved_bytes),
		cmocka_unit_test(workload_rejects_bad_network_fields),
		cmocka_unit_test(workload_rejects_lengths_that_do_not_add_up),
		cmocka_unit_test(workload_rejects_relative_cwd_nul_and_bad_hostname),
		cmocka_unit_test(strings_round_trip),
		cmocka_unit_test(arg_rejects_nul),
		cmocka_unit_test(env_rejects_bad_names_missing_equals_and_nul),
		cmocka_unit_test(empty_frames_carry_nothing),
		cmocka_unit_test(data_frames_round_trip_up_to_the_limit),
		cmocka_unit_test(signal_round_trips_and_rejects_out_of_range),
		cmocka_unit_test(settime_round_trips_every_u64_little_endian),
		cmocka_unit_test(settime_refuses_every_length_but_8),
		cmocka_unit_test(restored_round_trips_entropy_clock_and_hostname),
		cmocka_unit_test(root_round_trips_drive_fs_size_and_user),
		cmocka_unit_test(root_refuses_bad_fields),
		cmocka_unit_test(restored_round_trips_macs),
		cmocka_unit_test(restored_refuses_bad_mac_counts_indexes_and_addresses),
		cmocka_unit_test(restored_layout_is_the_documented_one),
		cmocka_unit_test(restored_refuses_bad_lengths_reserved_bytes_and_hostnames),
		cmocka_unit_test(exit_round_trips_and_rejects_bad_kind_and_values),
		cmocka_unit_test(exec_round_trips_id_port_and_token),
		cmocka_unit_test(exec_refuses_id_0_port_0_port_max_and_other_lengths),
		cmocka_unit_test(attach_round_trips_and_refuses_id_0_and_other_lengths),
		cmocka_unit_test(exec_spec_round_trips_with_and_without_ids_and_cwd),
		cmocka_unit_test(exec_spec_refuses_flags_reserved_ids_cwd_and_lengths),
		cmocka_unit_test(error_text_must_be_printable_ascii),
		cmocka_unit_test(printable_replaces_and_truncates),
		cmocka_unit_test(string_limits_count_arguments_environment_and_bytes),
		cmocka_unit_test(type_names_are_known),
		cmocka_unit_test(rx_assembles_frames_fed_byte_by_byte),
		cmocka_unit_test(rx_takes_two_frames_from_one_read),
		cmocka_unit_test(rx_rejects_a_bad_header_before_its_payload_arrives),
		cmocka_unit_test(tx_refuses_a_second_frame_until_the_first_is_written),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
