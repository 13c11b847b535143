/* The agent's golden domain XML must be what cloud-hvd accepts: each golden
 * file goes through cloud-hvd's own parser (hypervisor/hvd/domain_xml.c).
 *   test_compute_golden_hvd GOLDEN_DIR */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "domain_xml.h" /* cloud-hvd's */
#include "rpc.h"

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_compute_golden_hvd GOLDEN_DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    CHECK(d != NULL);
    if (!d)
        return check_done();
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".xml") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        if (!f)
            continue;
        static char buf[65536];
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        struct rpc_error re = {0};
        struct domain_def *def = domain_xml_parse(buf, len, &re);
        if (!def)
            fprintf(stderr, "%s: cloud-hvd refuses it: %s\n", e->d_name, re.message);
        CHECK(def != NULL);
        if (def && strstr(e->d_name, "kvm"))
            CHECK(strstr(buf, "type='raw'") != NULL);
        domain_def_free(def);
        files++;
    }
    closedir(d);
    CHECK(files >= 3);
    return check_done();
}
