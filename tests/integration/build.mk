# Helper programs of the integration scripts.
JSON_CHECK := $(BUILD)/tests/integration/json-check

$(JSON_CHECK): $(BUILD)/tests/integration/json-check.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_DEPS += $(JSON_CHECK)
INTEGRATION_TESTS += $(TOP)/tests/integration/examples-check.sh
