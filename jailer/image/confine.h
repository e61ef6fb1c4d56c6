/*
 * The confinement of the file system builder (mkfs.erofs, mke2fs -d),
 * which reads a tree an image or a bundle chose.
 */
#ifndef VJ_IMAGE_CONFINE_H
#define VJ_IMAGE_CONFINE_H

/*
 * In the builder's child, still root, before it drops to its id: a mount
 * namespace whose root is a new read-only tmpfs holding only the tree to
 * read (dir, at /src, read-only), the output file (out, at /out,
 * writable), /dev/null and the host's program directories (/usr, and
 * /bin, /sbin, /lib* as the host has them) and /etc/mke2fs.conf
 * read-only, and network and IPC namespaces with nothing in them: a
 * builder taken over by what it reads can neither read the host's other
 * files (its CAP_DAC_READ_SEARCH reaches only what it sees) nor send
 * anything anywhere. For a child that then execs or exits: on failure
 * it leaves descriptors and mounts as they are. 0, or -errno.
 */
int vj_build_confine(const char *dir, const char *out);

/*
 * Last, after PR_SET_NO_NEW_PRIVS: the builder's seccomp filter
 * (builder_seccomp_gen.c says what it refuses: handles to inodes,
 * namespaces and mounts, other processes, sockets, the kernel's larger
 * interfaces). 0, or -errno.
 */
int vj_build_seccomp(void);

#endif
