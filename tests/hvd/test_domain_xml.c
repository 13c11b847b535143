/* Domain XML: golden files (golden/NAME.in.xml parses and formats to
 * golden/NAME.out.xml, and the output is a fixed point), and the errors
 * libvirt's clients expect for bad input. */
#include <dirent.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "domain_xml.h"
#include "mem.h"

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = xzalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void
check_golden(const char *dir, const char *name)
{
    char in[512], out[512];
    snprintf(in, sizeof(in), "%s/%s.in.xml", dir, name);
    snprintf(out, sizeof(out), "%s/%s.out.xml", dir, name);
    _cleanup_free_ char *src = slurp(in);
    _cleanup_free_ char *want = slurp(out);
    CHECK(src != NULL);
    CHECK(want != NULL);
    if (!src || !want)
        return;
    struct rpc_error e;
    struct domain_def *def = domain_xml_parse(src, strlen(src), &e);
    if (!def) {
        fprintf(stderr, "%s: %s\n", in, e.message);
        CHECK(def != NULL);
        return;
    }
    _cleanup_free_ char *got = domain_xml_format(def, -1);
    if (strcmp(got, want)) {
        fprintf(stderr, "%s: output differs from %s:\n%s", name, out, got);
        if (getenv("HVD_GOLDEN_UPDATE")) {
            FILE *f = fopen(out, "we");
            if (f) {
                fputs(got, f);
                fclose(f);
            }
        }
    }
    CHECK_STR(got, want);
    /* Parsing our own output gives the same definition back. */
    struct domain_def *again = domain_xml_parse(got, strlen(got), &e);
    CHECK(again != NULL);
    if (again) {
        _cleanup_free_ char *got2 = domain_xml_format(again, -1);
        CHECK_STR(got2, got);
        domain_def_free(again);
    }
    /* A running domain carries its id. */
    _cleanup_free_ char *live = domain_xml_format(def, 7);
    CHECK(strstr(live, " id=\"7\"") != NULL || strstr(live, " id='7'") != NULL);
    struct domain_def *copy = domain_def_copy(def);
    _cleanup_free_ char *got3 = domain_xml_format(copy, -1);
    CHECK_STR(got3, got);
    domain_def_free(copy);
    domain_def_free(def);
}

struct bad_case {
    const char *xml;
    int code;
    const char *needle; /* must appear in the message */
};

