# vmjail: the launcher. Linked statically like the VMM (a sanitizer
# build's dynamically): its own exec is on every sandbox's start-up path,
# and a static one saves the loader's work, about 1 ms here.
JAILER_SRCS := jailer/main.c jailer/flags.c jailer/run.c jailer/jail.c \
	jailer/resources.c jailer/cgroup.c jailer/cgroup_parent.c jailer/netns.c \
	jailer/mounts.c jailer/creds.c jailer/rlimits.c jailer/rundir.c jailer/undo.c \
	jailer/daemon.c jailer/policy_args.c \
	jailer/broker.c jailer/agent.c jailer/clone.c jailer/tap.c jailer/ids.c jailer/sockfile.c \
	jailer/control_socket.c jailer/supervisor.c jailer/status.c jailer/cli.c jailer/launch_opts.c \
	jailer/snapshot_dir.c
# The agent protocol's codec, shared with vmjail-init (rootfs/init/).
JAILER_OBJS := $(JAILER_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/common/agent_proto.o
# Everything but main(): linked into the unit tests as well.
JAILER_LIB_OBJS := $(filter-out $(BUILD)/jailer/main.o,$(JAILER_OBJS))
JAILER_LIBS := $(POLICY_LDLIBS) -lcgroup -lcap-ng

# -iquote: jailer headers before common ones of the same name.
$(BUILD)/jailer/%.o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

BINARIES += $(BUILD)/vmjail

# A static glibc warns about the NSS lookups (getpwnam, initgroups, ...)
# in libcgroup's rules and config parsers and in libcap-ng, which vmjail
# never calls: those warnings alone are dropped from the link's output.
JAILER_LD_NOISE := -e 'requires at runtime the shared libraries' -e ': in function `'

$(BUILD)/vmjail: $(JAILER_OBJS) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(JAILER_LIBS) 2>$@.ld; s=$$?; \
		grep -v $(JAILER_LD_NOISE) $@.ld >&2; rm -f $@.ld; exit $$s

# The test-only stand-in started by `vmjail run --test-exec`: static, and
# never sanitized (the jail has no loader, and a sanitizer runtime would
# need files and system calls the jail denies).
JAIL_PROBE := $(BUILD)/tests/integration/jail-probe
JAIL_PROBE_SRCS := tests/integration/jail-probe.c vmm/seccomp.c vmm/seccomp_rules.c $(COMMON_SRCS)
$(JAIL_PROBE): $(JAIL_PROBE_SRCS) $(wildcard common/*.h) vmm/seccomp.h $(SECCOMP_BPF_PLAIN) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_COMMON) -O2 -iquote $(TOP)/vmm -iquote $(dir $(SECCOMP_BPF_PLAIN)) \
		-static -o $@ $(JAIL_PROBE_SRCS)
TEST_DEPS += $(JAIL_PROBE)

# The jail runs only static programs, and sanitizer runtimes cannot be
# linked statically: a sanitizer build's jail tests put the sanitized
# launcher around this static, unsanitized build of the VMM (the VMM's
# own sanitizer coverage comes from its standalone tests).
ifeq ($(SANITIZE),1)
JAIL_VMM := $(BUILD)/tests/integration/vmjail-vmm-static
$(JAIL_VMM): $(VMM_SRCS) $(COMMON_SRCS) $(wildcard vmm/*.h vmm/*/*.h common/*.h) \
		$(SECCOMP_BPF_PLAIN) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_COMMON) -O2 -fPIE -iquote $(TOP)/vmm \
		-iquote $(dir $(SECCOMP_BPF_PLAIN)) -static-pie -o $@ \
		$(VMM_SRCS) $(COMMON_SRCS) $(VMM_LIBS)
TEST_DEPS += $(JAIL_VMM)
# and the e2e test host's `vmjail run` (tests/e2e/build.mk).
e2e-image: $(JAIL_VMM)
endif

# jail-cgroup-parent.sh's program: the launcher's cgroup steps, against
# the host's real cgroup filesystem, without a VMM (or /dev/kvm).
JAIL_CGROUP_PARENT := $(BUILD)/tests/integration/jail-cgroup-parent
$(JAIL_CGROUP_PARENT).o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy
$(JAIL_CGROUP_PARENT): %: %.o $(JAILER_LIB_OBJS) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(JAILER_LIBS)
TEST_DEPS += $(JAIL_CGROUP_PARENT)

INTEGRATION_TESTS += $(addprefix $(TOP)/tests/integration/,jail-props.sh jail-escape.sh \
	jail-lifecycle.sh jail-userns.sh jail-vsock.sh jail-policy.sh jail-cgroup-v2.sh \
	jail-cgroup-parent.sh seccomp-vmm.sh jail-leak.sh jail-net.sh jail-control.sh jail-ids.sh \
	jail-snapshot.sh)

# Unit tests: the jail's pure parts, and the seccomp tables proved
# against the kernel.
JAILER_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_jail_cgroup test_jail_cgroup_parent \
	test_jail_rlimits test_jail_flags test_jail_rundir test_jail_tap test_jail_ids \
	test_jail_broker test_jail_sockfile test_control test_settings_forms test_jail_snapshot)
SECCOMP_UNIT_TESTS := $(BUILD)/tests/unit/test_seccomp
UNIT_TESTS += $(JAILER_UNIT_TESTS) $(SECCOMP_UNIT_TESTS)

$(JAILER_UNIT_TESTS:%=%.o): CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

# The forms of each setting against each other: policies need the policy
# tests' scratch tree.
$(BUILD)/tests/unit/test_settings_forms: $(BUILD)/tests/unit/test_policy_util.o

# Objects before the archive, which extra prerequisites would follow.
$(JAILER_UNIT_TESTS): %: %.o $(JAILER_LIB_OBJS) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) -lcmocka \
		$(JAILER_LIBS)

$(SECCOMP_UNIT_TESTS): %: %.o $(BUILD)/vmm/seccomp.o $(BUILD)/vmm/seccomp_rules.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

# Benchmark (`make bench`, or `make bench-jail`): prints medians only.
JAIL_BENCH := $(BUILD)/bench/jail-bench

$(JAIL_BENCH): $(BUILD)/bench/jail-bench.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

.PHONY: bench-jail
bench-jail: all $(JAIL_BENCH) $(GUEST_DIR)/testguest.elf $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh jail

BENCH_DEPS += $(JAIL_BENCH)

# libFuzzer harness for the control socket's request parser (clang);
# ctl-fuzz.sh runs it briefly.
CTL_FUZZER := $(BUILD)/fuzz/fuzz_ctl_request
CTL_FUZZ_SRCS := tests/fuzz/fuzz_ctl_request.c jailer/control_socket.c common/json.c common/error.c

$(CTL_FUZZER): $(CTL_FUZZ_SRCS) $(wildcard jailer/*.h common/*.h) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(CFLAGS_COMMON) -O1 -iquote $(TOP)/jailer -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(CTL_FUZZ_SRCS)

TEST_DEPS += $(CTL_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/ctl-fuzz.sh
