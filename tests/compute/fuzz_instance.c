/* Fuzz harness for the `instance` object of build_instance (bytes from the
 * bus, after the envelope parser): parse, then what the agent does with a
 * parsed instance: the record round trip and the domain XML. Built for
 * libFuzzer with -DNUBE_FUZZ=ON (clang); otherwise main() replays the seed
 * corpus for ctest. */
#include "fuzz.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compute.h"
#include "domain_xml.h"
#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!obj)
        return 0;
    struct compute_instance inst;
    struct err err = ERR_INIT;
    if (compute_instance_parse(obj, &inst, &err) < 0) {
        if (err.code != ERR_INVALID || !err.msg[0])
            abort();
        json_decref(obj);
        return 0;
    }
    /* the record the agent keeps must parse back to the same instance */
    json_t *back = compute_instance_to_json(&inst);
    struct compute_instance again;
    if (compute_instance_parse(back, &again, &err) < 0 || strcmp(again.id, inst.id) ||
        strcmp(again.name, inst.name) || again.vcpus != inst.vcpus ||
        again.memory_mb != inst.memory_mb || strcmp(again.image.id, inst.image.id) ||
        (inst.cmdline && (!again.cmdline || strcmp(again.cmdline, inst.cmdline))))
        abort();
    compute_instance_clear(&again);
    json_decref(back);
    bool pv = strcmp(inst.vm_mode, "xen") == 0;
    struct domain_xml_input in = {.inst = &inst,
                                  .virt_type = "qemu",
                                  .disk_path = "/i/disk",
                                  .disk_format = "qcow2",
                                  .kernel_path = pv ? "/c/k" : NULL,
                                  .initrd_path = inst.ramdisk.location ? "/c/r" : NULL,
                                  .console_path = "/i/console.log"};
    char *xml = domain_xml_build(&in, &err);
    if (!xml)
        abort();
    /* every value is escaped: the only '<' are the generator's own tags */
    const char *name = strstr(xml, "<nube:name>");
    const char *end = name ? strstr(name, "</nube:name>") : NULL;
    if (!end || memchr(name + 11, '<', (size_t)(end - name - 11)))
        abort();
    free(xml);
    compute_instance_clear(&inst);
    json_decref(obj);
    return 0;
}
