# vmjail-vmm: statically linked so that it runs in an empty jail root.
VMM_SRCS := vmm/main.c vmm/vm.c vmm/vcpu.c vmm/cpuid.c vmm/memory.c vmm/bus.c \
	vmm/eventloop.c vmm/control.c vmm/persist.c vmm/migrate.c vmm/seccomp.c vmm/seccomp_rules.c \
	vmm/boot/kernel.c vmm/boot/elf.c vmm/boot/bzimage.c vmm/boot/params.c \
	vmm/boot/mptable.c vmm/boot/regs.c \
	vmm/devices/serial.c vmm/devices/i8042.c vmm/devices/boot_marker.c \
	$(VMM_DEVICE_SRCS)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/%.o)
# Everything but main(): linked into unit tests as well.
VMM_LIB_OBJS := $(filter-out $(BUILD)/vmm/main.o,$(VMM_OBJS))
VMM_LIBS := -lpthread

# -iquote: vmm/seccomp.h must not shadow libseccomp's <seccomp.h>; the
# tree's own vmm/ holds the generated seccomp_bpf.inc.
$(foreach t,$(FLAVOURS),$(eval $(t)/vmm/%.o: CFLAGS += -iquote $(TOP)/vmm -iquote $(t)/vmm))

# The seccomp filters, compiled to BPF at build time (vmm/seccomp_gen.c).
# The generator is built with the same flags as the VMM, so a SANITIZE=1
# build gets the sanitizer rows, and its plain tree (static programs built
# without sanitizers, Makefile) the filters without them.
SECCOMP_BPF := $(BUILD)/vmm/seccomp_bpf.inc
SECCOMP_BPF_PLAIN := $(PLAIN)/vmm/seccomp_bpf.inc
$(addsuffix /vmm/seccomp-gen,$(FLAVOURS)): %/vmm/seccomp-gen: %/vmm/seccomp_gen.o \
		%/vmm/seccomp_rules.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lseccomp
$(addsuffix /vmm/seccomp_bpf.inc,$(FLAVOURS)): %/seccomp_bpf.inc: %/seccomp-gen
	$(Q)$< > $@.tmp && mv $@.tmp $@
$(addsuffix /vmm/seccomp.o,$(FLAVOURS)): %/seccomp.o: %/seccomp_bpf.inc

BINARIES += $(BUILD)/vmjail-vmm

$(BUILD)/vmjail-vmm: $(VMM_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(VMM_LIBS)

# The jail runs only static programs, and sanitizer runtimes cannot be
# linked statically: a sanitizer build's jail tests put the sanitized
# launcher around this static, unsanitized build of the VMM (the VMM's
# own sanitizer coverage comes from its standalone tests). The e2e test
# host's `vmjail run` uses it too (tests/e2e/build.mk).
ifeq ($(SANITIZE),1)
JAIL_VMM := $(BUILD)/tests/integration/vmjail-vmm-static
$(JAIL_VMM): $(VMM_SRCS:%.c=$(PLAIN)/%.o) $(COMMON_SRCS:%.c=$(PLAIN)/%.o)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(PLAIN_STATIC_LDFLAGS) -o $@ $^ $(VMM_LIBS)
TEST_DEPS += $(JAIL_VMM)
endif

# Unit test: the seccomp tables proved against the kernel.
SECCOMP_UNIT_TESTS := $(BUILD)/tests/unit/test_seccomp
UNIT_TESTS += $(SECCOMP_UNIT_TESTS)

$(SECCOMP_UNIT_TESTS): %: %.o $(BUILD)/vmm/seccomp.o $(BUILD)/vmm/seccomp_rules.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka

# libFuzzer harness for the snapshot state file parser (clang);
# snapshot-fuzz.sh runs it briefly.
SNAPSHOT_FUZZER := $(FUZZ_DIR)/fuzz_snapshot
SNAPSHOT_FUZZ_SRCS := tests/fuzz/fuzz_snapshot.c common/snapshot.c common/error.c \
	common/config.c common/parse.c

$(SNAPSHOT_FUZZER): $(SNAPSHOT_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

TEST_DEPS += $(SNAPSHOT_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/snapshot-fuzz.sh

# libFuzzer harness for the live migration stream reader (clang);
# migration-fuzz.sh runs it briefly.
MIGRATION_FUZZER := $(FUZZ_DIR)/fuzz_migration_stream
MIGRATION_FUZZ_SRCS := tests/fuzz/fuzz_migration_stream.c common/migration_stream.c \
	common/snapshot.c common/error.c common/config.c common/parse.c

$(MIGRATION_FUZZER): $(MIGRATION_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

TEST_DEPS += $(MIGRATION_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/migration-fuzz.sh
