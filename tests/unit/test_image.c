/* Container images (image/): the tar reader, layer application with its
 * refusals, the image config, and finding an image's parts. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply.h"
#include "blob.h"
#include "confine.h"
#include "manifest.h"
#include "sha256.h"
#include "tar.h"

/* ---- building tars in memory ------------------------------------------ */

struct buf {
	unsigned char *p;
	size_t len, cap, off; /* off: the reader's position */
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void pad(struct buf *b)
{
	static const unsigned char zero[512];
	if (b->len % 512)
		put(b, zero, 512 - b->len % 512);
}

/* One header: name (<100 bytes), type, mode, ids, size, link target. */
static void header(struct buf *b, const char *name, char type, unsigned mode, unsigned uid,
		   unsigned gid, uint64_t size, const char *link)
{
	unsigned char h[512] = { 0 };
	unsigned sum = 0;

	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", uid);
	snprintf((char *)h + 116, 8, "%07o", gid);
	if (size < (1ull << 33)) {
		char field[24];
		snprintf(field, sizeof(field), "%011llo", (unsigned long long)size);
		memcpy(h + 124, field, 12);
	} else { /* GNU base-256: a set top bit, then the value big-endian */
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (unsigned char)(size >> (8 * i));
	}
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	put(b, h, 512);
}

static void file(struct buf *b, const char *name, const char *data)
{
	header(b, name, '0', 0644, 0, 0, strlen(data), NULL);
	put(b, data, strlen(data));
	pad(b);
}

static void entry(struct buf *b, const char *name, char type, const char *link)
{
	header(b, name, type, type == '5' ? 0755 : 0644, 0, 0, 0, link);
}

static void pax(struct buf *b, const char *key, const char *value)
{
	char rec[8192];
	size_t n = strlen(key) + strlen(value) + 3, len = n + 1;
	while (snprintf(NULL, 0, "%zu", len) + n != len)
		len++;
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
	header(b, "PaxHeader", 'x', 0644, 0, 0, strlen(rec), NULL);
	put(b, rec, strlen(rec));
	pad(b);
}

static void end(struct buf *b)
{
	static const unsigned char zero[1024];
	put(b, zero, sizeof(zero));
}

static ssize_t buf_read(void *ctx, void *out, size_t len, struct vj_err *err)
{
	struct buf *b = ctx;
	(void)err;
	if (len > b->len - b->off)
		len = b->len - b->off;
	memcpy(out, b->p + b->off, len);
	b->off += len;
	return (ssize_t)len;
}

static void tar_over(struct vj_tar *t, struct buf *b)
{
	b->off = 0;
	vj_tar_init(t, (struct vj_byte_source){ buf_read, b, NULL });
}

/* ---- the tar reader ----------------------------------------------------- */

static void test_tar_reads_ustar_entries_and_data(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	char data[16] = { 0 };
	(void)state;

	entry(&b, "./etc/", '5', NULL);
	file(&b, "./etc/hostname", "box\n");
	entry(&b, "bin/sh", '2', "busybox");
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_int_equal(e.type, VJ_TAR_DIR);
	assert_string_equal(e.path, "./etc/");
	assert_int_equal(e.mode, 0755);
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_int_equal(e.type, VJ_TAR_REG);
	assert_int_equal(e.size, 4);
	assert_int_equal(vj_tar_read(&t, data, sizeof(data), &err), 4);
	assert_string_equal(data, "box\n");
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_int_equal(e.type, VJ_TAR_SYMLINK);
	assert_string_equal(e.link, "busybox");
	assert_int_equal(vj_tar_next(&t, &e, &err), 0);
	free(b.p);
}

static void test_tar_pax_path_and_size_override_the_header(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	char longname[300];
	(void)state;

	memset(longname, 'a', 250);
	strcpy(longname + 250, "/file");
	pax(&b, "path", longname);
	file(&b, "short", "xyz");
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_string_equal(e.path, longname);
	assert_int_equal(e.size, 3);
	assert_int_equal(vj_tar_next(&t, &e, &err), 0);
	free(b.p);
}

static void test_tar_gnu_long_name(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	char longname[200];
	(void)state;

	memset(longname, 'b', 150);
	longname[150] = '\0';
	header(&b, "././@LongLink", 'L', 0644, 0, 0, strlen(longname) + 1, NULL);
	put(&b, longname, strlen(longname) + 1);
	pad(&b);
	file(&b, "cut", "1");
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_string_equal(e.path, longname);
	free(b.p);
}

static void test_tar_refuses_a_bad_checksum(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	(void)state;

	file(&b, "x", "1");
	b.p[0] = 'y';
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad checksum"));
	free(b.p);
}

static void test_tar_refuses_v7_headers(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	(void)state;

	file(&b, "x", "1");
	memset(b.p + 257, 0, 8);
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not ustar, pax or GNU"));
	free(b.p);
}

static void test_tar_refuses_sparse_files(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	(void)state;

	header(&b, "sparse", 'S', 0644, 0, 0, 0, NULL);
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "'S'"));
	free(b.p);
}

