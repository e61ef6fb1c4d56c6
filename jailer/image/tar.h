/*
 * A tar reader for image layers and archives: POSIX ustar, pax extended
 * headers (path, linkpath, size, uid, gid) and GNU long names; anything
 * else (v7 headers, sparse files, multi-volume parts) is refused with one
 * line. The input is hostile: every field is checked, the header checksum
 * too, and names and extended headers are bounded.
 */
#ifndef VJ_IMAGE_TAR_H
#define VJ_IMAGE_TAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define VJ_TAR_PATH_MAX 4096
#define VJ_TAR_EXTENDED_MAX (64u * 1024) /* one pax header's records */

/* A byte source: up to len bytes into buf; 0 at its end, or -errno with
 * err set. */
struct vj_byte_source {
	ssize_t (*read)(void *ctx, void *buf, size_t len, struct vj_err *err);
	void *ctx;
	/* Optional: passes over len bytes without reading them (an archive's
	 * index needs only its headers). */
	int (*skip)(void *ctx, uint64_t len, struct vj_err *err);
};

enum vj_tar_type {
	VJ_TAR_REG = '0',
	VJ_TAR_LINK = '1',
	VJ_TAR_SYMLINK = '2',
	VJ_TAR_CHR = '3',
	VJ_TAR_BLK = '4',
	VJ_TAR_DIR = '5',
	VJ_TAR_FIFO = '6',
};

struct vj_tar_entry {
	enum vj_tar_type type;
	const char *path;  /* as written: not yet checked for "..", "/" */
	const char *link;  /* hard or symbolic link target; "" otherwise */
	uint32_t mode;     /* permission bits, 07777 */
	uint32_t uid, gid;
	uint64_t size;     /* data bytes that follow (regular files) */
	uint64_t offset;   /* of the data in the stream (for random access) */
};

struct vj_tar {
	struct vj_byte_source in;
	uint64_t pos;      /* bytes consumed from in */
	uint64_t data_left; /* of the current entry's data */
	uint64_t pad_left;  /* zero padding after it */
	char path[VJ_TAR_PATH_MAX + 1];
	char link[VJ_TAR_PATH_MAX + 1];
};

void vj_tar_init(struct vj_tar *t, struct vj_byte_source in);

/* The next entry: 1 with e filled (its strings valid until the next call),
 * 0 at the archive's end, -errno with err set. Skips what is left of the
 * previous entry's data. */
int vj_tar_next(struct vj_tar *t, struct vj_tar_entry *e, struct vj_err *err);

/* The current entry's data: up to len bytes, 0 once it is all read. */
ssize_t vj_tar_read(struct vj_tar *t, void *buf, size_t len, struct vj_err *err);

#endif
