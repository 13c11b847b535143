/* Boot setup for cloud-vmm: everything that lays out guest memory before the
 * first vCPU runs. Pure computation over a guest_mem, so the unit tests can
 * run it without /dev/kvm.
 *
 * Guest physical layout (below 1 MiB, the part the monitor writes):
 *   0x00500  GDT                      0x06000  PVH hvm_start_info + memmap
 *   0x07000  boot_params (zero page)  0x09000  PML4, 0x0a000 PDPT,
 *   0x0b000  4 page directories (2 MiB pages, identity map of 0-4 GiB)
 *   0x10000  raw payload (--payload)  0x20000  kernel command line (64 KiB)
 *   0xe0000  ACPI: RSDP then XSDT, FADT, FACS, DSDT, MADT
 *   0x100000 kernel (bzImage protected-mode part, or ELF segments at p_paddr) */
#ifndef NUBE_VMM_BOOT_H
#define NUBE_VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BOOT_GDT_ADDR 0x500ULL
#define BOOT_PVH_INFO_ADDR 0x6000ULL
#define BOOT_ZERO_PAGE_ADDR 0x7000ULL
#define BOOT_PML4_ADDR 0x9000ULL
#define BOOT_PDPT_ADDR 0xa000ULL
#define BOOT_PD_ADDR 0xb000ULL
#define BOOT_PD_PAGES 4
#define BOOT_PAYLOAD_ADDR 0x10000ULL
#define BOOT_PAYLOAD_MAX 0x10000ULL
#define BOOT_CMDLINE_ADDR 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_EBDA_START 0x9fc00ULL
#define BOOT_ACPI_ADDR 0xe0000ULL
#define BOOT_ACPI_MAX 0x20000ULL
#define BOOT_HIGH_START 0x100000ULL
#define BOOT_KERNEL_ADDR 0x100000ULL
/* RAM below 4 GiB stops here; the rest goes above 4 GiB. The hole holds the
 * PCI MMIO window, the IOAPIC, the LAPIC and the TSS/identity-map pages. */
#define BOOT_LOWMEM_LIMIT 0xc0000000ULL
#define BOOT_HIGHMEM_START 0x100000000ULL
#define BOOT_PCI_MMIO_START 0xc0000000ULL
#define BOOT_PCI_MMIO_END 0xfebfffffULL /* inclusive */
#define BOOT_IOAPIC_ADDR 0xfec00000ULL
#define BOOT_LAPIC_ADDR 0xfee00000ULL
#define BOOT_TSS_ADDR 0xfffbd000ULL
#define BOOT_IDENTITY_MAP_ADDR 0xfffbc000ULL

/* ACPI fixed hardware (PM1a event/control, PM timer, GPE0, reset register) and SCI. */
#define BOOT_PM_BASE 0x600
#define BOOT_PM1_EVT 0x600
#define BOOT_PM1_CNT 0x604
#define BOOT_PM_TMR 0x608
#define BOOT_PM_RESET 0x60c
#define BOOT_PM_RESET_VALUE 0x01
#define BOOT_GPE0 0x620
#define BOOT_PM_LEN 0x10
#define BOOT_GPE0_LEN 4
#define BOOT_SCI_IRQ 9
#define BOOT_S5_SLP_TYP 5

/* ---- guest memory ---- */

struct guest_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
};

struct guest_mem {
    struct guest_region region[2];
    int nregions;
};

/* Lay out @ram_size bytes of RAM at @host: below BOOT_LOWMEM_LIMIT, then from 4 GiB. */
void guest_mem_layout(struct guest_mem *mem, uint8_t *host, uint64_t ram_size);
/* Host pointer for [gpa, gpa+len) inside one region (overflow-checked), else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
uint64_t guest_mem_size(const struct guest_mem *mem);
/* End of RAM below 4 GiB. */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

/* ---- e820 ---- */

enum { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3 };
struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
#define E820_MAX 8
/* The memory map for @mem; returns the number of entries. */
int boot_e820_build(const struct guest_mem *mem, struct e820_entry *out, int max);

/* ---- x86 CPU state at entry ---- */

enum boot_cpu_mode { BOOT_MODE_REAL, BOOT_MODE_PROT32, BOOT_MODE_LONG };

struct boot_entry {
    enum boot_cpu_mode mode;
    uint64_t rip;
    uint64_t rsi; /* boot_params for the 64-bit boot protocol */
    uint64_t rbx; /* hvm_start_info for PVH */
    uint64_t rsp;
    uint16_t real_cs; /* real mode: CS selector (base = selector << 4) */
};

