/* Split virtqueue, device side: see virtqueue.h. */
#include "virtqueue.h"

#include <string.h>

#include "log.h"

/* Ring layout (virtio 1.x, 2.7.6 and 2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4

static inline uint16_t
load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static inline void
store16_release(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELEASE);
}

void
virtq_init(struct virtq *q, struct vm *vm, uint16_t max_size)
{
    memset(q, 0, sizeof(*q));
    q->vm = vm;
    q->max_size = max_size;
    virtq_reset(q);
}

void
virtq_reset(struct virtq *q)
{
    struct vm *vm = q->vm;
    uint16_t max = q->max_size;
    memset(q, 0, sizeof(*q));
    q->vm = vm;
    q->max_size = max;
    q->size = max;
    q->msix_vector = 0xffff; /* VIRTIO_MSI_NO_VECTOR */
}

int
virtq_enable(struct virtq *q)
{
    uint32_t n = q->size;
    q->enabled = false;
    if (n == 0 || n > q->max_size || (n & (n - 1)))
        return -1;
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
        return -1;
    q->desc = vm_guest_ptr(q->vm, q->desc_gpa, 16ULL * n);
    q->avail = vm_guest_ptr(q->vm, q->avail_gpa, 6ULL + 2ULL * n);
    q->used = vm_guest_ptr(q->vm, q->used_gpa, 6ULL + 8ULL * n);
    if (!q->desc || !q->avail || !q->used) {
        q->desc = NULL;
        q->avail = q->used = NULL;
        return -1;
    }
    q->enabled = true;
    return 0;
}

static int
virtq_violation(struct virtq *q, const char *what)
{
    /* the transport reports it (rate-limited) when it sets NEEDS_RESET */
    log_debug("virtqueue at %#llx: %s; queue stopped", (unsigned long long)q->desc_gpa, what);
    q->broken = true;
    q->error = what;
    return -1;
}

bool
virtq_has_avail(struct virtq *q)
{
    if (!q->enabled || q->broken)
        return false;
    return load16(q->avail + AVAIL_IDX) != q->last_avail;
}

int
virtq_pop(struct virtq *q, struct virtq_elem *e, struct iovec *iov, unsigned iov_max)
{
    if (q->broken)
        return -1;
    if (!q->enabled)
        return 0;
    uint16_t avail_idx = load16(q->avail + AVAIL_IDX);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return virtq_violation(q, "avail index ran ahead of the ring");
    uint16_t head = load16(q->avail + AVAIL_RING + 2u * (q->last_avail & (q->size - 1u)));
    if (head >= q->size)
        return virtq_violation(q, "head descriptor index out of range");

    const uint8_t *table = (const uint8_t *)q->desc;
    uint32_t table_size = q->size;
    uint32_t idx = head;
    uint32_t visited = 0;
    bool in_indirect = false;
    unsigned n = 0;
    e->head = head;
    e->out_num = e->in_num = 0;
    e->out_len = e->in_len = 0;
    e->iov = iov;
    for (;;) {
        /* A chain visits each descriptor of its table at most once, so a longer
         * walk is a loop (or a chain longer than the queue, which the spec
         * forbids as well). */
        if (++visited > table_size)
            return virtq_violation(q, "descriptor chain loops or exceeds the queue size");
        struct virtq_desc d;
        memcpy(&d, table + 16u * idx, sizeof(d)); /* one snapshot: no double fetch */
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect)
                return virtq_violation(q, "indirect descriptor not negotiated");
            if (in_indirect)
                return virtq_violation(q, "nested indirect descriptor");
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return virtq_violation(q, "indirect descriptor with NEXT");
            if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE)
                return virtq_violation(q, "bad indirect table length");
            table = vm_guest_ptr(q->vm, d.addr, d.len);
            if (!table)
                return virtq_violation(q, "indirect table outside guest memory");
            table_size = d.len / 16;
            idx = 0;
            visited = 0;
            in_indirect = true;
            continue;
        }
        if (d.flags & VIRTQ_DESC_F_WRITE) {
            e->in_num++;
            e->in_len += d.len;
        } else {
            if (e->in_num)
                return virtq_violation(q, "readable descriptor after a writable one");
            e->out_num++;
            e->out_len += d.len;
        }
        if (d.len) {
            void *p = vm_guest_ptr(q->vm, d.addr, d.len);
            if (!p)
                return virtq_violation(q, "buffer outside guest memory");
            if (n >= iov_max)
                return virtq_violation(q, "too many segments in a chain");
            iov[n].iov_base = p;
            iov[n].iov_len = d.len;
            n++;
        } else if (d.flags & VIRTQ_DESC_F_WRITE) {
            e->in_num--; /* empty segments carry nothing: drop them */
        } else {
            e->out_num--;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        idx = d.next;
        if (idx >= table_size)
            return virtq_violation(q, "next descriptor index out of range");
    }
    q->last_avail++;
    return 1;
}

void
virtq_unpop(struct virtq *q, uint16_t n)
{
    q->last_avail = (uint16_t)(q->last_avail - n);
}

void
virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
    if (!q->enabled)
        return;
    uint8_t *ent = q->used + USED_RING + 8u * (q->used_idx & (q->size - 1u));
    uint32_t id = head;
    memcpy(ent, &id, 4);
    memcpy(ent + 4, &len, 4);
    q->used_idx++;
    store16_release(q->used + USED_IDX, q->used_idx);
}

bool
virtq_should_notify(struct virtq *q)
{
    if (!q->enabled)
        return false;
    /* order the used->idx store before reading the driver's flags */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return !(load16(q->avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

size_t
iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t c = iov[i].iov_len - skip;
        if (c > len - done)
            c = len - done;
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, c);
        done += c;
        skip = 0;
    }
    return done;
}

size_t
iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t c = iov[i].iov_len - skip;
        if (c > len - done)
            c = len - done;
        memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, c);
        done += c;
        skip = 0;
    }
    return done;
}
