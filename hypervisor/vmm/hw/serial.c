/* 8250/16550A UART (COM1 at 0x3f8, IRQ 4): what Linux's 8250 driver and
 * SeaBIOS need, with interrupts so the console is not polled. Transmission is
 * instant, so THR is always empty and THRE interrupts follow each write. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "hw/legacy.h"
#include "mem.h"
#include "state.h"
#include "log.h"
#include "vmm.h"

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define SERIAL_FIFO 64

struct serial {
    struct vm *vm;
    pthread_mutex_t lock;
    int out_fd, in_fd;
    /* registers */
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thri_pending;
    uint8_t rx[SERIAL_FIFO];
    uint32_t rx_head, rx_count;
    bool irq_level;
    /* counters */
    uint64_t tx_bytes, rx_bytes, rx_dropped;
};

static uint8_t
serial_iir(const struct serial *s)
{
    uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;
    if ((s->ier & UART_IER_RDI) && s->rx_count)
        return UART_IIR_RDI | fifo;
    if ((s->ier & UART_IER_THRI) && s->thri_pending)
        return UART_IIR_THRI | fifo;
    return UART_IIR_NO_INT | fifo;
}

static void
serial_update_irq(struct serial *s)
{
    bool level = !(serial_iir(s) & UART_IIR_NO_INT);
    if (level != s->irq_level) {
        s->irq_level = level;
        vm_irq_line(s->vm, SERIAL_COM1_IRQ, level);
    }
}

static void
rx_push(struct serial *s, uint8_t c)
{
    if (s->rx_count == SERIAL_FIFO) {
        s->rx_dropped++;
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO] = c;
    s->rx_count++;
    s->rx_bytes++;
}

static uint8_t
rx_pop(struct serial *s)
{
    if (!s->rx_count)
        return 0;
    uint8_t c = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
    s->rx_count--;
    return c;
}

static void
serial_tx(struct serial *s, uint8_t c)
{
    if (s->mcr & UART_MCR_LOOP) {
        rx_push(s, c);
    } else if (s->out_fd >= 0) {
        ssize_t r;
        do {
            r = write(s->out_fd, &c, 1);
        } while (r < 0 && errno == EINTR);
        s->tx_bytes++;
    }
    s->thri_pending = true;
}

static uint8_t
serial_msr(const struct serial *s)
{
    if (!(s->mcr & UART_MCR_LOOP))
        return 0xb0; /* DCD, DSR, CTS */
    uint8_t m = 0;
    if (s->mcr & 0x01)
        m |= 0x20; /* DTR -> DSR */
    if (s->mcr & 0x02)
        m |= 0x10; /* RTS -> CTS */
    if (s->mcr & 0x04)
        m |= 0x40; /* OUT1 -> RI */
    if (s->mcr & 0x08)
        m |= 0x80; /* OUT2 -> DCD */
    return m;
}

