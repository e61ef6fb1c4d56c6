/* Snapshot directories, the launcher's side (jailer/snapshot_dir.c): where
 * one may be written, that nothing half-written is left or taken for a
 * snapshot, who may restore it, snapshot.json, and a policy checked
 * against a snapshot's CONFIG summary. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "snapshot_dir.h"

static char base[64];
static char roots[2][VJ_PATH_MAX];
static struct vj_err e;

static const char *at(const char *rel)
{
	static char buf[4][VJ_PATH_MAX];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, VJ_PATH_MAX, "%s/%s", base, rel);
	return p;
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/vj-snapshot-XXXXXX");
	assert_non_null(mkdtemp(base));
	assert_int_equal(mkdir(at("snaps"), 0755), 0);
	assert_int_equal(mkdir(at("snaps/team"), 0755), 0);
	assert_int_equal(mkdir(at("elsewhere"), 0755), 0);
	snprintf(roots[0], VJ_PATH_MAX, "%s", at("snaps"));
	memset(&e, 0, sizeof(e));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void assert_msg(const char *expect)
{
	if (!strstr(e.msg, expect))
		fail_msg("message \"%s\" does not mention \"%s\"", e.msg, expect);
}

/* Entries of a directory, "." and ".." aside. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* ---- where a snapshot may be written ---- */

static void no_snapshot_roots_means_no_snapshots(void **state)
{
	struct vj_snapshot_dir sd;
	(void)state;
	assert_int_equal(vj_snapshot_dir_begin(roots, 0, at("snaps/a"), &sd, &e), -EPERM);
	assert_msg("no roots.snapshots");
}

static void a_path_outside_the_roots_is_refused(void **state)
{
	struct vj_snapshot_dir sd;
	(void)state;
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("elsewhere/a"), &sd, &e), -EPERM);
	assert_msg("outside the snapshot roots");
	/* the root itself cannot be the snapshot: its parent is outside */
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, roots[0], &sd, &e), -EPERM);
	assert_int_equal(entries(at("elsewhere")), 0);
}

static void relative_dotted_and_empty_components_are_refused(void **state)
{
	static const char *const bad[] = { "snaps/a", "", "/", "%s/snaps/../elsewhere/a",
					   "%s/snaps/./a", "%s/snaps//a", "%s/snaps/a/" };
	struct vj_snapshot_dir sd;
	char p[VJ_PATH_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p, sizeof(p), bad[i], base);
		assert_int_equal(vj_snapshot_dir_begin(roots, 1, p, &sd, &e), -EINVAL);
		assert_msg("expected an absolute path");
	}
}

static void a_symlink_beneath_the_root_is_refused(void **state)
{
	struct vj_snapshot_dir sd;
	(void)state;
	assert_int_equal(symlink(at("elsewhere"), at("snaps/link")), 0);
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("snaps/link/a"), &sd, &e), -ELOOP);
	assert_msg("no symlinks");
	assert_int_equal(entries(at("elsewhere")), 0);
}

static void an_existing_directory_is_never_written_over(void **state)
{
	struct vj_snapshot_dir sd;
	(void)state;
	assert_int_equal(mkdir(at("snaps/team/taken"), 0700), 0);
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("snaps/team/taken"), &sd, &e), -EEXIST);
	assert_msg("exists already");
	assert_int_equal(symlink("/etc", at("snaps/team/dangling")), 0);
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("snaps/team/dangling"), &sd, &e),
			 -EEXIST);
}