static void test_tar_a_huge_declared_size_is_a_truncated_archive(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	char data[64];
	(void)state;

	header(&b, "huge", '0', 0644, 0, 0, 1ull << 40, NULL);
	put(&b, "tiny", 4);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), 1);
	assert_int_equal(e.size, 1ull << 40);
	assert_int_equal(vj_tar_read(&t, data, sizeof(data), &err), -EIO);
	assert_non_null(strstr(err.msg, "truncated"));
	free(b.p);
}

static void test_tar_refuses_a_malformed_pax_record(void **state)
{
	struct buf b = { 0 };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	(void)state;

	header(&b, "PaxHeader", 'x', 0644, 0, 0, 12, NULL);
	put(&b, "99 path=abc\n", 12);
	pad(&b);
	file(&b, "x", "1");
	end(&b);
	tar_over(&t, &b);
	assert_int_equal(vj_tar_next(&t, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "malformed pax record"));
	free(b.p);
}

/* ---- layer application --------------------------------------------------- */

struct stage {
	char top[64];   /* a scratch directory, holding... */
	char root[96];  /* ...the staging root */
	int rootfd;
	struct vj_apply a;
};

static int stage_setup(void **state)
{
	struct stage *s = calloc(1, sizeof(*s));
	strcpy(s->top, "/tmp/test_image.XXXXXX");
	assert_non_null(mkdtemp(s->top));
	snprintf(s->root, sizeof(s->root), "%s/root", s->top);
	assert_int_equal(mkdir(s->root, 0700), 0);
	s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY);
	assert_true(s->rootfd >= 0);
	vj_apply_init(&s->a, s->rootfd, 1000, 1 << 20);
	*state = s;
	return 0;
}

static int stage_teardown(void **state)
{
	struct stage *s = *state;
	vj_apply_fini(&s->a);
	close(s->rootfd);
	vj_remove_tree(AT_FDCWD, s->top);
	free(s);
	return 0;
}

static int apply(struct stage *s, struct buf *b, struct vj_err *err)
{
	struct vj_tar t;
	end(b);
	tar_over(&t, b);
	int r = vj_apply_layer(&s->a, &t, err);
	free(b->p);
	memset(b, 0, sizeof(*b));
	return r;
}

