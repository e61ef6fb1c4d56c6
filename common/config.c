#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse.h"

static void file_init(struct vj_file *f)
{
	f->name[0] = '\0';
	f->fd = -1;
}

void vj_config_init(struct vj_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->magic = VJ_CONFIG_MAGIC;
	cfg->version = VJ_CONFIG_VERSION;
	cfg->size = sizeof(*cfg);
	cfg->vcpus = 1;
	cfg->memory_mib = 128;
	file_init(&cfg->kvm);
	file_init(&cfg->kernel);
	file_init(&cfg->initrd);
	file_init(&cfg->console_file);
	cfg->console = VJ_CONSOLE_STDOUT;
	cfg->console_limit = 1u << 20;
	for (unsigned i = 0; i < VJ_MAX_DRIVES; i++)
		file_init(&cfg->drives[i].file);
	for (unsigned i = 0; i < VJ_MAX_NETS; i++)
		file_init(&cfg->nets[i].tap);
	file_init(&cfg->vsock.uds);
	file_init(&cfg->vsock.uds_dir);
	file_init(&cfg->vsock.broker);
	file_init(&cfg->control);
	file_init(&cfg->restore_state);
	file_init(&cfg->restore_memory);
	file_init(&cfg->migrate_from);
	cfg->seccomp = VJ_SECCOMP_ENFORCE;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool file_ok(const struct vj_file *f)
{
	return terminated(f->name, sizeof(f->name)) && f->fd >= -1;
}

static int validate_bucket(const struct vj_bucket_config *b, const char *what,
			   struct vj_err *err)
{
	if (b->size && (b->refill_ms == 0 || b->refill_ms > VJ_REFILL_MS_MAX))
		return vj_fail(err, -EINVAL, "%s: refill time must be 1..%u ms", what,
			       VJ_REFILL_MS_MAX);
	return 0;
}

static int validate_devices(const struct vj_vm_config *cfg, struct vj_err *err)
{
	char what[64];
	int r;

	if (cfg->ndrives > VJ_MAX_DRIVES)
		return vj_fail(err, -EINVAL,
			       "too many drives: %u (max %u)", cfg->ndrives, VJ_MAX_DRIVES);
	if (cfg->nnets > VJ_MAX_NETS)
		return vj_fail(err, -EINVAL, "too many network interfaces: %u (max %u)", cfg->nnets,
			       VJ_MAX_NETS);
	for (uint32_t i = 0; i < cfg->ndrives; i++) {
		const struct vj_drive_config *d = &cfg->drives[i];
		if (!file_ok(&d->file) || !terminated(d->id, sizeof(d->id)))
			return vj_fail(err, -EINVAL, "drive %u: malformed entry", i);
		if (!d->file.name[0] && d->file.fd < 0)
			return vj_fail(err, -EINVAL, "drive %u: no path given", i);
		snprintf(what, sizeof(what), "drive %u bandwidth", i);
		if ((r = validate_bucket(&d->rate.bytes, what, err)) < 0)
			return r;
		snprintf(what, sizeof(what), "drive %u operations", i);
		if ((r = validate_bucket(&d->rate.ops, what, err)) < 0)
			return r;
	}
	for (uint32_t i = 0; i < cfg->nnets; i++) {
		const struct vj_net_config *n = &cfg->nets[i];
		if (!file_ok(&n->tap))
			return vj_fail(err, -EINVAL, "net %u: malformed entry", i);
		if (!n->tap.name[0] && n->tap.fd < 0)
			return vj_fail(err, -EINVAL, "net %u: no tap device given", i);
		if (n->has_mac && (n->mac[0] & 1))
			return vj_fail(err, -EINVAL, "net %u: MAC address is multicast", i);
		snprintf(what, sizeof(what), "net %u bandwidth", i);
		if ((r = validate_bucket(&n->rate.bytes, what, err)) < 0)
			return r;
		snprintf(what, sizeof(what), "net %u operations", i);
		if ((r = validate_bucket(&n->rate.ops, what, err)) < 0)
			return r;
	}
	if (cfg->vsock.enabled) {
		if (!file_ok(&cfg->vsock.uds) || !file_ok(&cfg->vsock.uds_dir) ||
		    !file_ok(&cfg->vsock.broker))
			return vj_fail(err, -EINVAL, "vsock: malformed entry");
		/* CIDs 0-2 are reserved (hypervisor, loopback, host); -1 is "any". */
		if (cfg->vsock.guest_cid < 3 || cfg->vsock.guest_cid == UINT32_MAX)
			return vj_fail(err, -EINVAL, "vsock: guest CID %u is reserved (use 3..%u)",
				       cfg->vsock.guest_cid, UINT32_MAX - 1);
		if (!cfg->vsock.uds.name[0] && cfg->vsock.uds.fd < 0)
			return vj_fail(err, -EINVAL, "vsock: no host socket path given");
	}
	return 0;
}

int vj_config_validate(const struct vj_vm_config *cfg, struct vj_err *err)
{
	if (cfg->magic != VJ_CONFIG_MAGIC || cfg->size != sizeof(*cfg))
		return vj_fail(err, -EINVAL, "configuration: not a vmjail VM configuration");
	if (cfg->version != VJ_CONFIG_VERSION)
		return vj_fail(err, -EINVAL, "configuration: version %u, expected %u", cfg->version,
			       VJ_CONFIG_VERSION);
	if (cfg->vcpus < 1 || cfg->vcpus > VJ_VCPUS_MAX)
		return vj_fail(err, -EINVAL,
			       "vcpus: %u out of range 1..%u", cfg->vcpus, VJ_VCPUS_MAX);
	if (cfg->memory_mib < VJ_MEMORY_MIB_MIN || cfg->memory_mib > VJ_MEMORY_MIB_MAX)
		return vj_fail(err, -EINVAL, "memory: %llu MiB out of range %u..%u MiB",
			       (unsigned long long)cfg->memory_mib, VJ_MEMORY_MIB_MIN,
			       VJ_MEMORY_MIB_MAX);
	if (!terminated(cfg->cmdline, sizeof(cfg->cmdline)))
		return vj_fail(err, -EINVAL, "cmdline: longer than %u bytes", VJ_CMDLINE_MAX - 1);
	if (!file_ok(&cfg->kvm) || !file_ok(&cfg->kernel) || !file_ok(&cfg->initrd) ||
	    !file_ok(&cfg->console_file) || !file_ok(&cfg->control) ||
	    !file_ok(&cfg->restore_state) || !file_ok(&cfg->restore_memory) ||
	    !file_ok(&cfg->migrate_from))
		return vj_fail(err, -EINVAL, "configuration: malformed file entry");
	if (vj_config_restoring(cfg) != (cfg->restore_memory.name[0] || cfg->restore_memory.fd >= 0))
		return vj_fail(err, -EINVAL, "restore: a snapshot needs both its state and its memory file");
	if (vj_config_restoring(cfg) && vj_config_migrating(cfg))
		return vj_fail(err, -EINVAL, "--restore and --migrate-from-fd: a VM comes from one or "
			       "the other");
	if (!vj_config_restoring(cfg) && !vj_config_migrating(cfg) && !cfg->kernel.name[0] &&
	    cfg->kernel.fd < 0)
		return vj_fail(err, -EINVAL, "kernel: no kernel image given (--kernel PATH)");
	if (cfg->console > VJ_CONSOLE_FILE)
		return vj_fail(err, -EINVAL, "console: unknown kind %d", (int)cfg->console);
	if (cfg->console == VJ_CONSOLE_FILE && !cfg->console_file.name[0] &&
	    cfg->console_file.fd < 0)
		return vj_fail(err, -EINVAL, "console: no file given");
	if (cfg->seccomp > VJ_SECCOMP_OFF)
		return vj_fail(err, -EINVAL, "seccomp: unknown mode %d", (int)cfg->seccomp);
	if (cfg->memory_backing > VJ_MEMORY_HUGETLB)
		return vj_fail(err, -EINVAL,
			       "memory backing: unknown kind %d", (int)cfg->memory_backing);
	if (cfg->host_thp > VJ_THP_NEVER)
		return vj_fail(err, -EINVAL, "host THP mode: unknown value %d", (int)cfg->host_thp);
	return validate_devices(cfg, err);
}

bool vj_config_restoring(const struct vj_vm_config *cfg)
{
	return cfg->restore_state.name[0] || cfg->restore_state.fd >= 0;
}

bool vj_config_migrating(const struct vj_vm_config *cfg)
{
	return cfg->migrate_from.fd >= 0;
}


/* ---- standalone flags ------------------------------------------------ */

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_VCPUS, OPT_MEMORY, OPT_CONSOLE,
	OPT_CONSOLE_LIMIT, OPT_DRIVE, OPT_NET, OPT_VSOCK, OPT_RNG, OPT_SECCOMP,
	OPT_SECCOMP_LOG, OPT_TIMING, OPT_CONTROL_FD, OPT_CONFIG_FD, OPT_MEMORY_BACKING,
	OPT_RESTORE, OPT_MIGRATE_FROM_FD,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "memory-backing", required_argument, NULL, OPT_MEMORY_BACKING },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "console-limit", required_argument, NULL, OPT_CONSOLE_LIMIT },
	{ "drive", required_argument, NULL, OPT_DRIVE },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "seccomp-log", no_argument, NULL, OPT_SECCOMP_LOG },
	{ "timing", no_argument, NULL, OPT_TIMING },
	{ "control-fd", required_argument, NULL, OPT_CONTROL_FD },
	{ "config-fd", required_argument, NULL, OPT_CONFIG_FD },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "migrate-from-fd", required_argument, NULL, OPT_MIGRATE_FROM_FD },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