/* Writes the GDT for @mode at BOOT_GDT_ADDR, and for long mode the identity
 * page tables for 0-4 GiB. */
int boot_x86_tables(const struct guest_mem *mem, enum boot_cpu_mode mode, struct err *err);
/* Segment descriptors as written to the GDT (index = selector >> 3). */
#define BOOT_GDT_ENTRIES 5
#define BOOT_SEL_CODE 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20
void boot_gdt_entries(enum boot_cpu_mode mode, uint64_t gdt[BOOT_GDT_ENTRIES]);

/* ---- ACPI ---- */

struct boot_acpi_info {
    uint64_t rsdp;
    uint64_t end; /* first byte after the tables */
};
/* A PCI device's legacy interrupt: INTx pin @pin (1 = INTA) of bus 0 slot
 * @slot is wired to IOAPIC input @gsi (level-triggered, active low). */
struct boot_pci_irq {
    uint8_t slot;
    uint8_t pin;
    uint8_t gsi;
};
#define BOOT_PCI_IRQ_MAX 32
/* RSDP, XSDT, FADT, FACS, DSDT (with a _PRT for @pci_irqs) and a MADT with
 * @ncpus local APICs at BOOT_ACPI_ADDR. */
int boot_acpi_build(const struct guest_mem *mem, int ncpus, const struct boot_pci_irq *pci_irqs,
                    int npci_irqs, struct boot_acpi_info *info, struct err *err);
/* ACPI table checksum: the byte that makes the sum of @len bytes zero. */
uint8_t boot_acpi_checksum(const uint8_t *p, size_t len);

/* ---- Linux kernels ---- */

struct boot_bzimage {
    uint16_t version;    /* boot protocol version, e.g. 0x020f */
    uint8_t setup_sects; /* 512-byte sectors of real-mode setup (0 means 4) */
    uint16_t xloadflags;
    uint8_t loadflags;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size; /* without the terminating NUL */
    uint32_t kernel_alignment;
    uint64_t pref_address;
    uint32_t init_size;
    size_t setup_size; /* bytes of the file before the protected-mode kernel */
    size_t header_end; /* end offset of the setup header (0x202 + byte at 0x201) */
};
/* Parse the setup header in the first @len bytes (>= 1 KiB) of a bzImage. */
int boot_bzimage_parse(const uint8_t *buf, size_t len, struct boot_bzimage *out, struct err *err);

#define XEN_ELFNOTE_PHYS32_ENTRY 18
struct boot_elf_load {
    uint64_t paddr;
    uint64_t offset;
    uint64_t filesz;
    uint64_t memsz;
};
#define BOOT_ELF_MAX_LOADS 16
struct boot_elf {
    bool is64;
    uint64_t entry; /* e_entry */
    bool has_pvh;
    uint32_t pvh_entry;
    int nloads;
    struct boot_elf_load load[BOOT_ELF_MAX_LOADS];
};
/* Parse an ELF image held entirely in @buf (headers and notes must be inside). */
int boot_elf_parse(const uint8_t *buf, size_t len, struct boot_elf *out, struct err *err);
/* Like boot_elf_parse, reading what it needs from @fd. */
int boot_elf_parse_fd(int fd, struct boot_elf *out, struct err *err);

/* ---- putting it together ---- */

enum boot_kind { BOOT_KIND_LINUX, BOOT_KIND_RAW };

struct boot_config {
    enum boot_kind kind;
    const char *kernel; /* bzImage or ELF vmlinux, or the raw payload */
    const char *initrd;
    const char *cmdline;
    int ncpus;
    enum boot_cpu_mode raw_mode;         /* for BOOT_KIND_RAW */
    const struct boot_pci_irq *pci_irqs; /* INTx wiring for the DSDT's _PRT */
    int npci_irqs;
};

/* Load everything into @mem and describe the BSP's entry state. */
int boot_load(const struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *entry,
              struct err *err);
/* The pieces of boot_load, exposed for the unit tests. */
int boot_zero_page(const struct guest_mem *mem, const uint8_t *setup, const struct boot_bzimage *bz,
                   uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp,
                   struct err *err);
int boot_pvh_start_info(const struct guest_mem *mem, uint64_t cmdline_addr, uint64_t initrd_addr,
                        uint64_t initrd_size, uint64_t rsdp, struct err *err);
/* Where an initrd of @size bytes goes: the highest page-aligned spot below
 * min(@addr_max, end of low RAM) and above @above; 0 if none. */
uint64_t boot_initrd_addr(const struct guest_mem *mem, uint64_t size, uint64_t addr_max,
                          uint64_t above);

#endif
