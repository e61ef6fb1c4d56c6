#include "ids.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/*
 * Made by the first launcher. Refused when anyone but the launcher's user
 * could open it: a reader could take read locks there that keep every
 * launcher from taking ids.
 */
static int open_lock(const char *path, struct vj_err *e)
{
	cleanup_fd int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0)
		return vj_fail_errno(e, -errno, "host ids: open %s", path);
	if (fstat(fd, &st) < 0)
		return vj_fail_errno(e, -errno, "host ids: stat %s", path);
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return vj_fail(e, -EPERM,
			       "host ids: %s is not a regular file that only uid %u may open "
			       "(owner %u, mode %04o)",
			       path, (unsigned)geteuid(), (unsigned)st.st_uid,
			       (unsigned)(st.st_mode & 07777));
	return vj_steal_fd(&fd);
}

static int lock(int fd, off_t start, uint32_t count, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start,
			    .l_len = count };

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* The uids and the gids, or neither: 0, -EBUSY when another open of the
 * file (a live launcher) holds any of them, or -errno. */
static int take(int fd, uint32_t uid, uint32_t gid, uint32_t count)
{
	int r = lock(fd, uid, count, F_WRLCK);

	if (r == 0 && (r = lock(fd, VJ_IDS_GID_OFFSET + gid, count, F_WRLCK)) < 0)
		lock(fd, uid, count, F_UNLCK);
	return r == -EAGAIN || r == -EACCES ? -EBUSY : r;
}

static void hold(struct vj_ids *ids, int *fd, uint32_t uid, uint32_t gid, uint32_t count)
{
	*ids = (struct vj_ids){ .lock_fd = vj_steal_fd(fd), .uid = uid, .gid = gid,
				.count = count };
}

int vj_ids_allocate(struct vj_ids *ids, const char *lock_path, const struct vj_host_config *h,
		    struct vj_err *e)
{
	const uint32_t b = h->id_block;
	const uint64_t ublocks = ((uint64_t)h->uid_max - h->uid_min + 1) / b;
	const uint64_t gblocks = ((uint64_t)h->gid_max - h->gid_min + 1) / b;
	const uint64_t blocks = ublocks < gblocks ? ublocks : gblocks;
	cleanup_fd int fd = open_lock(lock_path, e);

	if (fd < 0)
		return fd;
	for (uint64_t k = 0; k < blocks; k++) {
		const uint32_t uid = (uint32_t)(h->uid_min + k * b);
		const uint32_t gid = (uint32_t)(h->gid_min + k * b);
		int r = take(fd, uid, gid, b);

		if (r == -EBUSY)
			continue;
		if (r < 0)
			return vj_fail_errno(e, r, "host ids: lock uids %u.. and gids %u.. in %s", uid,
					     gid, lock_path);
		hold(ids, &fd, uid, gid, b);
		return 0;
	}
	return vj_fail(e, -EBUSY,
		       "host ids: all %llu blocks of %u ids (uids %u..%u, gids %u..%u: ids in %s) "
		       "are held by live sandboxes",
		       (unsigned long long)blocks, b, h->uid_min, h->uid_max, h->gid_min, h->gid_max,
		       h->source);
}

/* "uid 5" or "uids 5..9". */
static void describe(char *buf, size_t len, const char *kind, uint32_t first, uint32_t count)
{
	if (count == 1)
		snprintf(buf, len, "%s %u", kind, first);
	else
		snprintf(buf, len, "%ss %u..%llu", kind, first,
			 (unsigned long long)first + count - 1);
}

int vj_ids_reserve(struct vj_ids *ids, const char *lock_path, uint32_t uid, uint32_t gid,
		   uint32_t count, struct vj_err *e)
{
	cleanup_fd int fd = open_lock(lock_path, e);
	char u[48], g[48];
	int r;

	if (fd < 0)
		return fd;
	describe(u, sizeof(u), "uid", uid, count);
	describe(g, sizeof(g), "gid", gid, count);
	if ((r = take(fd, uid, gid, count)) == -EBUSY)
		return vj_fail(e, r, "host ids: %s and %s: a live sandbox holds some of them", u, g);
	if (r < 0)
		return vj_fail_errno(e, r, "host ids: lock %s and %s in %s", u, g, lock_path);
	hold(ids, &fd, uid, gid, count);
	return 0;
}

void vj_ids_release(struct vj_ids *ids)
{
	vj_closep(&ids->lock_fd);
	ids->lock_fd = -1;
}