const struct option *vj_config_options(void)
{
	return long_opts;
}

void vj_config_usage(const char *prog)
{
	printf("usage: %s --kernel PATH [options]\n"
	       "       %s --restore DIR [options]   (resume a snapshot instead of booting)\n"
	       "       %s --config-fd FD   (used by the vmjail launcher)\n"
	       "  --kernel PATH         ELF vmlinux or bzImage (boot protocol >= 2.12)\n"
	       "  --initrd PATH         initial ramdisk\n"
	       "  --cmdline STR         kernel command line\n"
	       "  --vcpus N             1..%u (default 1)\n"
	       "  --memory SIZE         %uM..%uM (default 128M); sizes here and below:\n"
	       "                        bytes, or with K, M, G, T (powers of 1024)\n"
	       "  --memory-backing thp|4k|hugetlb   guest RAM on transparent huge pages\n"
	       "                        where the host allows (default), 4 KiB pages, or\n"
	       "                        the host's 2 MiB hugetlb pool (THP when it is short)\n"
	       "  --console stdout|none|PATH   where the serial console goes\n"
	       "  --console-limit BYTES cap on console output (default 1M, 0 = no cap)\n"
	       "  --drive path=P[,ro][,id=ID][,LIMITS]  virtio-blk drive backed by file P\n"
	       "  --net tap=NAME[,mac=MAC][,LIMITS]     virtio-net backed by tap NAME\n"
	       "      LIMITS (token buckets; net: each direction): bw=SIZE[,bw-burst=SIZE]\n"
	       "      [,bw-refill=DURATION] and/or ops=N[,ops-burst=N][,ops-refill=DURATION];\n"
	       "      the bucket refills bw (ops) per bw-refill (ops-refill), default 1s, at\n"
	       "      most 1h; a burst is spent once, before the bucket\n"
	       "  --vsock cid=N,uds=PATH       virtio-vsock, host side on AF_UNIX PATH\n"
	       "  --rng                 virtio-rng\n"
	       "  --seccomp enforce|log|off    seccomp mode (default enforce)\n"
	       "  --seccomp-log         same as --seccomp log; for diagnosis, not production\n"
	       "  --timing              print start-up timestamps on stderr\n"
	       "  --control-fd FD       an inherited SOCK_SEQPACKET socket on which to take\n"
	       "                        pause, resume and statistics requests (common/vmm_ctl.h)\n"
	       "  --restore DIR         resume the snapshot in DIR (DIR/state, DIR/memory);\n"
	       "                        vCPUs, memory and devices as when it was taken\n"
	       "  --migrate-from-fd FD  receive a live migration on the inherited stream FD\n"
	       "                        instead of booting (vCPUs, memory and devices as the\n"
	       "                        source's)\n"
	       "  -v, --verbose         more messages (repeat for debug)\n",
	       prog, prog, prog, VJ_VCPUS_MAX, VJ_MEMORY_MIB_MIN, VJ_MEMORY_MIB_MAX);
}

