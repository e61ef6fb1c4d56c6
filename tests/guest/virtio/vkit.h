/*
 * What the hostile scenarios (evil.c) need from each device's driver:
 * bring it up from reset, send it a malformed chain and check the
 * device-specific outcome, and prove it still works.
 */
#ifndef VJ_VGUEST_VKIT_H
#define VJ_VGUEST_VKIT_H

#include "vio.h"

/* Guest-physical addresses that are never RAM (the test VMs have 64 MiB). */
#define EVIL_NOT_RAM 0x100000000000ull
#define EVIL_LEN_4G 0xfffff000u

enum evil_shape {
	EVIL_OUTSIDE_RAM, /* a buffer outside guest memory */
	EVIL_LOOP,        /* descriptor 0 -> 1 -> 0 */
	EVIL_LEN_NEAR_4G, /* a buffer of almost 4 GiB */
	EVIL_NESTED,      /* an indirect table pointing to an indirect table */
};

struct kit {
	const char *name;
	uint32_t device_id;
	unsigned nqueues;
	void (*up)(void);              /* reset and full initialisation */
	struct vio_dev *(*dev)(void);
	struct vio_q *(*queue)(void);  /* the queue requests go to */
	void (*bad)(enum evil_shape);  /* submit, wait, check the outcome */
	void (*healthy)(void);         /* a good request on the same queues */
};

extern const struct kit kit_blk, kit_net, kit_rng, kit_vsock;

/* Makes a chain the caller wrote into q->desc (at most descriptors 0-3)
 * available, kicks, and returns the used length (fails on time-out). */
uint32_t kit_submit_raw(struct vio_q *q, uint16_t head);

#endif
