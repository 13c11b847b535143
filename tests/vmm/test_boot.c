/* Unit and golden tests of cloud-vmm's boot setup (hypervisor/vmm/boot/):
 * e820 for several memory sizes, page tables and GDT, ACPI tables (checksums,
 * MADT entries per vCPU count, byte-for-byte golden hex dumps), the zero page
 * of a synthetic bzImage, PVH note parsing and hvm_start_info of synthetic
 * ELF kernels, and the real Debian kernel's header when one is at hand.
 *
 * usage: test_boot GOLDEN_DIR [SOURCE_DIR]
 * NUBE_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing. */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot.h"
#include "check.h"

static const char *golden_dir;
static char tmpdir[] = "/tmp/nube-test-boot-XXXXXX";

static uint64_t
le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void
put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Guest RAM of @size bytes, lazily backed like the monitor's. */
static uint8_t *
ram_new(struct guest_mem *mem, uint64_t size)
{
    uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    guest_mem_layout(mem, p, size);
    return p;
}

static char *
hexdump(const uint8_t *p, size_t len, uint64_t addr)
{
    size_t cap = (len / 16 + 1) * 80 + 1, off = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < len; i += 16) {
        off += (size_t)snprintf(s + off, cap - off, "%08llx:", (unsigned long long)(addr + i));
        for (size_t j = i; j < i + 16 && j < len; j++)
            off += (size_t)snprintf(s + off, cap - off, " %02x", p[j]);
        off += (size_t)snprintf(s + off, cap - off, "\n");
    }
    s[off] = 0;
    return s;
}

/* Compare @text with GOLDEN_DIR/@name (or rewrite it). */
static void
check_golden(const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
    if (getenv("NUBE_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs(text, f);
            fclose(f);
        }
        printf("updated %s\n", path);
        return;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "missing golden file %s (NUBE_UPDATE_GOLDEN=1 writes it)\n", path);
        CHECK(f != NULL);
        return;
    }
    size_t cap = strlen(text) + 2;
    char *want = calloc(1, cap + 1);
    size_t n = fread(want, 1, cap, f);
    fclose(f);
    want[n] = 0;
    if (strcmp(want, text) != 0) {
        fprintf(stderr, "%s differs from the golden file; got:\n%s", name, text);
        CHECK(strcmp(want, text) == 0);
    } else {
        CHECK(1);
    }
    free(want);
}

/* ---- e820 ---- */

static char *
e820_text(uint64_t size)
{
    struct guest_mem mem;
    uint8_t *p = ram_new(&mem, size);
    struct e820_entry e[E820_MAX];
    int n = boot_e820_build(&mem, e, E820_MAX);
    char *s = malloc(1024);
    size_t off = (size_t)snprintf(s, 1024, "# %llu MiB\n", (unsigned long long)(size >> 20));
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(s + off, 1024 - off, "%016llx %016llx %u\n",
                                (unsigned long long)e[i].addr, (unsigned long long)e[i].size,
                                e[i].type);
    munmap(p, size);
    return s;
}

static void
test_e820(void)
{
    static const uint64_t sizes_mib[] = {2, 16, 128, 3072, 4096, 8192};
    size_t cap = 8192, off = 0;
    char *all = calloc(1, cap);
    for (size_t i = 0; i < sizeof(sizes_mib) / sizeof(sizes_mib[0]); i++) {
        uint64_t size = sizes_mib[i] << 20;
        struct guest_mem mem;
        uint8_t *p = ram_new(&mem, size);
        struct e820_entry e[E820_MAX];
        int n = boot_e820_build(&mem, e, E820_MAX);
        uint64_t ram = 0;
        for (int j = 0; j < n; j++) {
            if (e[j].type == E820_RAM)
                ram += e[j].size;
            if (j)
                CHECK(e[j].addr >= e[j - 1].addr + e[j - 1].size); /* sorted, disjoint */
            /* every RAM entry is backed by guest memory */
            if (e[j].type == E820_RAM)
                CHECK(guest_mem_ptr(&mem, e[j].addr, e[j].size) != NULL);
        }
        /* all RAM but the EBDA and the BIOS area is usable */
        CHECK_INT(ram, size - (0x100000 - BOOT_EBDA_START));
        CHECK_INT(mem.nregions, size > BOOT_LOWMEM_LIMIT ? 2 : 1);
        if (size > BOOT_LOWMEM_LIMIT) {
            CHECK_INT(mem.region[1].gpa, BOOT_HIGHMEM_START);
            CHECK_INT(e[n - 1].addr, BOOT_HIGHMEM_START);
            CHECK_INT(e[n - 1].size, size - BOOT_LOWMEM_LIMIT);
        }
        munmap(p, size);
        char *t = e820_text(size);
        off += (size_t)snprintf(all + off, cap - off, "%s", t);
        free(t);
    }
    check_golden("e820.txt", all);
    free(all);
}

