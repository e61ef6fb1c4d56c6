# libvmjail-policy: YAML policies and host files -> validated structs.
# Users link $(POLICY_LIB) $(COMMON_OBJS) $(POLICY_LDLIBS).

POLICY_SRCS := policy/error.c policy/scalar.c policy/yaml_tree.c policy/schema.c \
	policy/settings.c \
	policy/roots.c policy/host.c policy/vm.c policy/jail.c policy/policy.c \
	policy/override.c policy/print.c
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)
POLICY_LIB := $(BUILD)/libvmjail-policy.a
POLICY_LDLIBS := -lyaml

$(POLICY_LIB): $(POLICY_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv -f $@.tmp $@

BINARIES += $(POLICY_LIB)

# Unit tests: one binary per concept.
POLICY_UNIT := yaml scalar schema roots host override print examples
POLICY_UNIT_BINS := $(POLICY_UNIT:%=$(BUILD)/tests/unit/test_policy_%)
POLICY_TEST_UTIL := $(BUILD)/tests/unit/test_policy_util.o

# The examples test needs the checkout's location to find policy/examples.
$(BUILD)/tests/unit/test_policy_examples.o: CFLAGS += -DVJ_SOURCE_DIR='"$(TOP)"'

$(POLICY_UNIT_BINS): %: %.o $(POLICY_TEST_UTIL) \
		$(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(POLICY_LDLIBS) -lcmocka

UNIT_TESTS += $(POLICY_UNIT_BINS)

# libFuzzer harness: everything rebuilt with clang and its sanitizers.
FUZZ_SECONDS ?= 20
POLICY_FUZZER := $(FUZZ_DIR)/fuzz_policy
POLICY_FUZZ_SRCS := tests/fuzz/fuzz_policy.c $(POLICY_SRCS) common/parse.c common/config.c \
	common/error.c

$(POLICY_FUZZER): $(POLICY_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(POLICY_LDLIBS)

.PHONY: fuzz-policy
fuzz-policy: $(POLICY_FUZZER)
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) $(TOP)/tests/integration/fuzz-policy.sh

TEST_DEPS += $(POLICY_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/fuzz-policy.sh
