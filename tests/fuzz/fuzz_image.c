/*
 * libFuzzer harness for the parsers of container images (image/): the
 * first byte picks one, the rest is its input.
 *   0: a tar archive, every entry's data read (vj_tar_next, vj_tar_read)
 *   1: an image config (vj_image_config_parse)
 * Neither may crash, leak or read out of bounds, whatever the bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "manifest.h"
#include "tar.h"

struct src {
	const uint8_t *p;
	size_t len;
};

static ssize_t src_read(void *ctx, void *buf, size_t len, struct vj_err *err)
{
	struct src *s = ctx;
	(void)err;
	if (len > s->len)
		len = s->len;
	memcpy(buf, s->p, len);
	s->p += len;
	s->len -= len;
	return (ssize_t)len;
}

static void walk_tar(const uint8_t *data, size_t size)
{
	struct src s = { data, size };
	struct vj_tar t;
	struct vj_tar_entry e;
	struct vj_err err;
	char buf[4096];

	vj_tar_init(&t, (struct vj_byte_source){ src_read, &s, NULL });
	while (vj_tar_next(&t, &e, &err) > 0)
		while (vj_tar_read(&t, buf, sizeof(buf), &err) > 0)
			;
}

static void parse_config(const uint8_t *data, size_t size)
{
	static char ids[8][VJ_IMAGE_DIGEST_MAX];
	struct vj_image_config c;
	struct vj_err err;
	unsigned n;

	if (vj_image_config_parse((const char *)data, size, &c, ids, 8, &n, &err) == 0)
		vj_image_config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		parse_config(data + 1, size - 1);
	else
		walk_tar(data + 1, size - 1);
	return 0;
}
