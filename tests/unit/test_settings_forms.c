/* Every form of a setting takes the same strings: the flags form of
 * `vmjail run`, a policy file, and the policy form's overrides accept
 * and refuse each candidate alike, and accepted ones mean the same. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "unit.h"
#include "flags.h"
#include "policy/settings.h"
#include "test_policy_util.h"

static struct vj_launch l;
static struct vj_err e;

static int parse_flags(const char *flag, const char *value)
{
	char *argv[] = { "run", "--kernel", "/k", (char *)flag, (char *)value, NULL };

	vj_launch_init(&l);
	return vj_flags_parse_run(&l, 5, argv, &e);
}

static const char *const sizes[] = {
	"256M", "256Mi", "1G", "1Gi", "268435456", "0", "256MB", "256m", "0x10000000", "0256M",
	"-1", "1.5G", "256 M", "unlimited", "default", "K",
};

static const char *const integers[] = {
	"1", "32", "100", "10000", "10001", "4194304", "4194305", "0", "010", "0x10", "1K",
	"-1", "+3", "1.0", "unlimited", "default",
};

static const char *const durations[] = {
	"30s", "500ms", "2m", "1h", "30", "30 s", "30S", "0s", "1.5s", "unlimited", "-1s",
};

/* The schema's bounds only: an operator's maximum binds the policy and
 * not the operator's own flags. */
static void host_without_maxima(void)
{
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++) {
		const struct vj_setting *s = &vj_cgroup_settings[i];
		*vj_setting_field(s, &tp.host.max_cgroup) = s->word ? VJ_UNLIMITED : s->max;
	}
	for (size_t i = 0; i < VJ_NRLIMITS; i++)
		*vj_setting_field(&vj_rlimit_settings[i], &tp.host.max_rlimits) = VJ_UNLIMITED;
	for (size_t i = 0; i < VJ_VM_NRESOURCES; i++) {
		const struct vj_setting *s = &vj_vm_settings[i];
		*vj_setting_field(s, &tp.host.max_vm) = s->word ? VJ_UNLIMITED : s->max;
	}
}

/* section: "limits", or "jail.cgroup" and the like one level down. */
static int load(const char *section, const char *key, const char *value, struct vj_policy *p)
{
	const char *dot = strchr(section, '.');
	char yaml[512];
	struct vj_err err;

	if (dot)
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nvm:\n  kernel: vmlinux\n  memory: 16Mi\n%.*s:\n  %s:\n"
			 "    %s: %s\n", (int)(dot - section), section, dot + 1, key, value);
	else
		snprintf(yaml, sizeof(yaml),
			 "version: 1\nvm:\n  kernel: vmlinux\n  memory: 16Mi\n%s:\n  %s: %s\n",
			 section, key, value);
	return tp_load(yaml, p, &err);
}

static void assert_same(const char *what, const char *value, int flag_r, int policy_r,
			uint64_t flag_v, uint64_t policy_v)
{
	if ((flag_r == 0) != (policy_r == 0))
		fail_msg("%s \"%s\": the flag %s it, the policy %s it", what, value,
			 flag_r ? "refuses" : "accepts", policy_r ? "refuses" : "accepts");
	if (flag_r == 0 && flag_v != policy_v)
		fail_msg("%s \"%s\": the flag gives %llu, the policy %llu", what, value,
			 (unsigned long long)flag_v, (unsigned long long)policy_v);
}

static void cgroup_limits_take_the_same_strings_in_flags_and_policy(void **state)
{
	struct vj_policy p;

	(void)state;
	host_without_maxima();
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++) {
		const struct vj_setting *s = &vj_cgroup_settings[i];
		const char *const *c = s->unit == VJ_UNIT_SIZE ? sizes : integers;
		size_t n = s->unit == VJ_UNIT_SIZE ? VJ_ARRAY_SIZE(sizes) : VJ_ARRAY_SIZE(integers);
		char flag[40];

		snprintf(flag, sizeof(flag), "--%s", s->flag);
		for (size_t k = 0; k < n; k++) {
			int fr = parse_flags(flag, c[k]);
			uint64_t fv = vj_setting_get(s, &l.policy.jail.cgroup);
			int pr = load("jail.cgroup", s->key, c[k], &p);

			assert_same(flag, c[k], fr, pr, fv,
				    pr ? 0 : vj_setting_get(s, &p.jail.cgroup));
			if (pr == 0)
				vj_policy_free(&p);
		}
	}
}

static void rlimits_take_the_same_strings_in_flags_and_policy(void **state)
{
	struct vj_policy p;

	(void)state;
	host_without_maxima();
	for (size_t i = 0; i < VJ_NRLIMITS; i++) {
		const struct vj_setting *s = &vj_rlimit_settings[i];
		const char *const *c = s->unit == VJ_UNIT_SIZE ? sizes : integers;
		size_t n = s->unit == VJ_UNIT_SIZE ? VJ_ARRAY_SIZE(sizes) : VJ_ARRAY_SIZE(integers);

		for (size_t k = 0; k < n; k++) {
			char arg[64];
			int fr, pr;
			uint64_t fv;

			snprintf(arg, sizeof(arg), "%s=%s", s->flag, c[k]);
			fr = parse_flags("--rlimit", arg);
			fv = vj_setting_get(s, &l.policy.jail.rlimits);
			pr = load("jail.rlimits", s->key, c[k], &p);
			assert_same("--rlimit", arg, fr, pr, fv,
				    pr ? 0 : vj_setting_get(s, &p.jail.rlimits));
			if (pr == 0)
				vj_policy_free(&p);
		}
	}
}