static int set_name(struct vj_file *f, const char *flag, const char *v, struct vj_err *err)
{
	if (!*v)
		return vj_fail(err, -EINVAL, "%s: empty path", flag);
	if (vj_strlcpy_checked(f->name, v, sizeof(f->name)) < 0)
		return vj_fail(err, -EINVAL,
			       "%s: path longer than %u bytes", flag, VJ_PATH_MAX - 1);
	return 0;
}

/* Splits "k=v,k2,k3=v3" in place; calls fn for each pair. */
typedef int (*kv_fn)(void *obj, const char *key, const char *val, struct vj_err *err);

static int parse_kv_list(const char *arg, const char *flag, void *obj, kv_fn fn, struct vj_err *err)
{
	cleanup_free char *s = strdup(arg);
	char *save = NULL;

	if (!s)
		return vj_fail(err, -EINVAL, "%s: out of memory", flag);
	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int r;
		if (eq)
			*eq = '\0';
		r = fn(obj, tok, eq ? eq + 1 : NULL, err);
		if (r < 0)
			return vj_wrap(err, "%s", flag);
	}
	return 0;
}

#define VJ_RATE_ROW(b_, f_, flag_, key_, grammar_)                                       \
	[VJ_RATE_##b_##_##f_] = {                                                          \
		.flag = flag_, .key = key_, .grammar = grammar_,                           \
		.offset = offsetof(struct vj_rate_limit, b_.f_),                           \
		.bucket = offsetof(struct vj_rate_limit, b_),                              \
		.size = offsetof(struct vj_bucket_config, f_) ==                           \
			offsetof(struct vj_bucket_config, size) },
