/* The image store (image_store.h): temporary file, streaming hashes, fsync,
 * rename. */
#include "image_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

#define STORE_BUF (256 * 1024) /* bytes gathered before a write */
#define STORE_BLOCK 4096       /* zero blocks of this size are skipped (sparse) */

struct image_store_writer {
    char *dir;
    char *final_path;
    char *tmp_path;
    int fd;
    uint64_t max_size;
    uint64_t written; /* bytes accepted (hashed) */
    uint64_t flushed; /* file offset of buf[0] */
    size_t buf_len;
    time_t touched; /* the file's mtime says the upload is alive */
    EVP_MD_CTX *md5;
    EVP_MD_CTX *sha512;
    unsigned char buf[STORE_BUF];
};

int
image_store_check_id(const char *id, struct err *err)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return err_set(err, ERR_INVALID, "Invalid image id.");
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '-'))
            return err_set(err, ERR_INVALID, "Invalid image id.");
    }
    return 0;
}

int
image_store_init(const char *dir, struct err *err)
{
    char path[1024];
    if (strlcpy_n(path, dir, sizeof(path)) >= sizeof(path))
        return err_set(err, ERR_INVALID, "image store path too long: %s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
            return err_set_errno(err, ERR_IO, errno, "creating %s", path);
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return err_set_errno(err, ERR_IO, errno, "creating %s", path);
    return 0;
}

char *
image_store_path(const char *dir, const char *id)
{
    return xasprintf("%s/%s", dir, id);
}

static void
writer_free(struct image_store_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    EVP_MD_CTX_free(w->md5);
    EVP_MD_CTX_free(w->sha512);
    free(w->dir);
    free(w->final_path);
    free(w->tmp_path);
    free(w);
}

struct image_store_writer *
image_store_write_begin(const char *dir, const char *id, uint64_t max_size, struct err *err)
{
    if (image_store_check_id(id, err) < 0)
        return NULL;
    if (image_store_init(dir, err) < 0)
        return NULL;
    struct image_store_writer *w = xzalloc(sizeof(*w));
    w->fd = -1;
    w->dir = xstrdup(dir);
    w->max_size = max_size;
    w->final_path = image_store_path(dir, id);
    w->tmp_path = xasprintf("%s/.tmp-%s-XXXXXX", dir, id);
    w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
    if (w->fd < 0) {
        err_set_errno(err, ERR_IO, errno, "creating a temporary file in %s", dir);
        free(w->tmp_path);
        w->tmp_path = NULL;
        writer_free(w);
        return NULL;
    }
    fchmod(w->fd, 0640);
    w->md5 = EVP_MD_CTX_new();
    w->sha512 = EVP_MD_CTX_new();
    if (!w->md5 || !w->sha512 || !EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) ||
        !EVP_DigestInit_ex(w->sha512, EVP_sha512(), NULL)) {
        err_set(err, ERR_INTERNAL, "OpenSSL: cannot set up MD5 and SHA-512");
        image_store_write_abort(w);
        return NULL;
    }
    return w;
}

static bool
block_is_zero(const unsigned char *p, size_t n)
{
    static const unsigned char zero[STORE_BLOCK];
    return memcmp(p, zero, n) == 0;
}

static int
write_all(int fd, const unsigned char *p, size_t n, uint64_t off, struct err *err)
{
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return err_set_errno(err, ERR_IO, errno, "writing the image");
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Write the buffer, skipping whole zero blocks (the file is extended to its
 * size at commit, so skipped blocks read back as zeros). */
static int
writer_flush(struct image_store_writer *w, struct err *err)
{
    size_t run_start = 0, i = 0;
    bool in_run = false;
    for (i = 0; i < w->buf_len; i += STORE_BLOCK) {
        size_t n = w->buf_len - i < STORE_BLOCK ? w->buf_len - i : STORE_BLOCK;
        bool zero = block_is_zero(w->buf + i, n);
        if (!zero && !in_run) {
            run_start = i;
            in_run = true;
        } else if (zero && in_run) {
            if (write_all(w->fd, w->buf + run_start, i - run_start, w->flushed + run_start, err) <
                0)
                return -1;
            in_run = false;
        }
    }
    if (in_run && write_all(w->fd, w->buf + run_start, w->buf_len - run_start,
                            w->flushed + run_start, err) < 0)
        return -1;
    w->flushed += w->buf_len;
    w->buf_len = 0;
    return 0;
}

int
image_store_write(struct image_store_writer *w, const void *data, size_t len, struct err *err)
{
    if (w->max_size && (w->written + len > w->max_size || w->written + len < w->written))
        return err_set(err, ERR_TOO_LARGE, "The image is larger than the limit of %llu bytes.",
                       (unsigned long long)w->max_size);
    if (!EVP_DigestUpdate(w->md5, data, len) || !EVP_DigestUpdate(w->sha512, data, len))
        return err_set(err, ERR_INTERNAL, "OpenSSL: hashing failed");
    w->written += len;
    time_t now = time(NULL);
    if (now - w->touched >= 5) { /* even while bytes only gather in buf */
        futimens(w->fd, NULL);
        w->touched = now;
    }
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = sizeof(w->buf) - w->buf_len;
        if (n > len)
            n = len;
        memcpy(w->buf + w->buf_len, p, n);
        w->buf_len += n;
        p += n;
        len -= n;
        if (w->buf_len == sizeof(w->buf) && writer_flush(w, err) < 0)
            return -1;
    }
    return 0;
}

