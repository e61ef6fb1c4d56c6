#include "creds.h"

#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <cap-ng.h>

static const char *change_id_step(int r)
{
	switch (r) {
	case -4: return "setresgid";
	case -5: return "setgroups";
	case -6: return "setresuid";
	case -8: return "dropping the bounding set";
	default: return "changing ids";
	}
}

static int verify(uint32_t uid, uint32_t gid, struct vj_err *e)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return vj_fail_errno(e, -errno, "getresuid");
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return vj_fail(e, -EPERM, "privilege drop: ids are %u/%u/%u:%u/%u/%u, not %u:%u",
			       ru, eu, su, rg, eg, sg, uid, gid);
	if (getgroups(0, NULL) != 0)
		return vj_fail(e, -EPERM, "privilege drop: supplementary groups remain");
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_AMBIENT) != CAPNG_NONE)
		return vj_fail(e, -EPERM, "privilege drop: capabilities remain");
	return 0;
}

int vj_creds_drop(uint32_t uid, uint32_t gid, struct vj_err *e)
{
	int r;

	/*
	 * The order is libcap-ng's: the bounding set can only shrink while
	 * CAP_SETPCAP is effective, which setresuid() to a non-root uid ends,
	 * so capng_change_id() keeps the capabilities across the id change
	 * (PR_SET_KEEPCAPS), empties the bounding set first, then does
	 * setresgid, setgroups(0), setresuid and finally applies the empty
	 * sets we asked for here, ambient included.
	 */
	capng_clear(CAPNG_SELECT_ALL);
	r = capng_change_id((int)uid, (int)gid,
			    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (r < 0)
		return vj_fail_errno(e, errno ? -errno : -EPERM, "privilege drop to %u:%u: %s", uid,
				     gid, change_id_step(r));
	if ((r = verify(uid, gid, e)) < 0)
		return r;
	/* Nothing exec'd from here on can gain a privilege (setuid bits,
	 * file capabilities); seccomp filters need it too. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vj_fail_errno(e, -errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}
