/* The effective policy as YAML (itself a loadable policy) or JSON, from
 * one description of the layout and a small emitter for each syntax. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "policy_schema.h"
#include "scalar.h"

struct emit {
	FILE *f;
	bool json;
	unsigned depth; /* open containers */
	bool first;     /* JSON: no member yet in the innermost container */
	bool dash;      /* YAML: the next key opens a sequence item */
};

static void newline_indent(struct emit *e, unsigned level)
{
	fputc('\n', e->f);
	for (unsigned i = 0; i < level; i++)
		fputs("  ", e->f);
}

static void key(struct emit *e, const char *k)
{
	if (e->json) {
		if (!e->first)
			fputc(',', e->f);
		newline_indent(e, e->depth);
		fprintf(e->f, "\"%s\":", k);
	} else if (e->dash) {
		newline_indent(e, e->depth - 2);
		fprintf(e->f, "- %s:", k);
		e->dash = false;
	} else if (e->depth > 1) {
		newline_indent(e, e->depth - 1);
		fprintf(e->f, "%s:", k);
	} else {
		/* Top-level keys start at column 1; the first one needs no
		 * preceding newline. */
		if (!e->first)
			fputc('\n', e->f);
		fprintf(e->f, "%s:", k);
	}
	e->first = false;
}

static void raw(struct emit *e, const char *k, const char *text)
{
	key(e, k);
	fprintf(e->f, " %s", text);
}

static void str(struct emit *e, const char *k, const char *s)
{
	key(e, k);
	fputc(' ', e->f);
	vj_fquote(e->f, s, strlen(s));
}

/* An optional string: left out of YAML, null in JSON. */
static void opt_str(struct emit *e, const char *k, const char *s)
{
	if (s[0])
		str(e, k, s);
	else if (e->json)
		raw(e, k, "null");
}

static void boolean(struct emit *e, const char *k, bool v)
{
	raw(e, k, v ? "true" : "false");
}

static void integer(struct emit *e, const char *k, uint64_t v)
{
	key(e, k);
	fprintf(e->f, " %llu", (unsigned long long)v);
}

/* YAML: the unit's syntax ("128Mi", "30s"); JSON: plain numbers in the
 * base unit. VJ_UNLIMITED is word in YAML, null in JSON. */
static void number_or(struct emit *e, const char *k, enum vj_unit u, uint64_t v,
		      const char *word)
{
	char buf[32];

	if (e->json && v == VJ_UNLIMITED)
		snprintf(buf, sizeof(buf), "null");
	else if (e->json && u == VJ_UNIT_DECIMAL)
		vj_format_milli(v, buf, sizeof(buf));
	else if (e->json)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	else
		vj_value_format(u, v, word, buf, sizeof(buf));
	raw(e, k, buf);
}

static void number(struct emit *e, const char *k, enum vj_unit u, uint64_t v)
{
	number_or(e, k, u, v, VJ_UNLIMITED_WORD);
}

static void map_begin(struct emit *e, const char *k)
{
	if (k)
		key(e, k);
	if (e->json)
		fputs(k ? " {" : "{", e->f);
	e->depth++;
	e->first = true;
}

static void close_container(struct emit *e, char c)
{
	e->depth--;
	if (e->json) {
		newline_indent(e, e->depth);
		fputc(c, e->f);
	}
	e->first = false;
}

static void map_end(struct emit *e)
{
	close_container(e, '}');
}

/* Optional mappings: present, or left out of YAML / null in JSON. */
static bool opt_map_begin(struct emit *e, const char *k, bool present)
{
	if (present)
		map_begin(e, k);
	else if (e->json)
		raw(e, k, "null");
	return present;
}

/* A sequence of mappings; false (and "[]" written) when empty. */
static bool list_begin(struct emit *e, const char *k, uint32_t n)
{
	key(e, k);
	if (!n) {
		fputs(" []", e->f);
		return false;
	}
	if (e->json)
		fputs(" [", e->f);
	e->depth++;
	e->first = true;
	return true;
}

static void list_end(struct emit *e)
{
	close_container(e, ']');
}

static void item_begin(struct emit *e)
{
	if (e->json) {
		if (!e->first)
			fputc(',', e->f);
		newline_indent(e, e->depth);
		fputc('{', e->f);
	} else {
		e->dash = true;
	}
	e->depth++;
	e->first = true;
}

