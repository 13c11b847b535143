/* libFuzzer harness for the device side of split virtqueues: the input is a
 * small header and then the guest's memory image (descriptor table at 0, then
 * the avail and used rings, then whatever the descriptors point at). Every
 * popped segment must lie inside guest RAM; the rings are then completed as a
 * device would. Built with clang -fsanitize=fuzzer (NUBE_FUZZ=ON), and replayed
 * over tests/virtio/corpus by fuzz_replay.c in every build. */
#include "fuzz.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "virtio/virtqueue.h"

#define FUZZ_RAM (64u * 1024)
#define FUZZ_HDR 8

static void
check_segment(const uint8_t *ram, const struct iovec *iov)
{
    const uint8_t *p = iov->iov_base;
    if (p < ram || p > ram + FUZZ_RAM || iov->iov_len > (size_t)(ram + FUZZ_RAM - p)) {
        fprintf(stderr, "segment %p+%zu outside guest RAM %p+%u\n", iov->iov_base, iov->iov_len,
                (const void *)ram, FUZZ_RAM);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vm *vm;
    if (!vm)
        vm = fake_vm_new(FUZZ_RAM);
    if (size < FUZZ_HDR)
        return 0;
    uint8_t *ram = fake_vm_ram(vm);
    memset(ram, 0, FUZZ_RAM);
    size_t img = size - FUZZ_HDR < FUZZ_RAM ? size - FUZZ_HDR : FUZZ_RAM;
    memcpy(ram, data + FUZZ_HDR, img);

    /* header: log2 size, flags, last_avail, used_idx, iov_max */
    uint16_t qsize = (uint16_t)(1u << (data[0] % 9)); /* 1..256 */
    uint16_t last_avail, used_idx;
    memcpy(&last_avail, data + 2, 2);
    memcpy(&used_idx, data + 4, 2);
    unsigned iov_max = 1u + data[6] % 64;

    struct virtq q;
    virtq_init(&q, vm, 256);
    q.size = qsize;
    q.desc_gpa = 0;
    q.avail_gpa = 16u * qsize;
    q.used_gpa = (q.avail_gpa + 6u + 2u * qsize + 3u) & ~3ull;
    q.indirect = data[1] & 1;
    if (virtq_enable(&q) < 0)
        abort(); /* the layout above always fits */
    q.last_avail = last_avail;
    q.used_idx = used_idx;

    struct iovec iov[64];
    struct virtq_elem e;
    static const uint8_t pattern[64] = {0xa5};
    for (unsigned round = 0; round < 2u * qsize + 2; round++) {
        int r = virtq_pop(&q, &e, iov, iov_max);
        if (r < 0 && !q.broken)
            abort();
        if (r != 1)
            break;
        unsigned n = (unsigned)e.out_num + e.in_num;
        if (n > iov_max || e.head >= qsize)
            abort();
        uint64_t out = 0, in = 0;
        for (unsigned i = 0; i < n; i++) {
            check_segment(ram, &iov[i]);
            if (i < e.out_num)
                out += iov[i].iov_len;
            else
                in += iov[i].iov_len;
        }
        if (out != e.out_len || in != e.in_len)
            abort();
        /* a device reads what it was given and writes its answer */
        uint8_t sink[64];
        iov_to_buf(iov, e.out_num, 0, sink, sizeof(sink));
        size_t w = iov_from_buf(iov + e.out_num, e.in_num, 0, pattern, sizeof(pattern));
        virtq_push(&q, e.head, (uint32_t)w);
        virtq_should_notify(&q);
        if (data[1] & 2)
            virtq_unpop(&q, 0);
    }
    return 0;
}
