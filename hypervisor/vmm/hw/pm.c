/* ACPI fixed hardware as the FADT describes it (boot/acpi.c): PM1a event
 * (status/enable) and control registers, the 3.579545 MHz PM timer, GPE0, a
 * reset register, and the SCI on IRQ 9. Writing SLP_TYP=S5 with SLP_EN powers
 * the VM off; the control socket's "shutdown" presses the power button: it
 * sets PWRBTN_STS whatever the enable bits say, and the SCI (a level) is high
 * while an enabled status bit is set, until the guest writes 1 to clear it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot.h"
#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "vm.h"

#define PM1_TMR_STS 0x0001
#define PM1_PWRBTN_STS 0x0100
#define PM1_WAK_STS 0x8000
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000
#define PM_TIMER_HZ 3579545ULL

struct pm {
    struct vm *vm;
    pthread_mutex_t lock;
    uint16_t sts, en, cnt;
    uint16_t gpe_sts, gpe_en;
    bool sci_level;
    uint64_t timer_base_ns;
    uint64_t power_button_presses;
};

static void
pm_update_sci(struct pm *p)
{
    bool level = (p->sts & p->en & (PM1_TMR_STS | PM1_PWRBTN_STS)) || (p->gpe_sts & p->gpe_en);
    if (level != p->sci_level) {
        p->sci_level = level;
        vm_irq_line(p->vm, BOOT_SCI_IRQ, level);
    }
}

static uint32_t
pm_timer(struct pm *p)
{
    uint64_t ns = vm_now_ns() - p->timer_base_ns;
    /* ns * 3579545 / 1e9 without overflow for centuries of uptime */
    uint64_t ticks =
        (ns / 1000000000ULL) * PM_TIMER_HZ + (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL;
    return (uint32_t)(ticks & 0xffffff);
}

/* Apply a write to the 16-bit register @reg of which bytes [lo, lo+n) are given. */
static uint16_t
merge16(uint16_t reg, uint64_t offset_in_reg, const uint8_t *data, uint32_t n)
{
    uint16_t v = reg;
    for (uint32_t i = 0; i < n && offset_in_reg + i < 2; i++) {
        int sh = (int)(8 * (offset_in_reg + i));
        v = (uint16_t)((v & ~(0xff << sh)) | (data[i] << sh));
    }
    return v;
}

static void
pm1_write(struct pm *p, uint64_t offset, const uint8_t *data, uint32_t size)
{
    for (uint32_t i = 0; i < size; i++) {
        uint64_t o = offset + i;
        uint8_t b = data[i];
        if (o < 2) { /* PM1_STS: write 1 to clear */
            p->sts &= (uint16_t) ~((uint16_t)b << (8 * o));
        } else if (o < 4) {
            p->en = merge16(p->en, o - 2, &b, 1);
        } else if (o < 6) {
            uint16_t cnt = merge16(p->cnt, o - 4, &b, 1);
            if (cnt & PM1_CNT_SLP_EN) {
                unsigned slp_typ = (cnt >> 10) & 7;
                if (slp_typ == BOOT_S5_SLP_TYP) {
                    vm_request_exit(p->vm, VM_EXIT_POWEROFF);
                } else {
                    /* no other sleep state is offered: wake at once */
                    p->sts |= PM1_WAK_STS;
                }
            }
            p->cnt = (uint16_t)((cnt & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN);
        } else if (o == BOOT_PM_RESET - BOOT_PM_BASE) {
            if (b == BOOT_PM_RESET_VALUE)
                vm_request_exit(p->vm, VM_EXIT_REBOOT);
        }
    }
}

static void
pm1_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct pm *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (is_write) {
        pm1_write(p, offset, data, size);
    } else {
        uint8_t regs[BOOT_PM_LEN];
        memset(regs, 0, sizeof(regs));
        uint32_t tmr = pm_timer(p);
        regs[0] = (uint8_t)p->sts, regs[1] = (uint8_t)(p->sts >> 8);
        regs[2] = (uint8_t)p->en, regs[3] = (uint8_t)(p->en >> 8);
        regs[4] = (uint8_t)p->cnt, regs[5] = (uint8_t)(p->cnt >> 8);
        for (int i = 0; i < 4; i++)
            regs[8 + i] = (uint8_t)(tmr >> (8 * i));
        for (uint32_t i = 0; i < size; i++)
            data[i] = offset + i < sizeof(regs) ? regs[offset + i] : 0;
    }
    pm_update_sci(p);
    pthread_mutex_unlock(&p->lock);
}

