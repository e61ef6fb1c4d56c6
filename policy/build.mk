# libvmjail-policy: YAML policies and host files -> validated structs.
# Users link $(POLICY_LIB) $(COMMON_OBJS) $(POLICY_LDLIBS).

POLICY_SRCS := policy/error.c policy/scalar.c policy/yaml_tree.c policy/schema.c \
	policy/roots.c policy/host.c policy/vm.c policy/jail.c policy/policy.c \
	policy/override.c policy/print.c
POLICY_OBJS := $(POLICY_SRCS:%.c=$(BUILD)/%.o)
POLICY_LIB := $(BUILD)/libvmjail-policy.a
POLICY_LDLIBS := -lyaml

$(POLICY_LIB): $(POLICY_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

BINARIES += $(POLICY_LIB)

# Unit tests: one binary per concept.
POLICY_UNIT := yaml scalar schema
POLICY_UNIT_BINS := $(POLICY_UNIT:%=$(BUILD)/tests/unit/test_policy_%)
POLICY_TEST_UTIL := $(BUILD)/tests/unit/test_policy_util.o

$(BUILD)/tests/unit/test_policy_%: $(BUILD)/tests/unit/test_policy_%.o $(POLICY_TEST_UTIL) \
		$(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(POLICY_LDLIBS) -lcmocka

UNIT_TESTS += $(POLICY_UNIT_BINS)

