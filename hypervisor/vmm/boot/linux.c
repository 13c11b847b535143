/* Linux direct boot: the bzImage 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst) and the PVH entry of an ELF vmlinux (XEN_ELFNOTE_PHYS32_ENTRY,
 * xen/interface/hvm/start_info.h), plus raw payloads for the tests. */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t
get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void
put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- bzImage ---- */

int
boot_bzimage_parse(const uint8_t *buf, size_t len, struct boot_bzimage *out, struct err *err)
{
    if (len < 1024)
        return err_set(err, ERR_INVALID, "bzImage: file too short");
    if (get_le(buf + 0x1fe, 2) != 0xaa55 || memcmp(buf + 0x202, "HdrS", 4) != 0)
        return err_set(err, ERR_INVALID, "bzImage: no Linux boot header");
    memset(out, 0, sizeof(*out));
    out->version = (uint16_t)get_le(buf + 0x206, 2);
    if (out->version < 0x020c)
        return err_set(err, ERR_UNSUPPORTED,
                       "bzImage: boot protocol %u.%02u, the 64-bit entry needs 2.12",
                       out->version >> 8, out->version & 0xff);
    out->setup_sects = buf[0x1f1] ? buf[0x1f1] : 4;
    out->loadflags = buf[0x211];
    out->xloadflags = (uint16_t)get_le(buf + 0x236, 2);
    if (!(out->loadflags & 0x01))
        return err_set(err, ERR_UNSUPPORTED, "bzImage: not loaded high (zImage)");
    if (!(out->xloadflags & 0x01))
        return err_set(err, ERR_UNSUPPORTED, "bzImage: no 64-bit entry point (XLF_KERNEL_64)");
    out->initrd_addr_max = (uint32_t)get_le(buf + 0x22c, 4);
    out->kernel_alignment = (uint32_t)get_le(buf + 0x230, 4);
    out->cmdline_size = (uint32_t)get_le(buf + 0x238, 4);
    out->pref_address = get_le(buf + 0x258, 8);
    out->init_size = (uint32_t)get_le(buf + 0x260, 4);
    out->setup_size = ((size_t)out->setup_sects + 1) * 512;
    out->header_end = 0x202 + (size_t)buf[0x201];
    if (out->header_end > len || out->header_end > out->setup_size ||
        out->header_end > 0x290 /* end of struct setup_header in boot_params */)
        return err_set(err, ERR_INVALID, "bzImage: setup header runs past its space");
    if (out->setup_size >= len)
        return err_set(err, ERR_INVALID, "bzImage: no protected-mode kernel after the setup");
    return 0;
}

int
boot_zero_page(const struct guest_mem *mem, const uint8_t *setup, const struct boot_bzimage *bz,
               uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp,
               struct err *err)
{
    uint8_t *zp = guest_mem_ptr(mem, BOOT_ZERO_PAGE_ADDR, 4096);
    if (!zp)
        return err_set(err, ERR_INVALID, "guest memory too small for the zero page");
    memset(zp, 0, 4096);
    if (setup && bz) {
        memcpy(zp + 0x1f1, setup + 0x1f1, bz->header_end - 0x1f1);
    } else {
        /* an ELF vmlinux entered at startup_64: a header of our own */
        put_le(zp + 0x1fe, 0xaa55, 2);
        memcpy(zp + 0x202, "HdrS", 4);
        put_le(zp + 0x206, 0x020c, 2);
        put_le(zp + 0x230, 0x1000000, 4); /* kernel_alignment */
    }
    zp[0x210] = 0xff;              /* type_of_loader: undefined */
    zp[0x211] |= 0x01;             /* LOADED_HIGH */
    zp[0x211] |= 0x80;             /* CAN_USE_HEAP */
    put_le(zp + 0x224, 0xfe00, 2); /* heap_end_ptr */
    put_le(zp + 0x1fa, 0xffff, 2); /* vid_mode: normal */
    put_le(zp + 0x228, cmdline_addr, 4);
    put_le(zp + 0x0c8, cmdline_addr >> 32, 4);
    put_le(zp + 0x218, initrd_addr, 4);
    put_le(zp + 0x21c, initrd_size, 4);
    put_le(zp + 0x0c0, initrd_addr >> 32, 4);
    put_le(zp + 0x0c4, initrd_size >> 32, 4);
    put_le(zp + 0x070, rsdp, 8); /* acpi_rsdp_addr */

