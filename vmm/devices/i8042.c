#include "devices/i8042.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "layout.h"

enum { OFF_DATA = 0, OFF_CMD = VJ_PORT_I8042_CMD - VJ_PORT_I8042_DATA };

/* Status register (read from port 0x64). */
#define STS_OBF 0x01      /* a byte waits in port 0x60 */
#define STS_SYS 0x04      /* the CTR's system flag */
#define STS_CMD 0x08      /* the last write went to port 0x64 */
#define STS_UNLOCKED 0x10 /* the key lock does not inhibit the keyboard */

/* Controller configuration byte (CTR). */
#define CTR_KBDINT 0x01 /* IRQ 1 when a byte waits */
#define CTR_SYS 0x04    /* POST passed */
#define CTR_KBDDIS 0x10 /* keyboard interface disabled */
#define CTR_XLATE 0x40  /* translate the keyboard's set 2 to set 1 */

/* Controller commands (port 0x64). */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60 /* the CTR follows on port 0x60 */
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1 /* the output port follows on port 0x60 */
#define CMD_RESET 0xfe      /* pulse the CPU reset line */

#define SELF_TEST_PASSED 0x55
#define KBD_TEST_PASSED 0x00

/* Keyboard commands (port 0x60 with no controller command pending). */
#define KBD_SET_LEDS 0xed      /* a parameter follows */
#define KBD_ECHO 0xee
#define KBD_SCANCODE_SET 0xf0  /* a parameter follows: 0 asks, 1..3 sets */
#define KBD_GET_ID 0xf2
#define KBD_SET_TYPEMATIC 0xf3 /* a parameter follows */
#define KBD_ENABLE 0xf4
#define KBD_DISABLE 0xf5       /* and back to defaults */
#define KBD_SET_3_LAST 0xfd    /* 0xf6..0xfd: defaults and set 3 key types */
#define KBD_RESEND 0xfe
#define KBD_RESET 0xff

/* Keyboard answers. */
#define KBD_ACK 0xfa
#define KBD_NAK 0xfe /* "resend": what a keyboard answers a command it does not know */
#define KBD_SELF_TEST_PASSED 0xaa
#define KBD_SET 2 /* the only scancode set the keyboard speaks */

/* Ctrl, Alt and Delete pressed, then released in reverse order. */
static const uint8_t ctrl_alt_del_set2[] = {
	0x14, 0x11, 0xe0, 0x71,             /* make: Ctrl, Alt, Delete (E0-prefixed) */
	0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14, /* break: F0 before the code */
};
/* The same as the controller hands them on when it translates. */
static const uint8_t ctrl_alt_del_set1[] = {
	0x1d, 0x38, 0xe0, 0x53, /* make */
	0xe0, 0xd3, 0xb8, 0x9d, /* break: bit 7 set */
};

_Static_assert(sizeof(ctrl_alt_del_set2) <= VJ_I8042_BUF, "Ctrl-Alt-Del fits the buffer");

void vj_i8042_init(struct vj_i8042 *k, void (*reset)(void *ctx), void (*kbd_irq)(void *ctx),
		   void *ctx)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->reset = reset;
	k->kbd_irq = kbd_irq;
	k->ctx = ctx;
	k->ctr = CTR_KBDINT | CTR_SYS;
	k->scanning = true;
}

void vj_i8042_destroy(struct vj_i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

/* A byte newly at the head of the buffer raises IRQ 1, if enabled. */
static void head_changed_locked(struct vj_i8042 *k)
{
	if (k->count && (k->ctr & CTR_KBDINT) && k->kbd_irq)
		k->kbd_irq(k->ctx);
}

/* Bytes past the buffer are dropped: the guest is not reading. */
static void push_locked(struct vj_i8042 *k, uint8_t v)
{
	if (k->count == VJ_I8042_BUF)
		return;
	k->buf[(k->head + k->count) % VJ_I8042_BUF] = v;
	if (++k->count == 1)
		head_changed_locked(k);
}

static uint8_t pop_locked(struct vj_i8042 *k)
{
	uint8_t v;

	if (!k->count)
		return 0;
	v = k->buf[k->head];
	k->head = (k->head + 1) % VJ_I8042_BUF;
	k->count--;
	head_changed_locked(k);
	return v;
}

static void kbd_send_locked(struct vj_i8042 *k, uint8_t v)
{
	k->kbd_last = v;
	push_locked(k, v);
}

static uint8_t status_locked(const struct vj_i8042 *k)
{
	return (k->count ? STS_OBF : 0) | (k->ctr & CTR_SYS ? STS_SYS : 0) |
	       (k->last_was_cmd ? STS_CMD : 0) | STS_UNLOCKED;
}

static void write_ctr_locked(struct vj_i8042 *k, uint8_t v)
{
	const bool enabled = !(k->ctr & CTR_KBDINT) && (v & CTR_KBDINT);

	k->ctr = v;
	/* A byte already waiting interrupts once the guest allows it. */
	if (enabled)
		head_changed_locked(k);
}

/* The byte after a keyboard command that takes a parameter. */
static void kbd_param_locked(struct vj_i8042 *k, uint8_t cmd, uint8_t v)
{
	kbd_send_locked(k, KBD_ACK);
	if (cmd == KBD_SCANCODE_SET && v == 0)
		kbd_send_locked(k, KBD_SET);
}

static void kbd_command_locked(struct vj_i8042 *k, uint8_t v)
{
	if (k->kbd_cmd) {
		const uint8_t cmd = k->kbd_cmd;

		k->kbd_cmd = 0;
		kbd_param_locked(k, cmd, v);
		return;
	}
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_SCANCODE_SET:
	case KBD_SET_TYPEMATIC:
		k->kbd_cmd = v;
		kbd_send_locked(k, KBD_ACK);
		return;
	case KBD_ECHO:
		kbd_send_locked(k, KBD_ECHO);
		return;
	case KBD_GET_ID:
		kbd_send_locked(k, KBD_ACK);
		kbd_send_locked(k, 0xab); /* an MF2 keyboard */
		kbd_send_locked(k, 0x83);
		return;
	case KBD_ENABLE:
		k->scanning = true;
		kbd_send_locked(k, KBD_ACK);
		return;
	case KBD_DISABLE:
		k->scanning = false;
		kbd_send_locked(k, KBD_ACK);
		return;
	case KBD_RESEND:
		push_locked(k, k->kbd_last);
		return;
	case KBD_RESET:
		k->scanning = true;
		kbd_send_locked(k, KBD_ACK);
		kbd_send_locked(k, KBD_SELF_TEST_PASSED);
		return;
	default:
		kbd_send_locked(k, v > KBD_DISABLE && v <= KBD_SET_3_LAST ? KBD_ACK : KBD_NAK);
	}
}

