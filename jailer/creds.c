#include "creds.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

/*
 * The running kernel's highest capability number. The jail has no /proc
 * to read cap_last_cap from, and a library that falls back to probing
 * every number reads the bounding set hundreds of times per sandbox: the
 * headers' last capability is a first guess, PR_CAPBSET_READ (EINVAL past
 * the kernel's last) corrects it up or down, in one or two calls.
 */
static int last_cap(void)
{
	int c = CAP_LAST_CAP;

	if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0) {
		do
			c--;
		while (c > 0 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0);
		return c;
	}
	while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static int capabilities(struct __user_cap_data_struct d[2], bool set)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(set ? SYS_capset : SYS_capget, &h, d) < 0 ? -errno : 0;
}

static int verify(uint32_t uid, uint32_t gid, int last, struct vj_err *e)
{
	struct __user_cap_data_struct d[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return vj_fail_errno(e, -errno, "getresuid");
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return vj_fail(e, -EPERM, "privilege drop: ids are %u/%u/%u:%u/%u/%u, not %u:%u",
			       ru, eu, su, rg, eg, sg, uid, gid);
	if (getgroups(0, NULL) != 0)
		return vj_fail(e, -EPERM, "privilege drop: supplementary groups remain");
	if ((r = capabilities(d, false)) < 0)
		return vj_fail_errno(e, r, "privilege drop: capget");
	/* The ambient set is always within permitted and inheritable: both
	 * empty, it is empty too. */
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return vj_fail(e, -EPERM, "privilege drop: capabilities remain");
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
			return vj_fail(e, -EPERM, "privilege drop: capability %d remains in the "
				       "bounding set", c);
	return 0;
}

int vj_creds_drop(uint32_t uid, uint32_t gid, struct vj_err *e)
{
	struct __user_cap_data_struct none[2] = { 0 };
	int last = last_cap(), r;

	/* The bounding set only shrinks while CAP_SETPCAP is effective, which
	 * the uid change below ends: first. */
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return vj_fail_errno(e, -errno, "privilege drop: capability %d out of the "
					     "bounding set", c);
	if (setgroups(0, NULL) < 0)
		return vj_fail_errno(e, -errno, "privilege drop to %u:%u: setgroups", uid, gid);
	if (setresgid(gid, gid, gid) < 0)
		return vj_fail_errno(e, -errno, "privilege drop to %u:%u: setresgid", uid, gid);
	if (setresuid(uid, uid, uid) < 0)
		return vj_fail_errno(e, -errno, "privilege drop to %u:%u: setresuid", uid, gid);
	/* Leaving uid 0 emptied the permitted and effective sets (keepcaps is
	 * off), but not the inheritable one: one capset empties all three,
	 * whatever uid this is, and with them the ambient set, which the
	 * kernel keeps within permitted and inheritable. */
	if ((r = capabilities(none, true)) < 0)
		return vj_fail_errno(e, r, "privilege drop: capset");
	if ((r = verify(uid, gid, last, e)) < 0)
		return r;
	/* Nothing exec'd from here on can gain a privilege (setuid bits,
	 * file capabilities); seccomp filters need it too. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vj_fail_errno(e, -errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}