/* Three forms: --timeout, limits.timeout, and `vmjail run POLICY
 * --timeout` (the overrides). */
static void timeouts_take_the_same_strings_in_every_form(void **state)
{
	struct vj_policy p;

	(void)state;
	host_without_maxima();
	for (size_t k = 0; k < VJ_ARRAY_SIZE(durations); k++) {
		struct vj_policy_overrides o = { .timeout = durations[k] };
		int fr = parse_flags("--timeout", durations[k]);
		uint64_t fv = l.policy.limits.timeout_ms;
		int pr = load("limits", "timeout", durations[k], &p);
		struct vj_err err;
		int orr;

		assert_same("--timeout", durations[k], fr, pr, fv, pr ? 0 : p.limits.timeout_ms);
		if (pr == 0)
			vj_policy_free(&p);
		assert_int_equal(load("limits", "timeout", "1s", &p), 0);
		orr = vj_policy_apply_overrides(&p, &o, &tp.host, &err);
		assert_same("override --timeout", durations[k], fr, orr, fv, p.limits.timeout_ms);
		vj_policy_free(&p);
	}
}

/* The VM's memory: vmjail-vmm's --memory (also `vmjail run --kernel`),
 * vm.memory, and the policy form's --memory. */
static void memory_takes_the_same_strings_in_every_form(void **state)
{
	static const char *const memory[] = {
		"128M", "128Mi", "1G", "134217728", "128", "128MB", "128m", "0x8000000",
		"8M", "300000M", "1000K", "16M", "16Mi",
	};
	struct vj_policy p;

	(void)state;
	host_without_maxima();
	for (size_t k = 0; k < VJ_ARRAY_SIZE(memory); k++) {
		struct vj_policy_overrides o = { .memory = memory[k] };
		int fr = parse_flags("--memory", memory[k]);
		uint64_t fv = l.policy.vm.memory_mib;
		char yaml[256];
		struct vj_err err;
		int pr, orr;

		snprintf(yaml, sizeof(yaml),
			 "version: 1\nvm:\n  kernel: vmlinux\n  memory: %s\n"
			 "jail:\n  cgroup:\n    memory: unlimited\n", memory[k]);
		pr = tp_load(yaml, &p, &err);
		assert_same("--memory", memory[k], fr, pr, fv, pr ? 0 : p.vm.memory_mib);
		if (pr == 0)
			vj_policy_free(&p);
		assert_int_equal(tp_load("version: 1\nvm:\n  kernel: vmlinux\n"
					 "jail:\n  cgroup:\n    memory: unlimited\n", &p, &err), 0);
		orr = vj_policy_apply_overrides(&p, &o, &tp.host, &err);
		assert_same("override --memory", memory[k], fr, orr, fv, p.vm.memory_mib);
		vj_policy_free(&p);
	}
}

/* Sizes that are no whole number of Mi, and the bounds of guest memory. */
static const char *const memory_sizes[] = {
	"128M", "128Mi", "1G", "134217728", "128", "128MB", "128m", "0x8000000",
	"8M", "300000M", "1000K", "16M", "16Mi", "256Gi", "257Gi", "16385K",
};

/* Where `vmjail run --kernel` has the row's flag: vmjail-vmm's --vcpus and
 * --memory, the launcher's --timeout. The output caps are a policy's. */
static const bool in_flags_form[VJ_VM_NRESOURCES] = {
	[VJ_VM_vcpus] = true, [VJ_VM_memory] = true, [VJ_VM_timeout] = true,
};

/* A policy with key in its section; the cgroup's memory unlimited so that
 * any guest memory fits it. */
static int load_vm_resource(const struct vj_setting *s, const char *value, struct vj_policy *p)
{
	char yaml[512];
	struct vj_err err;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\nvm:\n  kernel: vmlinux\n%s%s%s: %s\n"
		 "jail:\n  cgroup:\n    memory: unlimited\n",
		 strcmp(s->section, "vm") ? "limits:\n" : "", "  ", s->key, value);
	return tp_load(yaml, p, &err);
}

/*
 * Every row of VJ_VM_RESOURCES takes the same strings in each of its
 * forms: the policy (vm.KEY, limits.KEY), the policy form's overrides
 * (vmjail run POLICY --FLAG), the host file's max.KEY, and the flags form
 * where it has the row. No form here has an operator's maximum below the
 * row's own bound.
 */