static void begin_makes_a_private_temporary_directory_with_empty_files(void **state)
{
	struct vj_snapshot_dir sd;
	struct stat st;
	(void)state;
	umask(0);
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("snaps/team/s1"), &sd, &e), 0);
	umask(022);
	assert_int_equal(access(at("snaps/team/s1"), F_OK), -1);
	assert_int_equal(fstat(sd.tmp_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(fstat(sd.state_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(fstat(sd.memory_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(at("snaps/team")), 1);
	assert_non_null(strstr(sd.tmp_name, ".s1.partial-"));
	vj_snapshot_dir_abort(&sd);
	assert_int_equal(entries(at("snaps/team")), 0);
	assert_int_equal(sd.tmp_fd, -1);
}

/* What the VMM wrote is checked before it is kept: garbage is never
 * renamed into place. */
static void commit_refuses_a_state_file_that_is_no_snapshot(void **state)
{
	struct vj_snapshot_dir sd;
	struct vj_snapshot_meta m = { .owner = 1000, .source = "a1" };
	(void)state;
	assert_int_equal(vj_snapshot_dir_begin(roots, 1, at("snaps/team/s2"), &sd, &e), 0);
	assert_int_equal(write(sd.state_fd, "not a snapshot", 14), 14);
	assert_int_not_equal(vj_snapshot_dir_commit(&sd, &m, &e), 0);
	assert_msg("the VMM's state file is unusable");
	vj_snapshot_dir_abort(&sd);
	assert_int_equal(entries(at("snaps/team")), 0);
}

/* ---- snapshot.json ---- */

static void meta_round_trips(void **state)
{
	struct vj_snapshot_meta m = { .owner = 1000, .source = "job-7", .created_ms = 1765112000123,
				      .policy = "/etc/vmjail/fn \"quoted\".yaml", .agent = true,
				      .state_version = 1, .vcpus = 2, .memory_mib = 256 },
				out;
	char *text = NULL;
	size_t len;
	(void)state;
	assert_int_equal(vj_snapshot_meta_format(&m, &text, &len), 0);
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(vj_snapshot_meta_parse(text, len, "s/snapshot.json", &out, &e), 0);
	assert_int_equal(out.owner, 1000);
	assert_string_equal(out.source, "job-7");
	assert_true(out.created_ms == 1765112000123ull);
	assert_string_equal(out.policy, m.policy);
	assert_true(out.agent);
	assert_int_equal(out.vcpus, 2);
	assert_int_equal(out.memory_mib, 256);
	free(text);
	m.owner = (uid_t)-1;
	assert_int_equal(vj_snapshot_meta_format(&m, &text, &len), 0);
	assert_non_null(strstr(text, "\"owner\":null"));
	assert_int_equal(vj_snapshot_meta_parse(text, len, "s/snapshot.json", &out, &e), 0);
	assert_int_equal(out.owner, (uid_t)-1);
	free(text);
}

static void meta_refuses_what_it_does_not_know(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{", "not JSON" },
		{ "[]", "expected a JSON object" },
		{ "{\"version\":2}", "version 2, this launcher reads version 1" },
		{ "{\"version\":1,\"source\":\"a\"}", "\"owner\": missing" },
		{ "{\"version\":1,\"owner\":-1}", "\"owner\": expected a number" },
		{ "{\"version\":1,\"owner\":4294967295}", "\"owner\": expected a number" },
		{ "{\"version\":1,\"owner\":0,\"source\":7}", "\"source\": expected a string" },
	};
	struct vj_snapshot_meta m;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(vj_snapshot_meta_parse(bad[i].text, strlen(bad[i].text),
							    "s/snapshot.json", &m, &e),
				     0);
		assert_msg("s/snapshot.json: ");
		assert_msg(bad[i].why);
	}
}

/* ---- restoring ---- */

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A snapshot directory by hand: snapshot.json of owner, a state file
 * that is no snapshot, an empty memory file. */
static void fake_snapshot(const char *dir, const char *owner)
{
	char path[VJ_PATH_MAX], meta[512];

	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(meta, sizeof(meta),
		 "{\"version\":1,\"owner\":%s,\"source\":\"a1\",\"created_ms\":1,\"policy\":\"p\","
		 "\"agent\":true,\"state_version\":1,\"vcpus\":1,\"memory_mib\":128}",
		 owner);
	snprintf(path, sizeof(path), "%s/snapshot.json", dir);
	write_text(path, meta);
	snprintf(path, sizeof(path), "%s/state", dir);
	write_text(path, "VJSNAPST but broken");
	snprintf(path, sizeof(path), "%s/memory", dir);
	write_text(path, "");
}

static void only_root_and_the_owner_may_restore(void **state)
{
	struct vj_snapshot_source src;
	(void)state;
	fake_snapshot(at("snaps/mine"), "1000");
	assert_int_equal(vj_snapshot_open(roots, 1, at("snaps/mine"), 1001, &src, &e), -EACCES);
	assert_msg("belongs to another uid; uid 1001 may not restore it");
	assert_int_equal(src.state_fd, -1);
	/* the owner and root get as far as the state file, which is broken */
	assert_int_not_equal(vj_snapshot_open(roots, 1, at("snaps/mine"), 1000, &src, &e), -EACCES);
	assert_int_not_equal(vj_snapshot_open(roots, 1, at("snaps/mine"), 0, &src, &e), -EACCES);
	fake_snapshot(at("snaps/roots"), "null");
	assert_int_equal(vj_snapshot_open(roots, 1, at("snaps/roots"), 1000, &src, &e), -EACCES);
	assert_msg("belongs to root alone");
}

static void a_corrupted_state_file_is_refused_naming_it(void **state)
{
	struct vj_snapshot_source src;
	(void)state;
	fake_snapshot(at("snaps/bad"), "0");
	assert_int_not_equal(vj_snapshot_open(roots, 1, at("snaps/bad"), 0, &src, &e), 0);
	assert_msg(at("snaps/bad/state"));
	assert_int_equal(src.state_fd, -1);
	assert_int_equal(src.memory_fd, -1);
}

static void snapshot_files_must_be_regular_files_not_links(void **state)
{
	struct vj_snapshot_source src;
	(void)state;
	fake_snapshot(at("snaps/links"), "0");
	assert_int_equal(unlink(at("snaps/links/state")), 0);
	assert_int_equal(symlink("/etc/passwd", at("snaps/links/state")), 0);
	assert_int_equal(vj_snapshot_open(roots, 1, at("snaps/links"), 0, &src, &e), -ELOOP);
	assert_msg("open state");
}

static void a_missing_snapshot_is_named(void **state)
{
	struct vj_snapshot_source src;
	(void)state;
	assert_int_equal(vj_snapshot_open(roots, 1, at("snaps/none"), 0, &src, &e), -ENOENT);
	assert_msg(at("snaps/none"));
}

/* ---- the policy against the snapshot ---- */

static struct vj_vm_config policy_vm(void)
{
	struct vj_vm_config c;

	vj_config_init(&c);
	c.vcpus = 2;
	c.memory_mib = 256;
	c.ndrives = 1;
	c.drives[0].read_only = true;
	c.nnets = 1;
	c.nets[0].has_mac = true;
	memcpy(c.nets[0].mac, "\x02\x00\x00\x00\x00\x01", 6);
	c.vsock.enabled = true;
	c.vsock.guest_cid = 3;
	c.rng = true;
	return c;
}

static struct vj_snapshot_summary summary_of(const struct vj_vm_config *c)
{
	struct vj_snapshot_summary s = { .version = 1 };

	vj_snapshot_config_from(c, &s.config);
	return s;
}

static void a_policy_of_the_same_vm_fits(void **state)
{
	const struct vj_vm_config c = policy_vm();
	const struct vj_snapshot_summary s = summary_of(&c);
	(void)state;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), 0);
}

/* A clone is a new machine: its own MAC, or none (it keeps the
 * snapshot's), is no mismatch; a snapshot without one takes either too. */
static void a_clone_may_name_its_own_mac(void **state)
{
	const struct vj_vm_config snap_vm = policy_vm();
	struct vj_snapshot_summary s = summary_of(&snap_vm);
	struct vj_vm_config c = snap_vm;
	(void)state;

	c.nets[0].mac[5] = 2;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), 0);
	c.nets[0].has_mac = false;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), 0);
	s = summary_of(&c);
	c.nets[0].has_mac = true;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), 0);
	/* The MAC changes nothing about the device set. */
	c.nnets = 0;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
}