    struct e820_entry e820[E820_MAX];
    int n = boot_e820_build(mem, e820, E820_MAX);
    zp[0x1e8] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *e = zp + 0x2d0 + 20 * i;
        put_le(e, e820[i].addr, 8);
        put_le(e + 8, e820[i].size, 8);
        put_le(e + 16, e820[i].type, 4);
    }
    return 0;
}

/* ---- ELF and the PVH note ---- */

struct src {
    const uint8_t *buf;
    size_t len;
    int fd;
};

static int
src_read(const struct src *s, uint64_t off, void *dst, size_t n)
{
    if (s->buf) {
        if (off > s->len || n > s->len - off)
            return -1;
        memcpy(dst, s->buf + off, n);
        return 0;
    }
    uint8_t *p = dst;
    while (n) {
        ssize_t r = pread(s->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r, off += (uint64_t)r, n -= (size_t)r;
    }
    return 0;
}

static int
elf_notes(const struct src *s, uint64_t off, uint64_t size, struct boot_elf *out)
{
    uint8_t buf[4096];
    if (size > sizeof(buf))
        size = sizeof(buf); /* the Xen notes come first; a huge note segment is not ours */
    if (src_read(s, off, buf, size) < 0)
        return -1;
    size_t pos = 0;
    while (pos + 12 <= size) {
        uint32_t namesz = (uint32_t)get_le(buf + pos, 4);
        uint32_t descsz = (uint32_t)get_le(buf + pos + 4, 4);
        uint32_t type = (uint32_t)get_le(buf + pos + 8, 4);
        size_t name_off = pos + 12;
        size_t desc_off = name_off + (((size_t)namesz + 3) & ~(size_t)3);
        size_t next = desc_off + (((size_t)descsz + 3) & ~(size_t)3);
        if (namesz > size || descsz > size || next > size)
            break;
        if (namesz == 4 && memcmp(buf + name_off, "Xen", 4) == 0 &&
            type == XEN_ELFNOTE_PHYS32_ENTRY && (descsz == 4 || descsz == 8)) {
            out->has_pvh = true;
            out->pvh_entry = (uint32_t)get_le(buf + desc_off, 4);
        }
        pos = next;
    }
    return 0;
}

static int
elf_parse(const struct src *s, struct boot_elf *out, struct err *err)
{
    uint8_t eh[64];
    memset(out, 0, sizeof(*out));
    if (src_read(s, 0, eh, 52) < 0 || memcmp(eh,
                                             "\x7f"
                                             "ELF",
                                             4) != 0)
        return err_set(err, ERR_INVALID, "ELF: no ELF header");
    if (eh[5] != 1)
        return err_set(err, ERR_UNSUPPORTED, "ELF: not little-endian");
    out->is64 = eh[4] == 2;
    if (!out->is64 && eh[4] != 1)
        return err_set(err, ERR_INVALID, "ELF: bad class %u", eh[4]);
    if (out->is64 && src_read(s, 0, eh, 64) < 0)
        return err_set(err, ERR_INVALID, "ELF: truncated header");
    uint16_t machine = (uint16_t)get_le(eh + 18, 2);
    if (machine != (out->is64 ? 62 : 3))
        return err_set(err, ERR_UNSUPPORTED, "ELF: machine %u is not x86", machine);
    uint64_t phoff;
    uint16_t phentsize, phnum;
    if (out->is64) {
        out->entry = get_le(eh + 24, 8);
        phoff = get_le(eh + 32, 8);
        phentsize = (uint16_t)get_le(eh + 54, 2);
        phnum = (uint16_t)get_le(eh + 56, 2);
    } else {
        out->entry = get_le(eh + 24, 4);
        phoff = get_le(eh + 28, 4);
        phentsize = (uint16_t)get_le(eh + 42, 2);
        phnum = (uint16_t)get_le(eh + 44, 2);
    }
    if (phentsize != (out->is64 ? 56 : 32) || phnum == 0 || phnum > 64)
        return err_set(err, ERR_INVALID, "ELF: bad program header table (%u x %u)", phnum,
                       phentsize);
    for (uint16_t i = 0; i < phnum; i++) {
        uint8_t ph[56];
        if (src_read(s, phoff + (uint64_t)i * phentsize, ph, phentsize) < 0)
            return err_set(err, ERR_INVALID, "ELF: truncated program header %u", i);
        uint32_t type = (uint32_t)get_le(ph, 4);
        struct boot_elf_load l;
        if (out->is64) {
            l.offset = get_le(ph + 8, 8);
            l.paddr = get_le(ph + 24, 8);
            l.filesz = get_le(ph + 32, 8);
            l.memsz = get_le(ph + 40, 8);
        } else {
            l.offset = get_le(ph + 4, 4);
            l.paddr = get_le(ph + 12, 4);
            l.filesz = get_le(ph + 16, 4);
            l.memsz = get_le(ph + 20, 4);
        }
        if (type == 1 /* PT_LOAD */) {
            if (l.filesz > l.memsz)
                return err_set(err, ERR_INVALID, "ELF: segment %u filesz > memsz", i);
            if (out->nloads == BOOT_ELF_MAX_LOADS)
                return err_set(err, ERR_UNSUPPORTED, "ELF: more than %d loadable segments",
                               BOOT_ELF_MAX_LOADS);
            out->load[out->nloads++] = l;
        } else if (type == 4 /* PT_NOTE */) {
            if (elf_notes(s, l.offset, l.filesz, out) < 0)
                return err_set(err, ERR_INVALID, "ELF: truncated note segment %u", i);
        }
    }
    if (out->nloads == 0)
        return err_set(err, ERR_INVALID, "ELF: nothing to load");
    return 0;
}

int
boot_elf_parse(const uint8_t *buf, size_t len, struct boot_elf *out, struct err *err)
{
    struct src s = {.buf = buf, .len = len, .fd = -1};
    return elf_parse(&s, out, err);
}

int
boot_elf_parse_fd(int fd, struct boot_elf *out, struct err *err)
{
    struct src s = {.fd = fd};
    return elf_parse(&s, out, err);
}

int
boot_pvh_start_info(const struct guest_mem *mem, uint64_t cmdline_addr, uint64_t initrd_addr,
                    uint64_t initrd_size, uint64_t rsdp, struct err *err)
{
    const uint64_t memmap = BOOT_PVH_INFO_ADDR + 64;
    const uint64_t modlist = BOOT_PVH_INFO_ADDR + 0x400;
    uint8_t *si = guest_mem_ptr(mem, BOOT_PVH_INFO_ADDR, 0x1000);
    if (!si)
        return err_set(err, ERR_INVALID, "guest memory too small for hvm_start_info");
    memset(si, 0, 0x1000);
    put_le(si, 0x336ec578, 4); /* XEN_HVM_START_MAGIC_VALUE */
    put_le(si + 4, 1, 4);      /* version: has the memory map */
    put_le(si + 24, cmdline_addr, 8);
    put_le(si + 32, rsdp, 8);
    if (initrd_size) {
        put_le(si + 12, 1, 4);
        put_le(si + 16, modlist, 8);
        uint8_t *m = si + (modlist - BOOT_PVH_INFO_ADDR);
        put_le(m, initrd_addr, 8);
        put_le(m + 8, initrd_size, 8);
    }
    struct e820_entry e820[E820_MAX];
    int n = boot_e820_build(mem, e820, E820_MAX);
    put_le(si + 40, memmap, 8);
    put_le(si + 48, (uint64_t)n, 4);
    for (int i = 0; i < n; i++) {
        uint8_t *e = si + (memmap - BOOT_PVH_INFO_ADDR) + 24 * i;
        put_le(e, e820[i].addr, 8);
        put_le(e + 8, e820[i].size, 8);
        put_le(e + 16, e820[i].type, 4);
    }
    return 0;
}

uint64_t
boot_initrd_addr(const struct guest_mem *mem, uint64_t size, uint64_t addr_max, uint64_t above)
{
    uint64_t top = guest_mem_low_end(mem);
    if (addr_max && addr_max + 1 < top)
        top = addr_max + 1;
    if (size > top)
        return 0;
    uint64_t addr = (top - size) & ~(uint64_t)0xfff;
    return addr >= above ? addr : 0;
}

/* ---- loading ---- */

static int
read_into(const struct guest_mem *mem, int fd, uint64_t off, uint64_t gpa, uint64_t n,
          const char *what, struct err *err)
{
    uint8_t *p = guest_mem_ptr(mem, gpa, n);
    if (!p)
        return err_set(err, ERR_INVALID, "%s (%llu bytes at 0x%llx) does not fit in guest memory",
                       what, (unsigned long long)n, (unsigned long long)gpa);
    struct src s = {.fd = fd};
    if (n && src_read(&s, off, p, n) < 0)
        return err_set_errno(err, ERR_IO, errno ? errno : EIO, "reading %s", what);
    return 0;
}

static int
load_cmdline(const struct guest_mem *mem, const char *cmdline, uint64_t max, struct err *err)
{
    size_t len = cmdline ? strlen(cmdline) : 0;
    if (max > BOOT_CMDLINE_MAX - 1)
        max = BOOT_CMDLINE_MAX - 1;
    if (len > max)
        return err_set(err, ERR_INVALID, "command line is %zu bytes, the kernel takes %llu", len,
                       (unsigned long long)max);
    char *p = guest_mem_ptr(mem, BOOT_CMDLINE_ADDR, len + 1);
    if (!p)
        return err_set(err, ERR_INVALID, "guest memory too small for the command line");
    if (len)
        memcpy(p, cmdline, len);
    p[len] = 0;
    return 0;
}

static int
load_initrd(const struct guest_mem *mem, const char *path, uint64_t addr_max, uint64_t above,
            uint64_t *addr, uint64_t *size, struct err *err)
{
    *addr = *size = 0;
    if (!path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "opening initrd %s", path);
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) < 0) {
        err_set_errno(err, ERR_IO, errno, "stat %s", path);
        goto cleanup;
    }
    *size = (uint64_t)st.st_size;
    *addr = boot_initrd_addr(mem, *size, addr_max, above);
    if (!*addr) {
        err_set(err, ERR_INVALID, "initrd %s (%llu bytes) does not fit in low memory", path,
                (unsigned long long)*size);
        goto cleanup;
    }
    rc = read_into(mem, fd, 0, *addr, *size, "initrd", err);
