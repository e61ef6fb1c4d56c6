#include "devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Register offsets and bits (the 8250/16550 register set). */
enum { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_MSI 0x08  /* modem status */
#define IER_MASK 0x0f
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_MSI 0x00
#define IIR_FIFO_BITS 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

_Static_assert(VJ_SERIAL_OUT_BUF >= VJ_TERMSAFE_MAX(1), "a guest byte's rendering fits the buffer");

void vj_serial_init(struct vj_serial *s, int out_fd, uint64_t limit,
		    void (*set_irq)(void *ctx, bool level), void *irq_ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->terminal = out_fd >= 0 && isatty(out_fd);
	s->limit = limit;
	s->set_irq = set_irq;
	s->irq_ctx = irq_ctx;
	s->mcr = MCR_OUT2;
}

static void flush_locked(struct vj_serial *s)
{
	unsigned off = 0;

	while (off < s->olen && s->out_fd >= 0) {
		ssize_t n = write(s->out_fd, s->obuf + off, s->olen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a console that cannot be written loses output, not the VM */
		off += (unsigned)n;
	}
	s->olen = 0;
}

void vj_serial_flush(struct vj_serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void vj_serial_destroy(struct vj_serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	if (s->terminal)
		s->olen = (unsigned)vj_termsafe_finish(&s->safe, s->obuf);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
}

static void emit(struct vj_serial *s, uint8_t c)
{
	if (s->out_fd < 0)
		return;
	if (s->limit && s->written >= s->limit) {
		if (!s->limit_hit) {
			s->limit_hit = true;
			flush_locked(s);
			vj_warn("console output limit of %llu bytes reached; dropping the rest",
				(unsigned long long)s->limit);
		}
		return;
	}
	s->written++;
	if (s->olen + VJ_TERMSAFE_MAX(1) > sizeof(s->obuf))
		flush_locked(s);
	if (s->terminal)
		s->olen += (unsigned)vj_termsafe_feed(&s->safe, &c, 1, s->obuf + s->olen);
	else
		s->obuf[s->olen++] = (char)c;
	if (c == '\n')
		flush_locked(s);
}

static uint8_t iir_locked(const struct vj_serial *s)
{
	uint8_t fifo = s->fifo_enabled ? IIR_FIFO_BITS : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

static uint8_t msr_locked(const struct vj_serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS; /* a modem that is always there */
	/* Loopback wires the modem control outputs to the status inputs. */
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void update_irq_locked(struct vj_serial *s)
{
	bool level = !(iir_locked(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_ctx, level);
	}
}

static void rx_push_locked(struct vj_serial *s, uint8_t c)
{
	if (s->rx_count == VJ_SERIAL_RX_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_count) % VJ_SERIAL_RX_FIFO] = c;
	s->rx_count++;
}

static uint8_t read_reg(struct vj_serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_count)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % VJ_SERIAL_RX_FIFO;
		s->rx_count--;
		return v;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = iir_locked(s);
		/* Reading IIR while it reports THRE acknowledges that interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		/* Output leaves at once: the transmitter is always empty. */
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case REG_MSR:
		return msr_locked(s);
	default:
		return s->scr;
	}
}

static void write_reg(struct vj_serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		if (s->mcr & MCR_LOOP)
			rx_push_locked(s, v);
		else
			emit(s, v);
		s->thr_ipending = true;
		return;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI while the transmitter is empty raises it at once,
		 * which Linux's 8250 driver checks for at start-up. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & IER_MASK;
		return;
	case REG_IIR_FCR:
		s->fifo_enabled = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX)
			s->rx_head = s->rx_count = 0;
		return;
	case REG_LCR:
		s->lcr = v;
		return;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		return;
	case REG_SCR:
		s->scr = v;
		return;
	default:
		return; /* LSR and MSR are read-only */
	}
}

static void serial_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vj_serial *s = dev;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < 8 ? read_reg(s, (unsigned)(off + i)) : 0xff;
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vj_serial *s = dev;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len; i++)
		if (off + i < 8)
			write_reg(s, (unsigned)(off + i), data[i]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

unsigned vj_serial_input(struct vj_serial *s, const uint8_t *buf, unsigned len)
{
	unsigned taken = 0;

	pthread_mutex_lock(&s->lock);
	while (taken < len && s->rx_count < VJ_SERIAL_RX_FIFO)
		rx_push_locked(s, buf[taken++]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return taken;
}

const struct vj_bus_ops vj_serial_ops = { .read = serial_read, .write = serial_write };

void vj_serial_save(struct vj_serial *s, struct vj_snap_uart *o)
{
	_Static_assert(VJ_SERIAL_RX_FIFO == VJ_SNAP_UART_FIFO, "the FIFO fits its section");
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	*o = (struct vj_snap_uart){
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .scr = s->scr, .dll = s->dll,
		.dlm = s->dlm, .fifo_enabled = s->fifo_enabled, .thr_ipending = s->thr_ipending,
		.irq_level = s->irq_level, .rx_head = (uint8_t)s->rx_head,
		.rx_count = (uint8_t)s->rx_count,
	};
	memcpy(o->rx, s->rx, sizeof(o->rx));
	pthread_mutex_unlock(&s->lock);
}

void vj_serial_restore(struct vj_serial *s, const struct vj_snap_uart *in)
{
	pthread_mutex_lock(&s->lock);
	s->ier = in->ier & IER_MASK;
	s->lcr = in->lcr;
	s->mcr = in->mcr & MCR_MASK;
	s->scr = in->scr;
	s->dll = in->dll;
	s->dlm = in->dlm;
	s->fifo_enabled = in->fifo_enabled;
	s->thr_ipending = in->thr_ipending;
	s->rx_head = in->rx_head % VJ_SERIAL_RX_FIFO;
	s->rx_count = in->rx_count > VJ_SERIAL_RX_FIFO ? VJ_SERIAL_RX_FIFO : in->rx_count;
	memcpy(s->rx, in->rx, sizeof(s->rx));
	/* The line as the device saw it; the interrupt controllers' own
	 * state came back with the VM section. */
	s->irq_level = in->irq_level;
	if (s->irq_level && s->set_irq)
		s->set_irq(s->irq_ctx, true);
	pthread_mutex_unlock(&s->lock);
}