const struct vj_rate_field vj_rate_fields[VJ_RATE_NFIELDS] = { VJ_RATE_FIELDS(VJ_RATE_ROW) };
#undef VJ_RATE_ROW

int vj_rate_parse(const struct vj_rate_field *f, const char *text, uint64_t *out)
{
	int r;

	/* A bucket's size is at least 1; "unlimited" turns it off (0). */
	if (f->size && !strcmp(text, "unlimited")) {
		*out = 0;
		return 0;
	}
	if (f->grammar == VJ_RATE_SIZE)
		r = vj_parse_size(text, out);
	else if (f->grammar == VJ_RATE_COUNT)
		r = vj_parse_uint(text, out);
	else
		r = vj_parse_duration_ms(text, out);
	if (r < 0)
		return r;
	if (f->grammar == VJ_RATE_DURATION && (*out < 1 || *out > VJ_REFILL_MS_MAX))
		return -ERANGE;
	return f->size && !*out ? -ERANGE : 0;
}

/* The LIMITS keys shared by --drive and --net. Returns 1 for a key that is
 * none of them. */
static int rate_kv(struct vj_rate_limit *r, const char *k, const char *v, struct vj_err *err)
{
	static const char *const what[] = {
		[VJ_RATE_SIZE] = "a size (bytes, or with K, M, G, T)",
		[VJ_RATE_COUNT] = "an integer",
		[VJ_RATE_DURATION] = "a duration in 1ms..1h (100ms, 2s)",
	};
	static const char *const or_off[] = {
		[VJ_RATE_SIZE] = " of at least 1, or unlimited",
		[VJ_RATE_COUNT] = " of at least 1, or unlimited",
		[VJ_RATE_DURATION] = "",
	};

	for (size_t i = 0; i < VJ_RATE_NFIELDS; i++) {
		const struct vj_rate_field *f = &vj_rate_fields[i];
		if (strcmp(k, f->flag))
			continue;
		if (!v || vj_rate_parse(f, v, vj_rate_field_of(f, r)) < 0)
			return vj_fail(err, -EINVAL, "%s \"%s\" is not %s%s", k, v ? v : "",
				       what[f->grammar], f->size ? or_off[f->grammar] : "");
		return 0;
	}
	return 1;
}

/* A bucket given a size but no refill time refills per second. */
static void rate_defaults(struct vj_rate_limit *r)
{
	if (r->bytes.size && !r->bytes.refill_ms)
		r->bytes.refill_ms = 1000;
	if (r->ops.size && !r->ops.refill_ms)
		r->ops.refill_ms = 1000;
}

