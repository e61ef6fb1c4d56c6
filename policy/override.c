/* Per-request overrides (vmjail run --memory ... -- ARGV): the policy
 * file's syntax and bounds, applied all or nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "policy_schema.h"
#include "scalar.h"

#define SOURCE "command line"

static void found_text(const char *s, char *buf, size_t len)
{
	vj_quote_short(s, strlen(s), buf, len);
}

static int apply_scalars(struct vj_policy *q, const struct vj_policy_overrides *o,
			 const struct vj_host_config *h, struct vj_err *err)
{
	char found[128], limit[32], need[32];

	if (o->id && !vj_name_is_sandbox_id(o->id)) {
		found_text(o->id, found, sizeof(found));
		return vj_fail(err, -EINVAL,
			       SOURCE ": id: expected a sandbox id ([A-Za-z0-9-], 1 to 64), found %s",
			       found);
	}
	if (o->id)
		strcpy(q->id, o->id);
#define OVERRIDE_TEXT(field, ...) [VJ_VM_##field] = o->field,
	const char *const text[VJ_VM_NRESOURCES] = { VJ_VM_RESOURCES(OVERRIDE_TEXT) };
#undef OVERRIDE_TEXT

	for (size_t i = 0; i < VJ_VM_NRESOURCES; i++) {
		const struct vj_setting *s = &vj_vm_settings[i];
		uint64_t v;

		if (!text[i])
			continue;
		found_text(text[i], found, sizeof(found));
		if (vj_setting_parse_found(s, text[i], found, vj_setting_get(s, &h->max_vm), &v,
					   err) < 0)
			return vj_wrap(err, SOURCE ": %s.%s", s->section, s->key);
		vj_vm_resource_set(q, (enum vj_vm_resource)i, v);
		if (i == VJ_VM_memory && !vj_memory_fits_cgroup(q)) {
			vj_format_size(q->jail.cgroup.memory_max, limit, sizeof(limit));
			vj_format_size(q->vm.memory_mib << 20, need, sizeof(need));
			return vj_fail(err, -EINVAL,
				       SOURCE ": vm.memory: expected at most %s (jail.cgroup.memory), "
				       "found %s", limit, need);
		}
	}
	return 0;
}

static void workload_free(struct vj_workload *wl)
{
	struct vj_policy tmp = { .workload = *wl };

	vj_policy_free(&tmp);
	memset(wl, 0, sizeof(*wl));
}

static int dup_failed(struct vj_err *err, const char *key, int r)
{
	if (r == -ENOMEM)
		return vj_fail(err, r, SOURCE ": out of memory");
	return vj_fail(err, -EINVAL,
		       SOURCE ": %s: expected at most %d bytes of arguments and environment in all",
		       key, VJ_WORKLOAD_BYTES_MAX);
}

static int build_argv(struct vj_workload *nw, const struct vj_workload *old,
		      const struct vj_policy_overrides *o, size_t *bytes,
		      struct vj_err *err)
{
	char *const *src = o->set_argv ? o->argv : old->argv;
	const unsigned argc = o->set_argv ? o->argc : old->argc;
	char key[64];
	int r;

	if (argc > VJ_MAX_ARGS)
		return vj_fail(err, -EINVAL,
			       SOURCE ": workload.argv: expected at most %d arguments, found %u",
			       VJ_MAX_ARGS, argc);
	if (argc && !src[0][0])
		return vj_fail(err, -EINVAL,
			       SOURCE ": workload.argv[0]: expected a program name, found \"\"");
	for (unsigned i = 0; i < argc; i++) {
		snprintf(key, sizeof(key), "workload.argv[%u]", i);
		if (!vj_utf8_valid(src[i], strlen(src[i]), NULL))
			return vj_fail(err, -EINVAL, SOURCE ": %s: expected UTF-8 text", key);
		if ((r = vj_workload_dup(&nw->argv[i], src[i], NULL, bytes)) < 0)
			return dup_failed(err, key, r);
		nw->argc = i + 1;
	}
	return 0;
}

/* Index of NAME in env ("NAME=..."), or envc. */
static uint32_t env_find(const struct vj_workload *wl, const char *name, size_t len)
{
	for (uint32_t i = 0; i < wl->envc; i++) {
		if (!strncmp(wl->env[i], name, len) && wl->env[i][len] == '=')
			return i;
	}
	return wl->envc;
}

static int set_env(struct vj_workload *nw, const char *entry, size_t *bytes,
		   struct vj_err *err)
{
	const char *eq = strchr(entry, '=');
	const size_t len = eq ? (size_t)(eq - entry) : 0;
	char found[128], key[128];
	uint32_t i;
	char *s = NULL;
	int r;

	found_text(entry, found, sizeof(found));
	if (!eq || !vj_name_is_env(entry, len))
		return vj_fail(err, -EINVAL,
			       SOURCE ": workload.env: expected NAME=VALUE with NAME of "
			       "[A-Za-z_][A-Za-z0-9_]*, found %s", found);
	snprintf(key, sizeof(key), "workload.env.%.*s", (int)len, entry);
	if (!vj_utf8_valid(entry, strlen(entry), NULL))
		return vj_fail(err, -EINVAL, SOURCE ": %s: expected UTF-8 text", key);
	i = env_find(nw, entry, len);
	if (i == VJ_MAX_ENV)
		return vj_fail(err, -EINVAL, SOURCE ": workload.env: expected at most %d variables",
			       VJ_MAX_ENV);
	if ((r = vj_workload_dup(&s, entry, NULL, bytes)) < 0)
		return dup_failed(err, key, r);
	if (i < nw->envc) {
		*bytes -= strlen(nw->env[i]) + 1;
		free(nw->env[i]);
	} else {
		nw->envc++;
	}
	nw->env[i] = s;
	return 0;
}

/* The new workload is built whole from copies, so that failing half way
 * leaves the policy's own strings untouched. */
static int build_workload(struct vj_workload *nw, const struct vj_workload *old,
			  const struct vj_policy_overrides *o, struct vj_err *err)
{
	size_t bytes = 0;
	int r;

	if ((r = build_argv(nw, old, o, &bytes, err)) < 0)
		return r;
	for (uint32_t i = 0; i < old->envc; i++) {
		if ((r = vj_workload_dup(&nw->env[i], old->env[i], NULL, &bytes)) < 0)
			return dup_failed(err, "workload.env", r);
		nw->envc = i + 1;
	}
	for (unsigned i = 0; i < o->envc; i++) {
		if ((r = set_env(nw, o->env[i], &bytes, err)) < 0)
			return r;
	}
	return 0;
}

int vj_policy_apply_overrides(struct vj_policy *p, const struct vj_policy_overrides *o,
			      const struct vj_host_config *h, struct vj_err *err)
{
	cleanup_free struct vj_policy *q = malloc(sizeof(*q));
	struct vj_workload nw = { 0 };
	int r;

	if (!q)
		return vj_fail(err, -ENOMEM, SOURCE ": out of memory");
	*q = *p;
	if ((r = apply_scalars(q, o, h, err)) < 0)
		return r;
	if ((r = build_workload(&nw, &p->workload, o, err)) < 0) {
		workload_free(&nw);
		return r;
	}
	vj_policy_free(p);
	q->workload = nw;
	*p = *q;
	return 0;
}
