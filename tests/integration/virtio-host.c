/*
 * Host side of the virtio test guest's scenarios (tests/integration/
 * virtio-*.sh): makes and checks drive files, and plays the peer of the
 * guest on its tap device and on the vsock sockets. Prints one line per
 * finding; exits 0 when everything it checked held.
 *
 *   virtio-host mkdisk FILE           a drive with the known pattern
 *   virtio-host checkdisk FILE        after the `blk` scenario
 *   virtio-host checkdisk-ro FILE     after `blk-ro`: unchanged
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/guest/virtio/vpattern.h"

static int die(const char *what)
{
	fprintf(stderr, "virtio-host: %s: %s\n", what, strerror(errno));
	return 2;
}

static int mkdisk(const char *path)
{
	static uint8_t buf[VPAT_DISK_SIZE];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return die(path);
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = vpattern(i);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) < 0)
		return die(path);
	close(fd);
	return 0;
}

/* What byte `off` must hold after the `blk` scenario (or unchanged). */
static uint8_t expected(uint64_t off, bool written)
{
	if (!written)
		return vpattern(off);
	if (off >= VPAT_WRITE_OFF && off < VPAT_WRITE_OFF + VPAT_WRITE_LEN)
		return vpattern(off) ^ 0xff;
	if ((off >= VPAT_ZERO_OFF && off < VPAT_ZERO_OFF + VPAT_ZERO_LEN) ||
	    (off >= VPAT_DISCARD_OFF && off < VPAT_DISCARD_OFF + VPAT_DISCARD_LEN))
		return 0;
	return vpattern(off);
}

static int checkdisk(const char *path, bool written)
{
	static uint8_t buf[VPAT_DISK_SIZE];
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return die(path);
	if (st.st_size != VPAT_DISK_SIZE) {
		printf("size %lld, want %u\n", (long long)st.st_size, VPAT_DISK_SIZE);
		return 1;
	}
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return die(path);
	close(fd);
	for (uint32_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != expected(i, written)) {
			printf("byte 0x%x is 0x%x, want 0x%x\n", i, buf[i], expected(i, written));
			return 1;
		}
	}
	printf("contents ok, %lld blocks of 512 bytes allocated\n", (long long)st.st_blocks);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "mkdisk"))
		return mkdisk(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "checkdisk"))
		return checkdisk(argv[2], true);
	if (argc == 3 && !strcmp(argv[1], "checkdisk-ro"))
		return checkdisk(argv[2], false);
	fprintf(stderr, "usage: virtio-host mkdisk|checkdisk|checkdisk-ro FILE\n");
	return 2;
}
