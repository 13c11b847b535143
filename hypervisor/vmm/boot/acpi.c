/* ACPI tables: RSDP, XSDT, FADT (fixed PM1 hardware, SCI on IRQ 9, reset
 * register), FACS, DSDT (a PCI host bridge on 0xCF8 and \_S5) and the MADT
 * that lists one local APIC per vCPU (Debian's kernels have no MP-table
 * parser, so this is how they find secondary CPUs). */
#include "boot.h"

#include <string.h>

#define ACPI_OEM_ID "NUBE  "
#define ACPI_OEM_TABLE "NUBEVMM "
#define ACPI_HDR_LEN 36

/* A small byte buffer over a fixed array: the DSDT is built into one. */
struct abuf {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
};

static void
ab_put(struct abuf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void
ab_u8(struct abuf *b, uint8_t v)
{
    ab_put(b, &v, 1);
}

static void
ab_le(struct abuf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        ab_u8(b, (uint8_t)(v >> (8 * i)));
}

uint8_t
boot_acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0 - sum);
}

static void
put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put_le(t + 4, len, 4);
    t[8] = rev;
    t[9] = 0;
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE, 8);
    put_le(t + 24, 1, 4);      /* OEM revision */
    memcpy(t + 28, "NUBE", 4); /* creator id */
    put_le(t + 32, 1, 4);      /* creator revision */
}

static void
acpi_finish(uint8_t *t, uint32_t len)
{
    t[9] = 0;
    t[9] = boot_acpi_checksum(t, len);
}

/* ---- AML, just the constructs the DSDT needs ---- */

/* PkgLength for a body of @n bytes: the encoding counts its own bytes. */
static void
aml_pkglen(struct abuf *b, size_t n)
{
    if (n + 1 < 0x40) {
        ab_u8(b, (uint8_t)(n + 1));
        return;
    }
    size_t total = n + 2;
    int extra = 1;
    if (total >= (1u << 12)) {
        total = n + 3;
        extra = 2;
    }
    ab_u8(b, (uint8_t)((extra << 6) | (total & 0xf)));
    for (int i = 0; i < extra; i++)
        ab_u8(b, (uint8_t)(total >> (4 + 8 * i)));
}

static void
aml_int(struct abuf *b, uint64_t v)
{
    if (v == 0) {
        ab_u8(b, 0x00); /* ZeroOp */
    } else if (v == 1) {
        ab_u8(b, 0x01); /* OneOp */
    } else if (v <= 0xff) {
        ab_u8(b, 0x0a);
        ab_le(b, v, 1);
    } else if (v <= 0xffff) {
        ab_u8(b, 0x0b);
        ab_le(b, v, 2);
    } else if (v <= 0xffffffff) {
        ab_u8(b, 0x0c);
        ab_le(b, v, 4);
    } else {
        ab_u8(b, 0x0e);
        ab_le(b, v, 8);
    }
}

/* EisaId("PNP0A03") as the 32-bit compressed id. */
static uint32_t
aml_eisaid(const char *id)
{
    uint32_t v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
                 ((uint32_t)(id[2] - 0x40) << 16);
    for (int i = 3; i < 7; i++) {
        char c = id[i];
        uint32_t d = (uint32_t)(c >= 'A' ? c - 'A' + 10 : c - '0');
        v |= d << (4 * (6 - i));
    }
    return __builtin_bswap32(v);
}

static void
aml_name_int(struct abuf *b, const char *name, uint64_t v)
{
    ab_u8(b, 0x08); /* NameOp */
    ab_put(b, name, strlen(name));
    aml_int(b, v);
}

