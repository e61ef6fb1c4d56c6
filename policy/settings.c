#include "settings.h"

#include <errno.h>
#include <string.h>

#include "scalar.h"

/* One initializer per row, at the row's index. */
#define ROW(family, type, field, key_, flag_, unit_, min_, max_, word_, host_max_, meta_,  \
	    help_)                                                                          \
	[VJ_##family##_##field] = { .key = key_, .flag = flag_, .unit = unit_, .min = min_, \
				    .max = max_, .word = word_, .host_max = host_max_,      \
				    .meta = meta_, .help = help_,                           \
				    .offset = offsetof(type, field) },

#define CGL_ROW(...) ROW(CGL, struct vj_cgroup_limits, __VA_ARGS__)
#define RL_ROW(...) ROW(RL, struct vj_rlimits, __VA_ARGS__)

#define VM_ROW(field, section_, key_, flag_, unit_, min_, max_, word_, whole_mi_, host_max_,    \
	       meta_, help_)                                                                 \
	[VJ_VM_##field] = { .key = key_, .flag = flag_, .unit = unit_, .min = min_,          \
			    .max = max_, .word = word_, .whole_mi = whole_mi_,               \
			    .host_max = host_max_, .section = #section_, .meta = meta_,       \
			    .help = help_, .offset = offsetof(struct vj_vm_resources, field) },

const struct vj_setting vj_cgroup_settings[VJ_CGROUP_NLIMITS] = { VJ_CGROUP_LIMITS(CGL_ROW) };
const struct vj_setting vj_rlimit_settings[VJ_NRLIMITS] = { VJ_RLIMITS(RL_ROW) };
const struct vj_setting vj_vm_settings[VJ_VM_NRESOURCES] = { VJ_VM_RESOURCES(VM_ROW) };

struct vj_bound vj_setting_bound(const struct vj_setting *s, uint64_t host_max)
{
	return vj_bound_host(s->min, s->max, host_max);
}

int vj_setting_parse_found(const struct vj_setting *s, const char *text, const char *found,
			   uint64_t host_max, uint64_t *out, struct vj_err *err)
{
	uint64_t v;
	int r = vj_value_parse(s->unit, text, found, vj_setting_bound(s, host_max), s->word, &v,
			       err);

	if (r < 0)
		return r;
	if (s->whole_mi && v != VJ_UNLIMITED && v % (1u << 20))
		return vj_fail(err, -EINVAL, "expected a whole number of Mi, found %s", found);
	*out = v;
	return 0;
}

int vj_setting_parse(const struct vj_setting *s, const char *text, uint64_t host_max,
		     uint64_t *out, struct vj_err *err)
{
	char found[128];

	vj_quote_short(text, strlen(text), found, sizeof(found));
	return vj_setting_parse_found(s, text, found, host_max, out, err);
}

void vj_vm_resource_set(struct vj_policy *p, enum vj_vm_resource i, uint64_t v)
{
	switch (i) {
	case VJ_VM_vcpus:
		p->vm.vcpus = (uint32_t)v;
		break;
	case VJ_VM_memory:
		p->vm.memory_mib = v >> 20;
		break;
	case VJ_VM_timeout:
		p->limits.timeout_ms = v == VJ_UNLIMITED ? 0 : v; /* 0: none */
		break;
	case VJ_VM_console_output:
		p->limits.console_bytes = v;
		p->vm.console_limit = v == VJ_UNLIMITED ? 0 : v; /* the VMM's 0: none */
		break;
	case VJ_VM_output:
		p->limits.output_bytes = v;
		break;
	case VJ_VM_NRESOURCES:
		break;
	}
}

uint64_t vj_vm_resource_get(const struct vj_policy *p, enum vj_vm_resource i)
{
	switch (i) {
	case VJ_VM_vcpus:
		return p->vm.vcpus;
	case VJ_VM_memory:
		return p->vm.memory_mib << 20;
	case VJ_VM_timeout:
		return p->limits.timeout_ms ? p->limits.timeout_ms : VJ_UNLIMITED;
	case VJ_VM_console_output:
		return p->limits.console_bytes;
	case VJ_VM_output:
		return p->limits.output_bytes;
	case VJ_VM_NRESOURCES:
		break;
	}
	return VJ_UNLIMITED;
}

int vj_setting_parse_flag(const struct vj_setting *s, const char *flag, const char *text,
			  uint64_t host_max, uint64_t *out, struct vj_err *err)
{
	int r = vj_setting_parse(s, text, host_max, out, err);

	return r < 0 ? vj_wrap(err, "%s", flag) : 0;
}
