/* The versioned device-state serializer (hypervisor/vmm/state.c): a round
 * trip of every field type over several sections, lookups by name in any
 * order, skipping unknown sections and fields, and rejection of malformed,
 * truncated and mismatched streams. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "state.h"

static void
test_round_trip(void)
{
    struct err err = ERR_INIT;
    struct state_writer *w = state_writer_new();
    CHECK_INT(state_section_begin(w, "serial", 1, &err), 0);
    state_put_u8(w, "ier", 0x0f);
    state_put_u16(w, "pm1_en", 0x0120);
    state_put_u32(w, "counter", 0xdeadbeef);
    state_put_u64(w, "big", 0x0123456789abcdefULL);
    state_put_bool(w, "flag", true);
    uint8_t fifo[5] = {1, 2, 3, 4, 5};
    state_put_bytes(w, "rx", fifo, sizeof(fifo));
    state_put_bytes(w, "empty", NULL, 0);
    CHECK_INT(state_section_begin(w, "nested", 1, &err), -1); /* no nesting */
    CHECK_INT(state_section_end(w, &err), 0);
    CHECK_INT(state_section_end(w, &err), -1); /* nothing open */
    CHECK_INT(state_section_begin(w, "future-device", 7, &err), 0);
    state_put_u32(w, "x", 1);
    CHECK_INT(state_section_end(w, &err), 0);
    CHECK_INT(state_section_begin(w, "rtc", 2, &err), 0);
    uint8_t cmos[128];
    for (int i = 0; i < 128; i++)
        cmos[i] = (uint8_t)(i * 3);
    state_put_bytes(w, "cmos", cmos, sizeof(cmos));
    state_put_u64(w, "offset", (uint64_t)-3600);
    CHECK_INT(state_section_end(w, &err), 0);

    size_t len;
    const uint8_t *buf = state_writer_data(w, &len);
    CHECK(len > 12);
    CHECK(memcmp(buf, "NUBESTAT", 8) == 0);

    struct state_reader *r = state_reader_new(buf, len, &err);
    CHECK(r != NULL);
    char name[STATE_NAME_MAX + 1];
    uint32_t version;
    CHECK_INT(state_reader_next(r, name, &version, &err), 1);
    CHECK_STR(name, "serial");
    CHECK_INT(version, 1);
    /* fields by name, in another order than written */
    uint64_t big;
    uint32_t counter;
    uint16_t en;
    uint8_t ier;
    bool flag;
    CHECK_INT(state_get_u64(r, "big", &big, &err), 0);
    CHECK_INT(big, 0x0123456789abcdefULL);
    CHECK_INT(state_get_u8(r, "ier", &ier, &err), 0);
    CHECK_INT(ier, 0x0f);
    CHECK_INT(state_get_u32(r, "counter", &counter, &err), 0);
    CHECK_INT(counter, 0xdeadbeef);
    CHECK_INT(state_get_u16(r, "pm1_en", &en, &err), 0);
    CHECK_INT(en, 0x0120);
    CHECK_INT(state_get_bool(r, "flag", &flag, &err), 0);
    CHECK(flag);
    uint8_t got[8];
    uint32_t n;
    CHECK_INT(state_get_blob(r, "rx", got, sizeof(got), &n, &err), 0);
    CHECK_INT(n, 5);
    CHECK(memcmp(got, fifo, 5) == 0);
    CHECK_INT(state_get_blob(r, "rx", got, 4, &n, &err), -1); /* longer than the buffer */
    CHECK_INT(state_get_bytes(r, "rx", got, 4, &err), -1);    /* wrong exact length */
    CHECK_INT(state_get_bytes(r, "empty", got, 0, &err), 0);
    /* a missing field says so; a field of another type is an error */
    CHECK_INT(state_get_u8(r, "nope", &ier, &err), -1);
    CHECK_INT(err.code, ERR_NOT_FOUND);
    CHECK_INT(state_get_u32(r, "ier", &counter, &err), -1);
    CHECK_INT(err.code, ERR_INVALID);
    /* fields of the next section are not visible from this one */
    CHECK_INT(state_get_u32(r, "x", &counter, &err), -1);

    CHECK_INT(state_reader_next(r, name, &version, &err), 1);
    CHECK_STR(name, "future-device"); /* a loader skips it by moving on */
    CHECK_INT(version, 7);
    CHECK_INT(state_reader_next(r, name, &version, &err), 1);
    CHECK_STR(name, "rtc");
    CHECK_INT(version, 2);
    uint8_t cmos2[128];
    uint64_t off;
    CHECK_INT(state_get_bytes(r, "cmos", cmos2, sizeof(cmos2), &err), 0);
    CHECK(memcmp(cmos, cmos2, sizeof(cmos)) == 0);
    CHECK_INT(state_get_u64(r, "offset", &off, &err), 0);
    CHECK_INT((int64_t)off, -3600);
    CHECK_INT(state_reader_next(r, name, &version, &err), 0);
    state_reader_free(r);

    /* every truncation of the stream is either rejected or ends early, never read past */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        struct err e2 = ERR_INIT;
        struct state_reader *tr = state_reader_new(copy, cut, &e2);
        if (tr) {
            int rc;
            int sections = 0;
            while ((rc = state_reader_next(tr, name, &version, &e2)) == 1) {
                sections++;
                uint8_t b8;
                state_get_u8(tr, "ier", &b8, &e2);
                state_get_bytes(tr, "cmos", cmos2, sizeof(cmos2), &e2);
            }
            CHECK(rc == -1 || sections <= 3);
            state_reader_free(tr);
        }
        free(copy);
    }
    state_writer_free(w);
}

static void
test_rejects(void)
{
    struct err err = ERR_INIT;
    CHECK(state_reader_new((const uint8_t *)"NOTSTATExxxx", 12, &err) == NULL);
    uint8_t v2[12] = {'N', 'U', 'B', 'E', 'S', 'T', 'A', 'T', 2, 0, 0, 0};
    CHECK(state_reader_new(v2, sizeof(v2), &err) == NULL);
    CHECK_INT(err.code, ERR_UNSUPPORTED);

    /* a section whose length runs past the end */
    struct state_writer *w = state_writer_new();
    CHECK_INT(state_section_begin(w, "pm", 1, &err), 0);
    state_put_u16(w, "pm1_sts", 1);
    CHECK_INT(state_section_end(w, &err), 0);
    size_t len;
    const uint8_t *buf = state_writer_data(w, &len);
    uint8_t *bad = malloc(len);
    memcpy(bad, buf, len);
    bad[12 + 1 + 2 + 4] = 0xff; /* body length low byte */
    struct state_reader *r = state_reader_new(bad, len, &err);
    CHECK(r != NULL);
    char name[STATE_NAME_MAX + 1];
    uint32_t version;
    CHECK_INT(state_reader_next(r, name, &version, &err), -1);
    state_reader_free(r);
    /* an unknown field type inside a section */
    memcpy(bad, buf, len);
    bad[12 + 1 + 2 + 8] = 0x77;
    r = state_reader_new(bad, len, &err);
    CHECK_INT(state_reader_next(r, name, &version, &err), 1);
    uint16_t v;
    CHECK_INT(state_get_u16(r, "pm1_sts", &v, &err), -1);
    state_reader_free(r);
    free(bad);
    CHECK_INT(state_section_begin(w, "", 1, &err), -1);
    state_writer_free(w);
}

int
main(void)
{
    test_round_trip();
    test_rejects();
    return check_done();
}
