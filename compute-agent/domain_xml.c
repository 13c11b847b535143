/* Domain XML generation: plain text with every value escaped. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "domain_xml.h"
#include "mem.h"

struct buf {
    char *s;
    size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
buf_text(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            buf_add(b, "&lt;", 4);
            break;
        case '>':
            buf_add(b, "&gt;", 4);
            break;
        case '&':
            buf_add(b, "&amp;", 5);
            break;
        case '\'':
            buf_add(b, "&apos;", 6);
            break;
        case '"':
            buf_add(b, "&quot;", 6);
            break;
        default:
            buf_add(b, s, 1);
        }
    }
}

/* printf where every %s argument is escaped: the format itself is trusted. */
static void __attribute__((format(printf, 2, 3))) buf_fmt(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            buf_add(b, p, 1);
            continue;
        }
        p++;
        if (*p == 's') {
            buf_text(b, va_arg(ap, const char *));
        } else if (*p == 'l' && p[1] == 'd') {
            char num[32];
            int n = snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
            buf_add(b, num, (size_t)n);
            p++;
        } else {
            buf_add(b, p, 1); /* %% */
        }
    }
    va_end(ap);
}

char *
domain_xml_cmdline(const struct compute_instance *inst, bool have_disk)
{
    if (inst->cmdline)
        return xstrdup(inst->cmdline);
    return xstrdup(have_disk ? "console=ttyS0 root=/dev/vda" : "console=ttyS0");
}

char *
domain_xml_build(const struct domain_xml_input *in, struct err *err)
{
    const struct compute_instance *inst = in->inst;
    bool pv = strcmp(inst->vm_mode, "xen") == 0;
    if (pv && !in->kernel_path)
        return err_set(err, ERR_INVALID, "instance %s: vm_mode xen needs a kernel", inst->id), NULL;
    if (!pv && !in->disk_path)
        return err_set(err, ERR_INVALID, "instance %s: vm_mode hvm needs a root disk", inst->id),
               NULL;
    if (!in->virt_type || !*in->virt_type)
        return err_set(err, ERR_INVALID, "no domain type"), NULL;

    struct buf b = {0};
    char name[64];
    compute_domain_name(inst->id, name);
    buf_fmt(&b, "<domain type='%s'>\n", in->virt_type);
    buf_fmt(&b, "  <name>%s</name>\n  <uuid>%s</uuid>\n", name, inst->id);
    buf_fmt(&b,
            "  <metadata>\n"
            "    <nube:instance xmlns:nube='https://nube.dev/xmlns/compute/1'>\n"
            "      <nube:name>%s</nube:name>\n"
            "      <nube:vm_mode>%s</nube:vm_mode>\n"
            "      <nube:image>%s</nube:image>\n"
            "    </nube:instance>\n"
            "  </metadata>\n",
            inst->name, inst->vm_mode, inst->image.id);
    buf_fmt(&b, "  <memory unit='MiB'>%ld</memory>\n  <vcpu>%ld</vcpu>\n", inst->memory_mb,
            inst->vcpus);
    buf_fmt(&b, "  <os>\n    <type arch='x86_64'>hvm</type>\n");
    if (pv) {
        char *cmdline = domain_xml_cmdline(inst, in->disk_path != NULL);
        buf_fmt(&b, "    <kernel>%s</kernel>\n", in->kernel_path);
        if (in->initrd_path)
            buf_fmt(&b, "    <initrd>%s</initrd>\n", in->initrd_path);
        buf_fmt(&b, "    <cmdline>%s</cmdline>\n", cmdline);
        free(cmdline);
    } else {
        buf_fmt(&b, "    <boot dev='hd'/>\n");
    }
    buf_fmt(&b, "  </os>\n");
    buf_fmt(&b, "  <on_poweroff>destroy</on_poweroff>\n"
                "  <on_reboot>restart</on_reboot>\n"
                "  <on_crash>destroy</on_crash>\n");
    buf_fmt(&b, "  <devices>\n");
    if (in->disk_path)
        buf_fmt(&b,
                "    <disk type='file' device='disk'>\n"
                "      <driver name='qemu' type='%s'/>\n"
                "      <source file='%s'/>\n"
                "      <target dev='vda' bus='virtio'/>\n"
                "    </disk>\n",
                in->disk_format ? in->disk_format : "raw", in->disk_path);
    if (in->console_path)
        buf_fmt(&b,
                "    <serial type='file'>\n"
                "      <source path='%s'/>\n"
                "      <target port='0'/>\n"
                "    </serial>\n"
                "    <console type='file'>\n"
                "      <source path='%s'/>\n"
                "      <target type='serial' port='0'/>\n"
                "    </console>\n",
                in->console_path, in->console_path);
    buf_fmt(&b, "  </devices>\n</domain>\n");
    return b.s;
}
