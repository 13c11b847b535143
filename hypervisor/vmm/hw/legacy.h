/* The PC legacy devices of cloud-vmm's core: the 8250 UART, the i8042
 * controller (reset line), the debug port, the CMOS RTC and the ACPI PM
 * registers. Each registers its ports and adds itself to the VM's device list
 * (vm_device_add), which owns it from then on. */
#ifndef NUBE_VMM_HW_LEGACY_H
#define NUBE_VMM_HW_LEGACY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct vm;

#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_COM1_IRQ 4
/* Guests write one byte (a milestone code) per event; cloud-vmm records the
 * time of each write. Port 0xe9 is also QEMU's isa-debugcon default, so the
 * same guest marks milestones under both monitors. */
#define DEBUGPORT_PORT 0xe9

struct serial;
/* COM1. Output goes to @out_fd; input comes from @in_fd (-1 for none), read
 * on the event loop thread. The fds stay the caller's. */
struct serial *serial_create(struct vm *vm, int out_fd, int in_fd, struct err *err);

struct i8042;
struct i8042 *i8042_create(struct vm *vm, struct err *err);
/* Inject Ctrl-Alt-Del as keyboard scan codes (set 1, as the controller
 * translates); returns -1 if the guest has not enabled the keyboard. */
int i8042_ctrl_alt_del(void *kbd);

struct debugport;
struct debugport *debugport_create(struct vm *vm, struct err *err);

struct rtc;
struct rtc *rtc_create(struct vm *vm, struct err *err);

struct pm;
struct pm *pm_create(struct vm *vm, struct err *err);
/* Press the ACPI power button (fixed event, raises the SCI when enabled). */
void pm_power_button(void *pm);

#endif
