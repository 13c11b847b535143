/* i8042 keyboard controller: enough for Linux's i8042/atkbd probe, the reset
 * line (command 0xfe on port 0x64, Linux's reboot=k and its fallback), and
 * Ctrl-Alt-Del injection. No mouse (AUX) port. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "vm.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_IRQ 1

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_CMD 0x08
#define STS_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */
#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40
#define OUTQ 16

struct i8042 {
    struct vm *vm;
    pthread_mutex_t lock;
    uint8_t ctr;
    uint8_t status_cmd;  /* STS_CMD: last write went to the command port */
    uint8_t pending;     /* controller command waiting for its data byte */
    uint8_t kbd_pending; /* keyboard command waiting for its parameter */
    bool scanning;
    uint8_t outq[OUTQ];
    uint32_t head, count;
    bool irq_level;
    uint64_t resets;
};

static void
out_push(struct i8042 *k, uint8_t b)
{
    if (k->count < OUTQ) {
        k->outq[(k->head + k->count) % OUTQ] = b;
        k->count++;
    }
}

static void
update_irq(struct i8042 *k, bool retrigger)
{
    bool level = k->count && (k->ctr & CTR_KBD_INT);
    /* ISA IRQ 1 is edge-triggered: drop the line between bytes */
    if (retrigger && k->irq_level) {
        vm_irq_line(k->vm, I8042_IRQ, false);
        k->irq_level = false;
    }
    if (level != k->irq_level) {
        k->irq_level = level;
        vm_irq_line(k->vm, I8042_IRQ, level);
    }
}

static void
request_reset(struct i8042 *k)
{
    k->resets++;
    vm_request_exit(k->vm, VM_EXIT_REBOOT);
}

static void
kbd_command(struct i8042 *k, uint8_t v)
{
    if (k->kbd_pending) { /* parameter of 0xed, 0xf3, 0xf0 */
        uint8_t c = k->kbd_pending;
        k->kbd_pending = 0;
        out_push(k, 0xfa);
        if (c == 0xf0 && v == 0)
            out_push(k, 0x02); /* scan code set 2 */
        return;
    }
    switch (v) {
    case 0xed: /* set LEDs */
    case 0xf3: /* typematic rate */
    case 0xf0: /* scan code set */
        k->kbd_pending = v;
        out_push(k, 0xfa);
        break;
    case 0xf2: /* identify: MF2 keyboard */
        out_push(k, 0xfa), out_push(k, 0xab), out_push(k, 0x83);
        break;
    case 0xf4:
        k->scanning = true;
        out_push(k, 0xfa);
        break;
    case 0xf5:
        k->scanning = false;
        out_push(k, 0xfa);
        break;
    case 0xee: /* echo */
        out_push(k, 0xee);
        break;
    case 0xff: /* reset and self test */
        k->scanning = true;
        out_push(k, 0xfa), out_push(k, 0xaa);
        break;
    default:
        out_push(k, 0xfa);
        break;
    }
}

static void
controller_command(struct i8042 *k, uint8_t v)
{
    switch (v) {
    case 0x20: /* read CTR */
        out_push(k, k->ctr);
        break;
    case 0x60: /* write CTR */
    case 0xd1: /* write output port */
    case 0xd2: /* write keyboard output buffer */
    case 0xd3: /* write AUX output buffer (Linux's AUX loopback test) */
    case 0xd4: /* write to the AUX device: there is none, the byte is dropped */
        k->pending = v;
        break;
    case 0xa7:
        k->ctr |= CTR_AUX_DISABLE;
        break;
    case 0xa8:
        k->ctr &= (uint8_t)~CTR_AUX_DISABLE;
        break;
    case 0xa9: /* AUX interface test: "clock line stuck low", i.e. no AUX port */
        out_push(k, 0x01);
        break;
    case 0xaa: /* controller self test */
        k->ctr |= CTR_SYS;
        out_push(k, 0x55);
        break;
    case 0xab: /* keyboard interface test */
        out_push(k, 0x00);
        break;
    case 0xad:
        k->ctr |= CTR_KBD_DISABLE;
        break;
    case 0xae:
        k->ctr &= (uint8_t)~CTR_KBD_DISABLE;
        break;
    case 0xfe: /* pulse output line 0: CPU reset */
        request_reset(k);
        break;
    default: /* 0xf0-0xff pulse other lines, others are ignored */
        break;
    }
}

static void
i8042_io(struct i8042 *k, uint16_t port, uint8_t *data, uint32_t size, bool is_write)
{
    pthread_mutex_lock(&k->lock);
    bool retrigger = false;
    if (!is_write) {
        if (port == I8042_CMD) {
            data[0] = (uint8_t)((k->count ? STS_OBF : 0) | (k->ctr & CTR_SYS ? STS_SYS : 0) |
                                k->status_cmd | STS_UNLOCKED);
        } else {
            data[0] = k->count ? k->outq[k->head] : 0;
            if (k->count) {
                k->head = (k->head + 1) % OUTQ;
                k->count--;
                retrigger = true;
            }
        }
        for (uint32_t i = 1; i < size; i++)
            data[i] = 0xff;
    } else if (port == I8042_CMD) {
        k->status_cmd = STS_CMD;
        k->pending = 0;
        /* a new command discards an answer nobody read (the AUX loopback's) */
        k->head = k->count = 0;
        retrigger = true;
        controller_command(k, data[0]);
    } else {
        k->status_cmd = 0;
        uint8_t pending = k->pending;
        k->pending = 0;
        switch (pending) {
        case 0x60:
            k->ctr = data[0];
            break;
        case 0xd1:
            if (!(data[0] & 0x01)) /* reset line driven low */
                request_reset(k);
            break;
        case 0xd2:
            out_push(k, data[0]);
            break;
        case 0xd3:
            /* An AT-style controller with no AUX port: the byte comes back
             * without the AUX status bit, so Linux's loopback and MUX tests
             * fail at once instead of waiting 500 ms each for an answer. */
            out_push(k, data[0]);
            break;
        case 0xd4:
            break;
        default:
            kbd_command(k, data[0]);
            break;
        }
    }
    update_irq(k, retrigger);
    pthread_mutex_unlock(&k->lock);
}

