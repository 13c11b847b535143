/* The replay driver for every libFuzzer harness in tests/: runs the harness's
 * LLVMFuzzerTestOneInput over the files and folders given (the seed corpus),
 * so ctest exercises the harness in gcc builds without libFuzzer. A harness
 * with global state may define fuzz_replay_fini() to release it at the end. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz.h"

#define FUZZ_REPLAY_MAX_INPUT (4u << 20)

__attribute__((weak)) void
fuzz_replay_fini(void)
{
}

static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(FUZZ_REPLAY_MAX_INPUT);
    size_t n = buf ? fread(buf, 1, FUZZ_REPLAY_MAX_INPUT, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int
main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) < 0)
                return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *ent;
        while ((ent = readdir(d))) {
            if (ent->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], ent->d_name);
            if (replay_file(path) < 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    fuzz_replay_fini();
    printf("%d inputs replayed\n", files);
    return files > 0 ? 0 : 1;
}
