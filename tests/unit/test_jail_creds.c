/*
 * The privilege drop (jailer/creds.c), done for real in a forked child
 * as root, and read back from the kernel's own account of the child
 * (/proc/self/status). Skipped when not root.
 */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "unit.h"
#include "creds.h"

#define ID 1879048192u

/* The value of a /proc/self/status line, or "" */
static void status_line(const char *key, char *out, size_t len)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			snprintf(out, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Exit codes of the child: which check failed. */
enum { OK, DROP_FAILED, SETUP_FAILED, IDS, CAP_SETS, NO_NEW_PRIVS };

static int drop_and_check(void)
{
	static const char *const sets[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	struct vj_err e;
	char v[128], want[64];

	/* What a careless launcher could hand down: a capability in the
	 * inheritable and ambient sets, and a supplementary group. */
	if (syscall(SYS_capget, &h, d) < 0)
		return SETUP_FAILED;
	d[0].inheritable |= 1u << CAP_NET_RAW;
	if (syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) < 0 ||
	    setgroups(1, (gid_t[]){ 4242 }) < 0)
		return SETUP_FAILED;
	if (vj_creds_drop(ID, ID + 1, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return DROP_FAILED;
	}
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", ID, ID, ID, ID);
	status_line("Uid", v, sizeof(v));
	if (strcmp(v, want))
		return IDS;
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", ID + 1, ID + 1, ID + 1, ID + 1);
	status_line("Gid", v, sizeof(v));
	if (strcmp(v, want))
		return IDS;
	status_line("Groups", v, sizeof(v));
	if (v[0])
		return IDS;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		status_line(sets[i], v, sizeof(v));
		if (strcmp(v, "0000000000000000")) {
			fprintf(stderr, "%s: %s\n", sets[i], v);
			return CAP_SETS;
		}
	}
	status_line("NoNewPrivs", v, sizeof(v));
	return strcmp(v, "1") ? NO_NEW_PRIVS : OK;
}

static void root_ends_with_the_ids_and_no_capability_at_all(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(drop_and_check());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), OK);
}

/* Without the privileges to change ids, the drop fails and says so. */
static void an_unprivileged_caller_is_refused(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vj_err e;
		if (setresuid(ID + 5, ID + 5, ID + 5) < 0)
			_exit(SETUP_FAILED);
		_exit(vj_creds_drop(ID, ID, &e) < 0 && strstr(e.msg, "privilege drop") ? OK
											  : DROP_FAILED);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_ends_with_the_ids_and_no_capability_at_all),
		cmocka_unit_test(an_unprivileged_caller_is_refused),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
