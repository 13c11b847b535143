/* Guest RAM layout and the e820 map derived from it. */
#include "boot.h"

void
guest_mem_layout(struct guest_mem *mem, uint8_t *host, uint64_t ram_size)
{
    uint64_t low = ram_size < BOOT_LOWMEM_LIMIT ? ram_size : BOOT_LOWMEM_LIMIT;

    mem->region[0] = (struct guest_region){.gpa = 0, .size = low, .host = host};
    mem->nregions = 1;
    if (ram_size > low) {
        mem->region[1] = (struct guest_region){
            .gpa = BOOT_HIGHMEM_START, .size = ram_size - low, .host = host + low};
        mem->nregions = 2;
    }
}

void *
guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        len = 1;
    for (int i = 0; i < mem->nregions; i++) {
        const struct guest_region *r = &mem->region[i];
        if (gpa < r->gpa)
            continue;
        uint64_t off = gpa - r->gpa;
        /* off < size and len <= size - off: no sum that could wrap */
        if (off < r->size && len <= r->size - off)
            return r->host + off;
    }
    return NULL;
}

uint64_t
guest_mem_size(const struct guest_mem *mem)
{
    uint64_t total = 0;
    for (int i = 0; i < mem->nregions; i++)
        total += mem->region[i].size;
    return total;
}

uint64_t
guest_mem_low_end(const struct guest_mem *mem)
{
    return mem->nregions ? mem->region[0].size : 0;
}

static int
e820_add(struct e820_entry *out, int n, int max, uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0 || n >= max)
        return n;
    out[n] = (struct e820_entry){.addr = addr, .size = size, .type = type};
    return n + 1;
}

int
boot_e820_build(const struct guest_mem *mem, struct e820_entry *out, int max)
{
    uint64_t low_end = guest_mem_low_end(mem);
    int n = 0;

    /* Conventional memory up to the EBDA; the EBDA and the BIOS area (which
     * holds the ACPI tables) reserved; then RAM from 1 MiB. */
    n = e820_add(out, n, max, 0, low_end < BOOT_EBDA_START ? low_end : BOOT_EBDA_START, E820_RAM);
    if (low_end > BOOT_EBDA_START)
        n = e820_add(out, n, max, BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED);
    n = e820_add(out, n, max, BOOT_ACPI_ADDR, BOOT_HIGH_START - BOOT_ACPI_ADDR, E820_RESERVED);
    if (low_end > BOOT_HIGH_START)
        n = e820_add(out, n, max, BOOT_HIGH_START, low_end - BOOT_HIGH_START, E820_RAM);
    if (mem->nregions > 1)
        n = e820_add(out, n, max, mem->region[1].gpa, mem->region[1].size, E820_RAM);
    return n;
}
