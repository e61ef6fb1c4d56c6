/* Intel MultiProcessor Specification 1.4 table: how a guest without ACPI
 * finds its processors, the IOAPIC and the ISA interrupt routing. */
#include <errno.h>
#include <string.h>

#include "boot/loader.h"
#include "config.h"
#include "layout.h"

#define MP_SPEC_REV 4
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_ENABLED 1
#define MP_CPU_BSP 2
#define MP_IRQ_INT 0
#define MP_IRQ_NMI 1
#define MP_IRQ_EXTINT 3
#define MP_ALL_APICS 0xff

struct __attribute__((packed)) mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
};

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };

#define MPTABLE_MAX_BYTES                                                                  \
	(sizeof(struct mpf_intel) + sizeof(struct mpc_table) +                             \
	 VJ_VCPUS_MAX * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +                 \
	 sizeof(struct mpc_ioapic) + (VJ_IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc))

#define VGA_AREA_START 0xa0000ULL
_Static_assert(VJ_MPTABLE_ADDR + MPTABLE_MAX_BYTES <= VGA_AREA_START,
	       "MP table must end below the legacy video area");

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)(0 - s);
}

int vj_mptable_write(const struct vj_guest_mem *mem, unsigned nvcpus)
{
	uint8_t buf[MPTABLE_MAX_BYTES];
	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)(nvcpus + VJ_IOAPIC_ID_OFFSET);
	uint16_t count = 0;

	if (nvcpus == 0 || nvcpus > VJ_VCPUS_MAX)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	for (unsigned i = 0; i < nvcpus; i++, count++) {
		struct mpc_cpu c = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpufeature = 0x600,      /* family 6 */
			.featureflag = 0x201,     /* FPU, APIC */
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus), count++;
	struct mpc_ioapic io = { .type = MP_IOAPIC, .apicid = ioapic_id,
				 .apicver = MP_IOAPIC_VERSION, .flags = 1,
				 .apicaddr = (uint32_t)VJ_IOAPIC_ADDR };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io), count++;
	/* Every IOAPIC pin is wired to the ISA IRQ of the same number, which
	 * is how KVM's default GSI routing delivers them. */
	for (unsigned pin = 0; pin < VJ_IOAPIC_PINS; pin++, count++) {
		struct mpc_intsrc s = { .type = MP_INTSRC, .irqtype = MP_IRQ_INT, .srcbus = 0,
					.srcbusirq = (uint8_t)pin, .dstapic = ioapic_id,
					.dstirq = (uint8_t)pin };
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	struct mpc_intsrc lint0 = { .type = MP_LINTSRC, .irqtype = MP_IRQ_EXTINT,
				    .dstapic = MP_ALL_APICS, .dstirq = 0 };
	struct mpc_intsrc lint1 = { .type = MP_LINTSRC, .irqtype = MP_IRQ_NMI,
				    .dstapic = MP_ALL_APICS, .dstirq = 1 };
	memcpy(p, &lint0, sizeof(lint0));
	p += sizeof(lint0), count++;
	memcpy(p, &lint1, sizeof(lint1));
	p += sizeof(lint1), count++;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "VMJAIL  ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)VJ_LAPIC_ADDR;
	mpc->checksum = checksum((uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(VJ_MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = checksum((uint8_t *)mpf, sizeof(*mpf));

	return vj_mem_write(mem, VJ_MPTABLE_ADDR, buf, (uint64_t)(p - buf));
}