static bool exists(struct stage *s, const char *path)
{
	struct stat st;
	return fstatat(s->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_apply_makes_files_dirs_links_with_modes_and_owners(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;
	struct stat st, st2;
	char link[64] = { 0 };

	entry(&b, "usr/", '5', NULL);
	header(&b, "usr/tool", '0', 04755, 1000, 1001, 2, NULL);
	put(&b, "hi", 2);
	pad(&b);
	entry(&b, "usr/alias", '1', "usr/tool");
	entry(&b, "usr/sym", '2', "/etc/passwd");
	entry(&b, "usr/pipe", '6', NULL);
	assert_int_equal(apply(s, &b, &err), 0);
	assert_int_equal(fstatat(s->rootfd, "usr/tool", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 1000);
		assert_int_equal(st.st_gid, 1001);
	}
	assert_int_equal(fstatat(s->rootfd, "usr/alias", &st2, 0), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(readlinkat(s->rootfd, "usr/sym", link, sizeof(link) - 1), 11);
	assert_string_equal(link, "/etc/passwd");
	assert_int_equal(fstatat(s->rootfd, "usr/pipe", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_apply_missing_parents_are_made(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;

	file(&b, "a/b/c/d", "x");
	assert_int_equal(apply(s, &b, &err), 0);
	assert_true(exists(s, "a/b/c/d"));
}

static void test_apply_whiteout_removes_a_lower_file_and_dir(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;

	file(&b, "etc/motd", "hello");
	file(&b, "etc/keep", "k");
	file(&b, "var/cache/x/y", "z");
	assert_int_equal(apply(s, &b, &err), 0);
	file(&b, "etc/.wh.motd", "");
	file(&b, "var/cache/.wh.x", "");
	assert_int_equal(apply(s, &b, &err), 0);
	assert_false(exists(s, "etc/motd"));
	assert_false(exists(s, "etc/.wh.motd"));
	assert_true(exists(s, "etc/keep"));
	assert_false(exists(s, "var/cache/x"));
}

static void test_apply_opaque_dir_hides_lower_entries_only(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;

	file(&b, "opt/old/a", "1");
	file(&b, "opt/old/sub/b", "2");
	assert_int_equal(apply(s, &b, &err), 0);
	/* In the upper layer, an entry before the marker stays too. */
	file(&b, "opt/old/early", "3");
	file(&b, "opt/old/.wh..wh..opq", "");
	file(&b, "opt/old/late", "4");
	assert_int_equal(apply(s, &b, &err), 0);
	assert_false(exists(s, "opt/old/a"));
	assert_false(exists(s, "opt/old/sub"));
	assert_true(exists(s, "opt/old/early"));
	assert_true(exists(s, "opt/old/late"));
	assert_false(exists(s, "opt/old/.wh..wh..opq"));
}

static void test_apply_a_file_replaces_a_dir_and_a_symlink(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;
	struct stat st;

	file(&b, "d/inner", "1");
	entry(&b, "l", '2', "/etc");
	assert_int_equal(apply(s, &b, &err), 0);
	file(&b, "d", "now a file");
	file(&b, "l", "now a file too");
	assert_int_equal(apply(s, &b, &err), 0);
	assert_int_equal(fstatat(s->rootfd, "d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fstatat(s->rootfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* Refusals: one line naming the entry, nothing written outside. */
static void refused(struct stage *s, struct buf *b, int code, const char *why)
{
	struct vj_err err;
	char outside[128];

	assert_int_equal(apply(s, b, &err), code);
	assert_non_null(strstr(err.msg, why));
	assert_null(strchr(err.msg, '\n'));
	snprintf(outside, sizeof(outside), "%s/escaped", s->top);
	assert_int_equal(access(outside, F_OK), -1);
	assert_int_equal(access("/tmp/escaped-by-test-image", F_OK), -1);
}

static void test_apply_refuses_dotdot(void **state)
{
	struct buf b = { 0 };
	file(&b, "../escaped", "x");
	refused(*state, &b, -EINVAL, "entry \"../escaped\": a \"..\" component");
}

static void test_apply_refuses_dotdot_inside(void **state)
{
	struct buf b = { 0 };
	file(&b, "a/../../escaped", "x");
	refused(*state, &b, -EINVAL, "a \"..\" component");
}

static void test_apply_refuses_absolute_paths(void **state)
{
	struct buf b = { 0 };
	file(&b, "/tmp/escaped-by-test-image", "x");
	refused(*state, &b, -EINVAL, "an absolute path");
}

static void test_apply_refuses_writing_through_a_symlink(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	char target[128];

	snprintf(target, sizeof(target), "%s", s->top);
	entry(&b, "link", '2', target);
	file(&b, "link/escaped", "x");
	refused(s, &b, -ELOOP, "entry \"link/escaped\": it lies through a symbolic link");
}

static void test_apply_refuses_a_symlink_loop_in_a_path(void **state)
{
	struct buf b = { 0 };
	entry(&b, "loop", '2', "loop");
	file(&b, "loop/x", "x");
	refused(*state, &b, -ELOOP, "through a symbolic link");
}

static void test_apply_refuses_hard_links_out_of_the_root(void **state)
{
	struct buf b = { 0 };
	entry(&b, "pw", '1', "../../../etc/passwd");
	refused(*state, &b, -EINVAL, "entry \"pw\": a \"..\" component");
}

static void test_apply_refuses_hard_links_through_symlinks(void **state)
{
	struct buf b = { 0 };
	entry(&b, "etc", '2', "/etc");
	entry(&b, "pw", '1', "etc/passwd");
	refused(*state, &b, -ELOOP, "its target lies through a symbolic link");
}

static void test_apply_refuses_device_nodes(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	entry(&b, "null", '3', NULL);
	refused(s, &b, -EPERM, "entry \"null\": a device node");
	assert_false(exists(s, "null"));
	entry(&b, "sda", '4', NULL);
	refused(s, &b, -EPERM, "a device node");
}

static void test_apply_refuses_too_many_files(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	char name[32];

	s->a.max_files = 10;
	for (int i = 0; i < 11; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		file(&b, name, "x");
	}
	refused(s, &b, -E2BIG, "more than 10 files (images.max_files)");
}

static void test_apply_refuses_more_bytes_than_allowed_before_writing(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };

	header(&b, "big", '0', 0644, 0, 0, 2 << 20, NULL); /* declared, never there */
	refused(s, &b, -EFBIG, "more than 1048576 bytes (images.max_bytes)");
	assert_false(exists(s, "big"));
}

static void test_apply_limits_add_up_over_layers(void **state)
{
	struct stage *s = *state;
	struct buf b = { 0 };
	struct vj_err err;

	s->a.max_files = 3;
	file(&b, "a", "1");
	file(&b, "b", "1");
	assert_int_equal(apply(s, &b, &err), 0);
	file(&b, "c", "1");
	file(&b, "d", "1");
	refused(s, &b, -E2BIG, "more than 3 files");
}

/* ---- image config ------------------------------------------------------ */

static int parse_config(const char *json, struct vj_image_config *c, unsigned *n,
			struct vj_err *err)
{
	static char ids[4][VJ_IMAGE_DIGEST_MAX];
	return vj_image_config_parse(json, strlen(json), c, ids, 4, n, err);
}

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}"

static void test_config_every_field(void **state)
{
	struct vj_image_config c;
	struct vj_err err;
	unsigned n;
	(void)state;

	assert_int_equal(parse_config("{\"config\":{\"Entrypoint\":[\"/bin/app\",\"--flag\"],"
				      "\"Cmd\":[\"serve\"],\"Env\":[\"A=1\",\"PATH=/bin\"],"
				      "\"WorkingDir\":\"/srv\",\"User\":\"app:staff\"}," ROOTFS "}",
				      &c, &n, &err),
			 0);
	assert_string_equal(c.entrypoint[0], "/bin/app");
	assert_string_equal(c.entrypoint[1], "--flag");
	assert_null(c.entrypoint[2]);
	assert_string_equal(c.cmd[0], "serve");
	assert_string_equal(c.env[1], "PATH=/bin");
	assert_string_equal(c.working_dir, "/srv");
	assert_string_equal(c.user, "app:staff");
	assert_int_equal(n, 1);
	vj_image_config_free(&c);
}

static void test_config_absent_and_null_fields(void **state)
{
	struct vj_image_config c;
	struct vj_err err;
	unsigned n;
	(void)state;

	assert_int_equal(parse_config("{\"config\":{\"Cmd\":null,\"WorkingDir\":\"\"}," ROOTFS "}",
				      &c, &n, &err),
			 0);
	assert_null(c.cmd);
	assert_null(c.entrypoint);
	assert_null(c.working_dir);
	assert_null(c.user);
	vj_image_config_free(&c);
}

static void config_refused(const char *json, const char *why)
{
	struct vj_image_config c;
	struct vj_err err;
	unsigned n;

	assert_true(parse_config(json, &c, &n, &err) < 0);
	assert_non_null(strstr(err.msg, why));
	assert_null(c.cmd);
}

static void test_config_refusals(void **state)
{
	char many[8192] = "{\"config\":{\"Cmd\":[";
	(void)state;

	config_refused("[]", "expected an object");
	config_refused("{\"config\":{\"Cmd\":\"sh\"}," ROOTFS "}", "Cmd: expected an array");
	config_refused("{\"config\":{\"Cmd\":[1]}," ROOTFS "}", "Cmd[0]: expected a string");
	config_refused("{\"config\":{\"Env\":[\"NOEQUALS\"]}," ROOTFS "}", "Env[0]: expected NAME=value");
	config_refused("{\"config\":{\"Env\":[\"=x\"]}," ROOTFS "}", "Env[0]: expected NAME=value");
	config_refused("{\"config\":{\"WorkingDir\":\"srv\"}," ROOTFS "}", "expected an absolute path");
	config_refused("{\"config\":{\"User\":7}," ROOTFS "}", "User: expected a string");
	config_refused("{\"config\":\"x\"," ROOTFS "}", "\"config\" is not an object");
	config_refused("{\"config\":{}}", "rootfs.type");
	config_refused("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:xyz\"]}}",
		       "diff_ids[0]");
	config_refused("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D1 "\",\"" D1
		       "\",\"" D1 "\",\"" D1 "\"]}}",
		       "5 layers, at most 4");
	for (int i = 0; i < 257; i++)
		strcat(many, i ? ",\"a\"" : "\"a\"");
	strcat(many, "]}," ROOTFS "}");
	config_refused(many, "257 entries, at most 256");
}

/* ---- finding an image's parts (OCI layout, docker save) ---------------- */

struct layout {
	char dir[64];
};

static int layout_setup(void **state)
{
	struct layout *l = calloc(1, sizeof(*l));
	strcpy(l->dir, "/tmp/test_image_layout.XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	*state = l;
	return 0;
}

static int layout_teardown(void **state)
{
	struct layout *l = *state;
	vj_remove_tree(AT_FDCWD, l->dir);
	free(l);
	return 0;
}

static void write_at(const char *dir, const char *name, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void digest_of(const void *data, size_t len, char out[VJ_IMAGE_DIGEST_MAX])
{
	struct vj_sha256 s;
	char hex[VJ_SHA256_HEX];
	vj_sha256_init(&s);
	vj_sha256_update(&s, data, len);
	vj_sha256_hex(&s, hex);
	snprintf(out, VJ_IMAGE_DIGEST_MAX, "sha256:%s", hex);
}

/* A blob under blobs/sha256/, its digest in out. */
static void blob(const char *dir, const void *data, size_t len, char out[VJ_IMAGE_DIGEST_MAX])
{
	char name[128];
	digest_of(data, len, out);
	snprintf(name, sizeof(name), "blobs/sha256/%s", out + 7);
	write_at(dir, name, data, len);
}

static void hello_layer(struct buf *b, const char *tag)
{
	file(b, "hello", tag);
}

/* An OCI layout of one plain layer (its entries from fill, tagged), media
 * type of the layer given. */
static void make_layout_of(struct layout *l, const char *layer_type, bool corrupt_config,
			   void (*fill)(struct buf *, const char *), const char *tag)
{
	char path[128], layer_d[VJ_IMAGE_DIGEST_MAX], config_d[VJ_IMAGE_DIGEST_MAX],
		manifest_d[VJ_IMAGE_DIGEST_MAX], config[512], manifest[1024], index[512];
	struct buf b = { 0 };

	snprintf(path, sizeof(path), "%s/blobs", l->dir);
	mkdir(path, 0755);
	strcat(path, "/sha256");
	mkdir(path, 0755);
	fill(&b, tag);
	end(&b);
	blob(l->dir, b.p, b.len, layer_d);
	snprintf(config, sizeof(config),
		 "{\"config\":{\"Cmd\":[\"cat\",\"/hello\"],\"Env\":[\"TAG=%s\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		 tag, layer_d);
	blob(l->dir, config, strlen(config), config_d);
	if (corrupt_config) {
		snprintf(path, sizeof(path), "blobs/sha256/%s", config_d + 7);
		config[2] = 'C';
		write_at(l->dir, path, config, strlen(config));
	}
	snprintf(manifest, sizeof(manifest),
		 "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\",\"size\":%zu},"
		 "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
		 config_d, strlen(config), layer_type, layer_d, b.len);
	blob(l->dir, manifest, strlen(manifest), manifest_d);
	snprintf(index, sizeof(index),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		 "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}",
		 manifest_d, strlen(manifest));
	write_at(l->dir, "index.json", index, strlen(index));
	free(b.p);
}

static void make_layout(struct layout *l, const char *layer_type, bool corrupt_config)
{
	make_layout_of(l, layer_type, corrupt_config, hello_layer, "world");
}

static void test_layout_finds_config_and_layers(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;

	make_layout(l, "application/vnd.oci.image.layer.v1.tar", false);
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), 0);
	assert_string_equal(p.format, "oci-layout");
	assert_int_equal(p.nlayers, 1);
	assert_false(p.layers[0].gzip);
	assert_string_equal(p.layers[0].digest, p.layers[0].diff_id);
	assert_true(vj_digest_valid(p.config_digest));
	assert_non_null(strstr(p.config_json, "/hello"));
	vj_image_parts_close(&p);
}

static void test_layout_refuses_a_config_that_does_not_match_its_digest(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;

	make_layout(l, "application/vnd.oci.image.layer.v1.tar", true);
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "digest mismatch"));
	vj_image_parts_close(&p);
}

static void test_layout_refuses_zstd_layers(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;

	make_layout(l, "application/vnd.oci.image.layer.v1.tar+zstd", false);
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "recompress it with gzip"));
	vj_image_parts_close(&p);
}

static void test_layout_refuses_a_blob_that_is_a_symlink(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;
	char index[128];

	snprintf(index, sizeof(index), "%s/index.json", l->dir);
	assert_int_equal(symlink("/etc/hostname", index), 0);
	assert_true(vj_image_parts_open(l->dir, &p, &err) < 0);
	vj_image_parts_close(&p);
}

static void test_a_fifo_is_refused_without_waiting(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;
	char fifo[128];

	snprintf(fifo, sizeof(fifo), "%s/image.tar", l->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(vj_image_parts_open(fifo, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "neither an image archive nor an OCI layout directory"));
	vj_image_parts_close(&p);
}

static void test_docker_manifest_of_two_images_is_refused(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;
	const char *m = "[{\"Config\":\"c.json\",\"Layers\":[]},{\"Config\":\"c.json\",\"Layers\":[]}]";

	write_at(l->dir, "manifest.json", m, strlen(m));
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly one image, found 2"));
	vj_image_parts_close(&p);
}

static void test_docker_config_path_may_not_escape(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;
	const char *m = "[{\"Config\":\"../../etc/passwd\",\"Layers\":[]}]";

	write_at(l->dir, "manifest.json", m, strlen(m));
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "relative \"Config\" path"));
	vj_image_parts_close(&p);
}

static void test_docker_layers_are_checked_against_diff_ids(void **state)
{
	struct layout *l = *state;
	struct vj_image_parts p;
	struct vj_err err;
	struct buf b = { 0 };
	char d[VJ_IMAGE_DIGEST_MAX], config[512];
	const char *m = "[{\"Config\":\"c.json\",\"Layers\":[\"l/layer.tar\"]}]";
	char ldir[128];

	file(&b, "hello", "world");
	end(&b);
	digest_of(b.p, b.len, d);
	snprintf(ldir, sizeof(ldir), "%s/l", l->dir);
	mkdir(ldir, 0755);
	b.p[512] = 'W'; /* the data, after its digest was taken */
	write_at(l->dir, "l/layer.tar", b.p, b.len);
	snprintf(config, sizeof(config),
		 "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", d);
	write_at(l->dir, "c.json", config, strlen(config));
	write_at(l->dir, "manifest.json", m, strlen(m));
	assert_int_equal(vj_image_parts_open(l->dir, &p, &err), 0);
	assert_string_equal(p.format, "docker-archive");
	struct vj_blob_reader *r = malloc(sizeof(*r));
	assert_int_equal(vj_blob_reader_open(r, p.layers[0].blob, false, 1 << 20, &err), 0);
	assert_int_equal(vj_blob_reader_verify(r, NULL, p.layers[0].diff_id, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "not to the config's diff_id"));
	vj_blob_reader_close(r);
	free(r);
	free(b.p);
	vj_image_parts_close(&p);
}

/* ---- the cache (runs mkfs.erofs: root, and erofs-utils, needed) -------- */

struct cache {
	struct layout a, b;
	char dir[64];
	struct vj_host_config host;
};

static int cache_setup(void **state)
{
	if (geteuid() != 0 || access("/usr/bin/mkfs.erofs", X_OK) != 0) {
		*state = NULL;
		return 0;
	}
	struct cache *c = calloc(1, sizeof(*c));
	strcpy(c->a.dir, "/tmp/test_image_a.XXXXXX");
	strcpy(c->b.dir, "/tmp/test_image_b.XXXXXX");
	strcpy(c->dir, "/tmp/test_image_cache.XXXXXX");
	assert_non_null(mkdtemp(c->a.dir));
	assert_non_null(mkdtemp(c->b.dir));
	assert_non_null(mkdtemp(c->dir));
	snprintf(c->host.image_cache, sizeof(c->host.image_cache), "%s/cache", c->dir);
	c->host.image_cache_max = 1ull << 30;
	c->host.image_max_files = 1000;
	c->host.image_max_bytes = 16 << 20;
	make_layout_of(&c->a, "application/vnd.oci.image.layer.v1.tar", false, hello_layer, "a");
	make_layout_of(&c->b, "application/vnd.oci.image.layer.v1.tar", false, hello_layer, "b");
	*state = c;
	return 0;
}

static int cache_teardown(void **state)
{
	struct cache *c = *state;
	if (!c)
		return 0;
	vj_remove_tree(AT_FDCWD, c->a.dir);
	vj_remove_tree(AT_FDCWD, c->b.dir);
	vj_remove_tree(AT_FDCWD, c->dir);
	free(c);
	return 0;
}

#define NEED_CACHE(c)                                                        \
	do {                                                                 \
		if (!(c)) {                                                  \
			print_message("skipped: needs root and mkfs.erofs\n"); \
			skip();                                              \
		}                                                            \
	} while (0)

/* The cache's names, sorted, one line each. */
static void listing(const char *dir, char *out, size_t len)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "ls -A %s 2>/dev/null | sort", dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	pclose(f);
}

static void test_cache_second_open_converts_nothing(void **state)
{
	struct cache *c = *state;
	struct vj_root_image img;
	struct vj_err err;
	struct stat st1, st2;

	NEED_CACHE(c);
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &img, &err), 0);
	assert_true(img.converted);
	assert_false(img.remove_after);
	assert_string_equal(img.fstype, "erofs");
	assert_string_equal(img.config.env[0], "TAG=a");
	assert_int_equal(stat(img.path, &st1), 0);
	assert_int_equal(st1.st_uid, 0);
	assert_int_equal(st1.st_mode & 0777, 0400);
	vj_root_image_release(&img);
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &img, &err), 0);
	assert_false(img.converted);
	assert_int_equal(stat(img.path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_string_equal(img.config.cmd[1], "/hello");
	vj_root_image_release(&img);
}

static void test_cache_ext4_when_the_host_file_says_so(void **state)
{
	struct cache *c = *state;
	struct vj_root_image img;
	struct vj_err err;
	unsigned char magic[2];

	NEED_CACHE(c);
	c->host.image_ext4 = true;
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &img, &err), 0);
	assert_string_equal(img.fstype, "ext4");
	assert_non_null(strstr(img.path, ".ext4"));
	int fd = open(img.path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, magic, 2, 1080), 2); /* the superblock's s_magic */
	close(fd);
	assert_int_equal(magic[0], 0x53);
	assert_int_equal(magic[1], 0xef);
	vj_root_image_release(&img);
}