static void each_mismatch_names_the_key_and_both_values(void **state)
{
	const struct vj_vm_config snap_vm = policy_vm();
	const struct vj_snapshot_summary s = summary_of(&snap_vm);
	struct vj_vm_config c;
	(void)state;

	c = snap_vm;
	c.vcpus = 4;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "vm.vcpus: the policy says 4, the snapshot /s was taken with 2");

	c = snap_vm;
	c.memory_mib = 512;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "vm.memory: the policy says 512 MiB, the snapshot /s was taken "
				   "with 256 MiB");

	c = snap_vm;
	c.drives[0].read_only = false;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "vm.drives[0]: the policy's drive is writable, the snapshot "
				   "/s's read-only");

	c = snap_vm;
	c.vsock.guest_cid = 9;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "vm.vsock.cid: the policy says 9, the snapshot /s has 3");

	c = snap_vm;
	c.nnets = 0;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "vm.vsock: the policy has a vsock device in virtio slot 1, the "
				   "snapshot /s a net device");

	c = snap_vm;
	c.rng = false;
	assert_int_equal(vj_snapshot_check_policy(&s, &c, "/s", &e), -EINVAL);
	assert_string_equal(e.msg, "devices: the policy has 3 (blk, net, vsock), the snapshot /s 4 "
				   "(blk, net, vsock, rng)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_snapshot_roots_means_no_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(a_path_outside_the_roots_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(relative_dotted_and_empty_components_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_symlink_beneath_the_root_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(an_existing_directory_is_never_written_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			begin_makes_a_private_temporary_directory_with_empty_files, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_refuses_a_state_file_that_is_no_snapshot, setup,
						teardown),
		cmocka_unit_test(meta_round_trips),
		cmocka_unit_test(meta_refuses_what_it_does_not_know),
		cmocka_unit_test_setup_teardown(only_root_and_the_owner_may_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(a_corrupted_state_file_is_refused_naming_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(snapshot_files_must_be_regular_files_not_links, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_missing_snapshot_is_named, setup, teardown),
		cmocka_unit_test(a_policy_of_the_same_vm_fits),
		cmocka_unit_test(a_clone_may_name_its_own_mac),
		cmocka_unit_test(each_mismatch_names_the_key_and_both_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
