/* Domain XML of instances against golden files (NUBE_UPDATE_GOLDEN=1
 * rewrites them), plus the instance parser's bounds.
 *   test_compute_domain_xml GOLDEN_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compute.h"
#include "domain_xml.h"
#include "json.h"

static const char *golden_dir;

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static void
check_golden(const char *name, const char *xml)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);
    if (getenv("NUBE_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs(xml, f);
            fclose(f);
        }
        return;
    }
    char *want = slurp(path);
    CHECK(want != NULL);
    if (want && strcmp(want, xml) != 0) {
        fprintf(stderr, "%s differs; got:\n%s", name, xml);
        CHECK(!"golden mismatch");
    } else {
        CHECK(want != NULL);
    }
    free(want);
}

static int
parse(const char *text, struct compute_instance *inst, struct err *err)
{
    json_t *o = json_loads(text, 0, NULL);
    CHECK(o != NULL);
    int rc = compute_instance_parse(o, inst, err);
    json_decref(o);
    return rc;
}

#define PV_KERNEL_IMAGE                                                                            \
    "{\"id\": \"0b1c6a4e-9a0f-4c1e-8d55-6f7d1b2a3c4d\", \"name\": \"web <1> & 'co'\","             \
    " \"vcpus\": 2, \"memory_mb\": 256, \"root_gb\": 0, \"vm_mode\": \"xen\","                     \
    " \"image\": {\"id\": \"img-kernel\", \"checksum\": \"d41d8cd98f00b204e9800998ecf8427e\","     \
    " \"disk_format\": \"aki\", \"location\": \"file:///images/vmlinuz\","                         \
    " \"properties\": {\"os_command_line\": \"console=ttyS0 nube.dhcp=0\"}},"                      \
    " \"ramdisk\": {\"id\": \"img-initrd\", \"disk_format\": \"ari\","                             \
    " \"location\": \"file:///images/initrd.img\"}}"

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_compute_domain_xml GOLDEN_DIR\n");
        return 2;
    }
    golden_dir = argv[1];
    struct err err = ERR_INIT;
    struct compute_instance inst;

    /* PV: an aki image with an initrd and no disk, on a qemu-type host. */
    CHECK_INT(parse(PV_KERNEL_IMAGE, &inst, &err), 0);
    struct domain_xml_input in = {.inst = &inst,
                                  .virt_type = "qemu",
                                  .kernel_path =
                                      "/cache/img-kernel-d41d8cd98f00b204e9800998ecf8427e",
                                  .initrd_path = "/cache/img-initrd-any",
                                  .console_path = "/inst/0b1c6a4e/console.log"};
    char *xml = domain_xml_build(&in, &err);
    CHECK(xml != NULL);
    if (xml)
        check_golden("pv_qemu_initrd.xml", xml);
    free(xml);
    compute_instance_clear(&inst);

    /* PV: a raw root disk with kernel_id/ramdisk_id resolved, kvm (raw disk). */
    CHECK_INT(parse("{\"id\": \"11111111-2222-4333-8444-555555555555\", \"name\": \"db\","
                    " \"vcpus\": 4, \"memory_mb\": 4096, \"root_gb\": 10, \"vm_mode\": \"xen\","
                    " \"image\": {\"id\": \"root\", \"disk_format\": \"raw\","
                    " \"location\": \"https://glance/v2/images/root/file\", \"token\": \"t\"},"
                    " \"kernel\": {\"id\": \"k\", \"disk_format\": \"aki\","
                    " \"location\": \"file:///k\"},"
                    " \"ramdisk\": {\"id\": \"r\", \"disk_format\": \"ari\","
                    " \"location\": \"file:///r\"}}",
                    &inst, &err),
              0);
    in = (struct domain_xml_input){.inst = &inst,
                                   .virt_type = "kvm",
                                   .disk_path = "/inst/11111111/disk",
                                   .disk_format = "raw",
                                   .kernel_path = "/cache/k-any",
                                   .initrd_path = "/cache/r-any",
                                   .console_path = "/inst/11111111/console.log"};
    xml = domain_xml_build(&in, &err);
    CHECK(xml != NULL);
    if (xml) {
        check_golden("pv_kvm_disk.xml", xml);
        CHECK(strstr(xml, "root=/dev/vda") != NULL);
    }
    free(xml);
    /* the token never goes to disk */
    json_t *back = compute_instance_to_json(&inst);
    char *dump = json_dumps(back, JSON_SORT_KEYS);
    CHECK(dump && !strstr(dump, "token"));
    free(dump);
    json_decref(back);
    compute_instance_clear(&inst);

    /* HVM: boots the qcow2 overlay through the firmware. */
    CHECK_INT(parse("{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"win\","
                    " \"vcpus\": 1, \"memory_mb\": 512, \"root_gb\": 1, \"vm_mode\": \"hvm\","
                    " \"image\": {\"id\": \"disk\", \"disk_format\": \"qcow2\","
                    " \"location\": \"file:///d\"}}",
                    &inst, &err),
              0);
    in = (struct domain_xml_input){.inst = &inst,
                                   .virt_type = "qemu",
                                   .disk_path = "/inst/aaaaaaaa/disk",
                                   .disk_format = "qcow2",
                                   .console_path = "/inst/aaaaaaaa/console.log"};
    xml = domain_xml_build(&in, &err);
    CHECK(xml != NULL);
    if (xml)
        check_golden("hvm_qemu.xml", xml);
    free(xml);
    /* hvm without a disk, xen without a kernel: refused */
    in.disk_path = NULL;
    CHECK(domain_xml_build(&in, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    compute_instance_clear(&inst);

    /* The parser's refusals name the field. */
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"id\": \"x\"}", "instance.id"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 0,"
         " \"memory_mb\": 64, \"root_gb\": 1}",
         "vcpus"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 1,"
         " \"memory_mb\": 64, \"root_gb\": 1, \"vm_mode\": \"exe\"}",
         "vm_mode"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 1,"
         " \"memory_mb\": 64, \"root_gb\": 1, \"vm_mode\": \"hvm\", \"image\": {\"id\": \"../x\","
         " \"disk_format\": \"raw\", \"location\": \"file:///x\"}}",
         "image.id"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 1,"
         " \"memory_mb\": 64, \"root_gb\": 1, \"vm_mode\": \"hvm\", \"image\": {\"id\": \"x\","
         " \"disk_format\": \"raw\", \"location\": \"ftp://x\"}}",
         "location"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 1,"
         " \"memory_mb\": 64, \"root_gb\": 1, \"vm_mode\": \"xen\", \"image\": {\"id\": \"x\","
         " \"disk_format\": \"raw\", \"location\": \"file:///x\"}}",
         "kernel"},
        {"{\"id\": \"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee\", \"name\": \"a\", \"vcpus\": 1,"
         " \"memory_mb\": 64, \"root_gb\": 1, \"vm_mode\": \"hvm\", \"image\": {\"id\": \"x\","
         " \"disk_format\": \"vmdk\", \"location\": \"file:///x\"}}",
         "disk_format"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        CHECK_INT(parse(bad[i].json, &inst, &err), -1);
        CHECK_INT(err.code, ERR_INVALID);
        if (!strstr(err.msg, bad[i].needle))
            fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].needle);
        CHECK(strstr(err.msg, bad[i].needle) != NULL);
    }

    char id[37];
    CHECK(compute_domain_instance_id("nube-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", id));
    CHECK_STR(id, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    CHECK(!compute_domain_instance_id("nube-x", id));
    CHECK(!compute_domain_instance_id("test", id));
    return check_done();
}
