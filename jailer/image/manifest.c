/* An image's config and layers, from a layout directory or an archive:
 * see manifest.h. */
#include "manifest.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "tar.h"

#define JSON_VALUES_MAX 100000


static const char *const layer_types_gzip[] = {
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};
static const char *const layer_types_plain[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.docker.image.rootfs.diff.tar",
};
static const char *const index_types[] = {
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
};

static bool one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* "./a/b" -> "a/b"; NULL for a name that is no plain relative path. */
static const char *clean_name(const char *name)
{
	while (!strncmp(name, "./", 2))
		name += 2;
	if (!*name || *name == '/')
		return NULL;
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if ((n == 2 && !strncmp(p, "..", 2)) || (n == 1 && *p == '.'))
			return NULL;
		p += n + (slash ? 1 : 0);
	}
	return name;
}

static int index_archive(struct vj_image_parts *p, struct vj_err *err)
{
	struct stat st;
	if (fstat(p->fd, &st) < 0)
		return vj_fail_errno(err, -errno, "stat");
	cleanup_free struct vj_blob_reader *r = malloc(sizeof(*r));
	if (!r)
		return vj_fail(err, -ENOMEM, "out of memory");
	vj_blob_reader_open(r, (struct vj_blob){ p->fd, 0, (uint64_t)st.st_size }, false,
			    UINT64_MAX, err);
	struct vj_tar t;
	vj_tar_init(&t, (struct vj_byte_source){ vj_blob_reader_read, r, vj_blob_reader_skip });
	struct vj_tar_entry e;
	int k;
	while ((k = vj_tar_next(&t, &e, err)) > 0) {
		const char *name = clean_name(e.path);
		if (e.type == VJ_TAR_DIR)
			continue;
		if (!name)
			return vj_fail(err, -EINVAL, "entry \"%s\": not a relative path beneath the archive", e.path);
		if (e.type != VJ_TAR_REG)
			return vj_fail(err, -EINVAL,
				       "entry \"%s\": not a regular file or a directory, which is all an image archive may hold",
				       e.path);
		for (size_t i = 0; i < p->nentries; i++)
			if (!strcmp(p->entries[i].name, name))
				return vj_fail(err, -EINVAL, "entry \"%s\": twice in the archive", name);
		if (p->nentries == VJ_IMAGE_ARCHIVE_ENTRIES_MAX)
			return vj_fail(err, -E2BIG, "more than %u files", VJ_IMAGE_ARCHIVE_ENTRIES_MAX);
		if (!(p->nentries & (p->nentries + 1))) { /* grow at 0, 1, 3, 7, ... */
			struct vj_archive_entry *n =
				reallocarray(p->entries, 2 * p->nentries + 2, sizeof(*n));
			if (!n)
				return vj_fail(err, -ENOMEM, "out of memory");
			p->entries = n;
		}
		char *copy = strdup(name);
		if (!copy)
			return vj_fail(err, -ENOMEM, "out of memory");
		p->entries[p->nentries++] = (struct vj_archive_entry){ copy, e.offset, e.size };
	}
	return k;
}

