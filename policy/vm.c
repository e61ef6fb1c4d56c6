/* The policy's vm section: what the guest is and which devices it gets. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "parse.h"
#include "policy_schema.h"
#include "roots.h"
#include "scalar.h"

static struct vj_policy_walk *pw_of(void *obj)
{
	return obj;
}

/* A file named by the policy, confined to the host's roots of its kind. */
static int walk_path(struct vj_policy_walk *pw, const struct vj_ynode *n, enum vj_root_kind kind,
		     char out[VJ_PATH_MAX])
{
	const struct vj_host_config *h = pw->h;
	struct vj_roots roots;
	char name[VJ_PATH_MAX];
	int r;

	if ((r = vj_walk_text(&pw->w, n, name, sizeof(name))) < 0)
		return r;
	if (!name[0])
		return vj_walk_expected(&pw->w, n, "a path");
	if (kind == VJ_ROOT_KERNEL)
		roots = (struct vj_roots){ "kernel", kind, h->nkernel_roots, h->kernel_roots };
	else if (kind == VJ_ROOT_IMAGE)
		roots = (struct vj_roots){ "image", kind, h->nimage_roots, h->image_roots };
	else
		roots = (struct vj_roots){ "socket", kind, h->nsocket_roots, h->socket_roots };
	if (vj_roots_resolve(&roots, name, out, pw->w.err) < 0)
		return vj_walk_wrap(&pw->w, n);
	return 0;
}

static int vm_kernel(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)w;
	return walk_path(pw_of(obj), n, VJ_ROOT_KERNEL, pw_of(obj)->p->vm.kernel.name);
}

static int vm_initrd(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)w;
	return walk_path(pw_of(obj), n, VJ_ROOT_KERNEL, pw_of(obj)->p->vm.initrd.name);
}

static int vm_cmdline(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	char buf[VJ_POLICY_CMDLINE_MAX + 1];
	int r = vj_walk_text(w, n, buf, sizeof(buf));

	if (r == 0)
		strcpy(pw_of(obj)->p->vm.cmdline, buf);
	return r;
}

int vj_walk_vm_resource(struct vj_walk *w, const struct vj_ynode *n, void *obj,
			enum vj_vm_resource i)
{
	struct vj_policy_walk *pw = pw_of(obj);
	const struct vj_setting *s = &vj_vm_settings[i];
	char found[128];
	const char *text;
	uint64_t v;
	int r = vj_walk_plain(w, n, s->unit, s->word, &text, found, sizeof(found));

	if (r < 0)
		return r;
	if (vj_setting_parse_found(s, text, found, vj_setting_get(s, &pw->h->max_vm), &v,
				   w->err) < 0)
		return vj_walk_wrap(w, n);
	vj_vm_resource_set(pw->p, i, v);
	pw->vm_res[i] = n;
	return 0;
}

#define VM_ROW(field, section, key, ...) VJ_VM_IN_##section##_vm(VJ_VM_RESOURCE_HANDLER, field, key)
VJ_VM_RESOURCES(VM_ROW)
#undef VM_ROW

/* Token buckets refilled every second: a rate, plus an optional burst
 * spent first. */
struct rate_walk {
	struct vj_rate_limit *rl;
	const struct vj_ynode *burst[2]; /* of the bytes and the ops bucket */
};

static const enum vj_unit rate_units[] = {
	[VJ_RATE_SIZE] = VJ_UNIT_SIZE,
	[VJ_RATE_COUNT] = VJ_UNIT_INTEGER,
	[VJ_RATE_DURATION] = VJ_UNIT_DURATION,
};

/* The row of VJ_RATE_FIELDS whose key w is at (the last component of its
 * path, which vj_walk_map() has just added). */
static const struct vj_rate_field *rate_field(const struct vj_walk *w)
{
	const char *dot = strrchr(w->path, '.');
	const char *key = dot ? dot + 1 : w->path;

	for (size_t i = 0; i < VJ_RATE_NFIELDS; i++)
		if (vj_rate_fields[i].key && !strcmp(vj_rate_fields[i].key, key))
			return &vj_rate_fields[i];
	return NULL;
}

/* A row of VJ_RATE_FIELDS (common/config.h): a bucket's size, at least 1
 * or unlimited (off), or its burst. */
static int rate_key(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	const struct vj_rate_field *f = rate_field(w);
	struct rate_walk *rw = obj;
	struct vj_bucket_config *b;
	uint64_t v;
	int r;

	if (!f)
		return vj_walk_fail(w, n, "internal: not a rate limit key");
	r = vj_walk_number(w, n, rate_units[f->grammar], vj_range(f->size ? 1 : 0, VJ_UNLIMITED),
			   f->size ? VJ_UNLIMITED_WORD : NULL, &v);
	if (r < 0)
		return r;
	b = (struct vj_bucket_config *)((char *)rw->rl + f->bucket);
	if (!f->size) {
		rw->burst[f->bucket != 0] = n;
		*vj_rate_field_of(f, rw->rl) = v;
		return 0;
	}
	b->size = v == VJ_UNLIMITED ? 0 : v;
	b->refill_ms = v == VJ_UNLIMITED ? 0 : 1000;
	return 0;
}