static void
test_guest_ptr(void)
{
    struct guest_mem mem;
    uint64_t size = 4096ULL << 20;
    uint8_t *p = ram_new(&mem, size);
    CHECK(guest_mem_ptr(&mem, 0, 1) == p);
    CHECK(guest_mem_ptr(&mem, 0, 0) == p); /* len 0 is 1 */
    CHECK(guest_mem_ptr(&mem, BOOT_LOWMEM_LIMIT - 1, 1) != NULL);
    CHECK(guest_mem_ptr(&mem, BOOT_LOWMEM_LIMIT - 1, 2) == NULL); /* crosses into the hole */
    CHECK(guest_mem_ptr(&mem, BOOT_LOWMEM_LIMIT, 1) == NULL);
    CHECK(guest_mem_ptr(&mem, BOOT_HIGHMEM_START, 1) == p + BOOT_LOWMEM_LIMIT);
    CHECK(guest_mem_ptr(&mem, BOOT_HIGHMEM_START + (1ULL << 30) - 8, 8) != NULL);
    CHECK(guest_mem_ptr(&mem, BOOT_HIGHMEM_START + (1ULL << 30) - 8, 9) == NULL);
    CHECK(guest_mem_ptr(&mem, UINT64_MAX, 2) == NULL); /* gpa + len wraps */
    CHECK(guest_mem_ptr(&mem, 16, UINT64_MAX) == NULL);
    CHECK(guest_mem_ptr(&mem, BOOT_HIGHMEM_START + 16, UINT64_MAX - 8) == NULL);
    munmap(p, size);
}

/* ---- page tables, GDT ---- */

static void
test_x86_tables(void)
{
    struct guest_mem mem;
    uint64_t size = 16 << 20;
    uint8_t *p = ram_new(&mem, size);
    struct err err = ERR_INIT;
    CHECK_INT(boot_x86_tables(&mem, BOOT_MODE_LONG, &err), 0);
    const uint8_t *pml4 = p + BOOT_PML4_ADDR, *pdpt = p + BOOT_PDPT_ADDR;
    CHECK_INT(le(pml4, 8), BOOT_PDPT_ADDR | 3);
    CHECK_INT(le(pml4 + 8, 8), 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(le(pdpt + 8 * i, 8), (BOOT_PD_ADDR + 4096ULL * (uint64_t)i) | 3);
    CHECK_INT(le(pdpt + 32, 8), 0);
    /* walk a few addresses through the tables: identity, 2 MiB pages */
    static const uint64_t va[] = {0, 0x100000, 0x1234567, 0xc0000000, 0xfee00000, 0xffffffff};
    for (size_t i = 0; i < sizeof(va) / sizeof(va[0]); i++) {
        uint64_t e4 = le(pml4 + 8 * ((va[i] >> 39) & 511), 8);
        uint64_t e3 = le(p + (e4 & ~0xfffULL) + 8 * ((va[i] >> 30) & 511), 8);
        uint64_t e2 = le(p + (e3 & ~0xfffULL) + 8 * ((va[i] >> 21) & 511), 8);
        CHECK_INT(e2 & 0x83, 0x83);
        CHECK_INT((e2 & ~0x1fffffULL) | (va[i] & 0x1fffff), va[i]);
    }
    uint64_t gdt[BOOT_GDT_ENTRIES];
    boot_gdt_entries(BOOT_MODE_LONG, gdt);
    CHECK_INT(le(p + BOOT_GDT_ADDR + BOOT_SEL_CODE, 8), gdt[BOOT_SEL_CODE >> 3]);
    CHECK((gdt[BOOT_SEL_CODE >> 3] >> 53) & 1);    /* L: 64-bit code */
    CHECK(!((gdt[BOOT_SEL_CODE >> 3] >> 54) & 1)); /* D must be clear with L */
    boot_gdt_entries(BOOT_MODE_PROT32, gdt);
    CHECK(!((gdt[BOOT_SEL_CODE >> 3] >> 53) & 1));
    CHECK((gdt[BOOT_SEL_CODE >> 3] >> 54) & 1); /* 32-bit default size */
    CHECK_INT(gdt[BOOT_SEL_DATA >> 3], 0x00cf93000000ffffULL);
    munmap(p, size);
}

/* ---- ACPI ---- */

static const uint8_t *
acpi_table(const uint8_t *ram, uint64_t gpa, const char *sig)
{
    const uint8_t *t = ram + gpa;
    CHECK(memcmp(t, sig, 4) == 0);
    return t;
}

static void
check_table_sum(const uint8_t *t)
{
    uint32_t len = (uint32_t)le(t + 4, 4);
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + t[i]);
    if (sum != 0)
        fprintf(stderr, "table %.4s: checksum off by %u\n", (const char *)t, sum);
    CHECK_INT(sum, 0);
}

