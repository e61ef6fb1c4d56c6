/* Constants shared by the virtio test guest's assembly and C code. */
#ifndef VJ_VGUEST_ABI_H
#define VJ_VGUEST_ABI_H

#define SEL_CODE64 0x10
#define SEL_DATA 0x18
#define SEL_UDATA 0x20
#define SEL_UCODE 0x28
#define SEL_TSS 0x30

#define VEC_VIRTIO 64
#define VEC_SPURIOUS 255

#endif
