/* Split virtqueue handling against fake guest memory: well-formed chains,
 * indirect tables, and every kind of hostile ring the device must refuse
 * without touching memory outside the guest. */
#include <string.h>

#include "check.h"
#include "fake_vm.h"
#include "virtio/virtqueue.h"

#define RAM (1u << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define QSIZE 8

static struct vm *vm;
static uint8_t *ram;

static void
set_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct virtq_desc d = {addr, len, flags, next};
    memcpy(ram + table + 16u * i, &d, sizeof(d));
}

static void
put16(uint64_t gpa, uint16_t v)
{
    memcpy(ram + gpa, &v, 2);
}

static uint16_t
get16(uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, ram + gpa, 2);
    return v;
}

static uint32_t
get32(uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, ram + gpa, 4);
    return v;
}

/* Offer @head as the next available chain. */
static void
offer(uint16_t head)
{
    uint16_t idx = get16(AVAIL + 2);
    put16(AVAIL + 4 + 2u * (idx % QSIZE), head);
    put16(AVAIL + 2, (uint16_t)(idx + 1));
}

static void
fresh(struct virtq *q, bool indirect)
{
    memset(ram, 0, RAM);
    virtq_init(q, vm, QSIZE);
    q->desc_gpa = DESC;
    q->avail_gpa = AVAIL;
    q->used_gpa = USED;
    q->indirect = indirect;
    CHECK_INT(virtq_enable(q), 0);
}

static void
test_enable(void)
{
    struct virtq q;
    virtq_init(&q, vm, QSIZE);
    q.desc_gpa = DESC;
    q.avail_gpa = AVAIL;
    q.used_gpa = USED;
    q.size = 6; /* not a power of two */
    CHECK_INT(virtq_enable(&q), -1);
    q.size = 16; /* above the maximum */
    CHECK_INT(virtq_enable(&q), -1);
    q.size = QSIZE;
    q.desc_gpa = DESC + 8; /* misaligned */
    CHECK_INT(virtq_enable(&q), -1);
    q.desc_gpa = RAM - 64; /* runs off the end of RAM */
    CHECK_INT(virtq_enable(&q), -1);
    q.desc_gpa = DESC;
    q.used_gpa = UINT64_MAX - 3; /* wraps around */
    CHECK_INT(virtq_enable(&q), -1);
    CHECK(!q.enabled);
    q.used_gpa = USED;
    CHECK_INT(virtq_enable(&q), 0);
    CHECK(q.enabled);
}

static void
test_normal_chain(void)
{
    struct virtq q;
    struct virtq_elem e;
    struct iovec iov[16];
    fresh(&q, false);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 0); /* empty */
    set_desc(DESC, 3, 0x10000, 16, VIRTQ_DESC_F_NEXT, 5);
    set_desc(DESC, 5, 0x11000, 512, VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, 0x12000, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2); /* empty: dropped */
    set_desc(DESC, 2, 0x13000, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(3);
    CHECK(virtq_has_avail(&q));
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 1);
    CHECK_INT(e.head, 3);
    CHECK_INT(e.out_num, 2);
    CHECK_INT(e.in_num, 1);
    CHECK_INT(e.out_len, 528);
    CHECK_INT(e.in_len, 1);
    CHECK(iov[0].iov_base == ram + 0x10000 && iov[0].iov_len == 16);
    CHECK(iov[1].iov_base == ram + 0x11000 && iov[1].iov_len == 512);
    CHECK(iov[2].iov_base == ram + 0x13000 && iov[2].iov_len == 1);
    CHECK(!virtq_has_avail(&q));
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 0);

    virtq_push(&q, 3, 1);
    CHECK_INT(get16(USED + 2), 1);
    CHECK_INT(get32(USED + 4), 3);
    CHECK_INT(get32(USED + 8), 1);
    CHECK(virtq_should_notify(&q));
    put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK(!virtq_should_notify(&q));

    /* give it back and pop it again */
    offer(2);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 1);
    virtq_unpop(&q, 1);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 1);
    CHECK_INT(e.head, 2);
    CHECK(!q.broken);
}

