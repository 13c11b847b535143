/* The image store: atomic commit (nothing under the id until commit, no
 * temporary file left after commit or abort), streaming MD5/SHA-512 against
 * known vectors and a one-shot digest, the size limit, zero runs (sparse). */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "image_store.h"

#define ID "0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f60"

static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.'))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void
hex(const unsigned char *in, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

int
main(void)
{
    char dir[] = "/tmp/nube-store-test.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char store[256];
    snprintf(store, sizeof(store), "%s/a/b/images", dir);
    struct err err = ERR_INIT;

    /* known vectors, fed in three chunks; the store folder is created */
    struct image_store_writer *w = image_store_write_begin(store, ID, 0, &err);
    CHECK(w != NULL);
    CHECK_INT(count_entries(store), 1); /* the temporary file only */
    char *final = image_store_path(store, ID);
    CHECK(access(final, F_OK) != 0); /* nothing under the id before commit */
    CHECK_INT(image_store_write(w, "a", 1, &err), 0);
    CHECK_INT(image_store_write(w, "b", 1, &err), 0);
    CHECK_INT(image_store_write(w, "c", 1, &err), 0);
    struct image_store_digest d;
    CHECK_INT(image_store_write_commit(w, &d, &err), 0);
    CHECK_STR(d.md5, "900150983cd24fb0d6963f7d28e17f72");
    CHECK_STR(d.sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    CHECK_INT(d.size, 3);
    CHECK_INT(count_entries(store), 1); /* the image, no temporary file */
    uint64_t size = 0;
    int fd = image_store_open(store, ID, &size, &err);
    CHECK(fd >= 0);
    CHECK_INT(size, 3);
    char buf[8] = {0};
    CHECK_INT(read(fd, buf, sizeof(buf)), 3);
    CHECK_STR(buf, "abc");
    close(fd);

    /* a large image in odd chunks, with zero runs: digests equal a one-shot
     * digest, the bytes read back equal, and zero blocks take no space */
    size_t n = 3 * 1024 * 1024 + 4097;
    unsigned char *data = calloc(1, n);
    for (size_t i = 0; i < 512 * 1024; i++)
        data[i] = (unsigned char)(i * 7 + 1);
    for (size_t i = n - 100; i < n; i++)
        data[i] = 0xab;
    w = image_store_write_begin(store, ID, 0, &err);
    for (size_t off = 0; off < n;) {
        size_t k = off % 3 == 0 ? 1000 : 65537;
        if (k > n - off)
            k = n - off;
        CHECK_INT(image_store_write(w, data + off, k, &err), 0);
        off += k;
    }
    CHECK_INT(image_store_written(w), n);
    CHECK_INT(image_store_write_commit(w, &d, &err), 0);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen;
    char want[129];
    EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
    hex(md, mdlen, want);
    CHECK_STR(d.md5, want);
    EVP_Digest(data, n, md, &mdlen, EVP_sha512(), NULL);
    hex(md, mdlen, want);
    CHECK_STR(d.sha512, want);
    fd = image_store_open(store, ID, &size, &err);
    CHECK_INT(size, n);
    unsigned char *back = malloc(n);
    size_t got = 0;
    ssize_t k;
    while (got < n && (k = read(fd, back + got, n - got)) > 0)
        got += (size_t)k;
    CHECK_INT(got, n);
    CHECK(memcmp(back, data, n) == 0);
    struct stat st;
    fstat(fd, &st);
    CHECK((uint64_t)st.st_blocks * 512 < n / 2); /* ~2.5 MiB of zeros not allocated */
    close(fd);

    /* abort: the temporary file goes, the committed image stays */
    w = image_store_write_begin(store, ID, 0, &err);
    CHECK_INT(image_store_write(w, data, 100000, &err), 0);
    CHECK_INT(count_entries(store), 2);
    CHECK(image_store_has_partial(store, ID, 60));
    CHECK(!image_store_has_partial(store, "11111111-2222-3333-4444-555555555555", 60));
    image_store_write_abort(w);
    CHECK_INT(count_entries(store), 1);
    CHECK(!image_store_has_partial(store, ID, 60));
    /* a temporary file left by a dead uploader: stale once old, removable */
    w = image_store_write_begin(store, ID, 0, &err);
    char old[512];
    snprintf(old, sizeof(old), "%s/.tmp-%s-dead", store, ID);
    FILE *f = fopen(old, "w");
    if (f)
        fclose(f);
    struct timespec times[2] = {{.tv_sec = time(NULL) - 600}, {.tv_sec = time(NULL) - 600}};
    utimensat(AT_FDCWD, old, times, 0);
    image_store_write_abort(w); /* only the live writer's own file goes */
    CHECK_INT(count_entries(store), 2);
    CHECK(!image_store_has_partial(store, ID, 60));
    CHECK(image_store_has_partial(store, ID, 3600));
    image_store_remove_partials(store, ID);
    CHECK_INT(count_entries(store), 1);
    fd = image_store_open(store, ID, &size, &err);
    CHECK_INT(size, n); /* the earlier image, untouched */
    close(fd);

    /* the size limit */
    w = image_store_write_begin(store, "11111111-2222-3333-4444-555555555555", 10, &err);
    CHECK_INT(image_store_write(w, "0123456789", 10, &err), 0);
    err_clear(&err);
    CHECK_INT(image_store_write(w, "x", 1, &err), -1);
    CHECK_INT(err.code, ERR_TOO_LARGE);
    image_store_write_abort(w);
    CHECK_INT(count_entries(store), 1);

    /* ids that are not file-name safe are refused */
    err_clear(&err);
    CHECK(image_store_write_begin(store, "../etc", 0, &err) == NULL);
    CHECK_INT(err.code, ERR_INVALID);
    CHECK(image_store_open(store, "a/b", &size, &err) < 0);

    /* delete, and delete of an absent image */
    CHECK_INT(image_store_delete(store, ID, &err), 0);
    CHECK_INT(count_entries(store), 0);
    CHECK_INT(image_store_delete(store, ID, &err), 0);
    err_clear(&err);
    CHECK(image_store_open(store, ID, &size, &err) < 0);
    CHECK_INT(err.code, ERR_NOT_FOUND);

    free(final);
    free(data);
    free(back);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