cleanup:
    close(fd);
    return rc;
}

static int
load_bzimage(const struct guest_mem *mem, const struct boot_config *cfg, int fd,
             const uint8_t *head, size_t head_len, uint64_t file_size, uint64_t rsdp,
             struct boot_entry *entry, struct err *err)
{
    struct boot_bzimage bz;
    if (boot_bzimage_parse(head, head_len, &bz, err) < 0)
        return -1;
    uint64_t ksize = file_size - bz.setup_size;
    if (read_into(mem, fd, bz.setup_size, BOOT_KERNEL_ADDR, ksize, "kernel", err) < 0)
        return -1;
    if (load_cmdline(mem, cfg->cmdline, bz.cmdline_size, err) < 0)
        return -1;
    uint64_t iaddr, isize;
    uint64_t kend = BOOT_KERNEL_ADDR + (ksize > bz.init_size ? ksize : bz.init_size);
    if (load_initrd(mem, cfg->initrd, bz.initrd_addr_max, kend, &iaddr, &isize, err) < 0)
        return -1;
    if (boot_zero_page(mem, head, &bz, BOOT_CMDLINE_ADDR, iaddr, isize, rsdp, err) < 0)
        return -1;
    *entry = (struct boot_entry){
        .mode = BOOT_MODE_LONG, .rip = BOOT_KERNEL_ADDR + 0x200, .rsi = BOOT_ZERO_PAGE_ADDR};
    return 0;
}

