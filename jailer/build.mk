# vmjail: the launcher. Linked statically like the VMM (a sanitizer
# build's dynamically): its own exec is on every sandbox's start-up path,
# and a static one saves the loader's work, about 1 ms here.
JAILER_SRCS := jailer/main.c jailer/flags.c jailer/run.c jailer/jail.c \
	jailer/resources.c jailer/cgroup.c jailer/cgroup_parent.c jailer/netns.c \
	jailer/mounts.c jailer/creds.c jailer/rlimits.c jailer/rundir.c jailer/undo.c \
	jailer/daemon.c jailer/policy_args.c \
	jailer/broker.c jailer/agent.c jailer/clone.c jailer/tap.c jailer/ids.c jailer/sockfile.c \
	jailer/control_socket.c jailer/supervisor.c jailer/status.c jailer/cli.c jailer/launch_opts.c \
	jailer/snapshot_dir.c jailer/image_launch.c jailer/exec.c jailer/exec_client.c \
	jailer/oci_spec.c jailer/oci.c jailer/migrate_transport.c
# The agent protocol's codec, shared with vmjail-init (rootfs/init/).
JAILER_OBJS := $(JAILER_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/common/agent_proto.o
# Everything but main(): linked into the unit tests as well.
JAILER_LIB_OBJS := $(filter-out $(BUILD)/jailer/main.o,$(JAILER_OBJS))
JAILER_LIBS := $(POLICY_LDLIBS) $(IMAGE_LDLIBS) -lcap-ng

# -iquote: jailer headers before common ones of the same name.
$(BUILD)/jailer/%.o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

BINARIES += $(BUILD)/vmjail

# A static glibc warns about the NSS lookups (getpwnam, initgroups, ...)
# in libcap-ng, which vmjail never calls: those warnings alone are dropped from the link's output.
JAILER_LD_NOISE := -e 'requires at runtime the shared libraries' -e ': in function `'

$(BUILD)/vmjail: $(JAILER_OBJS) $(IMAGE_LIB) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(JAILER_LIBS) 2>$@.ld; s=$$?; \
		grep -v $(JAILER_LD_NOISE) $@.ld >&2; rm -f $@.ld; exit $$s

# vmjail answers the runc command line when started as vmjail-runc
# (jailer/OCI.md): a link beside it, which containerd's runc shim is
# pointed at (BinaryName).
BINARIES += $(BUILD)/vmjail-runc
$(BUILD)/vmjail-runc: $(BUILD)/vmjail
	$(Q)ln -sf vmjail $@

INTEGRATION_TESTS += $(addprefix $(TOP)/tests/integration/,jail-props.sh jail-escape.sh \
	jail-lifecycle.sh jail-teardown.sh jail-userns.sh jail-vsock.sh jail-policy.sh jail-cgroup-v2.sh \
	jail-cgroup-parent.sh seccomp-vmm.sh jail-leak.sh jail-net.sh jail-control.sh jail-ids.sh \
	jail-snapshot.sh oci-cli.sh jail-migrate.sh)

# Unit tests: the jail's pure parts, and the launcher's side of the agent
# session (jailer/agent.c) against scripted hostile agents.
JAILER_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_jail_cgroup test_jail_cgroup_parent \
	test_jail_rlimits test_jail_flags test_jail_rundir test_jail_tap test_jail_ids \
	test_jail_broker test_jail_sockfile test_control test_settings_forms test_jail_snapshot \
	test_exec test_oci_spec test_jail_migrate test_jail_creds test_jail_daemon)
UNIT_TESTS += $(JAILER_UNIT_TESTS) $(BUILD)/tests/unit/test_agent_session

$(JAILER_UNIT_TESTS:%=%.o) $(BUILD)/tests/unit/test_agent_session.o: \
	CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

# The forms of each setting against each other: policies need the policy
# tests' scratch tree.
$(BUILD)/tests/unit/test_settings_forms $(BUILD)/tests/unit/test_oci_spec: \
	$(BUILD)/tests/unit/test_policy_util.o

# Objects before the archive, which extra prerequisites would follow.
$(JAILER_UNIT_TESTS): %: %.o $(JAILER_LIB_OBJS) $(IMAGE_LIB) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) -lcmocka \
		$(JAILER_LIBS)

$(BUILD)/tests/unit/test_agent_session: %: %.o $(BUILD)/jailer/agent.o \
		$(BUILD)/common/agent_proto.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

# libFuzzer harness for the control socket's request parser (clang);
# ctl-fuzz.sh runs it briefly.
CTL_FUZZER := $(BUILD)/fuzz/fuzz_ctl_request
CTL_FUZZ_SRCS := tests/fuzz/fuzz_ctl_request.c jailer/control_socket.c common/json.c common/error.c
$(addprefix $(FUZZ_DIR)/,tests/fuzz/fuzz_ctl_request.o jailer/control_socket.o): \
	FUZZ_CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

$(CTL_FUZZER): $(CTL_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

TEST_DEPS += $(CTL_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/ctl-fuzz.sh