static void test_cache_two_runs_at_once_convert_once(void **state)
{
	struct cache *c = *state;
	int fds[2];
	pid_t pids[2];
	char results[2] = { 0 };

	NEED_CACHE(c);
	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vj_root_image img;
			struct vj_err err;
			char r = vj_image_open(&c->host, c->a.dir, &img, &err) < 0 ? 'E' :
				 img.converted ? 'C' : 'H';
			(void)!write(fds[1], &r, 1);
			_exit(0);
		}
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &results[0], 1), 1);
	assert_int_equal(read(fds[0], &results[1], 1), 1);
	close(fds[0]);
	for (int i = 0; i < 2; i++)
		waitpid(pids[i], NULL, 0);
	/* One converted, the other found it done. */
	assert_true((results[0] == 'C' && results[1] == 'H') ||
		    (results[0] == 'H' && results[1] == 'C'));
}

static void test_cache_evicts_the_least_recently_used(void **state)
{
	struct cache *c = *state;
	struct vj_root_image a, b;
	struct vj_err err;

	NEED_CACHE(c);
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &a, &err), 0);
	c->host.image_cache_max = 1; /* room for the newest alone */
	assert_int_equal(vj_image_open(&c->host, c->b.dir, &b, &err), 0);
	assert_int_equal(access(a.path, F_OK), -1);
	assert_int_equal(access(b.path, F_OK), 0);
	vj_root_image_release(&a);
	vj_root_image_release(&b);
}