/* Name(_CRS, ResourceTemplate() {...}) for the PCI host bridge. */
static void
aml_pci_crs(struct abuf *b)
{
    uint8_t rt[128];
    struct abuf r = {.p = rt, .cap = sizeof(rt)};

    /* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xff, 0, 0x100) */
    ab_u8(&r, 0x88), ab_le(&r, 13, 2), ab_u8(&r, 2), ab_u8(&r, 0x0c), ab_u8(&r, 0);
    ab_le(&r, 0, 2), ab_le(&r, 0, 2), ab_le(&r, 0xff, 2), ab_le(&r, 0, 2), ab_le(&r, 0x100, 2);
    /* IO(Decode16, 0xcf8, 0xcf8, 1, 8): the configuration mechanism #1 ports */
    ab_u8(&r, 0x47), ab_u8(&r, 1), ab_le(&r, 0xcf8, 2), ab_le(&r, 0xcf8, 2), ab_u8(&r, 1);
    ab_u8(&r, 8);
    /* WordIO windows 0x0000-0x0cf7 and 0x0d00-0xffff */
    static const uint16_t io[2][2] = {{0x0000, 0x0cf7}, {0x0d00, 0xffff}};
    for (int i = 0; i < 2; i++) {
        ab_u8(&r, 0x88), ab_le(&r, 13, 2), ab_u8(&r, 1), ab_u8(&r, 0x0c), ab_u8(&r, 3);
        ab_le(&r, 0, 2), ab_le(&r, io[i][0], 2), ab_le(&r, io[i][1], 2), ab_le(&r, 0, 2);
        ab_le(&r, (uint32_t)io[i][1] - io[i][0] + 1, 2);
    }
    /* DWordMemory: the 32-bit MMIO window for BARs, read-write, non-cacheable */
    ab_u8(&r, 0x87), ab_le(&r, 23, 2), ab_u8(&r, 0), ab_u8(&r, 0x0c), ab_u8(&r, 1);
    ab_le(&r, 0, 4), ab_le(&r, BOOT_PCI_MMIO_START, 4), ab_le(&r, BOOT_PCI_MMIO_END, 4);
    ab_le(&r, 0, 4), ab_le(&r, BOOT_PCI_MMIO_END - BOOT_PCI_MMIO_START + 1, 4);
    ab_u8(&r, 0x79), ab_u8(&r, 0); /* EndTag, checksum 0 = "treat as valid" */

    uint8_t body[160];
    struct abuf bb = {.p = body, .cap = sizeof(body)};
    aml_int(&bb, r.len);
    ab_put(&bb, rt, r.len);

    ab_u8(b, 0x08);
    ab_put(b, "_CRS", 4);
    ab_u8(b, 0x11); /* BufferOp */
    aml_pkglen(b, bb.len);
    ab_put(b, body, bb.len);
}

/* Name(_PRT, Package() { Package() { 0xSSSSFFFF, pin, Zero, gsi }, ... }):
 * PCI INTx routing straight to IOAPIC inputs (no link devices). */
static void
aml_pci_prt(struct abuf *b, const struct boot_pci_irq *irqs, int n)
{
    uint8_t body[BOOT_PCI_IRQ_MAX * 16 + 8];
    struct abuf p = {.p = body, .cap = sizeof(body)};
    ab_u8(&p, (uint8_t)n); /* NumElements */
    for (int i = 0; i < n; i++) {
        uint8_t e[16];
        struct abuf eb = {.p = e, .cap = sizeof(e)};
        ab_u8(&eb, 4);
        ab_u8(&eb, 0x0c); /* DWordConst: address, any function */
        ab_le(&eb, ((uint32_t)irqs[i].slot << 16) | 0xffff, 4);
        aml_int(&eb, (uint64_t)irqs[i].pin - 1);
        aml_int(&eb, 0); /* no link device: the source index is the GSI */
        aml_int(&eb, irqs[i].gsi);
        ab_u8(&p, 0x12); /* PackageOp */
        aml_pkglen(&p, eb.len);
        ab_put(&p, e, eb.len);
    }
    ab_u8(b, 0x08);
    ab_put(b, "_PRT", 4);
    ab_u8(b, 0x12);
    aml_pkglen(b, p.len);
    ab_put(b, body, p.len);
    if (p.overflow)
        b->overflow = true;
}

