/* Exit statuses of vmjail-vmm, documented in README.md. */
#ifndef VJ_EXIT_H
#define VJ_EXIT_H

enum vj_exit_status {
	VJ_EXIT_GUEST_RESET = 0,   /* the guest reset or powered off */
	VJ_EXIT_CONFIG = 1,        /* bad flags, configuration or kernel image */
	VJ_EXIT_KVM = 2,           /* KVM or another host facility failed */
	VJ_EXIT_TRIPLE_FAULT = 3,  /* the guest triple-faulted */
	VJ_EXIT_EMULATION = 4,     /* KVM could not emulate or enter the guest */
	VJ_EXIT_STOPPED = 5,       /* stopped by SIGINT, SIGTERM or SIGHUP */
	VJ_EXIT_DEVICE = 6,        /* a device failed on the host side */
	VJ_EXIT_GUEST_PANIC = 7,   /* the guest reset with the warm-reboot flag: a Linux
				    * panic with reboot=panic_warm */
	VJ_EXIT_MIGRATED = 8,      /* the guest was migrated live and runs elsewhere */
	VJ_EXIT_MIGRATION = 9,     /* a migration could not be received: refused,
				    * cut off or malformed; or the source never
				    * confirmed, and the guest stopped so that it
				    * never runs twice */
};

#endif
