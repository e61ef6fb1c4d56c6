# vmjail-init (the guest agent and PID 1) with the protocol it shares
# with the launcher (common/agent_proto.c), the guest images that carry
# it, and their tests.

VJ_INIT_SRCS := rootfs/init/main.c rootfs/init/session.c rootfs/init/workload.c \
	rootfs/init/setup.c rootfs/init/net.c rootfs/init/connect.c rootfs/init/image_root.c \
	common/agent_proto.c common/log.c common/parse.c common/error.c
VJ_INIT := $(BUILD)/vmjail-init

$(addsuffix /rootfs/init/%.o,$(FLAVOURS)): CFLAGS += -iquote $(TOP)/rootfs/init

# The guest binary: static, so that any root file system can run it, and
# never sanitized: built from the plain objects (Makefile), with the
# hardening flags, as a static PIE, in every build.
BINARIES += $(VJ_INIT)

$(VJ_INIT): $(VJ_INIT_SRCS:%.c=$(PLAIN)/%.o)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(PLAIN_STATIC_LDFLAGS) -o $@ $^

# The same code built as a host program like everything else (so with
# ASan and UBSan under SANITIZE=1): the integration tests run this one.
VJ_INIT_HOST := $(BUILD)/tests/integration/vmjail-init-host

$(VJ_INIT_HOST): $(VJ_INIT_SRCS:%.c=$(BUILD)/%.o)
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

# Unit tests: the codec and the agent's parsers (the launcher's side of
# the session: jailer/build.mk).
AGENT_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_agent_proto test_agent_init)
UNIT_TESTS += $(AGENT_UNIT_TESTS)

$(BUILD)/tests/unit/test_agent_init.o: CFLAGS += -iquote $(TOP)/rootfs/init

$(BUILD)/tests/unit/test_agent_proto: %: %.o $(BUILD)/common/agent_proto.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

$(BUILD)/tests/unit/test_agent_init: %: %.o $(BUILD)/rootfs/init/workload.o \
		$(BUILD)/rootfs/init/connect.o $(BUILD)/rootfs/init/image_root.o $(BUILD)/common/agent_proto.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

TEST_DEPS += $(VJ_INIT) $(VJ_INIT_HOST) examples
INTEGRATION_TESTS += tests/integration/agent-session.sh tests/integration/agent-init.sh \
	tests/integration/agent-evil.sh tests/integration/agent-images.sh

# libFuzzer harness for the codec (clang); agent-fuzz.sh runs it briefly,
# longer by hand: build/fuzz/fuzz_agent_proto -max_total_time=600 DIR
AGENT_FUZZER := $(FUZZ_DIR)/fuzz_agent_proto
AGENT_FUZZ_SRCS := tests/fuzz/fuzz_agent_proto.c common/agent_proto.c common/error.c

$(AGENT_FUZZER): $(AGENT_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

TEST_DEPS += $(AGENT_FUZZER)
INTEGRATION_TESTS += tests/integration/agent-fuzz.sh
