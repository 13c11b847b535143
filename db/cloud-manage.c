/* cloud-manage: operator commands that act on the database directly.
 *   cloud-manage [--config FILE] [--connection CONNINFO] db sync
 *   cloud-manage [--config FILE] [--connection CONNINFO] db version */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"

#ifndef NUBE_MIGRATIONS_DIR
#define NUBE_MIGRATIONS_DIR "/usr/share/nube/migrations"
#endif

static void
usage(FILE *f)
{
    fprintf(f, "usage: cloud-manage [--config FILE] [--connection CONNINFO] db sync|version\n"
               "  db sync     apply the database migrations that are not applied yet\n"
               "  db version  print the schema version the database is at\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"connection", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *conninfo = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:C:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            conninfo = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "db") != 0 ||
        (strcmp(argv[optind + 1], "sync") != 0 && strcmp(argv[optind + 1], "version") != 0)) {
        usage(stderr);
        return 2;
    }
    log_init("cloud-manage", LOG_LEVEL_INFO, NULL);

    struct err err = ERR_INIT;
    struct config *cfg = config_path ? config_load(config_path, &err) : config_new();
    int rc = 1;
    struct db_pool *pool = NULL;
    PGconn *conn = NULL;
    if (!cfg) {
        fprintf(stderr, "cloud-manage: %s\n", err.msg);
        return 1;
    }
    if (!conninfo)
        conninfo = config_get(cfg, "database", "connection", NULL);
    if (!conninfo) {
        fprintf(stderr, "cloud-manage: no database: set [database] connection in the config"
                        " file or pass --connection\n");
        goto cleanup;
    }
    pool = db_pool_new(conninfo, 1, &err);
    if (!pool || !(conn = db_pool_acquire(pool, &err)))
        goto fail;

    if (strcmp(argv[optind + 1], "sync") == 0) {
        const char *dir = config_get(cfg, "database", "migrations_dir", NUBE_MIGRATIONS_DIR);
        int applied = 0, version = 0;
        if (db_migrate(conn, dir, &applied, &err) < 0 ||
            db_schema_version(conn, &version, &err) < 0)
            goto fail;
        printf("database schema at version %d (%d migration%s applied)\n", version, applied,
               applied == 1 ? "" : "s");
    } else {
        int version = 0;
        if (db_schema_version(conn, &version, &err) < 0)
            goto fail;
        printf("%d\n", version);
    }
    rc = 0;
    goto cleanup;
fail:
    fprintf(stderr, "cloud-manage: %s\n", err.msg);
cleanup:
    if (conn)
        db_pool_release(pool, conn);
    db_pool_free(pool);
    config_free(cfg);
    return rc;
}
