/* MC146818 CMOS RTC at ports 0x70/0x71: the time (BCD, 24 h, from the host's
 * UTC clock plus an offset the guest may set), status registers, and the
 * NVRAM bytes a PC BIOS (SeaBIOS) reads for the memory size and CPU count.
 * No periodic or alarm interrupt yet. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "boot/boot.h"
#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "vm.h"

#define RTC_INDEX 0x70
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

struct rtc {
    struct vm *vm;
    pthread_mutex_t lock;
    uint8_t index;
    uint8_t cmos[128];
    int64_t offset; /* guest time - host time, seconds */
};

static uint8_t
bcd(int v)
{
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int
from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

/* Fill the time registers from the host clock. */
static void
rtc_now(struct rtc *r)
{
    time_t t = time(NULL) + (time_t)r->offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    bool binary = r->cmos[RTC_REG_B] & 0x04;
#define ENC(v) (binary ? (uint8_t)(v) : bcd(v))
    r->cmos[0x00] = ENC(tm.tm_sec);
    r->cmos[0x02] = ENC(tm.tm_min);
    r->cmos[0x04] = ENC(tm.tm_hour);
    r->cmos[0x06] = ENC(tm.tm_wday + 1);
    r->cmos[0x07] = ENC(tm.tm_mday);
    r->cmos[0x08] = ENC(tm.tm_mon + 1);
    r->cmos[0x09] = ENC(tm.tm_year % 100);
    r->cmos[RTC_CENTURY] = ENC((tm.tm_year + 1900) / 100);
#undef ENC
}

/* The guest set the clock: remember the difference to the host's. */
static void
rtc_set_offset(struct rtc *r)
{
    bool binary = r->cmos[RTC_REG_B] & 0x04;
#define DEC(v) (binary ? (int)(v) : from_bcd(v))
    struct tm tm = {
        .tm_sec = DEC(r->cmos[0x00]),
        .tm_min = DEC(r->cmos[0x02]),
        .tm_hour = DEC(r->cmos[0x04]),
        .tm_mday = DEC(r->cmos[0x07]),
        .tm_mon = DEC(r->cmos[0x08]) - 1,
        .tm_year = DEC(r->cmos[RTC_CENTURY]) * 100 + DEC(r->cmos[0x09]) - 1900,
    };
#undef DEC
    time_t t = timegm(&tm);
    if (t != (time_t)-1)
        r->offset = (int64_t)(t - time(NULL));
}

static void
rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct rtc *r = opaque;
    pthread_mutex_lock(&r->lock);
    if (offset == 0) {
        if (is_write)
            r->index = data[0] & 0x7f; /* bit 7 masks NMIs */
        else
            data[0] = 0xff;
    } else if (is_write) {
        uint8_t i = r->index;
        switch (i) {
        case RTC_REG_A:
            r->cmos[i] = data[0] & 0x7f; /* UIP is read-only */
            break;
        case RTC_REG_C:
        case RTC_REG_D:
            break; /* read-only */
        default:
            r->cmos[i] = data[0];
            if (i <= 0x09 || i == RTC_CENTURY)
                rtc_set_offset(r);
            break;
        }
    } else {
        uint8_t i = r->index;
        if (i <= 0x09 || i == RTC_CENTURY)
            rtc_now(r);
        data[0] = r->cmos[i];
        if (i == RTC_REG_C)
            r->cmos[i] = 0; /* reading C clears the interrupt flags */
    }
    for (uint32_t b = 1; b < size; b++)
        if (!is_write)
            data[b] = 0xff;
    pthread_mutex_unlock(&r->lock);
}

static void
rtc_nvram_init(struct rtc *r)
{
    const struct guest_mem *mem = &r->vm->mem;
    uint64_t low = guest_mem_low_end(mem);
    uint64_t high = mem->nregions > 1 ? mem->region[1].size : 0;
    memset(r->cmos, 0, sizeof(r->cmos));
    r->cmos[RTC_REG_A] = 0x26;                  /* 32.768 kHz divider, 1024 Hz rate */
    r->cmos[RTC_REG_B] = 0x02;                  /* 24 hour, BCD */
    r->cmos[RTC_REG_D] = 0x80;                  /* valid RAM and time */
    r->cmos[0x14] = 0x06;                       /* equipment: FPU, VGA/EGA none: 80-col colour */
    r->cmos[0x15] = 0x80, r->cmos[0x16] = 0x02; /* 640 KiB base memory */
    uint64_t ext = low > BOOT_HIGH_START ? (low - BOOT_HIGH_START) >> 10 : 0;
    if (ext > 0xffff)
        ext = 0xffff;
    r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext;
    r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext >> 8);
    uint64_t above16 = low > (16 << 20) ? (low - (16 << 20)) >> 16 : 0;
    if (above16 > 0xffff)
        above16 = 0xffff;
    r->cmos[0x34] = (uint8_t)above16, r->cmos[0x35] = (uint8_t)(above16 >> 8);
    uint64_t above4g = high >> 16;
    r->cmos[0x5b] = (uint8_t)above4g;
    r->cmos[0x5c] = (uint8_t)(above4g >> 8);
    r->cmos[0x5d] = (uint8_t)(above4g >> 16);
    r->cmos[0x5f] = (uint8_t)(r->vm->ncpus - 1); /* SeaBIOS: CPU count - 1 */
}

static void
rtc_reset(void *dev)
{
    struct rtc *r = dev;
    pthread_mutex_lock(&r->lock);
    r->index = 0;
    r->cmos[RTC_REG_B] &= 0x06; /* keep the data mode; interrupts off */
    r->cmos[RTC_REG_C] = 0;
    pthread_mutex_unlock(&r->lock);
}

static int
rtc_save(void *dev, struct state_writer *w, struct err *err)
{
    (void)err;
    struct rtc *r = dev;
    pthread_mutex_lock(&r->lock);
    state_put_u8(w, "index", r->index);
    state_put_bytes(w, "cmos", r->cmos, sizeof(r->cmos));
    state_put_u64(w, "offset", (uint64_t)r->offset);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int
rtc_load(void *dev, struct state_reader *rd, uint32_t version, struct err *err)
{
    struct rtc *r = dev;
    uint8_t index, cmos[128];
    uint64_t offset;
    if (version != 1)
        return err_set(err, ERR_UNSUPPORTED, "rtc state version %u", version);
    if (state_get_u8(rd, "index", &index, err) < 0 ||
        state_get_bytes(rd, "cmos", cmos, sizeof(cmos), err) < 0 ||
        state_get_u64(rd, "offset", &offset, err) < 0)
        return -1;
    pthread_mutex_lock(&r->lock);
    r->index = index & 0x7f;
    memcpy(r->cmos, cmos, sizeof(cmos));
    r->offset = (int64_t)offset;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void
rtc_free(void *dev)
{
    struct rtc *r = dev;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static const struct vm_device_ops rtc_ops = {
    .name = "rtc",
    .state_version = 1,
    .reset = rtc_reset,
    .save = rtc_save,
    .load = rtc_load,
    .free = rtc_free,
};

struct rtc *
rtc_create(struct vm *vm, struct err *err)
{
    struct rtc *r = xzalloc(sizeof(*r));
    r->vm = vm;
    pthread_mutex_init(&r->lock, NULL);
    rtc_nvram_init(r);
    if (vm_io_register(vm, VM_IO_PIO, RTC_INDEX, 2, rtc_io, r, err) < 0) {
        rtc_free(r);
        return NULL;
    }
    vm_device_add(vm, &rtc_ops, r);
    return r;
}