static void dotdot_layer(struct buf *b, const char *tag)
{
	file(b, "fine", tag);
	file(b, "../escaped", tag);
}

static void test_cache_a_refused_image_leaves_nothing(void **state)
{
	struct cache *c = *state;
	struct vj_root_image img;
	struct vj_err err;
	char before[4096], after[4096];

	NEED_CACHE(c);
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &img, &err), 0);
	vj_root_image_release(&img);
	listing(c->host.image_cache, before, sizeof(before));
	vj_remove_tree(AT_FDCWD, c->b.dir);
	assert_int_equal(mkdir(c->b.dir, 0700), 0);
	make_layout_of(&c->b, "application/vnd.oci.image.layer.v1.tar", false, dotdot_layer, "x");
	assert_int_equal(vj_image_open(&c->host, c->b.dir, &img, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "entry \"../escaped\": a \"..\" component"));
	assert_non_null(strstr(err.msg, c->b.dir));
	listing(c->host.image_cache, after, sizeof(after));
	assert_string_equal(before, after);
}

static void test_cache_rootfs_directory_is_a_per_sandbox_image(void **state)
{
	struct cache *c = *state;
	struct vj_root_image img;
	struct vj_err err;
	char path[PATH_MAX];

	NEED_CACHE(c);
	assert_int_equal(vj_image_from_rootfs(&c->host, c->a.dir, &img, &err), 0);
	assert_true(img.remove_after);
	assert_null(img.config.cmd);
	snprintf(path, sizeof(path), "%s", img.path);
	assert_int_equal(access(path, R_OK), 0);
	vj_root_image_release(&img);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(vj_image_from_rootfs(&c->host, "/nonexistent", &img, &err), -ENOENT);
}