static void
test_indirect(void)
{
    struct virtq q;
    struct virtq_elem e;
    struct iovec iov[16];
    uint64_t table = 0x20000;
    fresh(&q, true);
    set_desc(table, 0, 0x30000, 16, VIRTQ_DESC_F_NEXT, 2);
    set_desc(table, 2, 0x31000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    set_desc(table, 1, 0x32000, 1, VIRTQ_DESC_F_WRITE, 0);
    set_desc(DESC, 0, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), 1);
    CHECK_INT(e.out_num, 1);
    CHECK_INT(e.in_num, 2);
    CHECK_INT(e.in_len, 4097);
    CHECK(iov[1].iov_base == ram + 0x31000);

    /* a direct chain ending in an indirect table */
    set_desc(DESC, 4, 0x40000, 16, VIRTQ_DESC_F_NEXT, 6);
    set_desc(DESC, 6, table + 16, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0); /* entries 1, 2 */
    set_desc(table, 1, 0x32000, 8, VIRTQ_DESC_F_NEXT, 1);            /* 1 -> 1: loop */
    offer(4);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), -1);
    CHECK(q.broken);
    CHECK_INT(virtq_pop(&q, &e, iov, 16), -1); /* stays broken */
}

/* One malformed chain at head 0 must break the queue. */
static void
expect_violation(const char *what, bool indirect, void (*setup)(void), unsigned iov_max)
{
    struct virtq q;
    struct virtq_elem e;
    struct iovec iov[16];
    fresh(&q, indirect);
    setup();
    int r = virtq_pop(&q, &e, iov, iov_max);
    if (r != -1 || !q.broken)
        fprintf(stderr, "violation not caught: %s\n", what);
    CHECK_INT(r, -1);
    CHECK(q.broken);
    CHECK(!virtq_has_avail(&q));
}

static void
setup_loop(void)
{
    set_desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0);
    offer(0);
}

static void
setup_self_loop(void)
{
    set_desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0);
    offer(0);
}

static void
setup_too_long(void)
{
    /* every descriptor of the table, then back to the first: longer than the queue */
    for (uint16_t i = 0; i < QSIZE; i++)
        set_desc(DESC, i, 0x10000, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSIZE));
    offer(0);
}

static void
setup_addr_out(void)
{
    set_desc(DESC, 0, RAM - 4, 8, 0, 0);
    offer(0);
}

static void
setup_addr_wrap(void)
{
    set_desc(DESC, 0, UINT64_MAX - 2, 16, 0, 0);
    offer(0);
}

static void
setup_next_out(void)
{
    set_desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, QSIZE);
    offer(0);
}

static void
setup_head_out(void)
{
    offer(QSIZE + 3);
}

static void
setup_avail_ahead(void)
{
    set_desc(DESC, 0, 0x10000, 8, 0, 0);
    put16(AVAIL + 2, QSIZE + 1);
}

static void
setup_write_then_read(void)
{
    set_desc(DESC, 0, 0x10000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, 0x11000, 8, 0, 0);
    offer(0);
}

