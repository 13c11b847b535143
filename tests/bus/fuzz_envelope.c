/* Fuzz harness for the bus envelope parser (every message a consumer reads
 * goes through it before any handler). Built for libFuzzer with
 * -DNUBE_FUZZ=ON (clang); otherwise main() replays the given files or
 * folders (the seed corpus) for ctest. */
#include "fuzz.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus.h"
#include "json.h"

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
