/* A probe for the service test: db_image_resolve_for_boot() against the test's
 * PostgreSQL, printed as JSON for the shell to check.
 *   image_resolve CONNINFO STORE_DIR IMAGE_ID PROJECT_ID ADMIN(0|1)
 * prints {"image","kernel","ramdisk","vm_mode"} and exits 0, or
 * {"error": <code name>, "message"} and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int
main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: image_resolve CONNINFO STORE_DIR IMAGE_ID PROJECT_ID 0|1\n");
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 2;
    }
    struct db_image_viewer who = {argv[4], strcmp(argv[5], "1") == 0};
    struct err err = ERR_INIT;
    json_t *image, *kernel, *ramdisk;
    const char *vm_mode;
    int rc = db_image_resolve_for_boot(conn, argv[2], argv[3], &who, &image, &kernel, &ramdisk,
                                       &vm_mode, &err);
    json_t *out =
        rc == 0 ? json_pack("{s:o,s:o,s:o,s:s}", "image", image, "kernel",
                            kernel ? kernel : json_null(), "ramdisk",
                            ramdisk ? ramdisk : json_null(), "vm_mode", vm_mode)
                : json_pack("{s:s,s:s}", "error", err_code_name(err.code), "message", err.msg);
    char *txt = json_dumps(out, JSON_COMPACT);
    puts(txt);
    free(txt);
    json_decref(out);
    PQfinish(conn);
    return rc == 0 ? 0 : 1;
}