static int drive_kv(void *obj, const char *k, const char *v, struct vj_err *err)
{
	struct vj_drive_config *d = obj;
	int r;

	if (!strcmp(k, "path") && v)
		return set_name(&d->file, "path", v, err);
	if (!strcmp(k, "ro") && !v) {
		d->read_only = true;
		return 0;
	}
	if (!strcmp(k, "id") && v) {
		if (vj_strlcpy_checked(d->id, v, sizeof(d->id)) < 0)
			return vj_fail(err, -EINVAL,
				       "id \"%s\" longer than %u bytes", v, VJ_DRIVE_ID_MAX);
		return 0;
	}
	if ((r = rate_kv(&d->rate, k, v, err)) <= 0)
		return r;
	return vj_fail(err, -EINVAL, "unknown option \"%s\"%s", k, v ? "" : " (or missing =value)");
}

static int net_kv(void *obj, const char *k, const char *v, struct vj_err *err)
{
	struct vj_net_config *n = obj;
	int r;

	if (!strcmp(k, "tap") && v)
		return set_name(&n->tap, "tap", v, err);
	if (!strcmp(k, "mac") && v) {
		if (vj_parse_mac(v, n->mac) < 0)
			return vj_fail(err, -EINVAL, "mac \"%s\" is not aa:bb:cc:dd:ee:ff", v);
		n->has_mac = true;
		return 0;
	}
	if ((r = rate_kv(&n->rate, k, v, err)) <= 0)
		return r;
	return vj_fail(err, -EINVAL, "unknown option \"%s\"%s", k, v ? "" : " (or missing =value)");
}

static int vsock_kv(void *obj, const char *k, const char *v, struct vj_err *err)
{
	struct vj_vsock_config *vs = obj;
	uint64_t cid;

	if (!strcmp(k, "cid") && v) {
		if (vj_parse_u64(v, 3, UINT32_MAX - 1, &cid) < 0)
			return vj_fail(err, -EINVAL, "cid \"%s\" is not a number in 3..%u", v,
				       UINT32_MAX - 1);
		vs->guest_cid = (uint32_t)cid;
		return 0;
	}
	if (!strcmp(k, "uds") && v)
		return set_name(&vs->uds, "uds", v, err);
	return vj_fail(err, -EINVAL, "unknown option \"%s\"%s", k, v ? "" : " (or missing =value)");
}

/* A size (parse.h: bare is bytes) of whole MiB. */
static int parse_memory(const char *v, uint64_t *mib)
{
	uint64_t bytes;
	int r = vj_parse_size(v, &bytes);

	if (r < 0)
		return r;
	if (bytes % (1u << 20))
		return -EINVAL;
	*mib = bytes >> 20;
	return 0;
}