static int
load_elf(const struct guest_mem *mem, const struct boot_config *cfg, int fd, uint64_t rsdp,
         struct boot_entry *entry, struct err *err)
{
    struct boot_elf elf;
    if (boot_elf_parse_fd(fd, &elf, err) < 0)
        return -1;
    uint64_t kend = 0;
    for (int i = 0; i < elf.nloads; i++) {
        const struct boot_elf_load *l = &elf.load[i];
        uint8_t *p = guest_mem_ptr(mem, l->paddr, l->memsz);
        if (!p || l->paddr < BOOT_HIGH_START)
            return err_set(err, ERR_INVALID, "ELF segment at 0x%llx (%llu bytes) is outside RAM",
                           (unsigned long long)l->paddr, (unsigned long long)l->memsz);
        if (read_into(mem, fd, l->offset, l->paddr, l->filesz, "kernel segment", err) < 0)
            return -1;
        memset(p + l->filesz, 0, l->memsz - l->filesz);
        if (l->paddr + l->memsz > kend)
            kend = l->paddr + l->memsz;
    }
    if (load_cmdline(mem, cfg->cmdline, BOOT_CMDLINE_MAX - 1, err) < 0)
        return -1;
    uint64_t iaddr, isize;
    if (load_initrd(mem, cfg->initrd, 0xffffffff, kend, &iaddr, &isize, err) < 0)
        return -1;
    if (elf.has_pvh) {
        if (boot_pvh_start_info(mem, BOOT_CMDLINE_ADDR, iaddr, isize, rsdp, err) < 0)
            return -1;
        *entry = (struct boot_entry){
            .mode = BOOT_MODE_PROT32, .rip = elf.pvh_entry, .rbx = BOOT_PVH_INFO_ADDR};
        return 0;
    }
    if (!elf.is64)
        return err_set(err, ERR_UNSUPPORTED, "32-bit ELF kernel without a PVH entry note");
    if (boot_zero_page(mem, NULL, NULL, BOOT_CMDLINE_ADDR, iaddr, isize, rsdp, err) < 0)
        return -1;
    *entry =
        (struct boot_entry){.mode = BOOT_MODE_LONG, .rip = elf.entry, .rsi = BOOT_ZERO_PAGE_ADDR};
    return 0;
}

