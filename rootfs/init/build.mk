# vmjail-init (the guest agent and PID 1), the protocol it shares with the
# launcher (common/agent_proto.c), the tests of the launcher's side of it
# (jailer/agent.c, which vmjail links: jailer/build.mk), the guest images
# that carry vmjail-init, and their tests.

AGENT_PROTO_OBJ := $(BUILD)/common/agent_proto.o
VJ_INIT_SRCS := rootfs/init/main.c rootfs/init/session.c rootfs/init/workload.c \
	rootfs/init/setup.c rootfs/init/net.c rootfs/init/connect.c
VJ_INIT_COMMON_SRCS := common/agent_proto.c common/log.c common/parse.c common/error.c
VJ_INIT := $(BUILD)/vmjail-init

# The guest binary: static, so that any root file system can run it, and
# never sanitized (sanitizer runtimes do not link statically): built with
# the hardening flags, as a static PIE, in every build.
VJ_INIT_CFLAGS := $(CFLAGS_COMMON) -O2 $(HARDEN_CFLAGS) -iquote $(TOP)/rootfs/init
VJ_INIT_LDFLAGS := -static-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

BINARIES += $(VJ_INIT)

$(VJ_INIT): $(VJ_INIT_SRCS) $(VJ_INIT_COMMON_SRCS) $(wildcard rootfs/init/*.h common/*.h) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(VJ_INIT_CFLAGS) $(VJ_INIT_LDFLAGS) -o $@ $(VJ_INIT_SRCS) $(VJ_INIT_COMMON_SRCS)

# The same code built as a host program like everything else (so with
# ASan and UBSan under SANITIZE=1): the integration tests run this one.
VJ_INIT_HOST := $(BUILD)/tests/integration/vmjail-init-host
VJ_INIT_OBJS := $(VJ_INIT_SRCS:%.c=$(BUILD)/%.o)
VJ_INIT_HOST_LIBS := $(AGENT_PROTO_OBJ) $(BUILD)/common/log.o $(BUILD)/common/parse.o \
	$(BUILD)/common/error.o

$(BUILD)/rootfs/init/%.o: CFLAGS += -iquote $(TOP)/rootfs/init

$(VJ_INIT_HOST): $(VJ_INIT_OBJS) $(VJ_INIT_HOST_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# Guest images. Both run on every call and are fast: build-initramfs.sh
# replaces its output only when the content changes, build-ext4.sh only
# when the hash of its inputs changes. vmjail-init is /init of the
# initramfs and /sbin/vmjail-init in both.
GUEST_INITRAMFS := $(BUILD)/guest/initramfs.cpio
GUEST_ROOTFS_EXT4 := $(BUILD)/guest/rootfs.ext4

.PHONY: initramfs rootfs-ext4
initramfs: deps-kernel $(VJ_INIT)
	$(Q)$(TOP)/rootfs/build-initramfs.sh --init $(VJ_INIT) \
		--symlink /init:/sbin/vmjail-init $(GUEST_INITRAMFS)

rootfs-ext4: initramfs
	$(Q)$(TOP)/rootfs/init/build-ext4.sh $(GUEST_INITRAMFS) $(GUEST_ROOTFS_EXT4)

# The CI example's scratch disk: a stand-in checkout. Written by the
# example's job; rebuilt only when the checkout's files change.
GUEST_SCRATCH_EXT4 := $(BUILD)/guest/scratch.ext4
.PHONY: scratch-ext4 examples
scratch-ext4: deps-kernel
	$(Q)$(TOP)/rootfs/init/build-ext4.sh --size 8 $(TOP)/policy/examples/ci-checkout \
		$(GUEST_SCRATCH_EXT4)

# Everything the bundled examples (policy/examples/) name.
examples: kernel initramfs rootfs-ext4 scratch-ext4 $(GUEST_DIR)/testguest.elf

# Unit tests: the codec, the agent's parsers, and the launcher's side
# against scripted hostile agents.
AGENT_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_agent_proto test_agent_init \
	test_agent_session)
UNIT_TESTS += $(AGENT_UNIT_TESTS)
AGENT_CLIENT_OBJS := $(BUILD)/jailer/agent.o

$(BUILD)/tests/unit/test_agent_init.o: CFLAGS += -iquote $(TOP)/rootfs/init
$(BUILD)/tests/unit/test_agent_session.o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy
$(BUILD)/jailer/agent.o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

$(BUILD)/tests/unit/test_agent_proto: %: %.o $(AGENT_PROTO_OBJ) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/unit/test_agent_init: %: %.o $(BUILD)/rootfs/init/workload.o \
		$(BUILD)/rootfs/init/connect.o $(AGENT_PROTO_OBJ) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/unit/test_agent_session: %: %.o $(AGENT_CLIENT_OBJS) $(AGENT_PROTO_OBJ) \
		$(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

# Integration: the real agent (vmjail-init-host) driven by the launcher's
# side (agent-drive) and by a hostile launcher (agent-evil-launcher).
AGENT_DRIVE := $(BUILD)/tests/integration/agent-drive
AGENT_EVIL := $(BUILD)/tests/integration/agent-evil-launcher

$(BUILD)/tests/integration/agent-drive.o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

$(AGENT_DRIVE): %: %.o $(AGENT_CLIENT_OBJS) $(AGENT_PROTO_OBJ) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(AGENT_EVIL): %: %.o $(AGENT_PROTO_OBJ) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_DEPS += $(VJ_INIT) $(VJ_INIT_HOST) $(AGENT_DRIVE) $(AGENT_EVIL) examples
INTEGRATION_TESTS += tests/integration/agent-session.sh tests/integration/agent-init.sh \
	tests/integration/agent-evil.sh tests/integration/agent-images.sh

# libFuzzer harness for the codec (clang); agent-fuzz.sh runs it briefly,
# longer by hand: build/fuzz/fuzz_agent_proto -max_total_time=600 DIR
AGENT_FUZZER := $(BUILD)/fuzz/fuzz_agent_proto
AGENT_FUZZ_SRCS := tests/fuzz/fuzz_agent_proto.c common/agent_proto.c common/error.c

$(AGENT_FUZZER): $(AGENT_FUZZ_SRCS) $(wildcard common/*.h) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(AGENT_FUZZ_SRCS)

TEST_DEPS += $(AGENT_FUZZER)
INTEGRATION_TESTS += tests/integration/agent-fuzz.sh