static void
setup_indirect_not_negotiated(void)
{
    set_desc(0x20000, 0, 0x10000, 8, 0, 0);
    set_desc(DESC, 0, 0x20000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_indirect_nested(void)
{
    set_desc(0x20000, 0, 0x21000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(0x21000, 0, 0x10000, 8, 0, 0);
    set_desc(DESC, 0, 0x20000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_indirect_bad_len(void)
{
    set_desc(DESC, 0, 0x20000, 24, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_indirect_out(void)
{
    set_desc(DESC, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_indirect_next(void)
{
    set_desc(0x20000, 0, 0x10000, 8, 0, 0);
    set_desc(DESC, 0, 0x20000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, 0x10000, 8, 0, 0);
    offer(0);
}

static void
setup_indirect_next_out(void)
{
    set_desc(0x20000, 0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 2); /* table has 2 entries */
    set_desc(DESC, 0, 0x20000, 32, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_indirect_huge(void)
{
    set_desc(DESC, 0, 0x20000, 16 * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void
setup_many_segments(void)
{
    for (uint16_t i = 0; i < 4; i++)
        set_desc(DESC, i, 0x10000 + 0x100u * i, 8, i < 3 ? VIRTQ_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    offer(0);
}

static void
test_violations(void)
{
    expect_violation("two-descriptor loop", false, setup_loop, 16);
    expect_violation("self loop", false, setup_self_loop, 16);
    expect_violation("chain longer than the queue", false, setup_too_long, 16);
    expect_violation("buffer past the end of RAM", false, setup_addr_out, 16);
    expect_violation("buffer address wraps", false, setup_addr_wrap, 16);
    expect_violation("next index out of range", false, setup_next_out, 16);
    expect_violation("head index out of range", false, setup_head_out, 16);
    expect_violation("avail index ahead of the ring", false, setup_avail_ahead, 16);
    expect_violation("writable before readable", false, setup_write_then_read, 16);
    expect_violation("indirect not negotiated", false, setup_indirect_not_negotiated, 16);
    expect_violation("nested indirect", true, setup_indirect_nested, 16);
    expect_violation("indirect length not a multiple of 16", true, setup_indirect_bad_len, 16);
    expect_violation("indirect table past RAM", true, setup_indirect_out, 16);
    expect_violation("indirect with NEXT", true, setup_indirect_next, 16);
    expect_violation("indirect next out of range", true, setup_indirect_next_out, 16);
    expect_violation("indirect table too large", true, setup_indirect_huge, 16);
    expect_violation("more segments than the device takes", false, setup_many_segments, 3);
}

static void
test_wraparound(void)
{
    struct virtq q;
    struct virtq_elem e;
    struct iovec iov[4];
    fresh(&q, false);
    /* the driver and device both near the 16-bit wrap */
    q.last_avail = 65534;
    q.used_idx = 65534;
    put16(AVAIL + 2, 65534);
    put16(USED + 2, 65534);
    for (uint16_t i = 0; i < 5; i++) {
        set_desc(DESC, i, 0x10000 + 0x100u * i, 32, VIRTQ_DESC_F_WRITE, 0);
        offer(i);
    }
    CHECK_INT(get16(AVAIL + 2), 3); /* wrapped */
    for (uint16_t i = 0; i < 5; i++) {
        CHECK_INT(virtq_pop(&q, &e, iov, 4), 1);
        CHECK_INT(e.head, i);
        CHECK(iov[0].iov_base == ram + 0x10000 + 0x100u * i);
        virtq_push(&q, e.head, 32);
    }
    CHECK_INT(virtq_pop(&q, &e, iov, 4), 0);
    CHECK_INT(q.last_avail, 3);
    CHECK_INT(get16(USED + 2), 3);
    /* entries landed at idx % size: 65534 % 8 = 6, then 7, 0, 1, 2 */
    CHECK_INT(get32(USED + 4 + 8 * 6), 0);
    CHECK_INT(get32(USED + 4 + 8 * 7), 1);
    CHECK_INT(get32(USED + 4 + 8 * 0), 2);
    CHECK_INT(get32(USED + 4 + 8 * 2), 4);
    CHECK(!q.broken);
}

static void
test_iov_copy(void)
{
    uint8_t a[3], b[5], out[8];
    struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    CHECK_INT(iov_from_buf(iov, 2, 2, "abcdefgh", 8), 6);
    CHECK_INT(a[2], 'a');
    CHECK_INT(b[0], 'b');
    CHECK_INT(b[4], 'f');
    memset(out, 0, sizeof(out));
    CHECK_INT(iov_to_buf(iov, 2, 2, out, sizeof(out)), 6);
    CHECK(memcmp(out, "abcdef", 6) == 0);
    CHECK_INT(iov_to_buf(iov, 2, 9, out, sizeof(out)), 0);
}

int
main(void)
{
    vm = fake_vm_new(RAM);
    ram = fake_vm_ram(vm);
    test_enable();
    test_normal_chain();
    test_indirect();
    test_violations();
    test_wraparound();
    test_iov_copy();
    fake_vm_free(vm);
    return check_done();
}
