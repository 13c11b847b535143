/* The GDT and identity page tables the BSP starts with. */
#include "boot.h"

#include <string.h>

void
boot_gdt_entries(enum boot_cpu_mode mode, uint64_t gdt[BOOT_GDT_ENTRIES])
{
    gdt[0] = 0;
    gdt[1] = 0;
    /* flat 4 GiB segments: code (64-bit for long mode, else 32-bit), data, busy TSS */
    gdt[2] = mode == BOOT_MODE_LONG ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL;
    gdt[3] = 0x00cf93000000ffffULL;
    gdt[4] = 0x00008b0000000067ULL;
}

int
boot_x86_tables(const struct guest_mem *mem, enum boot_cpu_mode mode, struct err *err)
{
    uint64_t gdt[BOOT_GDT_ENTRIES];
    uint8_t *p = guest_mem_ptr(mem, BOOT_GDT_ADDR, sizeof(gdt));
    if (!p)
        return err_set(err, ERR_INVALID, "guest memory too small for the GDT");
    boot_gdt_entries(mode, gdt);
    memcpy(p, gdt, sizeof(gdt));
    if (mode != BOOT_MODE_LONG)
        return 0;

    uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, 4096);
    uint64_t *pdpt = guest_mem_ptr(mem, BOOT_PDPT_ADDR, 4096);
    uint64_t *pd = guest_mem_ptr(mem, BOOT_PD_ADDR, 4096 * BOOT_PD_PAGES);
    if (!pml4 || !pdpt || !pd)
        return err_set(err, ERR_INVALID, "guest memory too small for the page tables");
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = BOOT_PDPT_ADDR | 0x3; /* present, writable */
    for (int i = 0; i < BOOT_PD_PAGES; i++)
        pdpt[i] = (BOOT_PD_ADDR + 4096ULL * (uint64_t)i) | 0x3;
    /* identity map 0-4 GiB with 2 MiB pages: present, writable, PS */
    for (uint64_t i = 0; i < 512ULL * BOOT_PD_PAGES; i++)
        pd[i] = (i << 21) | 0x83;
    return 0;
}