static size_t
acpi_dsdt_aml(uint8_t *out, size_t cap, const struct boot_pci_irq *irqs, int nirqs)
{
    uint8_t dev[1024], scope[1100];
    struct abuf d = {.p = dev, .cap = sizeof(dev)};

    /* Device(PCI0) body */
    ab_put(&d, "PCI0", 4);
    ab_u8(&d, 0x08), ab_put(&d, "_HID", 4), ab_u8(&d, 0x0c);
    ab_le(&d, aml_eisaid("PNP0A03"), 4);
    aml_name_int(&d, "_ADR", 0);
    aml_name_int(&d, "_BBN", 0);
    aml_name_int(&d, "_UID", 0);
    aml_pci_crs(&d);
    if (nirqs > 0)
        aml_pci_prt(&d, irqs, nirqs);

    struct abuf s = {.p = scope, .cap = sizeof(scope)};
    ab_put(&s, "\\_SB_", 5);
    ab_u8(&s, 0x5b), ab_u8(&s, 0x82); /* DeviceOp */
    aml_pkglen(&s, d.len);
    ab_put(&s, dev, d.len);

    struct abuf o = {.p = out, .cap = cap};
    ab_u8(&o, 0x10); /* ScopeOp */
    aml_pkglen(&o, s.len);
    ab_put(&o, scope, s.len);

    /* Name(\_S5, Package() {5, 5, 0, 0}): SLP_TYP for soft-off */
    ab_u8(&o, 0x08), ab_put(&o, "\\_S5_", 5), ab_u8(&o, 0x12);
    uint8_t pkg[16];
    struct abuf p = {.p = pkg, .cap = sizeof(pkg)};
    ab_u8(&p, 4);
    aml_int(&p, BOOT_S5_SLP_TYP), aml_int(&p, BOOT_S5_SLP_TYP), aml_int(&p, 0), aml_int(&p, 0);
    aml_pkglen(&o, p.len);
    ab_put(&o, pkg, p.len);

    if (d.overflow || s.overflow || o.overflow || p.overflow)
        return 0;
    return o.len;
}

static void
gas_io(uint8_t *p, uint64_t port, uint8_t bits)
{
    p[0] = 1; /* system I/O */
    p[1] = bits;
    p[2] = 0;
    p[3] = 1; /* byte access */
    put_le(p + 4, port, 8);
}

#define ALIGN16(x) (((x) + 15) & ~(uint64_t)15)

