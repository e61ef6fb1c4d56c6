# cmocka unit tests of the VMM core and common/. Other components register
# their own unit tests from their build.mk.
VMM_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_config test_parse test_memory \
	test_bus test_boot test_serial test_cpuid test_json test_termsafe test_error \
	test_eventloop test_i8042 test_host_open test_socket_file test_snapshot \
	test_migration_stream)
UNIT_TESTS += $(VMM_UNIT_TESTS)

$(BUILD)/tests/unit/%.o: CFLAGS += -iquote $(TOP)/vmm

$(VMM_UNIT_TESTS): %: %.o $(VMM_LIB_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(VMM_LIBS)
