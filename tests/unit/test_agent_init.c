/* vmjail-init's parsers: the port on the kernel command line, and the
 * workload assembled from ARG and ENV frames within the protocol limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "connect.h"
#include "image_root.h"
#include "workload.h"

static struct vj_err why;

static int port_of(const char *cmdline, uint32_t *port)
{
	why.msg[0] = '\0';
	return vj_init_port_from_cmdline(cmdline, port, &why);
}

static void port_defaults_when_the_command_line_names_none(void **state)
{
	uint32_t port = 0;
	(void)state;
	assert_int_equal(port_of("console=ttyS0 reboot=k panic=-1 quiet\n", &port), 0);
	assert_int_equal(port, VJ_AGENT_DEFAULT_PORT);
	assert_int_equal(port_of("", &port), 0);
	assert_int_equal(port, VJ_AGENT_DEFAULT_PORT);
}

static void port_is_read_from_vmjail_port_and_the_last_one_wins(void **state)
{
	uint32_t port = 0;
	(void)state;
	assert_int_equal(port_of("console=ttyS0 vmjail.port=5000 quiet", &port), 0);
	assert_int_equal(port, 5000);
	assert_int_equal(port_of("vmjail.port=7\tvmjail.port=4242\n", &port), 0);
	assert_int_equal(port, 4242);
	/* a longer key that merely starts alike is not the port */
	assert_int_equal(port_of("xvmjail.port=1 vmjail.portx=2", &port), 0);
	assert_int_equal(port, VJ_AGENT_DEFAULT_PORT);
}

static void port_rejects_values_that_are_not_ports(void **state)
{
	uint32_t port = 99;
	(void)state;
	assert_int_equal(port_of("vmjail.port=", &port), -EINVAL);
	assert_int_equal(port_of("vmjail.port=0", &port), -EINVAL);
	assert_int_equal(port_of("vmjail.port=4294967295", &port), -EINVAL); /* VMADDR_PORT_ANY */
	assert_int_equal(port_of("vmjail.port=12ab", &port), -EINVAL);
	assert_int_equal(port_of("vmjail.port=-1", &port), -EINVAL);
	assert_int_equal(port_of("vmjail.port=123456789012345678901234567890", &port), -EINVAL);
	assert_non_null(strstr(why.msg, "not a vsock port"));
	assert_int_equal(port, 99);
}

static struct vj_agent_msg str_msg(enum vj_agent_type type, const char *s)
{
	struct vj_agent_msg m = { .type = type };

	m.bytes.data = (const uint8_t *)s;
	m.bytes.len = strlen(s);
	return m;
}

static void workload_collects_argv_and_env_in_order(void **state)
{
	struct vj_init_workload w = { 0 };
	struct vj_agent_msg m;
	(void)state;
	m = str_msg(VJ_AGENT_ARG, "sh");
	assert_int_equal(vj_init_workload_add(&w, &m, &why), 0);
	m = str_msg(VJ_AGENT_ENV, "A=1");
	assert_int_equal(vj_init_workload_add(&w, &m, &why), 0);
	m = str_msg(VJ_AGENT_ARG, "-c");
	assert_int_equal(vj_init_workload_add(&w, &m, &why), 0);
	assert_int_equal(w.argc, 2);
	assert_int_equal(w.envc, 1);
	assert_string_equal(w.argv[0], "sh");
	assert_string_equal(w.argv[1], "-c");
	assert_null(w.argv[2]);
	assert_string_equal(w.env[0], "A=1");
	assert_null(w.env[1]);
	assert_int_equal(w.bytes, 3 + 4 + 3);
	assert_int_equal(vj_init_workload_check(&w, &why), 0);
	vj_init_workload_free(&w);
}

static void workload_refuses_the_257th_argument_and_129th_variable(void **state)
{
	struct vj_init_workload w = { 0 };
	struct vj_agent_msg a = str_msg(VJ_AGENT_ARG, "x"), e = str_msg(VJ_AGENT_ENV, "X=1");
	(void)state;
	for (unsigned i = 0; i < VJ_AGENT_ARGC_MAX; i++)
		assert_int_equal(vj_init_workload_add(&w, &a, &why), 0);
	assert_int_equal(vj_init_workload_add(&w, &a, &why), -E2BIG);
	for (unsigned i = 0; i < VJ_AGENT_ENVC_MAX; i++)
		assert_int_equal(vj_init_workload_add(&w, &e, &why), 0);
	assert_int_equal(vj_init_workload_add(&w, &e, &why), -E2BIG);
	assert_non_null(strstr(why.msg, "128 environment variables"));
	assert_int_equal(w.argc, VJ_AGENT_ARGC_MAX);
	assert_int_equal(w.envc, VJ_AGENT_ENVC_MAX);
	vj_init_workload_free(&w);
}

