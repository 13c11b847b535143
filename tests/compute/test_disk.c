/* The image cache and instance disks: file and http locations (the token
 * sent, a missing one refused), MD5 verification, qcow2 images converted to
 * raw once, the size bound, overlays and raw copies that share or skip the
 * image's blocks, the console tail.
 *   test_compute_disk HTTP_IMAGE_PY */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "disk.h"
#include "image_server.h"
#include "log.h"
#include "mem.h"

static char tmp[256];
static int ticks;

static void
count_tick(void *opaque)
{
    (void)opaque;
    ticks++;
}

/* Run @script in the test's folder. */
static int
sh(const char *script)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "cd %s && %s", tmp, script);
    return system(cmd);
}

static int
files_in(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

int
main(int argc, char **argv)
{
    log_init("test_compute_disk", LOG_LEVEL_ERROR, NULL);
    if (access("/usr/bin/qemu-img", X_OK) < 0)
        SKIP("qemu-img (qemu-utils) is not installed");
    snprintf(tmp, sizeof(tmp), "/tmp/nube-compute-disk.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    char cache[300], path[600];
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    struct disk_config dc = {
        .cache_dir = cache, .qemu_img = "qemu-img", .max_image_bytes = 256 << 20};
    struct err err = ERR_INIT;
    CHECK_INT(sh("mkdir srv && truncate -s 32M srv/root.raw && printf 'BOOT' | dd "
                 "of=srv/root.raw bs=1 seek=510 conv=notrunc status=none && "
                 "qemu-img convert -f raw -O qcow2 srv/root.raw srv/root.qcow2"),
              0);
    char md5[64] = "";
    snprintf(path, sizeof(path), "md5sum %s/srv/root.raw", tmp);
    FILE *p = popen(path, "r");
    CHECK(p && fscanf(p, "%32s", md5) == 1);
    if (p)
        pclose(p);

    /* file:// with the right checksum; a second get only finds it */
    struct compute_image img = {
        .id = (char *)"root", .checksum = md5, .disk_format = (char *)"raw"};
    img.location = xasprintf("file://%s/srv/root.raw", tmp);
    char *cached = NULL;
    CHECK_INT(disk_image_get(&dc, &img, &cached, &err), 0);
    snprintf(path, sizeof(path), "%s/root-%s", cache, md5);
    CHECK_STR(cached, path);
    free(cached);
    CHECK_INT(disk_image_get(&dc, &img, &cached, &err), 0);
    CHECK_STR(cached, path);
    free(cached);
    free(img.location);

    /* qcow2: converted to raw once (no QFI magic in the cache) */
    struct compute_image q = {.id = (char *)"rootq", .disk_format = (char *)"qcow2"};
    q.location = xasprintf("file://%s/srv/root.qcow2", tmp);
    char *qc = NULL;
    CHECK_INT(disk_image_get(&dc, &q, &qc, &err), 0);
    if (!qc)
        fprintf(stderr, "qcow2: %s\n", err.msg);
    uint64_t vs = 0;
    CHECK(qc && disk_virtual_size(qc, &vs, &err) == 0 && vs == 32u << 20);
    snprintf(path, sizeof(path), "cmp -s %s/srv/root.raw %s", tmp, qc ? qc : "/nonexistent");
    CHECK_INT(system(path), 0);
    free(q.location);

    /* the bound: a larger image fails, nothing partial stays */
    struct disk_config small = {
        .cache_dir = cache, .qemu_img = "qemu-img", .max_image_bytes = 1 << 20};
    struct compute_image big = {.id = (char *)"big", .disk_format = (char *)"raw"};
    big.location = xasprintf("file://%s/srv/root.raw", tmp);
    char *none = NULL;
    err_clear(&err);
    CHECK_INT(disk_image_get(&small, &big, &none, &err), -1);
    CHECK_INT(err.code, ERR_TOO_LARGE);
    CHECK(none == NULL);
    free(big.location);
    CHECK_INT(files_in(cache), 2);

    /* root disks: a qcow2 overlay (tiny) and a raw copy (sparse or shared) */
    snprintf(path, sizeof(path), "%s/disk.qcow2", tmp);
    CHECK_INT(disk_instance_create(DISK_QCOW2_OVERLAY, qc, 1, path, &err), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK(st.st_size < 1 << 20);
    CHECK_INT(disk_virtual_size(path, &vs, &err), 0);
    CHECK_INT(vs, 1u << 30);
    CHECK_INT(disk_instance_create(DISK_QCOW2_OVERLAY, qc, 1, path, &err), 0); /* exists */
    /* the qcow2 the agent writes itself is one QEMU takes: consistent, with
     * its backing file and format, the backing data showing through, and
     * writes that allocate clusters leave it consistent */
    CHECK_INT(sh("qemu-img check -q disk.qcow2"), 0);
    CHECK_INT(sh("qemu-img info --output=json disk.qcow2 | grep -q '\"backing-filename-format\": "
                 "\"raw\"'"),
              0);
    CHECK_INT(sh("qemu-img compare -q -f qcow2 -F raw disk.qcow2 cache/root-*"), 0);
    CHECK_INT(sh("qemu-io -f qcow2 -c 'write -P 0xab 0 64k' -c 'write -P 0xcd 600M 128k' "
                 "-c 'read -P 0xab 0 64k' -c 'read -P 0xcd 600M 128k' disk.qcow2 >/dev/null && "
                 "qemu-img check -q disk.qcow2"),
              0);
    /* blank, and large enough for an L1 table of two clusters (over 4 TiB) */
    snprintf(path, sizeof(path), "%s/blank.qcow2", tmp);
    CHECK_INT(qcow2_create(path, 5ULL << 40, NULL, NULL, &err), 0);
    CHECK_INT(sh("qemu-img check -q blank.qcow2 && qemu-img info --output=json blank.qcow2 | "
                 "grep -q '\"virtual-size\": 5497558138880' && qemu-io -f qcow2 -c 'write -P 1 "
                 "4T 64k' -c 'read -P 1 4T 64k' blank.qcow2 >/dev/null && qemu-img check -q "
                 "blank.qcow2"),
              0);
    CHECK_INT(qcow2_create(path, 1 << 30, NULL, NULL, &err), -1); /* never over a file */
    snprintf(path, sizeof(path), "%s/disk.raw", tmp);
    CHECK_INT(disk_instance_create(DISK_RAW_COPY, qc, 0, path, &err), 0);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_size, 32 << 20);
    CHECK(st.st_blocks * 512 < 1 << 20); /* the holes stayed holes */
    char cmp[900];
    snprintf(cmp, sizeof(cmp), "cmp -s %s %s", qc ? qc : "/nonexistent", path);
    CHECK_INT(system(cmp), 0);
    snprintf(path, sizeof(path), "%s/blank.raw", tmp);
    CHECK_INT(disk_instance_create(DISK_RAW_COPY, NULL, 2, path, &err), 0);
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_size, 2LL << 30);
    snprintf(path, sizeof(path), "%s/zero.qcow2", tmp);
    CHECK_INT(disk_instance_create(DISK_QCOW2_OVERLAY, NULL, 0, path, &err), -1);
    CHECK(access(path, F_OK) != 0);
    free(qc);

    /* http: with the token, without it, a missing file */
    char srvdir[400];
    snprintf(srvdir, sizeof(srvdir), "%s/srv", tmp);
    int port = 0;
    pid_t srv = argc > 1 ? image_server_start(argv[1], srvdir, &port) : -1;
    CHECK(argc < 2 || srv > 0);
    if (srv > 0) {
        struct compute_image h = {
            .id = (char *)"web", .checksum = md5, .disk_format = (char *)"raw"};
        h.location = xasprintf("http://127.0.0.1:%d/root.raw", port);
        h.token = (char *)"secret-token";
        char *hc = NULL;
        CHECK_INT(disk_image_get(&dc, &h, &hc, &err), 0);
        if (!hc)
            fprintf(stderr, "http: %s\n", err.msg);
        free(hc);
        h.id = (char *)"web2";
        h.token = NULL;
        err_clear(&err);
        CHECK_INT(disk_image_get(&dc, &h, &hc, &err), -1);
        CHECK(strstr(err.msg, "401") != NULL);
        free(h.location);
        h.location = xasprintf("http://127.0.0.1:%d/nothing", port);
        h.token = (char *)"secret-token";
        err_clear(&err);
        CHECK_INT(disk_image_get(&dc, &h, &hc, &err), -1);
        CHECK(strstr(err.msg, "404") != NULL);
        free(h.location);
        /* a server that says nothing for 1.5 s: the progress callback (the
         * agent's heartbeat tick) keeps being called */
        struct disk_config slow = dc;
        slow.progress = count_tick;
        h.id = (char *)"web3";
        h.location = xasprintf("http://127.0.0.1:%d/slow/root.raw", port);
        CHECK_INT(disk_image_get(&slow, &h, &hc, &err), 0);
        free(hc);
        free(h.location);
        CHECK(ticks >= 5);
        image_server_stop(srv);
        CHECK_INT(files_in(cache), 4); /* root, rootq, web, web3: no partial download */
    }

    /* console tail: a file larger than the window starts at a whole line */
    snprintf(path, sizeof(path), "%s/console.log", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        for (int i = 0; i < 1000; i++)
            fprintf(f, "line %04d\n", i);
        fputs("no newline at the end", f);
        fclose(f);
    }
    char *t = disk_console_tail(path, 2, 1 << 20, &err);
    CHECK_STR(t, "line 0999\nno newline at the end");
    free(t);
    t = disk_console_tail(path, 0, 25, &err); /* the last 25 bytes, from a line start */
    CHECK_STR(t, "no newline at the end");
    free(t);
    t = disk_console_tail(path, 0, 35, &err);
    CHECK_STR(t, "line 0999\nno newline at the end");
    free(t);
    snprintf(path, sizeof(path), "%s/none.log", tmp);
    t = disk_console_tail(path, 5, 100, &err);
    CHECK_STR(t, "");
    free(t);

    /* a killed agent's partial download goes at the next start */
    snprintf(path, sizeof(path), "%s/root-x.part.123", cache);
    f = fopen(path, "w");
    if (f)
        fclose(f);
    disk_cache_clean_partial(&dc);
    CHECK(access(path, F_OK) != 0);

    snprintf(path, sizeof(path), "rm -rf %s", tmp);
    if (system(path) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_done();
}
