/* nube-outb PORT VALUE: write one byte to an x86 I/O port.
 *
 * The guest's /init marks its milestones with it (the cloud kernel has no
 * /dev/port, and busybox has no outb). Freestanding: no libc, two raw system
 * calls, so it builds with `gcc -static -nostdlib` on any Debian and is a few
 * hundred bytes. Numbers are decimal or 0x-prefixed hex. Exits 0 on success,
 * 1 on bad arguments, 2 if ioperm fails. */

#define SYS_EXIT 60
#define SYS_IOPERM 173

static long
sys3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static int
parse(const char *s, unsigned long *out)
{
    unsigned long v = 0, base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -1;
    for (; *s; s++) {
        unsigned long d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned long)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned long)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned long)(*s - 'A' + 10);
        else
            return -1;
        if (d >= base)
            return -1;
        v = v * base + d;
        if (v > 0xffff)
            return -1;
    }
    *out = v;
    return 0;
}

static int
outb_main(long argc, char **argv)
{
    unsigned long port, value;
    if (argc != 3 || parse(argv[1], &port) || parse(argv[2], &value) || value > 0xff)
        return 1;
    if (sys3(SYS_IOPERM, (long)port, 1, 1) != 0)
        return 2;
    __asm__ volatile("outb %b0, %w1" : : "a"((unsigned char)value), "Nd"((unsigned short)port));
    return 0;
}

/* The kernel leaves argc at (%rsp) and argv right after it. */
__asm__(".globl _start\n"
        "_start:\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call nube_outb_start\n"
        "    hlt\n");

void nube_outb_start(long *sp) __attribute__((noreturn, used));
void
nube_outb_start(long *sp)
{
    int rc = outb_main(sp[0], (char **)(sp + 1));
    sys3(SYS_EXIT, rc, 0, 0);
    __builtin_unreachable();
}