static int
load_raw(const struct guest_mem *mem, const struct boot_config *cfg, int fd, uint64_t size,
         struct boot_entry *entry, struct err *err)
{
    if (size == 0 || size > BOOT_PAYLOAD_MAX)
        return err_set(err, ERR_INVALID, "payload %s is %llu bytes (1..%llu)", cfg->kernel,
                       (unsigned long long)size, BOOT_PAYLOAD_MAX);
    if (read_into(mem, fd, 0, BOOT_PAYLOAD_ADDR, size, "payload", err) < 0)
        return -1;
    *entry = (struct boot_entry){.mode = cfg->raw_mode, .rsp = 0x8000};
    if (cfg->raw_mode == BOOT_MODE_REAL)
        entry->real_cs = (uint16_t)(BOOT_PAYLOAD_ADDR >> 4);
    else
        entry->rip = BOOT_PAYLOAD_ADDR;
    return 0;
}

int
boot_load(const struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *entry,
          struct err *err)
{
    if (guest_mem_low_end(mem) < 2 * BOOT_HIGH_START)
        return err_set(err, ERR_INVALID, "guest memory below 2 MiB");
    struct boot_acpi_info acpi;
    if (boot_acpi_build(mem, cfg->ncpus, cfg->pci_irqs, cfg->npci_irqs, &acpi, err) < 0)
        return -1;

    int fd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "opening %s", cfg->kernel);
    int rc = -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_set_errno(err, ERR_IO, errno, "stat %s", cfg->kernel);
        goto cleanup;
    }
    if (cfg->kind == BOOT_KIND_RAW) {
        rc = load_raw(mem, cfg, fd, (uint64_t)st.st_size, entry, err);
    } else {
        /* the setup part of a bzImage is at most 64 sectors plus the boot sector */
        static const size_t head_max = 65 * 512;
        uint8_t *head = calloc(1, head_max);
        if (!head)
            abort();
        size_t head_len = (uint64_t)st.st_size < head_max ? (size_t)st.st_size : head_max;
        struct src s = {.fd = fd};
        if (src_read(&s, 0, head, head_len) < 0) {
            err_set_errno(err, ERR_IO, errno ? errno : EIO, "reading %s", cfg->kernel);
        } else if (head_len >= 4 && memcmp(head,
                                           "\x7f"
                                           "ELF",
                                           4) == 0) {
            rc = load_elf(mem, cfg, fd, acpi.rsdp, entry, err);
        } else {
            rc = load_bzimage(mem, cfg, fd, head, head_len, (uint64_t)st.st_size, acpi.rsdp, entry,
                              err);
        }
        free(head);
    }
    if (rc == 0)
        rc = boot_x86_tables(mem, entry->mode, err);
cleanup:
    close(fd);
    if (rc < 0)
        err_prefix(err, "loading %s", cfg->kernel);
    return rc;
}