uint64_t
image_store_written(const struct image_store_writer *w)
{
    return w->written;
}

static void
hex(const unsigned char *in, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int
image_store_write_commit(struct image_store_writer *w, struct image_store_digest *out,
                         struct err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (writer_flush(w, err) < 0)
        goto fail;
    if (ftruncate(w->fd, (off_t)w->written) < 0) {
        err_set_errno(err, ERR_IO, errno, "sizing the image");
        goto fail;
    }
    if (!EVP_DigestFinal_ex(w->md5, md, &n)) {
        err_set(err, ERR_INTERNAL, "OpenSSL: MD5 failed");
        goto fail;
    }
    hex(md, n, out->md5);
    if (!EVP_DigestFinal_ex(w->sha512, md, &n)) {
        err_set(err, ERR_INTERNAL, "OpenSSL: SHA-512 failed");
        goto fail;
    }
    hex(md, n, out->sha512);
    out->size = w->written;
    if (fsync(w->fd) < 0) {
        err_set_errno(err, ERR_IO, errno, "fsync of the image");
        goto fail;
    }
    if (rename(w->tmp_path, w->final_path) < 0) {
        err_set_errno(err, ERR_IO, errno, "renaming the image into place");
        goto fail;
    }
    int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* make the rename durable */
        fsync(dfd);
        close(dfd);
    }
    writer_free(w);
    return 0;
fail:
    image_store_write_abort(w);
    return -1;
}

void
image_store_write_abort(struct image_store_writer *w)
{
    if (!w)
        return;
    if (w->tmp_path)
        unlink(w->tmp_path);
    writer_free(w);
}

int
image_store_open(const char *dir, const char *id, uint64_t *size, struct err *err)
{
    if (image_store_check_id(id, err) < 0)
        return -1;
    _cleanup_free_ char *path = image_store_path(dir, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, "The image data could not be found.");
        return err_set_errno(err, ERR_IO, errno, "opening %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return err_set_errno(err, ERR_IO, e, "stat of %s", path);
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Visit the temporary files of @id: @fn(path, mtime, arg); stop when it
 * returns true. */
static bool
each_partial(const char *dir, const char *id, bool (*fn)(const char *, time_t, void *), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    _cleanup_free_ char *prefix = xasprintf(".tmp-%s-", id);
    size_t n = strlen(prefix);
    bool stop = false;
    struct dirent *e;
    while (!stop && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, n) != 0)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0)
            stop = fn(path, st.st_mtime, arg);
    }
    closedir(d);
    return stop;
}

static bool
is_fresh(const char *path, time_t mtime, void *arg)
{
    (void)path;
    return mtime >= *(time_t *)arg;
}

bool
image_store_has_partial(const char *dir, const char *id, int fresh_s)
{
    time_t since = time(NULL) - fresh_s;
    return each_partial(dir, id, is_fresh, &since);
}

static bool
remove_one(const char *path, time_t mtime, void *arg)
{
    (void)mtime;
    (void)arg;
    unlink(path);
    return false;
}

void
image_store_remove_partials(const char *dir, const char *id)
{
    each_partial(dir, id, remove_one, NULL);
}

int
image_store_delete(const char *dir, const char *id, struct err *err)
{
    if (image_store_check_id(id, err) < 0)
        return -1;
    _cleanup_free_ char *path = image_store_path(dir, id);
    if (unlink(path) < 0 && errno != ENOENT)
        return err_set_errno(err, ERR_IO, errno, "removing %s", path);
    return 0;
}