static void
gpe_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct pm *p = opaque;
    pthread_mutex_lock(&p->lock);
    for (uint32_t i = 0; i < size; i++) {
        uint64_t o = offset + i;
        if (is_write) {
            if (o < 2)
                p->gpe_sts &= (uint16_t) ~((uint16_t)data[i] << (8 * o));
            else if (o < 4)
                p->gpe_en = merge16(p->gpe_en, o - 2, &data[i], 1);
        } else {
            uint16_t reg = o < 2 ? p->gpe_sts : p->gpe_en;
            data[i] = (uint8_t)(reg >> (8 * (o & 1)));
        }
    }
    pm_update_sci(p);
    pthread_mutex_unlock(&p->lock);
}

void
pm_power_button(void *opaque)
{
    struct pm *p = opaque;
    pthread_mutex_lock(&p->lock);
    p->sts |= PM1_PWRBTN_STS;
    p->power_button_presses++;
    pm_update_sci(p);
    pthread_mutex_unlock(&p->lock);
}

static void
pm_reset(void *dev)
{
    struct pm *p = dev;
    pthread_mutex_lock(&p->lock);
    p->sts = p->en = p->gpe_sts = p->gpe_en = 0;
    p->cnt = PM1_CNT_SCI_EN;
    pm_update_sci(p);
    pthread_mutex_unlock(&p->lock);
}

static int
pm_save(void *dev, struct state_writer *w, struct err *err)
{
    (void)err;
    struct pm *p = dev;
    pthread_mutex_lock(&p->lock);
    state_put_u16(w, "pm1_sts", p->sts);
    state_put_u16(w, "pm1_en", p->en);
    state_put_u16(w, "pm1_cnt", p->cnt);
    state_put_u16(w, "gpe0_sts", p->gpe_sts);
    state_put_u16(w, "gpe0_en", p->gpe_en);
    state_put_u32(w, "pm_tmr", pm_timer(p));
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int
pm_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct pm *p = dev;
    uint16_t sts, en, cnt, gs, ge;
    uint32_t tmr;
    if (version != 1)
        return err_set(err, ERR_UNSUPPORTED, "pm state version %u", version);
    if (state_get_u16(r, "pm1_sts", &sts, err) < 0 || state_get_u16(r, "pm1_en", &en, err) < 0 ||
        state_get_u16(r, "pm1_cnt", &cnt, err) < 0 || state_get_u16(r, "gpe0_sts", &gs, err) < 0 ||
        state_get_u16(r, "gpe0_en", &ge, err) < 0 || state_get_u32(r, "pm_tmr", &tmr, err) < 0)
        return -1;
    pthread_mutex_lock(&p->lock);
    p->sts = sts, p->en = en, p->cnt = cnt | PM1_CNT_SCI_EN, p->gpe_sts = gs, p->gpe_en = ge;
    /* continue the timer from the saved count */
    p->timer_base_ns = vm_now_ns() - (uint64_t)tmr * 1000000000ULL / PM_TIMER_HZ;
    pm_update_sci(p);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void
pm_stats(void *dev, char *buf, size_t len)
{
    struct pm *p = dev;
    pthread_mutex_lock(&p->lock);
    snprintf(buf, len, "power button presses %llu, pm1_sts 0x%04x, pm1_en 0x%04x, sci %s",
             (unsigned long long)p->power_button_presses, p->sts, p->en,
             p->sci_level ? "high" : "low");
    pthread_mutex_unlock(&p->lock);
}

static void
pm_free(void *dev)
{
    struct pm *p = dev;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const struct vm_device_ops pm_ops = {
    .name = "acpi-pm",
    .state_version = 1,
    .reset = pm_reset,
    .save = pm_save,
    .load = pm_load,
    .stats = pm_stats,
    .free = pm_free,
};

struct pm *
pm_create(struct vm *vm, struct err *err)
{
    struct pm *p = xzalloc(sizeof(*p));
    p->vm = vm;
    p->cnt = PM1_CNT_SCI_EN;
    p->timer_base_ns = vm_now_ns();
    pthread_mutex_init(&p->lock, NULL);
    if (vm_io_register(vm, VM_IO_PIO, BOOT_PM_BASE, BOOT_PM_LEN, pm1_io, p, err) < 0) {
        pm_free(p);
        return NULL;
    }
    if (vm_io_register(vm, VM_IO_PIO, BOOT_GPE0, BOOT_GPE0_LEN, gpe_io, p, err) < 0) {
        vm_io_unregister(vm, VM_IO_PIO, BOOT_PM_BASE);
        pm_free(p);
        return NULL;
    }
    vm_device_add(vm, &pm_ops, p);
    vm_set_power_button(vm, pm_power_button, p);
    return p;
}