static void
serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
    struct serial *s = opaque;
    if (size != 1) {
        if (!is_write)
            memset(data, 0xff, size);
        return;
    }
    pthread_mutex_lock(&s->lock);
    bool dlab = s->lcr & UART_LCR_DLAB;
    if (is_write) {
        uint8_t v = data[0];
        switch (offset) {
        case 0:
            if (dlab)
                s->dll = v;
            else
                serial_tx(s, v);
            break;
        case 1:
            if (dlab) {
                s->dlm = v;
            } else {
                /* enabling THRI with an empty THR raises it at once */
                if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
                    s->thri_pending = true;
                s->ier = v & 0x0f;
            }
            break;
        case 2:
            s->fcr = v & 0xc9;
            if (v & UART_FCR_CLEAR_RX)
                s->rx_count = 0;
            break;
        case 3:
            s->lcr = v;
            break;
        case 4:
            s->mcr = v & 0x1f;
            break;
        case 7:
            s->scr = v;
            break;
        default: /* LSR, MSR: read-only */
            break;
        }
    } else {
        uint8_t v = 0;
        switch (offset) {
        case 0:
            v = dlab ? s->dll : rx_pop(s);
            break;
        case 1:
            v = dlab ? s->dlm : s->ier;
            break;
        case 2:
            v = serial_iir(s);
            if ((v & 0x0f) == UART_IIR_THRI)
                s->thri_pending = false; /* reading IIR acknowledges THRE */
            break;
        case 3:
            v = s->lcr;
            break;
        case 4:
            v = s->mcr;
            break;
        case 5:
            v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
            break;
        case 6:
            v = serial_msr(s);
            break;
        case 7:
            v = s->scr;
            break;
        }
        data[0] = v;
    }
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static void
serial_input(void *opaque, uint32_t events)
{
    struct serial *s = opaque;
    uint8_t buf[SERIAL_FIFO];
    ssize_t n = read(s->in_fd, buf, sizeof(buf));
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR) || (events & (EPOLLHUP | EPOLLERR))) {
            vm_loop_del_fd(s->vm, s->in_fd); /* end of input */
            s->in_fd = -1;
        }
        return;
    }
    pthread_mutex_lock(&s->lock);
    for (ssize_t i = 0; i < n; i++)
        rx_push(s, buf[i]);
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static void
serial_reset(void *dev)
{
    struct serial *s = dev;
    pthread_mutex_lock(&s->lock);
    s->ier = s->lcr = s->mcr = s->scr = s->fcr = 0;
    s->dll = 0x0c; /* 9600 baud */
    s->dlm = 0;
    s->thri_pending = false;
    s->rx_head = s->rx_count = 0;
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static int
serial_save(void *dev, struct state_writer *w, struct err *err)
{
    (void)err;
    struct serial *s = dev;
    pthread_mutex_lock(&s->lock);
    state_put_u8(w, "ier", s->ier);
    state_put_u8(w, "lcr", s->lcr);
    state_put_u8(w, "mcr", s->mcr);
    state_put_u8(w, "scr", s->scr);
    state_put_u8(w, "dll", s->dll);
    state_put_u8(w, "dlm", s->dlm);
    state_put_u8(w, "fcr", s->fcr);
    state_put_bool(w, "thri_pending", s->thri_pending);
    uint8_t rx[SERIAL_FIFO];
    for (uint32_t i = 0; i < s->rx_count; i++)
        rx[i] = s->rx[(s->rx_head + i) % SERIAL_FIFO];
    state_put_bytes(w, "rx", rx, s->rx_count);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int
serial_load(void *dev, struct state_reader *r, uint32_t version, struct err *err)
{
    struct serial *s = dev;
    if (version != 1)
        return err_set(err, ERR_UNSUPPORTED, "serial state version %u", version);
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    bool thri;
    if (state_get_u8(r, "ier", &ier, err) < 0 || state_get_u8(r, "lcr", &lcr, err) < 0 ||
        state_get_u8(r, "mcr", &mcr, err) < 0 || state_get_u8(r, "scr", &scr, err) < 0 ||
        state_get_u8(r, "dll", &dll, err) < 0 || state_get_u8(r, "dlm", &dlm, err) < 0 ||
        state_get_u8(r, "fcr", &fcr, err) < 0 || state_get_bool(r, "thri_pending", &thri, err) < 0)
        return -1;
    uint8_t rx[SERIAL_FIFO];
    uint32_t n;
    if (state_get_blob(r, "rx", rx, sizeof(rx), &n, err) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    s->ier = ier & 0x0f, s->lcr = lcr, s->mcr = mcr & 0x1f, s->scr = scr;
    s->dll = dll, s->dlm = dlm, s->fcr = fcr & 0xc9, s->thri_pending = thri;
    memcpy(s->rx, rx, n);
    s->rx_head = 0;
    s->rx_count = n;
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void
serial_stats(void *dev, char *buf, size_t len)
{
    struct serial *s = dev;
    pthread_mutex_lock(&s->lock);
    snprintf(buf, len, "tx %llu rx %llu dropped %llu", (unsigned long long)s->tx_bytes,
             (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_dropped);
    pthread_mutex_unlock(&s->lock);
}

static void
serial_free(void *dev)
{
    struct serial *s = dev;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct vm_device_ops serial_ops = {
    .name = "serial",
    .state_version = 1,
    .reset = serial_reset,
    .save = serial_save,
    .load = serial_load,
    .stats = serial_stats,
    .free = serial_free,
};

struct serial *
serial_create(struct vm *vm, int out_fd, int in_fd, struct err *err)
{
    struct serial *s = xzalloc(sizeof(*s));
    s->vm = vm;
    s->out_fd = out_fd;
    s->in_fd = -1;
    s->dll = 0x0c;
    pthread_mutex_init(&s->lock, NULL);
    if (vm_io_register(vm, VM_IO_PIO, SERIAL_COM1_PORT, 8, serial_io, s, err) < 0) {
        serial_free(s);
        return NULL;
    }
    vm_device_add(vm, &serial_ops, s);
    if (in_fd < 0)
        return s;
    if (vm_loop_add_fd(vm, in_fd, EPOLLIN, serial_input, s, err) == 0) {
        s->in_fd = in_fd;
    } else if (err && err->errnum == EPERM) {
        /* epoll refuses regular files and /dev/null: a console without input */
        log_info("console input (fd %d) cannot be polled; serial input is off", in_fd);
        err_clear(err);
    } else {
        return NULL; /* the VM owns s now and frees it */
    }
    return s;
}
