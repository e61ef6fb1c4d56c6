#include "tap.h"

#include <errno.h>

#include "host_open.h"
#include "netns.h"

/* Checked at the moment of creation, in the thread that creates: a
 * policy without a network namespace of its own, or a named namespace
 * that is the host's, would otherwise put the tap on the host. */
static int check_not_host(const char *name, const char *netns, const char *host_ns,
			  struct vj_err *e)
{
	bool host;
	int r = vj_netns_is(host_ns, &host);

	if (r < 0)
		return vj_fail_errno(e, r, "tap \"%s\": cannot tell whether the sandbox's network "
				     "namespace is the host's (%s)", name, host_ns);
	if (!host)
		return 0;
	if (netns[0])
		return vj_fail(e, -EPERM, "tap \"%s\": network namespace \"%s\" is the host's own "
			       "(that of PID 1); taps are created only in a network namespace of the "
			       "sandbox's", name, netns);
	return vj_fail(e, -EPERM, "tap \"%s\": the sandbox has no network namespace of its own, "
		       "it would be created in the host's (that of PID 1)", name);
}

int vj_tap_create(struct vj_file *f, const char *netns, const char *host_ns, struct vj_err *e)
{
	int r;

	if ((r = vj_tap_name_check(f->name, e)) < 0 ||
	    (r = check_not_host(f->name, netns, host_ns, e)) < 0)
		return r;
	r = vj_open_tap(f, true, e);
	if (r == -EEXIST)
		return vj_fail(e, r, "tap \"%s\": an interface of that name already exists in "
			       "%s%s%s; the launcher creates its taps and never attaches to an "
			       "existing interface", f->name,
			       netns[0] ? "network namespace \"" : "the sandbox's network namespace",
			       netns, netns[0] ? "\"" : "");
	return r;
}