static int walk_rate_limit(struct vj_walk *w, const struct vj_ynode *n, struct vj_rate_limit *rl)
{
	struct rate_walk rw = { .rl = rl };
	const size_t saved = strlen(w->path);
	struct vj_key keys[VJ_RATE_NFIELDS];
	size_t nkeys = 0;
	int r;

	for (size_t i = 0; i < VJ_RATE_NFIELDS; i++)
		if (vj_rate_fields[i].key)
			keys[nkeys++] = (struct vj_key){ vj_rate_fields[i].key, rate_key, false };
	if ((r = vj_walk_map(w, n, keys, nkeys, &rw)) < 0)
		return r;

	/* A burst is spent before the bucket: without a bucket it means
	 * nothing, and silently ignoring it would mislead. */
	if (rw.burst[0] && rl->bytes.one_time_burst && !rl->bytes.size) {
		vj_path_key(w->path, sizeof(w->path), "bandwidth_burst", 15);
		r = vj_walk_fail(w, rw.burst[0], "needs a bandwidth limit to apply to");
	} else if (rw.burst[1] && rl->ops.one_time_burst && !rl->ops.size) {
		vj_path_key(w->path, sizeof(w->path), "ops_burst", 9);
		r = vj_walk_fail(w, rw.burst[1], "needs an ops limit to apply to");
	}
	w->path[saved] = '\0';
	return r;
}

static int drive_id(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	struct vj_vm_config *vm = &pw->p->vm;
	char buf[VJ_DRIVE_ID_MAX + 1];
	int r = vj_walk_name(w, n, vj_name_is_drive_id, "a drive id ([A-Za-z0-9_-], 1 to 20)",
			     buf, sizeof(buf));

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < pw->item; i++) {
		if (!strcmp(vm->drives[i].id, buf))
			return vj_walk_fail(w, n, "duplicate drive id \"%s\" (also vm.drives[%u].id)",
					    buf, i);
	}
	strcpy(vm->drives[pw->item].id, buf);
	return 0;
}

static int drive_path(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);

	(void)w;
	pw->drive_path[pw->item] = n;
	return walk_path(pw, n, VJ_ROOT_IMAGE, pw->p->vm.drives[pw->item].file.name);
}

static int drive_read_only(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	return vj_walk_bool(w, n, &pw->p->vm.drives[pw->item].read_only);
}

static int drive_rate_limit(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	return walk_rate_limit(w, n, &pw->p->vm.drives[pw->item].rate);
}

static const struct vj_key drive_keys[] = {
	{ "id", drive_id, true },
	{ "path", drive_path, true },
	{ "read_only", drive_read_only, false },
	{ "rate_limit", drive_rate_limit, false },
};

/* Two writers on one image corrupt it; two readers are harmless. */
static int check_shared_image(struct vj_policy_walk *pw, uint32_t i)
{
	const struct vj_drive_config *d = pw->p->vm.drives;

	for (uint32_t j = 0; j < i; j++) {
		if (strcmp(d[j].file.name, d[i].file.name) || (d[i].read_only && d[j].read_only))
			continue;
		return vj_walk_fail(&pw->w, pw->drive_path[i],
				    "%s is also vm.drives[%u]; an image that is written to may "
				    "back only one drive", d[i].file.name, j);
	}
	return 0;
}

static int drive_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	const size_t saved = strlen(w->path);
	int r;

	pw->item = (uint32_t)i;
	pw->p->vm.drives[i].read_only = true;
	if ((r = vj_walk_map(w, n, drive_keys, VJ_ARRAY_SIZE(drive_keys), obj)) < 0)
		return r;
	pw->p->vm.ndrives = (uint32_t)i + 1;
	vj_path_key(w->path, sizeof(w->path), "path", 4);
	r = check_shared_image(pw, (uint32_t)i);
	w->path[saved] = '\0';
	return r;
}

static int vm_drives(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_seq(w, n, VJ_MAX_DRIVES, drive_item, obj);
}

static int net_tap(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	struct vj_net_config *nets = pw->p->vm.nets;
	char buf[16];
	int r = vj_walk_name(w, n, vj_name_is_ifname, "an interface name ([A-Za-z0-9_.-], 1 to 15)",
			     buf, sizeof(buf));

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < pw->item; i++) {
		if (!strcmp(nets[i].tap.name, buf))
			return vj_walk_fail(w, n, "duplicate tap \"%s\" (also vm.net[%u].tap)", buf, i);
	}
	strcpy(nets[pw->item].tap.name, buf);
	return 0;
}

