/* Fuzz harness for the parsers of cloud-vmm's boot and state code that take
 * bytes from outside: the bzImage setup header, ELF program headers and
 * notes (PVH entry), and device-state streams (snapshots, migration). The
 * first input byte picks the parser.
 *
 * With -DNUBE_FUZZ=ON (clang) fuzz_boot is a libFuzzer binary. Every build
 * also has fuzz_boot_replay, which ctest runs: it builds valid seeds of each
 * kind and feeds the harness deterministic mutations of them (byte flips,
 * extreme values, truncations), so sanitizer builds check the parsers'
 * bounds on every run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_state(const uint8_t *data, size_t size)
{
    struct err err = ERR_INIT;
    struct state_reader *r = state_reader_new(data, size, &err);
    if (!r)
        return;
    char name[STATE_NAME_MAX + 1];
    uint32_t version;
    int sections = 0;
    while (state_reader_next(r, name, &version, &err) == 1 && sections++ < 1000) {
        uint8_t u8, blob[256];
        uint16_t u16;
        uint32_t u32, n;
        uint64_t u64;
        state_get_u8(r, "ier", &u8, &err);
        state_get_u16(r, "pm1_en", &u16, &err);
        state_get_u32(r, "counter", &u32, &err);
        state_get_u64(r, "offset", &u64, &err);
        if (state_get_blob(r, "cmos", blob, sizeof(blob), &n, &err) == 0 && n > sizeof(blob))
            abort();
    }
    state_reader_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct err err = ERR_INIT;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        struct boot_bzimage bz;
        if (boot_bzimage_parse(p, n, &bz, &err) == 0 &&
            (bz.setup_size >= n || bz.header_end > bz.setup_size || bz.version < 0x020c))
            abort(); /* accepted something it promised to refuse */
        break;
    }
    case 1: {
        struct boot_elf elf;
        if (boot_elf_parse(p, n, &elf, &err) == 0) {
            if (elf.nloads < 1 || elf.nloads > BOOT_ELF_MAX_LOADS)
                abort();
            for (int i = 0; i < elf.nloads; i++)
                if (elf.load[i].filesz > elf.load[i].memsz)
                    abort();
        }
        break;
    }
    default:
        fuzz_state(p, n);
        break;
    }
    return 0;
}

#ifndef NUBE_LIBFUZZER

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
put(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* Seeds: the selector byte, then a valid input of that kind. */
static size_t
seed_bzimage(uint8_t *b)
{
    memset(b, 0, 4096);
    b[0] = 0;
    uint8_t *k = b + 1;
    k[0x1f1] = 2;
    put(k + 0x1fe, 0xaa55, 2);
    k[0x201] = 0x66;
    memcpy(k + 0x202, "HdrS", 4);
    put(k + 0x206, 0x020f, 2);
    k[0x211] = 1;
    put(k + 0x236, 1, 2);
    put(k + 0x238, 2047, 4);
    return 1 + 3 * 512 + 100;
}

static size_t
seed_elf(uint8_t *b)
{
    memset(b, 0, 4096);
    b[0] = 1;
    uint8_t *e = b + 1;
    memcpy(e,
           "\x7f"
           "ELF",
           4);
    e[4] = 2, e[5] = 1;
    put(e + 18, 62, 2);
    put(e + 32, 64, 8);
    put(e + 54, 56, 2);
    put(e + 56, 2, 2);
    uint8_t *ph = e + 64;
    put(ph, 1, 4), put(ph + 8, 0x200, 8), put(ph + 24, 0x200000, 8), put(ph + 32, 16, 8);
    put(ph + 40, 4096, 8);
    ph += 56;
    put(ph, 4, 4), put(ph + 8, 0x180, 8), put(ph + 32, 24, 8);
    uint8_t *note = e + 0x180;
    put(note, 4, 4), put(note + 4, 8, 4), put(note + 8, XEN_ELFNOTE_PHYS32_ENTRY, 4);
    memcpy(note + 12, "Xen", 4);
    put(note + 16, 0x200000, 8);
    return 1 + 0x210;
}

static size_t
seed_state(uint8_t *b)
{
    struct err err = ERR_INIT;
    struct state_writer *w = state_writer_new();
    state_section_begin(w, "serial", 1, &err);
    state_put_u8(w, "ier", 3);
    state_put_u32(w, "counter", 7);
    uint8_t cmos[128] = {1, 2, 3};
    state_put_bytes(w, "cmos", cmos, sizeof(cmos));
    state_section_end(w, &err);
    state_section_begin(w, "pm", 2, &err);
    state_put_u16(w, "pm1_en", 0x100);
    state_put_u64(w, "offset", 42);
    state_section_end(w, &err);
    size_t len;
    const uint8_t *d = state_writer_data(w, &len);
    b[0] = 2;
    memcpy(b + 1, d, len);
    state_writer_free(w);
    return 1 + len;
}

int
main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    size_t (*seeds[])(uint8_t *) = {seed_bzimage, seed_elf, seed_state};
    static uint8_t seed[4096], buf[4096];
    long runs = 0;
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t len = seeds[s](seed);
        LLVMFuzzerTestOneInput(seed, len); /* the seed itself */
        runs++;
        for (long i = 0; i < rounds; i++) {
            memcpy(buf, seed, len);
            size_t n = len;
            int edits = 1 + (int)(next() % 8);
            for (int e = 0; e < edits; e++) {
                size_t at = 1 + (size_t)(next() % (n - 1));
                switch (next() % 4) {
                case 0: /* flip a byte */
                    buf[at] ^= (uint8_t)(1 + next() % 255);
                    break;
                case 1: /* an extreme 32-bit value */
                    if (at + 4 <= n)
                        put(buf + at, (next() & 1) ? 0xffffffffu : 0x80000000u, 4);
                    break;
                case 2: /* zero a byte */
                    buf[at] = 0;
                    break;
                default: /* truncate */
                    n = 1 + (size_t)(next() % (n - 1));
                    break;
                }
                if (n < 2)
                    break;
            }
            /* the input is copied to an exact-size heap block so that an
             * over-read is caught by AddressSanitizer */
            uint8_t *exact = malloc(n);
            memcpy(exact, buf, n);
            LLVMFuzzerTestOneInput(exact, n);
            free(exact);
            runs++;
        }
    }
    printf("%ld inputs, no crash\n", runs);
    return 0;
}

#endif