static void
i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    (void)offset;
    i8042_io(opaque, I8042_DATA, data, size, is_write);
}

static void
i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    (void)offset;
    i8042_io(opaque, I8042_CMD, data, size, is_write);
}

int
i8042_ctrl_alt_del(void *opaque)
{
    struct i8042 *k = opaque;
    static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
    static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
                                   0x71, 0xf0, 0x11, 0xf0, 0x14};
    int rc = -1;
    pthread_mutex_lock(&k->lock);
    if (!(k->ctr & CTR_KBD_DISABLE) && (k->ctr & CTR_KBD_INT)) {
        const uint8_t *seq = (k->ctr & CTR_XLATE) ? set1 : set2;
        size_t n = (k->ctr & CTR_XLATE) ? sizeof(set1) : sizeof(set2);
        if (k->count + n <= OUTQ) {
            for (size_t i = 0; i < n; i++)
                out_push(k, seq[i]);
            rc = 0;
        }
        update_irq(k, false);
    }
    pthread_mutex_unlock(&k->lock);
    return rc;
}

static void
i8042_reset(void *dev)
{
    struct i8042 *k = dev;
    pthread_mutex_lock(&k->lock);
    k->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
    k->status_cmd = 0;
    k->pending = k->kbd_pending = 0;
    k->scanning = true;
    k->head = k->count = 0;
    update_irq(k, false);
    pthread_mutex_unlock(&k->lock);
}

static int
i8042_save(void *dev, struct state_writer *w, struct err *err)
{
    (void)err;
    struct i8042 *k = dev;
    pthread_mutex_lock(&k->lock);
    state_put_u8(w, "ctr", k->ctr);
    state_put_u8(w, "status_cmd", k->status_cmd);
    state_put_u8(w, "pending", k->pending);
    state_put_u8(w, "kbd_pending", k->kbd_pending);
    state_put_bool(w, "scanning", k->scanning);
    uint8_t q[OUTQ];
    for (uint32_t i = 0; i < k->count; i++)
        q[i] = k->outq[(k->head + i) % OUTQ];
    state_put_bytes(w, "outq", q, k->count);
    pthread_mutex_unlock(&k->lock);
    return 0;
}

static int
i8042_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct i8042 *k = dev;
    if (version != 1)
        return err_set(err, ERR_UNSUPPORTED, "i8042 state version %u", version);
    uint8_t ctr, sc, pending, kp, q[OUTQ];
    bool scanning;
    uint32_t n;
    if (state_get_u8(r, "ctr", &ctr, err) < 0 || state_get_u8(r, "status_cmd", &sc, err) < 0 ||
        state_get_u8(r, "pending", &pending, err) < 0 ||
        state_get_u8(r, "kbd_pending", &kp, err) < 0 ||
        state_get_bool(r, "scanning", &scanning, err) < 0 ||
        state_get_blob(r, "outq", q, sizeof(q), &n, err) < 0)
        return -1;
    pthread_mutex_lock(&k->lock);
    k->ctr = ctr, k->status_cmd = sc & STS_CMD, k->pending = pending, k->kbd_pending = kp;
    k->scanning = scanning;
    memcpy(k->outq, q, n);
    k->head = 0, k->count = n;
    update_irq(k, false);
    pthread_mutex_unlock(&k->lock);
    return 0;
}

static void
i8042_stats(void *dev, char *buf, size_t len)
{
    struct i8042 *k = dev;
    pthread_mutex_lock(&k->lock);
    snprintf(buf, len, "resets %llu", (unsigned long long)k->resets);
    pthread_mutex_unlock(&k->lock);
}

static void
i8042_free(void *dev)
{
    struct i8042 *k = dev;
    pthread_mutex_destroy(&k->lock);
    free(k);
}

static const struct vm_device_ops i8042_ops = {
    .name = "i8042",
    .state_version = 1,
    .reset = i8042_reset,
    .save = i8042_save,
    .load = i8042_load,
    .stats = i8042_stats,
    .free = i8042_free,
};

struct i8042 *
i8042_create(struct vm *vm, struct err *err)
{
    struct i8042 *k = xzalloc(sizeof(*k));
    k->vm = vm;
    pthread_mutex_init(&k->lock, NULL);
    k->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
    k->scanning = true;
    if (vm_io_register(vm, VM_IO_PIO, I8042_DATA, 1, i8042_data_io, k, err) < 0) {
        i8042_free(k);
        return NULL;
    }
    if (vm_io_register(vm, VM_IO_PIO, I8042_CMD, 1, i8042_cmd_io, k, err) < 0) {
        vm_io_unregister(vm, VM_IO_PIO, I8042_DATA);
        i8042_free(k);
        return NULL;
    }
    vm_device_add(vm, &i8042_ops, k);
    vm_set_ctrl_alt_del(vm, i8042_ctrl_alt_del, k);
    return k;
}
