# End-to-end test bed: QEMU (TCG, emulated SVM) boots a Debian test host
# that runs vmjail against a real Linux guest (tests/e2e/run.sh).
#   make e2e-image   assemble the test host (kernel + initramfs)
#   make e2e         assemble it and run the scenarios
E2E_DIR := $(BUILD)/tests/e2e
E2E_GUEST_INITRD := $(E2E_DIR)/guest-initramfs.cpio
E2E_RUN := $(TOP)/tests/e2e/run.sh
# The example policies' drives, kept small: the test host holds them in
# its initramfs. The root image is the agent's initramfs tree; the scratch
# disk holds the CI example's stand-in job.
E2E_ROOT_EXT4 := $(E2E_DIR)/rootfs.ext4
E2E_SCRATCH_EXT4 := $(E2E_DIR)/scratch.ext4
# vmjail's programs (not its libraries) go into the test host. Expanded in
# the recipe: fragments included after this one add to BINARIES too.
# A sanitizer build's VMM is not static, which the jail requires: `vmjail
# run` there uses the static build of the VMM (JAIL_VMM, vmm/build.mk).
# mkfs.erofs converts container images (jailer/image/), in the test host too.
E2E_PROGRAMS = $(filter-out %.a,$(BINARIES)) $(JAIL_VMM) /usr/bin/mkfs.erofs
# Container image archives for `vmjail run --image`, made by the test
# itself from this host's busybox-static (make-image.sh), deterministic:
# the test host is rebuilt only when they change.
E2E_IMAGES := $(E2E_DIR)/images

.PHONY: e2e e2e-image e2e-guest-initramfs e2e-ext4 e2e-images

# Both scripts run on every call and take about a second: they rewrite an
# output only when its content changes, and build-testhost.sh also follows
# the kernel that linux-image-cloud-amd64 points at, which make cannot see.
e2e-guest-initramfs: deps-kernel $(VHOST_STATIC)
	$(Q)$(TOP)/rootfs/build-initramfs.sh --init $(TOP)/tests/e2e/guest-init.sh \
		--file $(VHOST_STATIC):/bin/virtio-host:755 $(E2E_GUEST_INITRD)

e2e-ext4: deps-kernel initramfs
	$(Q)$(TOP)/rootfs/init/build-ext4.sh --size 12 $(GUEST_INITRAMFS) $(E2E_ROOT_EXT4)
	$(Q)$(TOP)/rootfs/init/build-ext4.sh --size 8 $(TOP)/policy/examples/ci-checkout \
		$(E2E_SCRATCH_EXT4)

MAKE_IMAGE := $(TOP)/tests/e2e/make-image.sh
e2e-images: deps-kernel
	$(Q)mkdir -p $(E2E_IMAGES)
	$(Q)$(MAKE_IMAGE) $(E2E_IMAGES) --format oci --layers 3 >/dev/null
	$(Q)$(MAKE_IMAGE) $(E2E_IMAGES) --format docker --name vmjail-docker \
		--cmd '["sh","-c","echo hello from docker; exit 7"]' >/dev/null
	$(Q)$(MAKE_IMAGE) $(E2E_IMAGES) --format oci --name vmjail-config \
		--entrypoint '["sh","-c"]' \
		--cmd '["echo \"$$GREETING from $$(pwd) as $$(id -u):$$(id -g)\""]' \
		--env '["PATH=/bin","GREETING=hi"]' --workdir /home/app --user app >/dev/null
	$(Q)$(MAKE_IMAGE) $(E2E_IMAGES) --format oci --name vmjail-workdir --cmd '["pwd"]' \
		--workdir /made/by/the/agent >/dev/null
	$(Q)for k in dotdot absolute symlink device; do \
		$(MAKE_IMAGE) $(E2E_IMAGES) --format oci --name hostile-$$k --hostile $$k \
			--cmd "[\"echo\",\"$$k\"]" >/dev/null || exit 1; done
	$(Q)$(MAKE_IMAGE) $(E2E_IMAGES) --format docker --name hostile-digest --hostile digest \
		--cmd '["echo","digest"]' >/dev/null

# The launcher's two sides as test drivers, for a guest under a bare VMM:
# agent-drive (the agent's session) and vmm-ctl (the VMM's control
# channel), from tests/integration/build.mk.
E2E_DRIVERS := $(AGENT_DRIVE) $(VMM_CTL_DRIVER)

e2e-image: deps-e2e kernel e2e-guest-initramfs initramfs e2e-ext4 e2e-images binaries \
		$(JAIL_VMM) $(VHOST) $(E2E_DRIVERS)
	$(Q)E2E_IMAGES=$(E2E_IMAGES) $(TOP)/tests/e2e/build-testhost.sh $(E2E_DIR) $(GUEST_KERNEL) \
		$(E2E_GUEST_INITRD) $(GUEST_INITRAMFS) $(E2E_ROOT_EXT4) $(E2E_SCRATCH_EXT4) \
		$(E2E_PROGRAMS) $(VHOST) $(E2E_DRIVERS)

e2e: e2e-image
	$(Q)BUILD=$(BUILD) $(TOP)/tests/run-suite integration $(E2E_RUN)

INTEGRATION_TESTS += $(E2E_RUN) $(TOP)/tests/integration/testhost-watchdog.sh \
	$(TOP)/tests/integration/e2e-freeze-retry.sh \
	$(TOP)/tests/integration/testhost-lost-wakeup.sh
TEST_DEPS += e2e-image