static long openat2_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	return syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/* The file name within the image as a blob. */
static int part_blob(struct vj_image_parts *p, const char *name, struct vj_blob *b,
		     struct vj_err *err)
{
	if (p->archive) {
		for (size_t i = 0; i < p->nentries; i++)
			if (!strcmp(p->entries[i].name, name)) {
				*b = (struct vj_blob){ p->fd, p->entries[i].off, p->entries[i].size };
				return 0;
			}
		return vj_fail(err, -ENOENT, "%s: not in the archive", name);
	}
	int *fds = reallocarray(p->fds, p->nfds + 1, sizeof(*fds));
	if (!fds)
		return vj_fail(err, -ENOMEM, "out of memory");
	p->fds = fds;
	cleanup_fd int fd = (int)openat2_beneath(p->fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vj_fail_errno(err, -errno, "%s", name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(err, -errno, "%s", name);
	if (!S_ISREG(st.st_mode))
		return vj_fail(err, -EINVAL, "%s: not a regular file", name);
	*b = (struct vj_blob){ fd, 0, (uint64_t)st.st_size };
	p->fds[p->nfds++] = vj_steal_fd(&fd);
	return 0;
}

static int blob_by_digest(struct vj_image_parts *p, const char *digest, struct vj_blob *b,
			  struct vj_err *err)
{
	char name[96];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	return part_blob(p, name, b, err);
}

static int read_json(struct vj_image_parts *p, const char *name, const char *digest,
		     struct vj_json_doc *doc, char **text, size_t *len, struct vj_err *err)
{
	struct vj_blob b;
	cleanup_free char *buf = NULL;
	int r = part_blob(p, name, &b, err);
	if (r < 0)
		return r;
	if ((r = vj_blob_slurp(b, VJ_IMAGE_JSON_MAX, digest, &buf, err)) < 0)
		return vj_wrap(err, "%s", name);
	if ((r = vj_json_parse(buf, b.size, JSON_VALUES_MAX, doc, err)) < 0)
		return vj_wrap(err, "%s", name);
	if (len)
		*len = b.size;
	if (text)
		*text = steal_ptr(&buf);
	return 0;
}

/* A descriptor's digest (valid) and size, and the blob it names. */
static int descriptor(struct vj_image_parts *p, const struct vj_json *d, const char *what,
		      const char **digest, struct vj_blob *b, struct vj_err *err)
{
	uint64_t size;
	if (vj_json_string(vj_json_get(d, "digest"), digest) < 0 || !vj_digest_valid(*digest))
		return vj_fail(err, -EINVAL, "%s: expected a \"digest\" of the form sha256:<64 hex digits>", what);
	if (vj_json_u64(vj_json_get(d, "size"), INT64_MAX, &size) < 0)
		return vj_fail(err, -EINVAL, "%s: expected a \"size\"", what);
	int r = blob_by_digest(p, *digest, b, err);
	if (r < 0)
		return vj_wrap(err, "%s", what);
	if (b->size != size)
		return vj_fail(err, -EBADMSG, "%s %.19s...: %llu bytes, its descriptor says %llu", what,
			       *digest, (unsigned long long)b->size, (unsigned long long)size);
	return 0;
}

static const char *media_type(const struct vj_json *v)
{
	const char *s;
	return vj_json_string(vj_json_get(v, "mediaType"), &s) < 0 ? "" : s;
}

/* The one image manifest an index names: the only one, or the only one
 * for linux/amd64. */
static int pick_manifest(const struct vj_json *index, const struct vj_json **out,
			 struct vj_err *err)
{
	const struct vj_json *m = vj_json_get(index, "manifests");
	if (!m || m->type != VJ_JSON_ARRAY || m->count == 0)
		return vj_fail(err, -EINVAL, "index: expected a non-empty \"manifests\" array");
	if (m->count == 1) {
		*out = m->child;
		return 0;
	}
	*out = NULL;
	for (const struct vj_json *c = m->child; c; c = c->next) {
		const struct vj_json *pl = vj_json_get(c, "platform");
		const char *os, *arch;
		if (vj_json_string(vj_json_get(pl, "os"), &os) < 0 ||
		    vj_json_string(vj_json_get(pl, "architecture"), &arch) < 0 ||
		    strcmp(os, "linux") || strcmp(arch, "amd64"))
			continue;
		if (*out)
			return vj_fail(err, -EINVAL, "index: more than one linux/amd64 image");
		*out = c;
	}
	return *out ? 0 :
		      vj_fail(err, -EINVAL, "index: %zu images, none of them for linux/amd64",
			      m->count);
}

static int add_layer(struct vj_image_parts *p, struct vj_blob b, bool gzip, const char *digest,
		     struct vj_err *err)
{
	if (p->nlayers == VJ_IMAGE_LAYERS_MAX)
		return vj_fail(err, -E2BIG, "more than %u layers", VJ_IMAGE_LAYERS_MAX);
	struct vj_image_layer *l = &p->layers[p->nlayers++];
	l->blob = b;
	l->gzip = gzip;
	snprintf(l->digest, sizeof(l->digest), "%s", digest);
	return 0;
}

static int oci_manifest(struct vj_image_parts *p, const char *digest, struct vj_err *err)
{
	char name[96];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	int r = read_json(p, name, digest, &doc, NULL, NULL, err);
	if (r < 0)
		return r;
	const struct vj_json *cfg = vj_json_get(doc.root, "config");
	const char *cdigest;
	struct vj_blob cb;
	if (!cfg || (r = descriptor(p, cfg, "manifest config", &cdigest, &cb, err)) < 0)
		return cfg ? r : vj_fail(err, -EINVAL, "manifest: no \"config\"");
	if ((r = vj_blob_slurp(cb, VJ_IMAGE_JSON_MAX, cdigest, &p->config_json, err)) < 0)
		return vj_wrap(err, "config");
	p->config_len = cb.size;
	snprintf(p->config_digest, sizeof(p->config_digest), "%s", cdigest);
	const struct vj_json *layers = vj_json_get(doc.root, "layers");
	if (!layers || layers->type != VJ_JSON_ARRAY)
		return vj_fail(err, -EINVAL, "manifest: expected a \"layers\" array");
	for (const struct vj_json *l = layers->child; l; l = l->next) {
		const char *t = media_type(l), *ld;
		struct vj_blob b;
		bool gz = one_of(t, layer_types_gzip, VJ_ARRAY_SIZE(layer_types_gzip));
		if (!gz && !one_of(t, layer_types_plain, VJ_ARRAY_SIZE(layer_types_plain)))
			return vj_fail(err, -EOPNOTSUPP,
				       "layer of media type \"%s\": only tar and tar+gzip layers are supported%s",
				       t, strstr(t, "zstd") ? " (recompress it with gzip)" : "");
		if ((r = descriptor(p, l, "layer", &ld, &b, err)) < 0 ||
		    (r = add_layer(p, b, gz, ld, err)) < 0)
			return r;
	}
	return 0;
}

static int oci_image(struct vj_image_parts *p, struct vj_err *err)
{
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	int r = read_json(p, "index.json", NULL, &doc, NULL, NULL, err);
	if (r < 0)
		return r;
	const struct vj_json *m;
	if ((r = pick_manifest(doc.root, &m, err)) < 0)
		return r;
	const char *digest;
	struct vj_blob b;
	if ((r = descriptor(p, m, "index.json manifest", &digest, &b, err)) < 0)
		return r;
	if (one_of(media_type(m), index_types, VJ_ARRAY_SIZE(index_types))) {
		/* A multi-platform image: one more index, then the manifest. */
		cleanup_with(vj_json_free) struct vj_json_doc inner = { 0 };
		char name[96];
		snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
		if ((r = read_json(p, name, digest, &inner, NULL, NULL, err)) < 0 ||
		    (r = pick_manifest(inner.root, &m, err)) < 0 ||
		    (r = descriptor(p, m, "index manifest", &digest, &b, err)) < 0)
			return r;
		if (one_of(media_type(m), index_types, VJ_ARRAY_SIZE(index_types)))
			return vj_fail(err, -EINVAL, "index: nested more than two deep");
	}
	return oci_manifest(p, digest, err);
}

static bool is_gzip(struct vj_blob b)
{
	unsigned char m[2];
	return b.size >= 2 && pread(b.fd, m, 2, (off_t)b.off) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

static int docker_image(struct vj_image_parts *p, struct vj_err *err)
{
	cleanup_with(vj_json_free) struct vj_json_doc doc = { 0 };
	int r = read_json(p, "manifest.json", NULL, &doc, NULL, NULL, err);
	if (r < 0)
		return r;
	if (doc.root->type != VJ_JSON_ARRAY || doc.root->count != 1)
		return vj_fail(err, -EINVAL,
			       "manifest.json: expected an array of exactly one image, found %zu",
			       doc.root->type == VJ_JSON_ARRAY ? doc.root->count : 0);
	const struct vj_json *img = doc.root->child, *layers = vj_json_get(img, "Layers");
	const char *config, *name;
	if (vj_json_string(vj_json_get(img, "Config"), &config) < 0 || !clean_name(config))
		return vj_fail(err, -EINVAL, "manifest.json: expected a relative \"Config\" path");
	struct vj_blob cb;
	if ((r = part_blob(p, clean_name(config), &cb, err)) < 0 ||
	    (r = vj_blob_slurp(cb, VJ_IMAGE_JSON_MAX, NULL, &p->config_json, err)) < 0)
		return vj_wrap(err, "manifest.json Config");
	p->config_len = cb.size;
	/* Its digest is what the bytes hash to, whatever the file is called. */
	struct vj_sha256 s;
	char hex[VJ_SHA256_HEX];
	vj_sha256_init(&s);
	vj_sha256_update(&s, p->config_json, cb.size);
	vj_sha256_hex(&s, hex);
	snprintf(p->config_digest, sizeof(p->config_digest), "sha256:%s", hex);
	if (!layers || layers->type != VJ_JSON_ARRAY)
		return vj_fail(err, -EINVAL, "manifest.json: expected a \"Layers\" array");
	for (const struct vj_json *l = layers->child; l; l = l->next) {
		struct vj_blob b;
		if (vj_json_string(l, &name) < 0 || !clean_name(name))
			return vj_fail(err, -EINVAL, "manifest.json: expected relative \"Layers\" paths");
		if ((r = part_blob(p, clean_name(name), &b, err)) < 0 ||
		    (r = add_layer(p, b, is_gzip(b), "", err)) < 0)
			return r;
	}
	return 0;
}

static bool has_part(struct vj_image_parts *p, const char *name)
{
	if (p->archive) {
		for (size_t i = 0; i < p->nentries; i++)
			if (!strcmp(p->entries[i].name, name))
				return true;
		return false;
	}
	struct stat st;
	return fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* The config's diff_ids, one per layer, in the layers' order. */
static int match_diff_ids(struct vj_image_parts *p, struct vj_err *err)
{
	struct vj_image_config c = { 0 };
	char(*ids)[VJ_IMAGE_DIGEST_MAX] = calloc(VJ_IMAGE_LAYERS_MAX, sizeof(*ids));
	unsigned n;
	if (!ids)
		return vj_fail(err, -ENOMEM, "out of memory");
	int r = vj_image_config_parse(p->config_json, p->config_len, &c, ids, VJ_IMAGE_LAYERS_MAX,
				      &n, err);
	vj_image_config_free(&c);
	if (r == 0 && n != p->nlayers)
		r = vj_fail(err, -EINVAL, "config: %u diff_ids for %u layers", n, p->nlayers);
	for (unsigned i = 0; r == 0 && i < n; i++)
		memcpy(p->layers[i].diff_id, ids[i], VJ_IMAGE_DIGEST_MAX);
	free(ids);
	return r;
}

int vj_image_parts_open(const char *path, struct vj_image_parts *p, struct vj_err *err)
{
	struct stat st;
	int r;

	memset(p, 0, offsetof(struct vj_image_parts, layers));
	/* O_NONBLOCK: a FIFO put where the image should be must not hang the
	 * launcher; it is refused below like any other non-file. */
	p->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (p->fd < 0)
		return vj_fail_errno(err, -errno, "open");
	if (fstat(p->fd, &st) < 0)
		return vj_fail_errno(err, -errno, "stat");
	if (S_ISREG(st.st_mode)) {
		p->archive = true;
		if ((r = index_archive(p, err)) < 0)
			return vj_wrap(err, "image archive");
	} else if (!S_ISDIR(st.st_mode)) {
		return vj_fail(err, -EINVAL, "neither an image archive nor an OCI layout directory");
	}
	if (has_part(p, "index.json")) {
		p->format = p->archive ? "oci-archive" : "oci-layout";
		r = oci_image(p, err);
	} else if (has_part(p, "manifest.json")) {
		p->format = "docker-archive";
		r = docker_image(p, err);
	} else {
		return vj_fail(err, -EINVAL,
			       "no index.json (OCI) or manifest.json (docker save): not an image");
	}
	return r < 0 ? r : match_diff_ids(p, err);
}

void vj_image_parts_close(struct vj_image_parts *p)
{
	for (size_t i = 0; i < p->nentries; i++)
		free(p->entries[i].name);
	free(p->entries);
	for (size_t i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	free(p->fds);
	free(p->config_json);
	if (p->fd >= 0)
		close(p->fd);
	memset(p, 0, offsetof(struct vj_image_parts, layers));
	p->fd = -1;
}