static int parse_one(struct vj_vm_config *cfg, int opt, char *arg, struct vj_err *err)
{
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		return set_name(&cfg->kernel, "--kernel", arg, err);
	case OPT_INITRD:
		return set_name(&cfg->initrd, "--initrd", arg, err);
	case OPT_CMDLINE:
		if (vj_strlcpy_checked(cfg->cmdline, arg, sizeof(cfg->cmdline)) < 0)
			return vj_fail(err, -EINVAL,
				       "--cmdline: %zu bytes, longer than %u", strlen(arg),
				       VJ_CMDLINE_MAX - 1);
		return 0;
	case OPT_VCPUS:
		if (vj_parse_uint(arg, &v) < 0 || v < 1 || v > VJ_VCPUS_MAX)
			return vj_fail(err, -EINVAL,
				       "--vcpus: \"%s\" is not a number in 1..%u", arg,
				       VJ_VCPUS_MAX);
		cfg->vcpus = (uint32_t)v;
		return 0;
	case OPT_MEMORY:
		if (parse_memory(arg, &v) < 0 || v < VJ_MEMORY_MIB_MIN || v > VJ_MEMORY_MIB_MAX)
			return vj_fail(err, -EINVAL,
				       "--memory: \"%s\" is not a size of whole MiB in %uM..%uM",
				       arg, VJ_MEMORY_MIB_MIN, VJ_MEMORY_MIB_MAX);
		cfg->memory_mib = v;
		return 0;
	case OPT_MEMORY_BACKING:
		if (vj_memory_backing_parse(arg, &cfg->memory_backing) < 0)
			return vj_fail(err, -EINVAL,
				       "--memory-backing: \"%s\" is not thp, 4k or hugetlb",
				       arg);
		return 0;
	case OPT_CONSOLE:
		if (!strcmp(arg, "stdout"))
			cfg->console = VJ_CONSOLE_STDOUT;
		else if (!strcmp(arg, "none"))
			cfg->console = VJ_CONSOLE_NONE;
		else {
			cfg->console = VJ_CONSOLE_FILE;
			return set_name(&cfg->console_file, "--console", arg, err);
		}
		return 0;
	case OPT_CONSOLE_LIMIT:
		if (vj_parse_size(arg, &v) < 0)
			return vj_fail(err, -EINVAL, "--console-limit: \"%s\" is not a size", arg);
		cfg->console_limit = v;
		return 0;
	case OPT_DRIVE:
		if (cfg->ndrives >= VJ_MAX_DRIVES)
			return vj_fail(err, -EINVAL, "--drive: more than %u drives", VJ_MAX_DRIVES);
		if (parse_kv_list(arg, "--drive", &cfg->drives[cfg->ndrives], drive_kv, err) < 0)
			return -EINVAL;
		if (!cfg->drives[cfg->ndrives].file.name[0])
			return vj_fail(err, -EINVAL, "--drive: path=FILE is required");
		rate_defaults(&cfg->drives[cfg->ndrives].rate);
		cfg->ndrives++;
		return 0;
	case OPT_NET:
		if (cfg->nnets >= VJ_MAX_NETS)
			return vj_fail(err, -EINVAL, "--net: more than %u interfaces", VJ_MAX_NETS);
		if (parse_kv_list(arg, "--net", &cfg->nets[cfg->nnets], net_kv, err) < 0)
			return -EINVAL;
		if (!cfg->nets[cfg->nnets].tap.name[0])
			return vj_fail(err, -EINVAL, "--net: tap=NAME is required");
		rate_defaults(&cfg->nets[cfg->nnets].rate);
		cfg->nnets++;
		return 0;
	case OPT_VSOCK:
		if (parse_kv_list(arg, "--vsock", &cfg->vsock, vsock_kv, err) < 0)
			return -EINVAL;
		if (!cfg->vsock.guest_cid || !cfg->vsock.uds.name[0])
			return vj_fail(err, -EINVAL, "--vsock: cid=N and uds=PATH are required");
		cfg->vsock.enabled = true;
		return 0;
	case OPT_RNG:
		cfg->rng = true;
		return 0;
	case OPT_SECCOMP:
		if (!strcmp(arg, "enforce"))
			cfg->seccomp = VJ_SECCOMP_ENFORCE;
		else if (!strcmp(arg, "log"))
			cfg->seccomp = VJ_SECCOMP_LOG;
		else if (!strcmp(arg, "off"))
			cfg->seccomp = VJ_SECCOMP_OFF;
		else
			return vj_fail(err, -EINVAL,
				       "--seccomp: \"%s\" is not enforce, log or off", arg);
		return 0;
	case OPT_SECCOMP_LOG:
		cfg->seccomp = VJ_SECCOMP_LOG;
		return 0;
	case OPT_TIMING:
		cfg->timing = true;
		return 0;
	case OPT_CONTROL_FD:
		if (vj_parse_u64(arg, 0, INT32_MAX, &v) < 0)
			return vj_fail(err, -EINVAL,
				       "--control-fd: \"%s\" is not a descriptor", arg);
		cfg->control.fd = (int)v;
		snprintf(cfg->control.name, sizeof(cfg->control.name), "control fd %d", (int)v);
		return 0;
	case OPT_MIGRATE_FROM_FD:
		if (vj_parse_u64(arg, 0, INT32_MAX, &v) < 0)
			return vj_fail(err, -EINVAL,
				       "--migrate-from-fd: \"%s\" is not a descriptor", arg);
		cfg->migrate_from.fd = (int)v;
		snprintf(cfg->migrate_from.name, sizeof(cfg->migrate_from.name),
			 "migration stream fd %d", (int)v);
		return 0;
	case OPT_RESTORE:
		if (!*arg || (size_t)snprintf(cfg->restore_state.name, sizeof(cfg->restore_state.name),
					      "%s/state", arg) >= sizeof(cfg->restore_state.name) ||
		    (size_t)snprintf(cfg->restore_memory.name, sizeof(cfg->restore_memory.name),
				     "%s/memory", arg) >= sizeof(cfg->restore_memory.name))
			return vj_fail(err, -EINVAL, "--restore: \"%s\" is not a usable directory path", arg);
		return 0;
	}
	return vj_fail(err, -EINVAL, "internal: unhandled option %d", opt);
}