static void workload_refuses_strings_past_64k_in_all(void **state)
{
	static char big[40000];
	struct vj_init_workload w = { 0 };
	struct vj_agent_msg m;
	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	m = str_msg(VJ_AGENT_ARG, big);
	assert_int_equal(vj_init_workload_add(&w, &m, &why), 0);
	assert_int_equal(vj_init_workload_add(&w, &m, &why), -E2BIG);
	assert_non_null(strstr(why.msg, "65536 bytes"));
	assert_int_equal(w.argc, 1);
	vj_init_workload_free(&w);
}

static void workload_without_a_program_is_refused_at_start(void **state)
{
	struct vj_init_workload w = { 0 };
	struct vj_agent_msg m = str_msg(VJ_AGENT_ARG, "");
	(void)state;
	assert_int_equal(vj_init_workload_check(&w, &why), -EINVAL);
	assert_int_equal(vj_init_workload_add(&w, &m, &why), 0);
	assert_int_equal(vj_init_workload_check(&w, &why), -EINVAL);
	assert_non_null(strstr(why.msg, "no program"));
	vj_init_workload_free(&w);
}

/* An image root with its own /etc/passwd and /etc/group. */
static int image_root(char *dir, size_t len)
{
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "app:x:1000:1001:app:/home/app:/bin/sh\n"
				     "broken:x:notanumber:1:::\n";
	static const char group[] = "root:x:0:\nstaff:x:50:app\napp:x:1001:\n";
	char path[128];
	FILE *f;

	snprintf(dir, len, "/tmp/test_agent_root.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/etc", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(passwd, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/etc/group", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(group, f);
	fclose(f);
	int fd = open(dir, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

static void image_user_is_looked_up_in_the_image(void **state)
{
	char dir[64], cmd[128];
	int fd = image_root(dir, sizeof(dir));
	uint32_t uid = 7, gid = 7;
	struct vj_err err;
	(void)state;

	assert_int_equal(vj_init_image_user(fd, "app", &uid, &gid, &err), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1001);
	assert_int_equal(vj_init_image_user(fd, "app:staff", &uid, &gid, &err), 0);
	assert_int_equal(gid, 50);
	assert_int_equal(vj_init_image_user(fd, "1000", &uid, &gid, &err), 0);
	assert_int_equal(gid, 1001); /* a number takes its passwd entry's group */
	assert_int_equal(vj_init_image_user(fd, "4242", &uid, &gid, &err), 0);
	assert_int_equal(uid, 4242);
	assert_int_equal(gid, 0); /* and without one, 0, as docker does */
	assert_int_equal(vj_init_image_user(fd, "4242:77", &uid, &gid, &err), 0);
	assert_int_equal(gid, 77);
	assert_int_equal(vj_init_image_user(fd, "nobody", &uid, &gid, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no user nobody in the image's /etc/passwd"));
	assert_int_equal(vj_init_image_user(fd, "broken", &uid, &gid, &err), -EINVAL);
	assert_int_equal(vj_init_image_user(fd, "app:wheel", &uid, &gid, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no group wheel"));
	assert_int_equal(vj_init_image_user(fd, "4294967295", &uid, &gid, &err), -EINVAL);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void image_workdir_is_made_inside_the_root(void **state)
{
	char dir[64], path[160], cmd[128];
	int fd = image_root(dir, sizeof(dir));
	struct vj_err err;
	struct stat st;
	(void)state;

	/* A symbolic link to / in the image: the directory is made under the
	 * image root, never at the agent's own /srv. */
	snprintf(path, sizeof(path), "%s/up", dir);
	assert_int_equal(symlink("/", path), 0);
	assert_int_equal(vj_init_image_workdir(fd, "/up/srv/test-agent-workdir/x", &err), 0);
	snprintf(path, sizeof(path), "%s/srv/test-agent-workdir/x", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(access("/srv/test-agent-workdir", F_OK), -1);
	assert_int_equal(vj_init_image_workdir(fd, "/etc", &err), 0);
	assert_int_equal(vj_init_image_workdir(fd, "/etc/passwd/x", &err), -ENOTDIR);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The image's /etc/passwd is read inside its root: a symbolic link to the
 * agent's own file resolves within the image, where there is none. */
static void image_user_files_stay_in_the_image(void **state)
{
	char dir[64], path[128], cmd[128];
	int fd = image_root(dir, sizeof(dir));
	uint32_t uid, gid;
	struct vj_err err;
	(void)state;

	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(vj_init_image_user(fd, "root", &uid, &gid, &err), -EINVAL);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_user_is_looked_up_in_the_image),
		cmocka_unit_test(image_user_files_stay_in_the_image),
		cmocka_unit_test(image_workdir_is_made_inside_the_root),
		cmocka_unit_test(port_defaults_when_the_command_line_names_none),
		cmocka_unit_test(port_is_read_from_vmjail_port_and_the_last_one_wins),
		cmocka_unit_test(port_rejects_values_that_are_not_ports),
		cmocka_unit_test(workload_collects_argv_and_env_in_order),
		cmocka_unit_test(workload_refuses_the_257th_argument_and_129th_variable),
		cmocka_unit_test(workload_refuses_strings_past_64k_in_all),
		cmocka_unit_test(workload_without_a_program_is_refused_at_start),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