static void
test_acpi(int ncpus, const struct boot_pci_irq *irqs, int nirqs)
{
    struct guest_mem mem;
    uint64_t size = 16 << 20;
    uint8_t *ram = ram_new(&mem, size);
    struct boot_acpi_info info;
    struct err err = ERR_INIT;
    CHECK_INT(boot_acpi_build(&mem, ncpus, irqs, nirqs, &info, &err), 0);
    CHECK_INT(info.rsdp, BOOT_ACPI_ADDR);

    const uint8_t *rsdp = ram + info.rsdp;
    CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
    CHECK_INT(boot_acpi_checksum(rsdp, 20), 0);
    CHECK_INT(boot_acpi_checksum(rsdp, 36), 0);
    CHECK_INT(rsdp[15], 2);

    const uint8_t *xsdt = acpi_table(ram, le(rsdp + 24, 8), "XSDT");
    check_table_sum(xsdt);
    CHECK_INT(le(xsdt + 4, 4), 36 + 16);
    const uint8_t *fadt = acpi_table(ram, le(xsdt + 36, 8), "FACP");
    const uint8_t *madt = acpi_table(ram, le(xsdt + 44, 8), "APIC");
    check_table_sum(fadt);
    check_table_sum(madt);
    CHECK_INT(le(fadt + 4, 4), 276);
    CHECK_INT(le(fadt + 46, 2), BOOT_SCI_IRQ);
    CHECK_INT(le(fadt + 56, 4), BOOT_PM1_EVT);
    CHECK_INT(le(fadt + 64, 4), BOOT_PM1_CNT);
    CHECK_INT(le(fadt + 76, 4), BOOT_PM_TMR);
    CHECK_INT(fadt[116], 1); /* reset register in I/O space */
    CHECK_INT(le(fadt + 120, 8), BOOT_PM_RESET);
    CHECK_INT(fadt[128], BOOT_PM_RESET_VALUE);
    CHECK(le(fadt + 112, 4) & (1u << 10));    /* RESET_REG_SUP */
    CHECK(!(le(fadt + 112, 4) & (1u << 20))); /* not hardware-reduced */
    CHECK(!(le(fadt + 112, 4) & (1u << 4)));  /* fixed power button */
    CHECK_INT(le(fadt + 36, 4), 0);           /* FIRMWARE_CTRL: X_FIRMWARE_CTRL is used */
    const uint8_t *facs = acpi_table(ram, le(fadt + 132, 8), "FACS");
    CHECK_INT((uint64_t)(facs - ram) % 64, 0);
    const uint8_t *dsdt = acpi_table(ram, le(fadt + 40, 4), "DSDT");
    CHECK_INT(le(fadt + 140, 8), le(fadt + 40, 4));
    check_table_sum(dsdt);

    /* DSDT: Scope(\_SB) { Device(PCI0) {...} } then Name(\_S5, ...): the
     * scope's PkgLength must land exactly on the NameOp that follows */
    uint32_t dlen = (uint32_t)le(dsdt + 4, 4);
    const uint8_t *aml = dsdt + 36;
    CHECK_INT(aml[0], 0x10);
    uint32_t pkglen = aml[1] & 0x3f;
    int lead = aml[1] >> 6;
    if (lead)
        pkglen = aml[1] & 0xf;
    for (int i = 0; i < lead; i++)
        pkglen |= (uint32_t)aml[2 + i] << (4 + 8 * i);
    CHECK_INT(aml[1 + pkglen], 0x08);
    CHECK(memcmp(aml + 2 + pkglen, "\\_S5_", 5) == 0);
    CHECK(memmem(aml, dlen - 36, "PCI0", 4) != NULL);
    CHECK(memmem(aml, dlen - 36, "\x0c\x41\xd0\x0a\x03", 5) != NULL); /* EisaId("PNP0A03") */
    /* _PRT: one Package {0xSSSSFFFF, pin - 1, Zero, GSI} per routed interrupt */
    const uint8_t *prt = memmem(aml, dlen - 36, "_PRT", 4);
    CHECK((prt != NULL) == (nirqs > 0));
    if (prt) {
        const uint8_t *p = prt + 4;
        CHECK_INT(p[0], 0x12);
        p += 2 + (p[1] >> 6); /* PkgLength */
        CHECK_INT(p[0], nirqs);
        p++;
        for (int i = 0; i < nirqs; i++) {
            CHECK_INT(p[0], 0x12);
            CHECK_INT(p[2], 4);
            CHECK_INT(p[3], 0x0c);
            CHECK_INT(le(p + 4, 4), ((uint64_t)irqs[i].slot << 16) | 0xffff);
            p += 1 + p[1]; /* short PkgLength counts itself */
        }
    }
    /* \_S5 = Package(4) {5, 5, 0, 0} */
    const uint8_t *s5 = aml + 2 + pkglen + 5;
    static const uint8_t want_s5[] = {0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
    CHECK(memcmp(s5, want_s5, sizeof(want_s5)) == 0);
    CHECK_INT((uint64_t)(s5 + sizeof(want_s5) - dsdt), dlen);

    /* MADT: one enabled local APIC per vCPU, the IOAPIC, two overrides, LINT1 NMI */
    uint32_t mlen = (uint32_t)le(madt + 4, 4);
    CHECK_INT(le(madt + 36, 4), BOOT_LAPIC_ADDR);
    int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    bool sci_level = false;
    for (uint32_t off = 44; off + 2 <= mlen;) {
        const uint8_t *e = madt + off;
        CHECK(e[1] >= 2);
        if (e[1] < 2)
            break;
        switch (e[0]) {
        case 0:
            CHECK_INT(e[1], 8);
            CHECK_INT(e[3], lapics); /* APIC id = vCPU index */
            CHECK_INT(le(e + 4, 4), 1);
            lapics++;
            break;
        case 1:
            CHECK_INT(le(e + 4, 4), BOOT_IOAPIC_ADDR);
            CHECK_INT(le(e + 8, 4), 0);
            ioapics++;
            break;
        case 2:
            isos++;
            if (e[3] == BOOT_SCI_IRQ)
                sci_level = le(e + 8, 2) == 0x000d;
            if (e[3] == 0)
                CHECK_INT(le(e + 4, 4), 2);
            break;
        case 4:
            CHECK_INT(e[5], 1);
            nmis++;
            break;
        }
        off += e[1];
    }
    CHECK_INT(lapics, ncpus);
    CHECK_INT(ioapics, 1);
    CHECK_INT(isos, 2);
    CHECK(sci_level);
    CHECK_INT(nmis, 1);
    CHECK_INT(info.end, le(xsdt + 44, 8) + mlen);

    char name[64];
    snprintf(name, sizeof(name), "acpi-%dcpu%s.hex", ncpus, nirqs ? "-pci" : "");
    char *dump = hexdump(ram + BOOT_ACPI_ADDR, info.end - BOOT_ACPI_ADDR, BOOT_ACPI_ADDR);
    check_golden(name, dump);
    free(dump);

    CHECK_INT(boot_acpi_build(&mem, 0, NULL, 0, &info, &err), -1);
    CHECK_INT(boot_acpi_build(&mem, 255, NULL, 0, &info, &err), -1);
    static const struct boot_pci_irq bad[] = {{.slot = 32, .pin = 1, .gsi = 5}};
    CHECK_INT(boot_acpi_build(&mem, 1, bad, 1, &info, &err), -1);
    static const struct boot_pci_irq bad_pin[] = {{.slot = 3, .pin = 0, .gsi = 5}};
    CHECK_INT(boot_acpi_build(&mem, 1, bad_pin, 1, &info, &err), -1);
    munmap(ram, size);
}

/* ---- bzImage ---- */

#define SYN_SETUP_SECTS 2
#define SYN_KERNEL_SIZE 5000

static void
synthetic_bzimage(uint8_t *buf, size_t len)
{
    memset(buf, 0, len);
    buf[0x1f1] = SYN_SETUP_SECTS;
    put(buf + 0x1fe, 0xaa55, 2);
    buf[0x200] = 0xeb; /* jmp over the header */
    buf[0x201] = 0x66; /* header ends at 0x268 */
    memcpy(buf + 0x202, "HdrS", 4);
    put(buf + 0x206, 0x020f, 2);
    buf[0x211] = 0x01;               /* LOADED_HIGH */
    put(buf + 0x214, 0x100000, 4);   /* code32_start */
    put(buf + 0x22c, 0x7fffffff, 4); /* initrd_addr_max */
    put(buf + 0x230, 0x200000, 4);   /* kernel_alignment */
    buf[0x234] = 1;                  /* relocatable */
    put(buf + 0x236, 0x7f, 2);       /* xloadflags: 64-bit entry and friends */
    put(buf + 0x238, 2047, 4);       /* cmdline_size */
    put(buf + 0x258, 0x1000000, 8);  /* pref_address */
    put(buf + 0x260, 0x800000, 4);   /* init_size */
    for (size_t i = (SYN_SETUP_SECTS + 1) * 512; i < len; i++)
        buf[i] = (uint8_t)(i * 7);
}

static char *
write_tmp(const char *name, const void *data, size_t len)
{
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    return path;
}

static void
test_bzimage(void)
{
    size_t flen = (SYN_SETUP_SECTS + 1) * 512 + SYN_KERNEL_SIZE;
    uint8_t *img = malloc(flen);
    synthetic_bzimage(img, flen);
    struct boot_bzimage bz;
    struct err err = ERR_INIT;
    CHECK_INT(boot_bzimage_parse(img, flen, &bz, &err), 0);
    CHECK_INT(bz.version, 0x020f);
    CHECK_INT(bz.setup_sects, SYN_SETUP_SECTS);
    CHECK_INT(bz.setup_size, (SYN_SETUP_SECTS + 1) * 512);
    CHECK_INT(bz.header_end, 0x268);
    CHECK_INT(bz.cmdline_size, 2047);
    CHECK_INT(bz.initrd_addr_max, 0x7fffffff);
    CHECK_INT(bz.pref_address, 0x1000000);
    CHECK_INT(bz.init_size, 0x800000);

    /* rejections: bad magic, old protocol, no 64-bit entry, header past the setup */
    uint8_t *bad = malloc(flen);
    memcpy(bad, img, flen);
    bad[0x202] = 'X';
    CHECK_INT(boot_bzimage_parse(bad, flen, &bz, &err), -1);
    memcpy(bad, img, flen);
    put(bad + 0x206, 0x020b, 2);
    CHECK_INT(boot_bzimage_parse(bad, flen, &bz, &err), -1);
    CHECK_INT(err.code, ERR_UNSUPPORTED);
    memcpy(bad, img, flen);
    put(bad + 0x236, 0, 2);
    CHECK_INT(boot_bzimage_parse(bad, flen, &bz, &err), -1);
    memcpy(bad, img, flen);
    bad[0x201] = 0xff;
    CHECK_INT(boot_bzimage_parse(bad, flen, &bz, &err), -1);
    CHECK_INT(boot_bzimage_parse(img, 600, &bz, &err), -1);
    free(bad);

    /* the whole load: kernel at 1 MiB, command line, initrd, zero page */
    char *kpath = write_tmp("bzImage", img, flen);
    uint8_t initrd[10000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ 0x5a);
    char *ipath = write_tmp("initrd", initrd, sizeof(initrd));
    struct guest_mem mem;
    uint64_t size = 64 << 20;
    uint8_t *ram = ram_new(&mem, size);
    struct boot_config cfg = {.kind = BOOT_KIND_LINUX,
                              .kernel = kpath,
                              .initrd = ipath,
                              .cmdline = "console=ttyS0 root=/dev/vda",
                              .ncpus = 2};
    struct boot_entry entry;
    int rc = boot_load(&mem, &cfg, &entry, &err);
    if (rc < 0)
        fprintf(stderr, "boot_load: %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK_INT(entry.mode, BOOT_MODE_LONG);
    CHECK_INT(entry.rip, 0x100200);
    CHECK_INT(entry.rsi, BOOT_ZERO_PAGE_ADDR);
    CHECK(memcmp(ram + 0x100000, img + (SYN_SETUP_SECTS + 1) * 512, SYN_KERNEL_SIZE) == 0);
    CHECK_STR((char *)ram + BOOT_CMDLINE_ADDR, "console=ttyS0 root=/dev/vda");
    const uint8_t *zp = ram + BOOT_ZERO_PAGE_ADDR;
    CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
    CHECK_INT(zp[0x210], 0xff);
    CHECK_INT(zp[0x211] & 0x81, 0x81);
    CHECK_INT(le(zp + 0x228, 4), BOOT_CMDLINE_ADDR);
    uint64_t iaddr = le(zp + 0x218, 4) | (le(zp + 0xc0, 4) << 32);
    CHECK_INT(le(zp + 0x21c, 4), sizeof(initrd));
    CHECK_INT(iaddr % 4096, 0);
    CHECK(iaddr + sizeof(initrd) <= size);
    CHECK(iaddr >= 0x100000 + 0x800000); /* above the kernel's init_size */
    CHECK(memcmp(ram + iaddr, initrd, sizeof(initrd)) == 0);
    CHECK_INT(le(zp + 0x070, 8), BOOT_ACPI_ADDR);
    CHECK_INT(zp[0x1e8], 4);
    CHECK_INT(le(zp + 0x2d0 + 3 * 20, 8), 0x100000);
    CHECK_INT(le(zp + 0x2d0 + 3 * 20 + 8, 8), size - 0x100000);
    CHECK_INT(le(ram + BOOT_PML4_ADDR, 8), BOOT_PDPT_ADDR | 3);
    char *dump = hexdump(zp, 4096, BOOT_ZERO_PAGE_ADDR);
    check_golden("zeropage-bzimage.hex", dump);
    free(dump);

    /* a command line longer than the kernel takes */
    char *longcmd = malloc(3000);
    memset(longcmd, 'a', 2999);
    longcmd[2999] = 0;
    cfg.cmdline = longcmd;
    CHECK_INT(boot_load(&mem, &cfg, &entry, &err), -1);
    free(longcmd);
    /* an initrd that cannot fit */
    struct guest_mem small;
    uint8_t *sram = ram_new(&small, 9 << 20);
    cfg.cmdline = "x";
    CHECK_INT(boot_load(&small, &cfg, &entry, &err), -1);
    munmap(sram, 9 << 20);
    munmap(ram, size);
    unlink(kpath);
    unlink(ipath);
    free(kpath);
    free(ipath);
    free(img);
}

static void
test_initrd_addr(void)
{
    struct guest_mem mem;
    uint64_t size = 4096ULL << 20;
    uint8_t *p = ram_new(&mem, size);
    /* highest page below the low-RAM end, or below initrd_addr_max */
    CHECK_INT(boot_initrd_addr(&mem, 4096, 0, 0), BOOT_LOWMEM_LIMIT - 4096);
    CHECK_INT(boot_initrd_addr(&mem, 100, 0x7fffffff, 0), 0x80000000 - 4096);
    CHECK_INT(boot_initrd_addr(&mem, 0x10000000, 0x7fffffff, 0x7000000), 0x70000000);
    CHECK_INT(boot_initrd_addr(&mem, 0x80000000, 0x7fffffff, 0x1000000), 0);
    munmap(p, size);
}

/* ---- ELF and PVH ---- */

/* A minimal ELF kernel: one PT_LOAD at 2 MiB (16 bytes of code, 4 KiB bss)
 * and a PT_NOTE holding an unrelated note then the Xen PHYS32_ENTRY note. */
static size_t
synthetic_elf(uint8_t *b, bool is64, bool with_pvh)
{
    memset(b, 0, 4096);
    memcpy(b,
           "\x7f"
           "ELF",
           4);
    b[4] = is64 ? 2 : 1;
    b[5] = 1;
    b[6] = 1;
    put(b + 16, 2, 2); /* ET_EXEC */
    put(b + 18, is64 ? 62 : 3, 2);
    put(b + 20, 1, 4);
    size_t ph = is64 ? 64 : 52, phsz = is64 ? 56 : 32;
    size_t notes = ph + 2 * phsz, code = 0x400;
    /* notes: GNU build id (name "GNU"), then Xen PHYS32_ENTRY */
    uint8_t *n = b + notes;
    put(n, 4, 4), put(n + 4, 4, 4), put(n + 8, 3, 4), memcpy(n + 12, "GNU", 4);
    put(n + 16, 0xdeadbeef, 4);
    n += 20;
    size_t desc = is64 ? 8 : 4;
    put(n, 4, 4), put(n + 4, desc, 4), put(n + 8, with_pvh ? XEN_ELFNOTE_PHYS32_ENTRY : 17, 4);
    memcpy(n + 12, "Xen", 4);
    put(n + 16, 0x200010, desc);
    size_t notes_len = 20 + 16 + desc;
    if (is64) {
        put(b + 24, 0x200000, 8);
        put(b + 32, ph, 8);
        put(b + 52, 64, 2);
        put(b + 54, phsz, 2);
        put(b + 56, 2, 2);
        uint8_t *p = b + ph;
        put(p, 1, 4), put(p + 8, code, 8), put(p + 16, 0xffffffff80200000ULL, 8);
        put(p + 24, 0x200000, 8), put(p + 32, 16, 8), put(p + 40, 16 + 4096, 8);
        p += phsz;
        put(p, 4, 4), put(p + 8, notes, 8), put(p + 32, notes_len, 8), put(p + 40, notes_len, 8);
    } else {
        put(b + 24, 0x200000, 4);
        put(b + 28, ph, 4);
        put(b + 40, 52, 2);
        put(b + 42, phsz, 2);
        put(b + 44, 2, 2);
        uint8_t *p = b + ph;
        put(p, 1, 4), put(p + 4, code, 4), put(p + 8, 0xc0200000, 4), put(p + 12, 0x200000, 4);
        put(p + 16, 16, 4), put(p + 20, 16 + 4096, 4);
        p += phsz;
        put(p, 4, 4), put(p + 4, notes, 4), put(p + 16, notes_len, 4), put(p + 20, notes_len, 4);
    }
    for (int i = 0; i < 16; i++)
        b[code + (size_t)i] = (uint8_t)(0x90 + i);
    return code + 16;
}

static void
test_elf_pvh(void)
{
    uint8_t img[4096];
    struct boot_elf elf;
    struct err err = ERR_INIT;
    for (int is64 = 0; is64 <= 1; is64++) {
        size_t len = synthetic_elf(img, is64, true);
        CHECK_INT(boot_elf_parse(img, len, &elf, &err), 0);
        CHECK_INT(elf.is64, is64);
        CHECK(elf.has_pvh);
        CHECK_INT(elf.pvh_entry, 0x200010);
        CHECK_INT(elf.nloads, 1);
        CHECK_INT(elf.load[0].paddr, 0x200000);
        CHECK_INT(elf.load[0].filesz, 16);
        CHECK_INT(elf.load[0].memsz, 16 + 4096);
        /* truncated: the note segment lies past the end */
        CHECK_INT(boot_elf_parse(img, 0x80, &elf, &err), -1);
    }
    size_t len = synthetic_elf(img, true, false);
    CHECK_INT(boot_elf_parse(img, len, &elf, &err), 0);
    CHECK(!elf.has_pvh);
    CHECK_INT(elf.entry, 0x200000);
    uint8_t bad[4096];
    memcpy(bad, img, sizeof(bad));
    put(bad + 18, 40, 2); /* ARM */
    CHECK_INT(boot_elf_parse(bad, len, &elf, &err), -1);
    memcpy(bad, img, sizeof(bad));
    put(bad + 56, 1000, 2); /* too many program headers */
    CHECK_INT(boot_elf_parse(bad, len, &elf, &err), -1);
    CHECK_INT(boot_elf_parse(img, 10, &elf, &err), -1);

    /* the whole PVH load */
    len = synthetic_elf(img, true, true);
    char *kpath = write_tmp("vmlinux", img, len);
    uint8_t initrd[3000];
    memset(initrd, 0xab, sizeof(initrd));
    char *ipath = write_tmp("initrd", initrd, sizeof(initrd));
    struct guest_mem mem;
    uint64_t size = 32 << 20;
    uint8_t *ram = ram_new(&mem, size);
    memset(ram + 0x200000, 0xcc, 16 + 4096); /* the bss must come back zeroed */
    struct boot_config cfg = {.kind = BOOT_KIND_LINUX,
                              .kernel = kpath,
                              .initrd = ipath,
                              .cmdline = "console=hvc0",
                              .ncpus = 1};
    struct boot_entry entry;
    int rc = boot_load(&mem, &cfg, &entry, &err);
    if (rc < 0)
        fprintf(stderr, "boot_load: %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK_INT(entry.mode, BOOT_MODE_PROT32);
    CHECK_INT(entry.rip, 0x200010);
    CHECK_INT(entry.rbx, BOOT_PVH_INFO_ADDR);
    CHECK(memcmp(ram + 0x200000, img + 0x400, 16) == 0);
    CHECK_INT(ram[0x200000 + 16], 0);
    CHECK_INT(ram[0x200000 + 16 + 4095], 0);
    const uint8_t *si = ram + BOOT_PVH_INFO_ADDR;
    CHECK_INT(le(si, 4), 0x336ec578);
    CHECK_INT(le(si + 4, 4), 1);
    CHECK_INT(le(si + 12, 4), 1);
    CHECK_INT(le(si + 24, 8), BOOT_CMDLINE_ADDR);
    CHECK_STR((char *)ram + le(si + 24, 8), "console=hvc0");
    CHECK_INT(le(si + 32, 8), BOOT_ACPI_ADDR);
    const uint8_t *mod = ram + le(si + 16, 8);
    CHECK_INT(le(mod + 8, 8), sizeof(initrd));
    CHECK(memcmp(ram + le(mod, 8), initrd, sizeof(initrd)) == 0);
    CHECK_INT(le(si + 48, 4), 4);
    const uint8_t *mm = ram + le(si + 40, 8);
    CHECK_INT(le(mm, 8), 0);
    CHECK_INT(le(mm + 16, 4), E820_RAM);
    CHECK_INT(le(mm + 3 * 24, 8), 0x100000);
    CHECK_INT(le(mm + 3 * 24 + 8, 8), size - 0x100000);
    /* GDT with a 32-bit code segment, no page tables needed */
    CHECK_INT(le(ram + BOOT_GDT_ADDR + BOOT_SEL_CODE, 8), 0x00cf9b000000ffffULL);

    /* an ELF without the note is entered at e_entry in 64-bit mode */
    len = synthetic_elf(img, true, false);
    char *k2 = write_tmp("vmlinux-nopvh", img, len);
    cfg.kernel = k2;
    CHECK_INT(boot_load(&mem, &cfg, &entry, &err), 0);
    CHECK_INT(entry.mode, BOOT_MODE_LONG);
    CHECK_INT(entry.rip, 0x200000);
    CHECK_INT(entry.rsi, BOOT_ZERO_PAGE_ADDR);
    CHECK(memcmp(ram + BOOT_ZERO_PAGE_ADDR + 0x202, "HdrS", 4) == 0);
    munmap(ram, size);
    unlink(kpath), unlink(ipath), unlink(k2);
    free(kpath), free(ipath), free(k2);
}

/* The real Debian kernel, where one is at hand (not required). */
static void
test_real_kernels(const char *srcdir)
{
    char pattern[4096];
    const char *patterns[] = {"/boot/vmlinuz-*", NULL};
    glob_t g = {0};
    int flags = 0;
    for (int i = 0; patterns[i]; i++) {
        if (glob(patterns[i], flags, NULL, &g) == 0)
            flags = GLOB_APPEND;
    }
    if (srcdir) {
        snprintf(pattern, sizeof(pattern), "%s/.cache/guest/vmlinuz*", srcdir);
        if (glob(pattern, flags, NULL, &g) == 0)
            flags = GLOB_APPEND;
        snprintf(pattern, sizeof(pattern), "%s/.cache/guest/vmlinux*", srcdir);
        if (glob(pattern, flags, NULL, &g) == 0)
            flags = GLOB_APPEND;
    }
    if (!flags) {
        printf("note: no real kernel found (/boot, .cache/guest): header test not run\n");
        return;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        int fd = open(g.gl_pathv[i], O_RDONLY);
        if (fd < 0)
            continue;
        uint8_t head[65 * 512];
        ssize_t n = pread(fd, head, sizeof(head), 0);
        struct err err = ERR_INIT;
        if (n > 4 && memcmp(head,
                            "\x7f"
                            "ELF",
                            4) == 0) {
            struct boot_elf elf;
            int rc = boot_elf_parse_fd(fd, &elf, &err);
            if (rc < 0)
                fprintf(stderr, "%s: %s\n", g.gl_pathv[i], err.msg);
            CHECK_INT(rc, 0);
            CHECK(elf.is64);
            CHECK(elf.has_pvh); /* Debian's kernels have CONFIG_PVH */
            printf("%s: ELF, %d segments, PVH entry 0x%x\n", g.gl_pathv[i], elf.nloads,
                   elf.pvh_entry);
        } else if (n > 0) {
            struct boot_bzimage bz;
            int rc = boot_bzimage_parse(head, (size_t)n, &bz, &err);
            if (rc < 0)
                fprintf(stderr, "%s: %s\n", g.gl_pathv[i], err.msg);
            CHECK_INT(rc, 0);
            CHECK(bz.version >= 0x020c);
            CHECK(bz.xloadflags & 1);
            CHECK(bz.cmdline_size >= 255);
            printf("%s: bzImage, protocol %x, setup %u sectors, init_size %u\n", g.gl_pathv[i],
                   bz.version, bz.setup_sects, bz.init_size);
        }
        close(fd);
    }
    globfree(&g);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_boot GOLDEN_DIR [SOURCE_DIR]\n");
        return 2;
    }
    golden_dir = argv[1];
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_guest_ptr();
    test_e820();
    test_x86_tables();
    test_acpi(1, NULL, 0);
    test_acpi(4, NULL, 0);
    static const struct boot_pci_irq irqs[] = {{.slot = 1, .pin = 1, .gsi = 5},
                                               {.slot = 2, .pin = 1, .gsi = 10},
                                               {.slot = 3, .pin = 2, .gsi = 11}};
    test_acpi(2, irqs, 3);
    /* every slot routed: PkgLengths past one byte */
    struct boot_pci_irq all[BOOT_PCI_IRQ_MAX];
    for (int i = 0; i < BOOT_PCI_IRQ_MAX; i++)
        all[i] = (struct boot_pci_irq){.slot = (uint8_t)i, .pin = 1, .gsi = (uint8_t)(16 + i % 8)};
    test_acpi(8, all, BOOT_PCI_IRQ_MAX);
    test_bzimage();
    test_initrd_addr();
    test_elf_pvh();
    test_real_kernels(argc > 2 ? argv[2] : NULL);
    rmdir(tmpdir);
    return check_done();
}