static void item_end(struct emit *e)
{
	close_container(e, '}');
}

/* A flow sequence of strings, quoted unless they are bare words. */
static void strings(struct emit *e, const char *k, const char *const *v, uint32_t n, bool bare)
{
	key(e, k);
	fputs(" [", e->f);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", e->f);
		if (bare && !e->json)
			fputs(v[i], e->f);
		else
			vj_fquote(e->f, v[i], strlen(v[i]));
	}
	fputc(']', e->f);
}

/* The rows of VJ_RATE_FIELDS a policy has; a bucket of size 0 is off. */
static void rate_limit(struct emit *e, const struct vj_rate_limit *rl)
{
	map_begin(e, "rate_limit");
	for (size_t i = 0; i < VJ_RATE_NFIELDS; i++) {
		const struct vj_rate_field *f = &vj_rate_fields[i];
		const enum vj_unit u = f->grammar == VJ_RATE_SIZE ? VJ_UNIT_SIZE : VJ_UNIT_INTEGER;
		uint64_t v = *vj_rate_field_of(f, (struct vj_rate_limit *)rl);
		if (f->key)
			number(e, f->key, u, f->size && !v ? VJ_UNLIMITED : v);
	}
	map_end(e);
}

static void drives(struct emit *e, const struct vj_vm_config *vm)
{
	if (!list_begin(e, "drives", vm->ndrives))
		return;
	for (uint32_t i = 0; i < vm->ndrives; i++) {
		const struct vj_drive_config *d = &vm->drives[i];
		item_begin(e);
		str(e, "id", d->id);
		str(e, "path", d->file.name);
		boolean(e, "read_only", d->read_only);
		rate_limit(e, &d->rate);
		item_end(e);
	}
	list_end(e);
}

static void nets(struct emit *e, const struct vj_vm_config *vm)
{
	char mac[24] = "";

	if (!list_begin(e, "net", vm->nnets))
		return;
	for (uint32_t i = 0; i < vm->nnets; i++) {
		const struct vj_net_config *n = &vm->nets[i];
		const uint8_t *m = n->mac;
		item_begin(e);
		str(e, "tap", n->tap.name);
		if (n->has_mac)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				 m[3], m[4], m[5]);
		opt_str(e, "mac", n->has_mac ? mac : "");
		rate_limit(e, &n->rate);
		item_end(e);
	}
	list_end(e);
}

/* A row of VJ_VM_RESOURCES. In JSON a duration's key names its unit
 * (timeout_ms), as its value is a plain number. */
static void vm_resource(struct emit *e, const struct vj_policy *p, enum vj_vm_resource i)
{
	const struct vj_setting *s = &vj_vm_settings[i];
	const bool ms = e->json && s->unit == VJ_UNIT_DURATION;
	char k[48];

	snprintf(k, sizeof(k), "%s%s", s->key, ms ? "_ms" : "");
	number_or(e, k, s->unit, vj_vm_resource_get(p, i), s->word ? s->word : VJ_UNLIMITED_WORD);
}

#define PRINT_ROW(field, key) vm_resource(e, p, VJ_VM_##field);
#define VM_ROW(field, section, key, ...) VJ_VM_IN_##section##_vm(PRINT_ROW, field, key)
#define LIMITS_ROW(field, section, key, ...) VJ_VM_IN_##section##_limits(PRINT_ROW, field, key)

static void vm_section(struct emit *e, const struct vj_policy *p)
{
	const struct vj_vm_config *vm = &p->vm;

	map_begin(e, "vm");
	str(e, "kernel", vm->kernel.name);
	opt_str(e, "initrd", vm->initrd.name);
	str(e, "cmdline", vm->cmdline);
	VJ_VM_RESOURCES(VM_ROW)
	if (e->json)
		str(e, "memory_backing", vj_memory_backing_name(vm->memory_backing));
	else
		raw(e, "memory_backing", vj_memory_backing_name(vm->memory_backing));
	drives(e, vm);
	nets(e, vm);
	if (opt_map_begin(e, "vsock", vm->vsock.enabled)) {
		integer(e, "cid", vm->vsock.guest_cid);
		opt_str(e, "uds", vm->vsock.uds.name);
		map_end(e);
	}
	boolean(e, "rng", vm->rng);
	raw(e, "console", e->json ? (vm->console == VJ_CONSOLE_NONE ? "\"none\"" : "\"stdout\"")
				  : (vm->console == VJ_CONSOLE_NONE ? "none" : "stdout"));
	map_end(e);
}