static int net_mac(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const uint8_t zero[6];
	struct vj_policy_walk *pw = pw_of(obj);
	struct vj_net_config *nets = pw->p->vm.nets, *net = &nets[pw->item];

	if (n->kind != VJ_YSCALAR || vj_parse_mac(n->str, net->mac) < 0)
		return vj_walk_expected(w, n, "a MAC address (\"02:00:00:00:00:01\")");
	if (net->mac[0] & 1)
		return vj_walk_expected(w, n, "a unicast MAC address (first octet even)");
	if (!memcmp(net->mac, zero, sizeof(zero)))
		return vj_walk_expected(w, n, "a MAC address other than all zeros");
	for (uint32_t i = 0; i < pw->item; i++) {
		if (nets[i].has_mac && !memcmp(nets[i].mac, net->mac, sizeof(net->mac)))
			return vj_walk_fail(w, n, "duplicate MAC address %s (also vm.net[%u].mac)",
					    n->str, i);
	}
	net->has_mac = true;
	return 0;
}

static int net_rate_limit(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	return walk_rate_limit(w, n, &pw->p->vm.nets[pw->item].rate);
}

static const struct vj_key net_keys[] = {
	{ "tap", net_tap, true },
	{ "mac", net_mac, false },
	{ "rate_limit", net_rate_limit, false },
};

static int net_item(struct vj_walk *w, const struct vj_ynode *n, size_t i, void *obj)
{
	struct vj_policy_walk *pw = pw_of(obj);
	int r;

	pw->item = (uint32_t)i;
	if ((r = vj_walk_map(w, n, net_keys, VJ_ARRAY_SIZE(net_keys), obj)) == 0)
		pw->p->vm.nnets = (uint32_t)i + 1;
	return r;
}

static int vm_net(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_seq(w, n, VJ_MAX_NETS, net_item, obj);
}

static int vsock_cid(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	uint64_t v;
	/* 0-2 are the hypervisor, loopback and host; UINT32_MAX is "any". */
	int r = vj_walk_number(w, n, VJ_UNIT_INTEGER, vj_range(3, UINT32_MAX - 1), NULL,
			       &v);

	if (r == 0)
		pw_of(obj)->p->vm.vsock.guest_cid = (uint32_t)v;
	return r;
}

static int vsock_uds(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	(void)w;
	return walk_path(pw_of(obj), n, VJ_ROOT_SOCKET, pw_of(obj)->p->vm.vsock.uds.name);
}

static const struct vj_key vsock_keys[] = {
	{ "cid", vsock_cid, false },
	{ "uds", vsock_uds, false },
};

static int vm_vsock(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	struct vj_vsock_config *vs = &pw_of(obj)->p->vm.vsock;

	vs->enabled = true;
	vs->guest_cid = 3;
	return vj_walk_map(w, n, vsock_keys, VJ_ARRAY_SIZE(vsock_keys), obj);
}

static int vm_rng(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_bool(w, n, &pw_of(obj)->p->vm.rng);
}

static int vm_console(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = { "stdout", "none" };
	static const enum vj_console_kind kinds[] = { VJ_CONSOLE_STDOUT, VJ_CONSOLE_NONE };
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r == 0)
		pw_of(obj)->p->vm.console = kinds[i];
	return r;
}

static int vm_memory_backing(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	static const char *const names[] = VJ_MEMORY_BACKING_NAMES;
	struct vj_policy_walk *pw = pw_of(obj);
	unsigned i;
	int r = vj_walk_enum(w, n, names, VJ_ARRAY_SIZE(names), &i);

	if (r < 0)
		return r;
	if (i == VJ_MEMORY_HUGETLB && pw->h->memory_backing != VJ_MEMORY_HUGETLB)
		return vj_walk_expected(w, n, "thp or 4k (this host keeps no hugetlb pool for "
				     "sandboxes)");
	pw->p->vm.memory_backing = (enum vj_memory_backing)i;
	return 0;
}

static const struct vj_key vm_keys[] = {
	{ "kernel", vm_kernel, true },
	{ "initrd", vm_initrd, false },
	{ "cmdline", vm_cmdline, false },
#define VM_ROW(field, section, key, ...) VJ_VM_IN_##section##_vm(VJ_VM_RESOURCE_KEY, field, key)
	VJ_VM_RESOURCES(VM_ROW)
#undef VM_ROW
	{ "memory_backing", vm_memory_backing, false },
	{ "drives", vm_drives, false },
	{ "net", vm_net, false },
	{ "vsock", vm_vsock, false },
	{ "rng", vm_rng, false },
	{ "console", vm_console, false },
};

int vj_walk_vm(struct vj_walk *w, const struct vj_ynode *n, void *obj)
{
	return vj_walk_map(w, n, vm_keys, VJ_ARRAY_SIZE(vm_keys), obj);
}