static const struct bad_case bad[] = {
    {"<domain type='qemu'><name>x</name>", VIR_ERR_XML_ERROR, "(domain_definition):1:"},
    {"", VIR_ERR_XML_ERROR, "XML error"},
    {"<domain type='xen'><name>x</name></domain>", VIR_ERR_CONFIG_UNSUPPORTED, "'xen'"},
    {"<domain><name>x</name></domain>", VIR_ERR_XML_ERROR, "domain type"},
    {"<vm type='qemu'/>", VIR_ERR_XML_ERROR, "<domain>"},
    {"<domain type='qemu'><memory>1</memory><os><type>hvm</type><kernel>/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, "name"},
    {"<domain type='qemu'><name>a/b</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, "not valid"},
    {"<domain type='qemu'><name>x</name><uuid>nope</uuid><memory>1024</memory></domain>",
     VIR_ERR_XML_ERROR, "uuid"},
    {"<domain type='qemu'><name>x</name><memory unit='parsec'>1</memory></domain>",
     VIR_ERR_XML_ERROR, "unit"},
    {"<domain type='qemu'><name>x</name><memory>-5</memory></domain>", VIR_ERR_XML_ERROR, "memory"},
    {"<domain type='qemu'><name>x</name><memory unit='TiB'>2</memory></domain>", VIR_ERR_XML_ERROR,
     "out of range"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><vcpu>0</vcpu></domain>",
     VIR_ERR_XML_ERROR, "vcpu"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory></domain>", VIR_ERR_XML_ERROR, "<os>"},
    {"<domain type='kvm'><name>x</name><memory>1024</memory><os><type>xen</type></os></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "<kernel>"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>relative/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, "absolute"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type arch='aarch64'>hvm</type>"
     "<kernel>/k</kernel></os></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "aarch64"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><interface type='network'/></devices></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "network"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><interface type='ethernet'><mac address='01:00:00:00:00:01'/>"
     "</interface></devices></domain>",
     VIR_ERR_XML_ERROR, "MAC"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><disk type='file'><source file='/a'/><target dev='vda'/>"
     "</disk><disk type='file'><source file='/b'/><target dev='vda'/></disk></devices></domain>",
     VIR_ERR_XML_ERROR, "duplicated"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><disk type='block'><source dev='/dev/sda'/></disk>"
     "</devices></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "block"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><hostdev mode='subsystem'/></devices></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "hostdev"},
    {"<domain type='kvm'><name>x</name><memory>1024</memory><os><type>xen</type>"
     "<kernel>/k</kernel></os><devices><disk type='file'><driver type='qcow2'/>"
     "<source file='/a'/><target dev='vda'/></disk></devices></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "raw"},
    {"<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os><devices><serial type='pty'/></devices></domain>",
     VIR_ERR_CONFIG_UNSUPPORTED, "serial"},
    {"<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='qemu'><name>&x;</name>"
     "<memory>1024</memory><os><type>hvm</type><kernel>/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, NULL},
    {"<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
     "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>]>"
     "<domain type='qemu'><name>&d;</name><memory>1024</memory><os><type>hvm</type>"
     "<kernel>/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, "(domain_definition)"},
    {"<!DOCTYPE domain [<!ENTITY n 'x'>]><domain type='qemu'><name>&n;</name>"
     "<memory>1024</memory><os><type>hvm</type><kernel>/k</kernel></os></domain>",
     VIR_ERR_XML_ERROR, "DTD"},
};

static void
check_bad_inputs(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct rpc_error e = {0};
        struct domain_def *def = domain_xml_parse(bad[i].xml, strlen(bad[i].xml), &e);
        if (def) {
            fprintf(stderr, "bad case %zu parsed: %s\n", i, bad[i].xml);
            domain_def_free(def);
        }
        CHECK(def == NULL);
        if (e.code != bad[i].code)
            fprintf(stderr, "bad case %zu: code %d (%s), expected %d\n", i, e.code, e.message,
                    bad[i].code);
        CHECK_INT(e.code, bad[i].code);
        CHECK_INT(e.domain, VIR_FROM_DOMAIN);
        if (bad[i].needle && !strstr(e.message, bad[i].needle)) {
            fprintf(stderr, "bad case %zu: message '%s' lacks '%s'\n", i, e.message, bad[i].needle);
            CHECK(0);
        }
    }
    /* Too large, before libxml2 sees it. */
    size_t big = DOMAIN_XML_MAX + 1;
    char *huge = xmalloc(big);
    memset(huge, ' ', big);
    struct rpc_error e;
    CHECK(domain_xml_parse(huge, big, &e) == NULL);
    CHECK_INT(e.code, VIR_ERR_XML_ERROR);
    free(huge);
}

static void
check_defaults(void)
{
    const char *xml = "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory>"
                      "<os><type>hvm</type><kernel>/k</kernel></os><devices>"
                      "<interface type='ethernet'/></devices></domain>";
    struct rpc_error e;
    struct domain_def *a = domain_xml_parse(xml, strlen(xml), &e);
    struct domain_def *b = domain_xml_parse(xml, strlen(xml), &e);
    CHECK(a && b);
    if (!a || !b)
        return;
    CHECK_INT(a->memory_kib, 65536);
    CHECK_INT(a->vcpus, 1);
    CHECK_STR(a->machine, "pc");
    CHECK(memcmp(a->uuid, b->uuid, RPC_UUID_LEN) != 0); /* random uuid */
    CHECK(!strncmp(a->ifaces[0].mac, "52:54:00:", 9));  /* random local MAC */
    CHECK(a->ifaces[0].tap == NULL);                    /* chosen at start */
    domain_def_free(a);
    domain_def_free(b);

    uint8_t u[RPC_UUID_LEN];
    char s[37];
    CHECK_INT(domain_uuid_parse("6f1d2c44-8a3b-4d0e-9c51-2b7e0f9a1c33", u), 0);
    domain_uuid_format(u, s);
    CHECK_STR(s, "6f1d2c44-8a3b-4d0e-9c51-2b7e0f9a1c33");
    CHECK_INT(domain_uuid_parse("6f1d2c448a3b4d0e9c512b7e0f9a1c33", u), 0);
    CHECK_INT(domain_uuid_parse("6f1d2c448a3b4d0e9c512b7e0f9a1c3", u), -1);
    CHECK_INT(domain_uuid_parse("6f1d2c448a3b4d0e9c512b7e0f9a1c33ff", u), -1);
    CHECK(domain_name_valid("instance-00000001"));
    CHECK(!domain_name_valid(".hidden"));
    CHECK(!domain_name_valid("a b"));
    CHECK(!domain_name_valid(""));
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "golden";
    static const char *const goldens[] = {"qemu-full", "kvm-pv", "kvm-payload"};
    for (size_t i = 0; i < ARRAY_SIZE(goldens); i++)
        check_golden(dir, goldens[i]);
    check_bad_inputs();
    check_defaults();
    return check_done();
}