/* A settings row: its word when unset, or, without one, left out (null
 * in JSON). */
static void setting(struct emit *e, const struct vj_setting *s, const void *family)
{
	const uint64_t v = vj_setting_get(s, family);

	if (v != VJ_UNLIMITED || s->word)
		number_or(e, s->key, s->unit, v, s->word);
	else if (e->json)
		raw(e, s->key, "null");
}

static void cgroup(struct emit *e, const struct vj_cgroup_limits *c)
{
	const uint64_t period_ms = c->cpu_period_us / 1000;

	map_begin(e, "cgroup");
	number(e, "cpus", VJ_UNIT_DECIMAL,
	       c->cpu_quota_us == VJ_UNLIMITED ? VJ_UNLIMITED : c->cpu_quota_us / period_ms);
	integer(e, "cpu_period_us", c->cpu_period_us);
	for (size_t i = 0; i < VJ_CGROUP_NLIMITS; i++)
		setting(e, &vj_cgroup_settings[i], c);
	str(e, "cpuset_cpus", c->cpuset_cpus);
	str(e, "cpuset_mems", c->cpuset_mems);
	map_end(e);
}

static void jail_section(struct emit *e, const struct vj_jail_policy *j)
{
	const char *ns[VJ_ARRAY_SIZE(vj_ns_names)];
	const bool userns = j->namespaces & VJ_NS_USER;
	uint32_t nns = 0;

	map_begin(e, "jail");
	/* Ids exist in a policy only inside a user namespace; the host's are
	 * the launcher's to give (null in JSON). */
	if (userns) {
		integer(e, "uid", j->uid);
		integer(e, "gid", j->gid);
	} else if (e->json) {
		raw(e, "uid", "null");
		raw(e, "gid", "null");
	}
	if (opt_map_begin(e, "user_namespace", userns)) {
		integer(e, "count", j->userns_count);
		map_end(e);
	}
	for (unsigned i = 0; i < VJ_ARRAY_SIZE(vj_ns_names); i++) {
		if (j->namespaces & (1u << i))
			ns[nns++] = vj_ns_names[i];
	}
	strings(e, "namespaces", ns, nns, true);
	opt_str(e, "netns", j->netns);
	boolean(e, "mount_proc", j->mount_proc);
	cgroup(e, &j->cgroup);
	map_begin(e, "rlimits");
	for (size_t i = 0; i < VJ_NRLIMITS; i++)
		setting(e, &vj_rlimit_settings[i], &j->rlimits);
	map_end(e);
	map_end(e);
}

static void workload_section(struct emit *e, const struct vj_workload *wl)
{
	map_begin(e, "workload");
	strings(e, "argv", (const char *const *)wl->argv, wl->argc, false);
	key(e, "env");
	if (!wl->envc) {
		fputs(" {}", e->f);
	} else {
		if (e->json)
			fputs(" {", e->f);
		e->depth++;
		e->first = true;
		for (uint32_t i = 0; i < wl->envc; i++) {
			const char *eq = strchr(wl->env[i], '=');
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)(eq - wl->env[i]), wl->env[i]);
			str(e, name, eq + 1);
		}
		map_end(e);
	}
	map_end(e);
}

static void limits_section(struct emit *e, const struct vj_policy *p)
{
	map_begin(e, "limits");
	VJ_VM_RESOURCES(LIMITS_ROW)
	map_end(e);
}

static int print(const struct vj_policy *p, FILE *out, bool json)
{
	struct emit e = { .f = out, .json = json, .first = true };

	map_begin(&e, NULL);
	integer(&e, "version", p->version);
	opt_str(&e, "id", p->id);
	vm_section(&e, p);
	jail_section(&e, &p->jail);
	limits_section(&e, p);
	map_begin(&e, "seccomp");
	raw(&e, "mode", p->seccomp == VJ_SECCOMP_LOG ? (json ? "\"log\"" : "log")
						      : (json ? "\"enforce\"" : "enforce"));
	map_end(&e);
	workload_section(&e, &p->workload);
	map_end(&e);
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

int vj_policy_print_yaml(const struct vj_policy *p, FILE *out)
{
	return print(p, out, false);
}

int vj_policy_print_json(const struct vj_policy *p, FILE *out)
{
	return print(p, out, true);
}
