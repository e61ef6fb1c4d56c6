# Helper programs of the integration scripts.
JSON_CHECK := $(BUILD)/tests/integration/json-check

$(JSON_CHECK): $(BUILD)/tests/integration/json-check.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_DEPS += $(JSON_CHECK)
INTEGRATION_TESTS += $(TOP)/tests/integration/examples-check.sh

# vmm-ctl.sh's driver: the launcher's side of the VMM's control channel.
VMM_CTL_DRIVER := $(BUILD)/tests/integration/vmm-ctl
$(VMM_CTL_DRIVER): $(BUILD)/tests/integration/vmm-ctl.o $(BUILD)/common/snapshot.o \
		$(BUILD)/common/error.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
TEST_DEPS += $(VMM_CTL_DRIVER)
INTEGRATION_TESTS += $(TOP)/tests/integration/vmm-ctl.sh
INTEGRATION_TESTS += $(TOP)/tests/integration/vmm-snapshot.sh

# A raw client of a sandbox's control socket, for jail-control.sh.
CTL_CLIENT := $(BUILD)/tests/integration/ctl-client
$(CTL_CLIENT): $(BUILD)/tests/integration/ctl-client.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
TEST_DEPS += $(CTL_CLIENT)