int vj_config_parse_args(struct vj_vm_config *cfg, int argc, char **argv, struct vj_err *err)
{
	int opt, r;
	uint64_t fd;
	bool from_fd = false;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return 1;
		case 'v':
			continue; /* verbosity is the caller's business */
		case ':':
			return vj_fail(err, -EINVAL, "%s: missing value", argv[optind - 1]);
		case '?':
			return vj_fail(err, -EINVAL, "%s: unknown option", argv[optind - 1]);
		case OPT_CONFIG_FD:
			if (vj_parse_u64(optarg, 0, INT32_MAX, &fd) < 0)
				return vj_fail(err, -EINVAL,
					       "--config-fd: \"%s\" is not a descriptor",
					       optarg);
			r = vj_config_from_fd((int)fd, cfg, err);
			if (r < 0)
				return r;
			from_fd = true;
			continue;
		}
		if (from_fd)
			return vj_fail(err, -EINVAL,
				       "--config-fd cannot be combined with other options");
		r = parse_one(cfg, opt, optarg, err);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return vj_fail(err, -EINVAL, "unexpected argument \"%s\"", argv[optind]);
	return vj_config_validate(cfg, err);
}

/* ---- guest memory ---------------------------------------------------- */

static const char *const backing_names[] = VJ_MEMORY_BACKING_NAMES;

int vj_memory_backing_parse(const char *word, enum vj_memory_backing *out)
{
	for (size_t i = 0; i < sizeof(backing_names) / sizeof(backing_names[0]); i++) {
		if (!strcmp(word, backing_names[i])) {
			*out = (enum vj_memory_backing)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *vj_memory_backing_name(enum vj_memory_backing b)
{
	return (size_t)b < sizeof(backing_names) / sizeof(backing_names[0]) ? backing_names[b]
									   : "unknown";
}

static const char *const thp_names[] = { "unknown", "always", "madvise", "never" };

enum vj_thp_mode vj_thp_mode_parse(const char *text)
{
	const char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;

	if (!close)
		return VJ_THP_UNKNOWN;
	for (size_t i = VJ_THP_ALWAYS; i < sizeof(thp_names) / sizeof(thp_names[0]); i++) {
		size_t n = strlen(thp_names[i]);
		if ((size_t)(close - open - 1) == n && !strncmp(open + 1, thp_names[i], n))
			return (enum vj_thp_mode)i;
	}
	return VJ_THP_UNKNOWN;
}

const char *vj_thp_mode_name(enum vj_thp_mode m)
{
	return (size_t)m < sizeof(thp_names) / sizeof(thp_names[0]) ? thp_names[m] : "unknown";
}

enum vj_thp_mode vj_thp_host_mode(void)
{
	cleanup_fd int fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
				 O_RDONLY | O_CLOEXEC);
	char buf[128];
	ssize_t n;

	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return VJ_THP_UNKNOWN;
	buf[n] = '\0';
	return vj_thp_mode_parse(buf);
}

/* ---- hand-over ------------------------------------------------------- */

int vj_config_to_memfd(const struct vj_vm_config *cfg)
{
	cleanup_fd int fd = memfd_create("vmjail-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	const char *p = (const char *)cfg;
	size_t left = sizeof(*cfg);

	if (fd < 0)
		return -errno;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return vj_steal_fd(&fd);
}

int vj_config_from_fd(int fd, struct vj_vm_config *cfg, struct vj_err *err)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "--config-fd %d", fd);
	if (st.st_size != (off_t)sizeof(*cfg))
		return vj_fail(err, -EINVAL, "--config-fd %d: %lld bytes, expected %zu", fd,
			       (long long)st.st_size, sizeof(*cfg));
	n = pread(fd, cfg, sizeof(*cfg), 0);
	if (n != (ssize_t)sizeof(*cfg))
		return vj_fail(err, -EINVAL, "--config-fd %d: short read", fd);
	close(fd);
	return vj_config_validate(cfg, err);
}
