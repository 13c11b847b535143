/* Fuzz harness for the bus envelope parser (every message a consumer reads
 * goes through it before any handler). Built for libFuzzer with
 * -DNUBE_FUZZ=ON (clang); otherwise main() replays the given files or
 * folders (the seed corpus) for ctest. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = ERR_INIT;
    json_t *env = bus_envelope_parse((const char *)data, size, 64 * 1024, &err);
    if (env) {
        /* What the dispatcher relies on after a successful parse. */
        const char *method = json_get_str(env, "method");
        if (!method || !*method || strlen(method) > BUS_METHOD_MAX ||
            !json_is_object(json_object_get(env, "args")))
            abort();
        json_decref(env);
    } else if (err.code != ERR_INVALID && err.code != ERR_TOO_LARGE) {
        abort();
    }
    return 0;
}

#ifndef NUBE_LIBFUZZER
static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

int
main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            files += replay_file(argv[i]) == 0;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        struct dirent *ent;
        while ((ent = readdir(d))) {
            if (ent->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], ent->d_name);
            files += replay_file(path) == 0;
        }
        closedir(d);
    }
    printf("%d inputs replayed\n", files);
    return files > 0 ? 0 : 1;
}
#endif