/* The next per-sandbox image removes those whose launchers are gone (their
 * locks free), and only those: not a live one, even when only a forked
 * child (the OCI daemon) still holds its lock, nor other files. */
static void test_cache_rootfs_images_of_dead_launchers_are_swept(void **state)
{
	struct cache *c = *state;
	struct vj_root_image live, img;
	struct vj_err err;
	char dead[PATH_MAX], other[PATH_MAX];
	int fds[2], fd;
	char b;
	pid_t pid;

	NEED_CACHE(c);
	assert_int_equal(vj_image_from_rootfs(&c->host, c->a.dir, &live, &err), 0);
	assert_true(live.lock_held);
	/* The VMM's read-only drive takes its shared lock beside the owner's. */
	assert_true((fd = open(live.path, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), 0);
	close(fd);
	snprintf(dead, sizeof(dead), "%s/.rootfs.dead01.erofs", c->host.image_cache);
	snprintf(other, sizeof(other), "%s/.rootfs.notes", c->host.image_cache);
	assert_true((fd = open(dead, O_WRONLY | O_CREAT | O_EXCL, 0400)) >= 0);
	close(fd);
	assert_true((fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0400)) >= 0);
	close(fd);

	assert_int_equal(vj_image_from_rootfs(&c->host, c->a.dir, &img, &err), 0);
	assert_int_equal(access(dead, F_OK), -1);
	assert_int_equal(access(live.path, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0);
	vj_root_image_release(&img);

	/* Only a child holds the live image's lock now, as after a fork. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		(void)!read(fds[0], &b, 1);
		_exit(0);
	}
	close(fds[0]);
	close(live.lock_fd);
	live.lock_held = false;
	assert_int_equal(vj_image_from_rootfs(&c->host, c->a.dir, &img, &err), 0);
	assert_int_equal(access(live.path, F_OK), 0);
	vj_root_image_release(&img);

	/* The child gone, the image is a dead launcher's. */
	close(fds[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(vj_image_from_rootfs(&c->host, c->a.dir, &img, &err), 0);
	assert_int_equal(access(live.path, F_OK), -1);
	assert_int_equal(access(img.path, F_OK), 0);
	vj_root_image_release(&img);
	vj_root_image_release(&live);
	unlink(other);
}

/* What the builder sees once confined: the tree read-only at /src, its
 * output at /out, no other host file, a read-only root, no network. Each
 * check a bit of the child's status. */
static int confined_view(const char *dir, const char *out)
{
	struct if_nameindex *ifs;
	int bad = 0, fd, n = 0;

	if (vj_build_confine(dir, out) < 0)
		return 1;
	if (access("/etc/passwd", F_OK) == 0 || access("/proc/self", F_OK) == 0 ||
	    access("/root", F_OK) == 0)
		bad |= 2;
	if (access("/src/hello", R_OK) < 0 || access("/usr/bin", X_OK) < 0)
		bad |= 4;
	if (open("/src/new", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EROFS ||
	    mkdir("/elsewhere", 0700) == 0 || errno != EROFS)
		bad |= 8;
	if ((fd = open("/out", O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "x", 1) != 1)
		bad |= 16;
	if ((ifs = if_nameindex()) != NULL) {
		for (struct if_nameindex *i = ifs; i->if_index; i++)
			n++;
		if (n != 1 || strcmp(ifs[0].if_name, "lo"))
			bad |= 32;
		if_freenameindex(ifs);
	}
	return bad;
}

static void test_the_builder_sees_its_tree_and_output_alone(void **state)
{
	char dir[] = "/tmp/test_image_confine.XXXXXX", src[64], out[64];
	int status, fd;
	pid_t pid;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_true((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0);
	close(fd);
	snprintf(out, sizeof(out), "%s/src/hello", dir);
	assert_true((fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0);
	close(fd);
	snprintf(out, sizeof(out), "%s/out", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(confined_view(src, out));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The output reached the host's file; the host's tree is untouched. */
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_size, 1);
	vj_remove_tree(AT_FDCWD, dir);
}

/* Under the builder's filter: what it refuses fails with EPERM (clone3
 * ENOSYS), what a builder does still works. Each check a bit. */
static int filtered_calls(void)
{
	struct { struct file_handle h; unsigned char bytes[128]; } fh = { .h.handle_bytes = 128 };
	int bad = 0, fd, mount_id;
	pid_t pid;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || vj_build_seccomp() < 0)
		return 1;
	if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh.h, &mount_id, 0) == 0 ||
	    errno != EPERM || syscall(SYS_open_by_handle_at, AT_FDCWD, &fh.h, O_RDONLY) >= 0 ||
	    errno != EPERM)
		bad |= 2;
	if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM ||
	    syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) >= 0 || errno != EPERM ||
	    syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
		bad |= 4;
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM ||
	    socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EPERM)
		bad |= 8;
	if (mount("none", "/tmp", "tmpfs", 0, NULL) == 0 || errno != EPERM ||
	    syscall(SYS_bpf, 0, NULL, 0) >= 0 || errno != EPERM)
		bad |= 16;
	/* A builder's own work: files, and a child of its own. */
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || write(fd, "x", 1) != 1)
		bad |= 32;
	if ((pid = fork()) == 0)
		_exit(7);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		bad |= 64;
	return bad;
}

static void test_the_builder_filter_refuses_escapes_and_allows_work(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(filtered_calls());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_cache_refuses_a_cache_others_can_read(void **state)
{
	struct cache *c = *state;
	struct vj_root_image img;
	struct vj_err err;

	NEED_CACHE(c);
	assert_int_equal(mkdir(c->host.image_cache, 0755), 0);
	assert_int_equal(chmod(c->host.image_cache, 0755), 0);
	assert_int_equal(vj_image_open(&c->host, c->a.dir, &img, &err), -EPERM);
	assert_non_null(strstr(err.msg, "mode 0700"));
}

static void test_sha256_known_answers(void **state)
{
	char d[VJ_IMAGE_DIGEST_MAX];
	(void)state;

	digest_of("", 0, d);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_of("abc", 3, d);
	assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	assert_string_equal(d, "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

#define STAGED(t) cmocka_unit_test_setup_teardown(t, stage_setup, stage_teardown)
#define LAYOUT(t) cmocka_unit_test_setup_teardown(t, layout_setup, layout_teardown)
#define CACHED(t) cmocka_unit_test_setup_teardown(t, cache_setup, cache_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_tar_reads_ustar_entries_and_data),
		cmocka_unit_test(test_tar_pax_path_and_size_override_the_header),
		cmocka_unit_test(test_tar_gnu_long_name),
		cmocka_unit_test(test_tar_refuses_a_bad_checksum),
		cmocka_unit_test(test_tar_refuses_v7_headers),
		cmocka_unit_test(test_tar_refuses_sparse_files),
		cmocka_unit_test(test_tar_a_huge_declared_size_is_a_truncated_archive),
		cmocka_unit_test(test_tar_refuses_a_malformed_pax_record),
		STAGED(test_apply_makes_files_dirs_links_with_modes_and_owners),
		STAGED(test_apply_missing_parents_are_made),
		STAGED(test_apply_whiteout_removes_a_lower_file_and_dir),
		STAGED(test_apply_opaque_dir_hides_lower_entries_only),
		STAGED(test_apply_a_file_replaces_a_dir_and_a_symlink),
		STAGED(test_apply_refuses_dotdot),
		STAGED(test_apply_refuses_dotdot_inside),
		STAGED(test_apply_refuses_absolute_paths),
		STAGED(test_apply_refuses_writing_through_a_symlink),
		STAGED(test_apply_refuses_a_symlink_loop_in_a_path),
		STAGED(test_apply_refuses_hard_links_out_of_the_root),
		STAGED(test_apply_refuses_hard_links_through_symlinks),
		STAGED(test_apply_refuses_device_nodes),
		STAGED(test_apply_refuses_too_many_files),
		STAGED(test_apply_refuses_more_bytes_than_allowed_before_writing),
		STAGED(test_apply_limits_add_up_over_layers),
		cmocka_unit_test(test_config_every_field),
		cmocka_unit_test(test_config_absent_and_null_fields),
		cmocka_unit_test(test_config_refusals),
		LAYOUT(test_layout_finds_config_and_layers),
		LAYOUT(test_layout_refuses_a_config_that_does_not_match_its_digest),
		LAYOUT(test_layout_refuses_zstd_layers),
		LAYOUT(test_layout_refuses_a_blob_that_is_a_symlink),
		LAYOUT(test_a_fifo_is_refused_without_waiting),
		LAYOUT(test_docker_manifest_of_two_images_is_refused),
		LAYOUT(test_docker_config_path_may_not_escape),
		LAYOUT(test_docker_layers_are_checked_against_diff_ids),
		CACHED(test_cache_second_open_converts_nothing),
		CACHED(test_cache_ext4_when_the_host_file_says_so),
		CACHED(test_cache_two_runs_at_once_convert_once),
		CACHED(test_cache_evicts_the_least_recently_used),
		CACHED(test_cache_a_refused_image_leaves_nothing),
		CACHED(test_cache_rootfs_directory_is_a_per_sandbox_image),
		CACHED(test_cache_rootfs_images_of_dead_launchers_are_swept),
		CACHED(test_cache_refuses_a_cache_others_can_read),
		cmocka_unit_test(test_the_builder_sees_its_tree_and_output_alone),
		cmocka_unit_test(test_the_builder_filter_refuses_escapes_and_allows_work),
	};

	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
