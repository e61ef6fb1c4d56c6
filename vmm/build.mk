# vmjail-vmm: statically linked so that it runs in an empty jail root.
VMM_SRCS := vmm/main.c vmm/vm.c vmm/vcpu.c vmm/cpuid.c vmm/memory.c vmm/bus.c \
	vmm/eventloop.c vmm/control.c vmm/persist.c vmm/seccomp.c vmm/seccomp_rules.c \
	vmm/boot/kernel.c vmm/boot/elf.c vmm/boot/bzimage.c vmm/boot/params.c \
	vmm/boot/mptable.c vmm/boot/regs.c \
	vmm/devices/serial.c vmm/devices/i8042.c vmm/devices/boot_marker.c \
	$(VMM_DEVICE_SRCS)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/%.o)
# Everything but main(): linked into unit tests as well.
VMM_LIB_OBJS := $(filter-out $(BUILD)/vmm/main.o,$(VMM_OBJS))
VMM_LIBS := -lpthread

# -iquote: vmm/seccomp.h must not shadow libseccomp's <seccomp.h>.
$(BUILD)/vmm/%.o: CFLAGS += -iquote $(TOP)/vmm -iquote $(BUILD)/vmm

# The seccomp filters, compiled to BPF at build time (vmm/seccomp_gen.c).
# The generator is built with the same flags as the VMM, so a SANITIZE=1
# build gets the sanitizer rows.
SECCOMP_GEN := $(BUILD)/vmm/seccomp-gen
SECCOMP_BPF := $(BUILD)/vmm/seccomp_bpf.inc
$(SECCOMP_GEN): $(BUILD)/vmm/seccomp_gen.o $(BUILD)/vmm/seccomp_rules.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lseccomp
$(SECCOMP_BPF): $(SECCOMP_GEN)
	$(Q)$< > $@.tmp && mv $@.tmp $@
$(BUILD)/vmm/seccomp.o: $(SECCOMP_BPF)

# The same filters without sanitizer rows, for static test programs built
# without sanitizers even in a SANITIZE=1 tree (they run inside the jail).
SECCOMP_BPF_PLAIN := $(BUILD)/vmm/plain/seccomp_bpf.inc
$(BUILD)/vmm/plain/seccomp-gen: vmm/seccomp_gen.c vmm/seccomp_rules.c vmm/seccomp.h | deps
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O2 -iquote $(TOP)/vmm -o $@ $(filter %.c,$^) -lseccomp
$(SECCOMP_BPF_PLAIN): $(BUILD)/vmm/plain/seccomp-gen
	$(Q)$< > $@.tmp && mv $@.tmp $@

BINARIES += $(BUILD)/vmjail-vmm

$(BUILD)/vmjail-vmm: $(VMM_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(VMM_LIBS)

# libFuzzer harness for the snapshot state file parser (clang);
# snapshot-fuzz.sh runs it briefly.
SNAPSHOT_FUZZER := $(BUILD)/fuzz/fuzz_snapshot
SNAPSHOT_FUZZ_SRCS := tests/fuzz/fuzz_snapshot.c common/snapshot.c common/error.c \
	common/config.c common/parse.c

$(SNAPSHOT_FUZZER): $(SNAPSHOT_FUZZ_SRCS) $(wildcard common/*.h) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(SNAPSHOT_FUZZ_SRCS)

TEST_DEPS += $(SNAPSHOT_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/snapshot-fuzz.sh
