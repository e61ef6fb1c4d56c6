/* Which parent directories of sandbox cgroups vmjail creates, records as
 * its own and removes, and what it writes into the ones it did not
 * create: on a directory tree under /tmp standing in for a hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "cgroup_parent.h"

static char root[64], mount[96], run_dir[96];
static int run_dir_fd = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/vj-cgparent-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(mount, sizeof(mount), "%s/hierarchy", root);
	snprintf(run_dir, sizeof(run_dir), "%s/run", root);
	if (mkdir(mount, 0755) < 0 || mkdir(run_dir, 0700) < 0)
		return -1;
	run_dir_fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return run_dir_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	close(run_dir_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* <mount>/<rel> */
static const char *at(const char *rel)
{
	static char path[4][256];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s%s%s", mount, rel[0] ? "/" : "", rel);
	return p;
}

static bool exists(const char *rel)
{
	return access(at(rel), F_OK) == 0;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *get(const char *rel)
{
	static char buf[256];
	FILE *f = fopen(at(rel), "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool recorded(void)
{
	return faccessat(run_dir_fd, "cgroup.parents", F_OK, 0) == 0;
}

static void write_records(const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.parents", run_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *boot_id(void)
{
	static char id[64];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	assert_non_null(f);
	assert_non_null(fgets(id, sizeof(id), f));
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	return id;
}

static struct vj_cgroup_way v1_way(const char *parent)
{
	return (struct vj_cgroup_way){ .mount = mount, .parent = parent,
				       .version = VJ_CGROUP_V1, .enable = "" };
}

/* A group made below parent, as vj_cgroup_create() does. */
static void make_group(const char *parent, const char *group)
{
	struct vj_cgroup_way w = v1_way(parent);
	struct vj_err e;

	assert_int_equal(vj_cgroup_group_create(&w, group, run_dir_fd, &e), 0);
	assert_true(exists(group));
}

static void release(const char *parent)
{
	struct vj_err e;

	assert_int_equal(vj_cgroup_parent_release(mount, parent, run_dir_fd, &e), 0);
}

static void a_missing_parent_is_created_recorded_and_removed_once_empty(void **state)
{
	(void)state;
	make_group("vmjail/a", "vmjail/a/sb-1");
	assert_true(recorded());
	assert_int_equal(rmdir(at("vmjail/a/sb-1")), 0);
	release("vmjail/a");
	assert_false(exists("vmjail"));
	/* Nothing of vmjail's is left: the records go with the last. */
	assert_false(recorded());
}

/* A launcher killed while it replaced the records leaves the temporary
 * file behind: the next one replaces it. */
static void a_killed_launchers_temporary_records_are_replaced(void **state)
{
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/cgroup.parents.new", run_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("half a line", f);
	fclose(f);
	make_group("vmjail/a", "vmjail/a/sb-1");
	assert_true(recorded());
	assert_int_equal(faccessat(run_dir_fd, "cgroup.parents.new", F_OK, 0), -1);
	assert_int_equal(rmdir(at("vmjail/a/sb-1")), 0);
	release("vmjail/a");
	assert_false(exists("vmjail"));
	assert_false(recorded());
}

/* A caller making groups in several hierarchies keeps the lock the first
 * one took, and still holds it after the second. */
static void a_lock_the_caller_keeps_stays_taken(void **state)
{
	struct vj_cgroup_way w = v1_way("vmjail/a");
	struct vj_err e;
	int lock = -1, other;

	(void)state;
	w.lock = &lock;
	assert_int_equal(vj_cgroup_group_create(&w, "vmjail/a/sb-1", run_dir_fd, &e), 0);
	assert_true(lock >= 0);
	w.parent = "vmjail/b";
	assert_int_equal(vj_cgroup_group_create(&w, "vmjail/b/sb-1", run_dir_fd, &e), 0);
	assert_true(exists("vmjail/b/sb-1"));
	other = openat(run_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(lock);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	assert_int_equal(rmdir(at("vmjail/a/sb-1")), 0);
	assert_int_equal(rmdir(at("vmjail/b/sb-1")), 0);
	release("vmjail/a");
	release("vmjail/b");
	assert_false(exists("vmjail"));
	assert_false(recorded());
}

static void an_existing_parent_is_neither_recorded_nor_removed_nor_written(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("operator"), 0755), 0);
	put("operator/memory.max", "2147483648\n");
	make_group("operator", "operator/sb-1");
	assert_false(recorded());
	assert_int_equal(rmdir(at("operator/sb-1")), 0);
	release("operator");
	assert_true(exists("operator"));
	assert_string_equal(get("operator/memory.max"), "2147483648\n");
}

static void a_parent_stays_while_another_sandbox_uses_it_and_goes_with_the_last(void **state)
{
	(void)state;
	make_group("vmjail", "vmjail/sb-1");
	make_group("vmjail", "vmjail/sb-2");
	/* sb-1's launcher made the parent and ends first. */
	assert_int_equal(rmdir(at("vmjail/sb-1")), 0);
	release("vmjail");
	assert_true(exists("vmjail"));
	assert_true(recorded());
	/* sb-2's removes it, although it did not make it. */
	assert_int_equal(rmdir(at("vmjail/sb-2")), 0);
	release("vmjail");
	assert_false(exists("vmjail"));
}

static void removal_stops_at_the_first_directory_vmjail_did_not_make(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("operator"), 0755), 0);
	make_group("operator/b/c", "operator/b/c/sb-1");
	assert_int_equal(rmdir(at("operator/b/c/sb-1")), 0);
	release("operator/b/c");
	assert_false(exists("operator/b"));
	assert_true(exists("operator"));
}

static void the_launchers_own_cgroup_is_never_created(void **state)
{
	struct vj_cgroup_way w = v1_way("own/vmjail");
	struct vj_err e;

	(void)state;
	w.keep = strlen("own");
	assert_int_equal(vj_cgroup_group_create(&w, "own/vmjail/sb-1", run_dir_fd, &e), -ENOENT);
	assert_non_null(strstr(e.msg, at("own")));
	assert_false(exists("own"));
	assert_false(recorded());
}

static void a_recorded_directory_made_again_by_someone_else_is_theirs(void **state)
{
	(void)state;
	make_group("vmjail", "vmjail/sb-1");
	assert_int_equal(rmdir(at("vmjail/sb-1")), 0);
	/* Someone removes vmjail's parent and makes one of their own. (The
	 * old one is held open: unlike cgroupfs, this file system could
	 * give the new one its inode number.) */
	int old = open(at("vmjail"), O_RDONLY | O_DIRECTORY);
	assert_true(old >= 0);
	assert_int_equal(rmdir(at("vmjail")), 0);
	assert_int_equal(mkdir(at("vmjail"), 0755), 0);
	close(old);
	release("vmjail");
	assert_true(exists("vmjail"));
	assert_false(recorded());
}

static void records_of_an_earlier_boot_are_void(void **state)
{
	struct stat st;
	char text[512];

	(void)state;
	assert_int_equal(mkdir(at("vmjail"), 0755), 0);
	assert_int_equal(stat(at("vmjail"), &st), 0);
	/* Inode numbers start over at boot: this one may be anybody's. */
	snprintf(text, sizeof(text), "boot 00000000-0000-0000-0000-000000000000\n%llu %s\n",
		 (unsigned long long)st.st_ino, at("vmjail"));
	write_records(text);
	release("vmjail");
	assert_true(exists("vmjail"));
	assert_false(recorded());
}

static void a_directory_recorded_but_not_known_made_is_never_removed(void **state)
{
	char text[512];

	(void)state;
	/* A launcher was killed between recording it and learning its
	 * inode: it or someone else may have made it. */
	assert_int_equal(mkdir(at("vmjail"), 0755), 0);
	snprintf(text, sizeof(text), "boot %s\n- %s\n", boot_id(), at("vmjail"));
	write_records(text);
	release("vmjail");
	assert_true(exists("vmjail"));
	assert_false(recorded());
}

static void a_parent_removed_under_a_new_group_is_made_again(void **state)
{
	struct vj_cgroup_way w = v1_way("vmjail");
	struct vj_err e;

	(void)state;
	/* After "the parent exists" (prepared), the last sandbox of another
	 * launcher takes the parent away: making the group starts over and
	 * makes it again. (Its removal between the parent's check and the
	 * group's mkdir() is jail-cgroup-parent.sh's race, on a real
	 * cgroup filesystem.) */
	make_group("vmjail", "vmjail/sb-1");
	assert_int_equal(vj_cgroup_parent_prepare(&w, run_dir_fd, false, &e), 0);
	assert_int_equal(rmdir(at("vmjail/sb-1")), 0);
	release("vmjail");
	assert_false(exists("vmjail"));
	assert_int_equal(vj_cgroup_group_create(&w, "vmjail/sb-2", run_dir_fd, &e), 0);
	assert_true(exists("vmjail/sb-2"));
	assert_true(recorded());
}

static void without_the_lock_a_missing_parent_is_not_created(void **state)
{
	struct vj_cgroup_way w = v1_way("vmjail");
	struct vj_err e;

	(void)state;
	assert_int_equal(vj_cgroup_parent_prepare(&w, run_dir_fd, false, &e), -EAGAIN);
	assert_false(exists("vmjail"));
	assert_false(recorded());
}

static void an_existing_group_is_someone_elses(void **state)
{
	struct vj_cgroup_way w = v1_way("vmjail");
	struct vj_err e;

	(void)state;
	make_group("vmjail", "vmjail/sb-1");
	assert_int_equal(vj_cgroup_group_create(&w, "vmjail/sb-1", run_dir_fd, &e), -EEXIST);
}

static void v2_enables_only_the_missing_controllers_from_the_root_down(void **state)
{
	struct vj_cgroup_way w = { .mount = mount, .parent = "operator",
				   .version = VJ_CGROUP_V2, .enable = "cpu memory pids" };
	struct vj_err e;

	(void)state;
	put("cgroup.subtree_control", "cpu memory\n");
	assert_int_equal(mkdir(at("operator"), 0755), 0);
	put("operator/cgroup.subtree_control", "cpu memory pids io\n");
	put("operator/memory.max", "2147483648\n");
	assert_int_equal(vj_cgroup_parent_prepare(&w, run_dir_fd, false, &e), 0);
	assert_string_equal(get("cgroup.subtree_control"), "+pids");
	assert_string_equal(get("operator/cgroup.subtree_control"), "cpu memory pids io\n");
	assert_string_equal(get("operator/memory.max"), "2147483648\n");
}

static void v1_an_existing_parents_cpuset_is_left_as_the_operator_set_it(void **state)
{
	struct vj_cgroup_way w = v1_way("operator");
	struct vj_err e;

	(void)state;
	w.cpuset = true;
	put("cpuset.cpus", "0-3\n");
	put("cpuset.mems", "0\n");
	assert_int_equal(mkdir(at("operator"), 0755), 0);
	put("operator/cpuset.cpus", "\n");
	put("operator/cpuset.mems", "\n");
	assert_int_equal(vj_cgroup_parent_prepare(&w, run_dir_fd, false, &e), 0);
	assert_string_equal(get("operator/cpuset.cpus"), "\n");
	assert_string_equal(get("operator/cpuset.mems"), "\n");
}

static void v1_a_made_cpuset_group_gets_its_parents_cpus_and_nodes(void **state)
{
	struct vj_err e;

	(void)state;
	put("cpuset.cpus", "0-3\n");
	put("cpuset.mems", "0\n");
	assert_int_equal(mkdir(at("made"), 0755), 0);
	put("made/cpuset.cpus", "\n");
	put("made/cpuset.mems", "\n");
	assert_int_equal(vj_cgroup_cpuset_inherit(mount, "made", &e), 0);
	assert_string_equal(get("made/cpuset.cpus"), "0-3");
	assert_string_equal(get("made/cpuset.mems"), "0");
}

static void v1_below_an_empty_cpuset_the_error_names_it(void **state)
{
	struct vj_err e;

	(void)state;
	assert_int_equal(mkdir(at("operator"), 0755), 0);
	put("operator/cpuset.cpus", "\n");
	put("operator/cpuset.mems", "0\n");
	assert_int_equal(mkdir(at("operator/made"), 0755), 0);
	put("operator/made/cpuset.cpus", "\n");
	put("operator/made/cpuset.mems", "\n");
	assert_int_equal(vj_cgroup_cpuset_inherit(mount, "operator/made", &e), -EINVAL);
	assert_non_null(strstr(e.msg, at("operator")));
	assert_non_null(strstr(e.msg, "cpuset.cpus is empty"));
	assert_string_equal(get("operator/cpuset.cpus"), "\n");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(a_missing_parent_is_created_recorded_and_removed_once_empty),
	T(a_killed_launchers_temporary_records_are_replaced),
	T(a_lock_the_caller_keeps_stays_taken),
		T(an_existing_parent_is_neither_recorded_nor_removed_nor_written),
		T(a_parent_stays_while_another_sandbox_uses_it_and_goes_with_the_last),
		T(removal_stops_at_the_first_directory_vmjail_did_not_make),
		T(the_launchers_own_cgroup_is_never_created),
		T(a_recorded_directory_made_again_by_someone_else_is_theirs),
		T(records_of_an_earlier_boot_are_void),
		T(a_directory_recorded_but_not_known_made_is_never_removed),
		T(a_parent_removed_under_a_new_group_is_made_again),
		T(without_the_lock_a_missing_parent_is_not_created),
		T(an_existing_group_is_someone_elses),
		T(v2_enables_only_the_missing_controllers_from_the_root_down),
		T(v1_an_existing_parents_cpuset_is_left_as_the_operator_set_it),
		T(v1_a_made_cpuset_group_gets_its_parents_cpus_and_nodes),
		T(v1_below_an_empty_cpuset_the_error_names_it),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
