/*
 * The Intel MultiProcessor Specification 1.4 table, read the way an OS
 * does: find the floating pointer, check both checksums, walk the entries.
 */
#include "guest.h"
#include "vmm/layout.h"

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config_paddr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t features[5];
} __attribute__((packed));

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t base_length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table_paddr;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_paddr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t paddr;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer layout");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header layout");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry layout");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_IOAPIC_ENABLED 0x01

static uint8_t sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

/* The spec's search areas: the last KiB of base memory (where the VMM
 * puts it), then the BIOS ROM. */
static const struct mp_floating *find_floating(void)
{
	static const uint64_t areas[][2] = { { VJ_EBDA_START, 0x400 }, { 0xf0000, 0x10000 } };

	for (size_t a = 0; a < 2; a++) {
		for (uint64_t p = areas[a][0]; p < areas[a][0] + areas[a][1]; p += 16) {
			if (!memcmp((const void *)p, "_MP_", 4))
				return (const struct mp_floating *)p;
		}
	}
	return 0;
}

static const char *add_processor(struct mp_info *mp, const struct mp_processor *e)
{
	if (!(e->flags & MP_CPU_ENABLED))
		return 0;
	if (mp->ncpus == MAX_CPUS)
		return "more processor entries than the guest supports";
	for (unsigned i = 0; i < mp->ncpus; i++) {
		if (mp->apic_id[i] == e->apic_id)
			return "two processor entries with one APIC id";
	}
	mp->apic_id[mp->ncpus] = e->apic_id;
	mp->is_bsp[mp->ncpus] = e->flags & MP_CPU_BSP;
	mp->ncpus++;
	return 0;
}

static const char *walk_entries(struct mp_info *mp, const struct mp_config *c)
{
	const uint8_t *p = (const uint8_t *)(c + 1), *end = (const uint8_t *)c + c->base_length;
	unsigned nbsp = 0;
	const char *err;

	for (unsigned i = 0; i < c->entry_count; i++) {
		size_t len = *p == MP_PROCESSOR ? sizeof(struct mp_processor) : 8;
		if (p >= end || len > (size_t)(end - p))
			return "entries run past the table length";
		switch (*p) {
		case MP_PROCESSOR:
			if ((err = add_processor(mp, (const struct mp_processor *)p)))
				return err;
			break;
		case MP_IOAPIC:
			if (((const struct mp_ioapic *)p)->flags & MP_IOAPIC_ENABLED) {
				if (((const struct mp_ioapic *)p)->paddr != VJ_IOAPIC_ADDR)
					return "IOAPIC entry with an unexpected address";
				mp->nioapics++;
			}
			break;
		case MP_BUS:
		case MP_IOINT:
		case MP_LINT:
			break;
		default:
			return "unknown entry type";
		}
		p += len;
	}
	for (unsigned i = 0; i < mp->ncpus; i++)
		nbsp += mp->is_bsp[i];
	if (mp->ncpus == 0 || nbsp != 1)
		return "not exactly one enabled bootstrap processor";
	return 0;
}

const char *mp_read(struct mp_info *mp)
{
	const struct mp_floating *fp = find_floating();
	const struct mp_config *c;

	memset(mp, 0, sizeof(*mp));
	if (!fp)
		return "no MP floating pointer (_MP_) in the EBDA or BIOS area";
	if (fp->length != 1 || sum(fp, 16))
		return "bad MP floating pointer length or checksum";
	if (fp->config_paddr < 0x1000 || fp->config_paddr + sizeof(*c) > boot.ram_top)
		return "MP configuration table address outside RAM";
	c = (const struct mp_config *)(uint64_t)fp->config_paddr;
	if (memcmp(c->signature, "PCMP", 4))
		return "no PCMP signature at the MP configuration table";
	if (c->base_length < sizeof(*c) || fp->config_paddr + c->base_length > boot.ram_top)
		return "bad MP configuration table length";
	if (sum(c, c->base_length))
		return "bad MP configuration table checksum";
	if (c->lapic_paddr != VJ_LAPIC_ADDR)
		return "MP table names an unexpected local APIC address";
	return walk_entries(mp, c);
}