static void data_write_locked(struct vj_i8042 *k, uint8_t v)
{
	const uint8_t cmd = k->cmd;

	k->cmd = 0;
	if (cmd == CMD_WRITE_CTR)
		write_ctr_locked(k, v);
	else if (cmd == CMD_WRITE_OUTP)
		k->outp = v;
	else
		kbd_command_locked(k, v);
}

/* Returns true for the reset command, which the caller acts on without
 * the lock: it ends the VM. */
static bool command_locked(struct vj_i8042 *k, uint8_t v)
{
	k->cmd = 0;
	switch (v) {
	case CMD_READ_CTR:
		push_locked(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->cmd = v;
		break;
	case CMD_SELF_TEST:
		push_locked(k, SELF_TEST_PASSED);
		break;
	case CMD_KBD_TEST:
		push_locked(k, KBD_TEST_PASSED);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		push_locked(k, k->outp);
		break;
	case CMD_RESET:
		return true;
	}
	return false;
}

static void i8042_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vj_i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == OFF_DATA)
			data[i] = pop_locked(k);
		else if (off + i == OFF_CMD)
			data[i] = status_locked(k);
		else
			data[i] = 0;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vj_i8042 *k = dev;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == OFF_DATA) {
			k->last_was_cmd = false;
			data_write_locked(k, data[i]);
		} else if (off + i == OFF_CMD) {
			k->last_was_cmd = true;
			reset |= command_locked(k, data[i]);
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (reset)
		k->reset(k->ctx);
}

static int ctrl_alt_del_locked(struct vj_i8042 *k)
{
	const bool xlate = k->ctr & CTR_XLATE;
	const uint8_t *keys = xlate ? ctrl_alt_del_set1 : ctrl_alt_del_set2;
	const unsigned n = xlate ? sizeof(ctrl_alt_del_set1) : sizeof(ctrl_alt_del_set2);

	if (!k->scanning || (k->ctr & CTR_KBDDIS))
		return -EAGAIN;
	if (VJ_I8042_BUF - k->count < n)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		kbd_send_locked(k, keys[i]);
	return 0;
}

int vj_i8042_ctrl_alt_del(struct vj_i8042 *k)
{
	int r;

	pthread_mutex_lock(&k->lock);
	r = ctrl_alt_del_locked(k);
	pthread_mutex_unlock(&k->lock);
	return r;
}

const struct vj_bus_ops vj_i8042_ops = { .read = i8042_read, .write = i8042_write };

void vj_i8042_save(struct vj_i8042 *k, struct vj_snap_i8042 *o)
{
	_Static_assert(VJ_I8042_BUF == VJ_SNAP_I8042_BUF, "the buffer fits its section");
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&k->lock);
	*o = (struct vj_snap_i8042){
		.ctr = k->ctr, .outp = k->outp, .last_was_cmd = k->last_was_cmd, .cmd = k->cmd,
		.kbd_cmd = k->kbd_cmd, .scanning = k->scanning, .kbd_last = k->kbd_last,
		.head = (uint8_t)k->head, .count = (uint8_t)k->count,
	};
	memcpy(o->buf, k->buf, sizeof(o->buf));
	pthread_mutex_unlock(&k->lock);
}

void vj_i8042_restore(struct vj_i8042 *k, const struct vj_snap_i8042 *in)
{
	pthread_mutex_lock(&k->lock);
	k->ctr = in->ctr;
	k->outp = in->outp;
	k->last_was_cmd = in->last_was_cmd;
	k->cmd = in->cmd;
	k->kbd_cmd = in->kbd_cmd;
	k->scanning = in->scanning;
	k->kbd_last = in->kbd_last;
	k->head = in->head % VJ_I8042_BUF;
	k->count = in->count > VJ_I8042_BUF ? VJ_I8042_BUF : in->count;
	memcpy(k->buf, in->buf, sizeof(k->buf));
	pthread_mutex_unlock(&k->lock);
}