static void vm_resources_take_the_same_strings_in_every_form(void **state)
{
	(void)state;
	host_without_maxima();
	for (size_t i = 0; i < VJ_VM_NRESOURCES; i++) {
		const struct vj_setting *s = &vj_vm_settings[i];
		const char *const *c = s->whole_mi ? memory_sizes
				       : s->unit == VJ_UNIT_SIZE ? sizes
				       : s->unit == VJ_UNIT_DURATION ? durations : integers;
		size_t n = s->whole_mi ? VJ_ARRAY_SIZE(memory_sizes)
			   : s->unit == VJ_UNIT_SIZE ? VJ_ARRAY_SIZE(sizes)
			   : s->unit == VJ_UNIT_DURATION ? VJ_ARRAY_SIZE(durations)
							 : VJ_ARRAY_SIZE(integers);
		const char *base = s->unit == VJ_UNIT_SIZE ? "16Mi"
				   : s->unit == VJ_UNIT_DURATION ? "1s" : "1";

		for (size_t k = 0; k < n; k++) {
			struct vj_policy_overrides o = { 0 };
			struct vj_host_config h;
			struct vj_policy p;
			struct vj_err err;
			char flag[40], what[64], host[128];
			int pr, orr, hr, fr;
			uint64_t pv;

			pr = load_vm_resource(s, c[k], &p);
			pv = pr ? 0 : vj_vm_resource_get(&p, (enum vj_vm_resource)i);
			if (pr == 0)
				vj_policy_free(&p);

#define OVERRIDE(field, ...) if (i == VJ_VM_##field) o.field = c[k];
			VJ_VM_RESOURCES(OVERRIDE)
#undef OVERRIDE
			assert_int_equal(load_vm_resource(s, base, &p), 0);
			orr = vj_policy_apply_overrides(&p, &o, &tp.host, &err);
			snprintf(what, sizeof(what), "override of %s.%s", s->section, s->key);
			assert_same(what, c[k], orr, pr, orr ? 0 : vj_vm_resource_get(&p, i), pv);
			vj_policy_free(&p);

			snprintf(host, sizeof(host), "version: 1\nmax:\n  %s: %s\n", s->key, c[k]);
			hr = vj_host_config_load_buffer(&h, "host.yaml", host, strlen(host), tp.dir,
							&err);
			snprintf(what, sizeof(what), "max.%s", s->key);
			assert_same(what, c[k], hr, pr, hr ? 0 : vj_setting_get(s, &h.max_vm), pv);

			if (!in_flags_form[i])
				continue;
			snprintf(flag, sizeof(flag), "--%s", s->flag);
			fr = parse_flags(flag, c[k]);
			assert_same(flag, c[k], fr, pr, vj_vm_resource_get(&l.policy, i), pv);
		}
	}
}

/* Device rate limits: vmjail-vmm's --drive LIMITS (also `vmjail run
 * --kernel`) and a policy's vm.drives[].rate_limit, row by row of
 * VJ_RATE_FIELDS; a burst beside a bucket, as both require. */
static void rate_limits_take_the_same_strings_in_flags_and_policy(void **state)
{
	struct vj_policy p;

	(void)state;
	for (size_t i = 0; i < VJ_RATE_NFIELDS; i++) {
		const struct vj_rate_field *f = &vj_rate_fields[i];
		const char *const *c = f->grammar == VJ_RATE_SIZE ? sizes : integers;
		size_t n = f->grammar == VJ_RATE_SIZE ? VJ_ARRAY_SIZE(sizes) : VJ_ARRAY_SIZE(integers);
		const bool bytes = f->bucket == 0;

		if (!f->key)
			continue; /* refill periods: a policy's buckets refill every second */
		for (size_t k = 0; k < n; k++) {
			char drive[128], yaml[512];
			struct vj_err err;
			int fr, pr;
			uint64_t fv;

			snprintf(drive, sizeof(drive), "path=d%s,%s=%s",
				 f->size ? "" : bytes ? ",bw=1M" : ",ops=9", f->flag, c[k]);
			fr = parse_flags("--drive", drive);
			fv = *vj_rate_field_of(f, &l.policy.vm.drives[0].rate);
			snprintf(yaml, sizeof(yaml),
				 "version: 1\nvm:\n  kernel: vmlinux\n  drives:\n    - id: a\n"
				 "      path: root.ext4\n      rate_limit: {%s%s: %s}\n",
				 f->size ? "" : bytes ? "bandwidth: 1Mi, " : "ops: 9, ", f->key, c[k]);
			pr = tp_load(yaml, &p, &err);
			assert_same("--drive", drive, fr, pr, fv,
				    pr ? 0 : *vj_rate_field_of(f, &p.vm.drives[0].rate));
			if (pr == 0)
				vj_policy_free(&p);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cgroup_limits_take_the_same_strings_in_flags_and_policy),
		cmocka_unit_test(rlimits_take_the_same_strings_in_flags_and_policy),
		cmocka_unit_test(timeouts_take_the_same_strings_in_every_form),
		cmocka_unit_test(memory_takes_the_same_strings_in_every_form),
		cmocka_unit_test(vm_resources_take_the_same_strings_in_every_form),
		cmocka_unit_test(rate_limits_take_the_same_strings_in_flags_and_policy),
	};

	return cmocka_run_group_tests(tests, tp_setup, tp_teardown);
}