int
boot_acpi_build(const struct guest_mem *mem, int ncpus, const struct boot_pci_irq *pci_irqs,
                int npci_irqs, struct boot_acpi_info *info, struct err *err)
{
    if (ncpus < 1 || ncpus > 254)
        return err_set(err, ERR_INVALID, "ACPI: %d vCPUs (1..254)", ncpus);
    if (npci_irqs < 0 || npci_irqs > BOOT_PCI_IRQ_MAX)
        return err_set(err, ERR_INVALID, "ACPI: %d PCI interrupts", npci_irqs);
    for (int i = 0; i < npci_irqs; i++)
        if (pci_irqs[i].slot > 31 || pci_irqs[i].pin < 1 || pci_irqs[i].pin > 4)
            return err_set(err, ERR_INVALID, "ACPI: bad PCI interrupt %d (slot %u pin %u)", i,
                           pci_irqs[i].slot, pci_irqs[i].pin);
    uint8_t *base = guest_mem_ptr(mem, BOOT_ACPI_ADDR, BOOT_ACPI_MAX);
    if (!base)
        return err_set(err, ERR_INVALID, "ACPI: guest memory too small");
    memset(base, 0, BOOT_ACPI_MAX);

    const uint64_t rsdp = BOOT_ACPI_ADDR;
    const uint64_t xsdt = rsdp + 64;
    const uint64_t xsdt_len = ACPI_HDR_LEN + 2 * 8;
    const uint64_t facs = (xsdt + xsdt_len + 63) & ~(uint64_t)63; /* 64-byte aligned */
    const uint64_t fadt = facs + 64;
    const uint64_t fadt_len = 276;
    const uint64_t dsdt = ALIGN16(fadt + fadt_len);
    uint8_t aml[2048];
    size_t aml_len = acpi_dsdt_aml(aml, sizeof(aml), pci_irqs, npci_irqs);
    if (!aml_len)
        return err_set(err, ERR_INTERNAL, "ACPI: DSDT does not fit");
    const uint64_t dsdt_len = ACPI_HDR_LEN + aml_len;
    const uint64_t madt = ALIGN16(dsdt + dsdt_len);
    const uint64_t madt_len = ACPI_HDR_LEN + 8 + 8 * (uint64_t)ncpus + 12 + 2 * 10 + 6;
    const uint64_t end = madt + madt_len;
    if (end - BOOT_ACPI_ADDR > BOOT_ACPI_MAX)
        return err_set(err, ERR_INTERNAL, "ACPI: tables do not fit");
#define AT(gpa) (base + ((gpa)-BOOT_ACPI_ADDR))

    /* RSDP, ACPI 2.0+ */
    uint8_t *r = AT(rsdp);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, ACPI_OEM_ID, 6);
    r[15] = 2;
    put_le(r + 20, 36, 4);
    put_le(r + 24, xsdt, 8);
    r[8] = boot_acpi_checksum(r, 20);
    r[32] = boot_acpi_checksum(r, 36);

    uint8_t *x = AT(xsdt);
    acpi_header(x, "XSDT", (uint32_t)xsdt_len, 1);
    put_le(x + 36, fadt, 8);
    put_le(x + 44, madt, 8);
    acpi_finish(x, (uint32_t)xsdt_len);

    uint8_t *fc = AT(facs);
    memcpy(fc, "FACS", 4);
    put_le(fc + 4, 64, 4);
    fc[32] = 2; /* version */

    uint8_t *f = AT(fadt);
    acpi_header(f, "FACP", (uint32_t)fadt_len, 6);
    /* FIRMWARE_CTRL stays 0: with X_FIRMWARE_CTRL set the spec wants it so */
    put_le(f + 40, dsdt, 4);
    put_le(f + 46, BOOT_SCI_IRQ, 2);
    /* SMI_CMD 0: ACPI is always enabled (SCI_EN reads as 1) */
    put_le(f + 56, BOOT_PM1_EVT, 4);
    put_le(f + 64, BOOT_PM1_CNT, 4);
    put_le(f + 76, BOOT_PM_TMR, 4);
    put_le(f + 80, BOOT_GPE0, 4);
    f[88] = 4;                                 /* PM1_EVT_LEN */
    f[89] = 2;                                 /* PM1_CNT_LEN */
    f[91] = 4;                                 /* PM_TMR_LEN */
    f[92] = BOOT_GPE0_LEN;                     /* GPE0_BLK_LEN */
    put_le(f + 96, 0x0fff, 2);                 /* P_LVL2_LAT: C2 not supported */
    put_le(f + 98, 0x0fff, 2);                 /* P_LVL3_LAT: C3 not supported */
    f[108] = 0x32;                             /* CENTURY in CMOS */
    put_le(f + 109, (1u << 1) | (1u << 2), 2); /* IAPC_BOOT_ARCH: 8042, no VGA */
    /* flags: WBINVD, PROC_C1, SLP_BUTTON (none; the power button is fixed
     * hardware), FIX_RTC, RESET_REG_SUP */
    put_le(f + 112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 10), 4);
    gas_io(f + 116, BOOT_PM_RESET, 8);
    f[128] = BOOT_PM_RESET_VALUE;
    f[131] = 0; /* FADT minor version */
    put_le(f + 132, facs, 8);
    put_le(f + 140, dsdt, 8);
    acpi_finish(f, (uint32_t)fadt_len);

    uint8_t *d = AT(dsdt);
    acpi_header(d, "DSDT", (uint32_t)dsdt_len, 2);
    memcpy(d + ACPI_HDR_LEN, aml, aml_len);
    acpi_finish(d, (uint32_t)dsdt_len);

    uint8_t *m = AT(madt);
    acpi_header(m, "APIC", (uint32_t)madt_len, 5);
    put_le(m + 36, BOOT_LAPIC_ADDR, 4);
    put_le(m + 40, 1, 4); /* PCAT_COMPAT: dual 8259s present */
    uint8_t *e = m + 44;
    for (int i = 0; i < ncpus; i++, e += 8) {
        e[0] = 0, e[1] = 8, e[2] = (uint8_t)i, e[3] = (uint8_t)i;
        put_le(e + 4, 1, 4); /* enabled */
    }
    e[0] = 1, e[1] = 12, e[2] = 0; /* IOAPIC id 0, GSI base 0 */
    put_le(e + 4, BOOT_IOAPIC_ADDR, 4);
    e += 12;
    /* ISA IRQ 0 (PIT) -> GSI 2; SCI: level, active high */
    e[0] = 2, e[1] = 10, e[2] = 0, e[3] = 0;
    put_le(e + 4, 2, 4);
    e += 10;
    e[0] = 2, e[1] = 10, e[2] = 0, e[3] = BOOT_SCI_IRQ;
    put_le(e + 4, BOOT_SCI_IRQ, 4);
    put_le(e + 8, 0x000d, 2);
    e += 10;
    e[0] = 4, e[1] = 6, e[2] = 0xff; /* NMI on LINT1 of every processor */
    e[5] = 1;
    acpi_finish(m, (uint32_t)madt_len);
#undef AT

    if (info) {
        info->rsdp = rsdp;
        info->end = end;
    }
    return 0;
}
