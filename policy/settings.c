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

const struct vj_setting vj_cgroup_settings[VJ_CGROUP_NLIMITS] = { VJ_CGROUP_LIMITS(CGL_ROW) };
const struct vj_setting vj_rlimit_settings[VJ_NRLIMITS] = { VJ_RLIMITS(RL_ROW) };

struct vj_bound vj_setting_bound(const struct vj_setting *s, uint64_t host_max)
{
	return vj_bound_host(s->min, s->max, host_max);
}

int vj_setting_parse(const struct vj_setting *s, const char *text, uint64_t host_max,
		     uint64_t *out, struct vj_err *err)
{
	char found[128];

	vj_quote_short(text, strlen(text), found, sizeof(found));
	return vj_value_parse(s->unit, text, found, vj_setting_bound(s, host_max), s->word, out,
			      err);
}

int vj_setting_parse_flag(const struct vj_setting *s, const char *flag, const char *text,
			  uint64_t host_max, uint64_t *out, struct vj_err *err)
{
	int r = vj_setting_parse(s, text, host_max, out, err);

	return r < 0 ? vj_wrap(err, "%s", flag) : 0;
}
