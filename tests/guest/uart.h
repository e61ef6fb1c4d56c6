/* 16550 registers on COM1, as the guest driver sees them. */
#ifndef VJ_GUEST_UART_H
#define VJ_GUEST_UART_H

#include "vmm/layout.h"

#define UART_THR (VJ_PORT_COM1 + 0) /* write, DLAB = 0 */
#define UART_RBR (VJ_PORT_COM1 + 0) /* read, DLAB = 0 */
#define UART_DLL (VJ_PORT_COM1 + 0) /* DLAB = 1 */
#define UART_IER (VJ_PORT_COM1 + 1)
#define UART_DLM (VJ_PORT_COM1 + 1) /* DLAB = 1 */
#define UART_IIR (VJ_PORT_COM1 + 2) /* read */
#define UART_FCR (VJ_PORT_COM1 + 2) /* write */
#define UART_LCR (VJ_PORT_COM1 + 3)
#define UART_MCR (VJ_PORT_COM1 + 4)
#define UART_LSR (VJ_PORT_COM1 + 5)
#define UART_MSR (VJ_PORT_COM1 + 6)
#define UART_SCR (VJ_PORT_COM1 + 7)

#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID 0x0f
#define UART_IIR_THRI 0x02
#define UART_IIR_FIFO_BITS 0xc0
#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR 0x06
#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* gates the IRQ line on PCs */
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_STATUS 0xf0 /* DCD RI DSR CTS */

#endif
