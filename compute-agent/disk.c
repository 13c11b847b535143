/* The image cache, instance disks and console files. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk.h"
#include "log.h"
#include "mem.h"

extern char **environ;

int
disk_mkdirs(const char *path, struct err *err)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                rc = err_set_errno(err, ERR_IO, errno, "creating %s", p);
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

static void
progress(const struct disk_config *dc)
{
    if (dc && dc->progress)
        dc->progress(dc->progress_opaque);
}

/* Run argv (no shell); its output is kept for the error message. */
static int
run(const struct disk_config *dc, const char *const argv[], struct err *err)
{
    char errpath[] = "/tmp/nube-compute-cmd.XXXXXX";
    int efd = mkstemp(errpath);
    if (efd < 0)
        return err_set_errno(err, ERR_IO, errno, "mkstemp");
    unlink(errpath);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, efd, 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(efd);
        return err_set_errno(err, ERR_IO, rc, "running %s", argv[0]);
    }
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        progress(dc);
        usleep(50000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        close(efd);
        return 0;
    }
    char out[400] = "";
    ssize_t n = pread(efd, out, sizeof(out) - 1, 0);
    close(efd);
    out[n > 0 ? n : 0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return err_set(err, ERR_IO, "%s %s failed (status %d): %s", argv[0], argv[1] ? argv[1] : "",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
}

/* ---- fetching ---- */

struct fetch {
    FILE *out;
    EVP_MD_CTX *md5;
    uint64_t bytes, max;
    const struct disk_config *dc;
};

static size_t
fetch_write(char *data, size_t size, size_t n, void *opaque)
{
    struct fetch *f = opaque;
    size_t len = size * n;
    if (f->bytes + len > f->max)
        return 0; /* curl fails with CURLE_WRITE_ERROR */
    f->bytes += len;
    progress(f->dc);
    EVP_DigestUpdate(f->md5, data, len);
    return fwrite(data, 1, len, f->out) == len ? len : 0;
}

static int
fetch_file(const char *src, struct fetch *f, struct err *err)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(err, ERR_NOT_FOUND, errno, "opening image %s", src);
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (fetch_write(buf, 1, (size_t)n, f) != (size_t)n) {
            rc = err_set(err, f->bytes + (uint64_t)n > f->max ? ERR_TOO_LARGE : ERR_IO,
                         "copying image %s: %s", src,
                         f->bytes + (uint64_t)n > f->max ? "larger than max_image_mb"
                                                         : "write failed");
            break;
        }
    }
    if (n < 0)
        rc = err_set_errno(err, ERR_IO, errno, "reading image %s", src);
    close(fd);
    return rc;
}

static int
fetch_xferinfo(void *opaque, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    progress(((struct fetch *)opaque)->dc); /* also while the server is silent */
    return 0;
}

static int
fetch_http(const char *url, const char *token, struct fetch *f, struct err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return err_set(err, ERR_INTERNAL, "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    if (token) {
        char *h = xasprintf("X-Auth-Token: %s", token);
        hdrs = curl_slist_append(hdrs, h);
        free(h);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, fetch_xferinfo);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return err_set(err, rc == CURLE_WRITE_ERROR && f->bytes >= f->max ? ERR_TOO_LARGE : ERR_IO,
                       "downloading image: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return 0;
}

static char *
cache_path(const struct disk_config *dc, const struct compute_image *img)
{
    return xasprintf("%s/%s-%s", dc->cache_dir, img->id, img->checksum ? img->checksum : "any");
}

int
disk_image_get(const struct disk_config *dc, const struct compute_image *img, char **path,
               struct err *err)
{
    *path = NULL;
    char *final = cache_path(dc, img);
    struct stat st;
    if (stat(final, &st) == 0) {
        *path = final;
        return 0;
    }
    if (disk_mkdirs(dc->cache_dir, err) < 0) {
        free(final);
        return -1;
    }
    char *tmp = xasprintf("%s.part.%d", final, (int)getpid());
    char *conv = NULL;
    struct fetch f = {.max = dc->max_image_bytes, .md5 = EVP_MD_CTX_new(), .dc = dc};
    int rc = -1;
    f.out = fopen(tmp, "we");
    if (!f.out) {
        err_set_errno(err, ERR_IO, errno, "creating %s", tmp);
        goto cleanup;
    }
    EVP_DigestInit_ex(f.md5, EVP_md5(), NULL);
    int frc = strncmp(img->location, "file://", 7) == 0
                  ? fetch_file(img->location + 7, &f, err)
                  : fetch_http(img->location, img->token, &f, err);
    if (fclose(f.out) != 0 && frc == 0)
        frc = err_set_errno(err, ERR_IO, errno, "writing %s", tmp);
    f.out = NULL;
    if (frc < 0) {
        err_prefix(err, "image %s", img->id);
        goto cleanup;
    }
    if (img->checksum) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_DigestFinal_ex(f.md5, md, &mdlen);
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        if (strcasecmp(hex, img->checksum) != 0) {
            err_set(err, ERR_INVALID, "image %s: checksum mismatch (got md5 %s, expected %s)",
                    img->id, hex, img->checksum);
            goto cleanup;
        }
    }
    if (strcmp(img->disk_format, "qcow2") == 0) {
        /* The cache holds raw files: overlays name them with -F raw, and kvm
         * domains take raw disks only (as Nova's force_raw_images). */
        conv = xasprintf("%s.raw", tmp);
        const char *argv[] = {dc->qemu_img, "convert", "-f", "qcow2", "-O", "raw",
                              "-S",         "4k",      tmp,  conv,    NULL};
        if (run(dc, argv, err) < 0) {
            err_prefix(err, "converting image %s to raw", img->id);
            goto cleanup;
        }
        if (rename(conv, tmp) < 0) {
            err_set_errno(err, ERR_IO, errno, "renaming %s", conv);
            goto cleanup;
        }
    }
    if (rename(tmp, final) < 0) {
        err_set_errno(err, ERR_IO, errno, "renaming %s", tmp);
        goto cleanup;
    }
    log_info("image %s cached as %s (%llu bytes fetched)", img->id, final,
             (unsigned long long)f.bytes);
    *path = final;
    final = NULL;
    rc = 0;
cleanup:
    if (f.out)
        fclose(f.out);
    EVP_MD_CTX_free(f.md5);
    if (rc < 0) {
        unlink(tmp);
        if (conv)
            unlink(conv);
    }
    free(conv);
    free(tmp);
    free(final);
    return rc;
}

void
disk_cache_clean_partial(const struct disk_config *dc)
{
    DIR *d = opendir(dc->cache_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".part.")) {
            log_warn("image cache: removing the partial download %s/%s", dc->cache_dir, e->d_name);
            unlinkat(dirfd(d), e->d_name, 0);
        }
    closedir(d);
}

/* ---- instance disks ---- */

int
disk_virtual_size(const char *path, uint64_t *out, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "opening %s", path);
    unsigned char hdr[32];
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    struct stat st;
    int rc = fstat(fd, &st);
    close(fd);
    if (rc < 0)
        return err_set_errno(err, ERR_IO, errno, "stat %s", path);
    if (n == (ssize_t)sizeof(hdr) && memcmp(hdr, "QFI\xfb", 4) == 0) {
        uint64_t v = 0;
        for (int i = 24; i < 32; i++)
            v = v << 8 | hdr[i];
        *out = v;
    } else {
        *out = (uint64_t)st.st_size;
    }
    return 0;
}

/* A raw copy sharing blocks (FICLONE) where the filesystem can, else one that
 * copies only the data extents (SEEK_DATA/SEEK_HOLE) and leaves holes. */
static int
copy_sparse(const char *src, const char *dst, uint64_t size, struct err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_set_errno(err, ERR_IO, errno, "opening %s", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return err_set_errno(err, ERR_IO, errno, "creating %s", dst);
    }
    int rc = 0;
    if (ioctl(out, FICLONE, in) < 0) {
        off_t end = lseek(in, 0, SEEK_END);
        off_t pos = 0;
        char *buf = xmalloc(1 << 20);
        while (rc == 0 && pos < end) {
            off_t data = lseek(in, pos, SEEK_DATA);
            if (data < 0)
                break; /* only a hole is left */
            off_t hole = lseek(in, data, SEEK_HOLE);
            if (hole < 0)
                hole = end;
            for (off_t o = data; o < hole && rc == 0;) {
                size_t want = (size_t)(hole - o < (1 << 20) ? hole - o : (1 << 20));
                ssize_t r = pread(in, buf, want, o);
                if (r <= 0 || pwrite(out, buf, (size_t)r, o) != r)
                    rc = err_set_errno(err, ERR_IO, errno ? errno : EIO, "copying %s", src);
                else
                    o += r;
            }
            pos = hole;
        }
        free(buf);
    }
    if (rc == 0 && ftruncate(out, (off_t)size) < 0)
        rc = err_set_errno(err, ERR_IO, errno, "sizing %s", dst);
    if (rc == 0 && fsync(out) < 0)
        rc = err_set_errno(err, ERR_IO, errno, "syncing %s", dst);
    close(in);
    close(out);
    return rc;
}

int
disk_instance_create(enum disk_kind kind, const char *backing, long root_gb, const char *path,
                     struct err *err)
{
    if (access(path, F_OK) == 0)
        return 0; /* made by an earlier delivery of the same build */
    uint64_t size = (uint64_t)root_gb << 30, image_size = 0;
    if (backing && disk_virtual_size(backing, &image_size, err) < 0)
        return -1;
    if (size < image_size)
        size = image_size;
    if (size == 0)
        return err_set(err, ERR_INVALID, "root disk of 0 bytes: flavor root_gb is 0 and no image");
    char *tmp = xasprintf("%s.part", path);
    unlink(tmp);
    int rc;
    if (kind == DISK_RAW_COPY) {
        if (backing) {
            rc = copy_sparse(backing, tmp, size, err);
        } else {
            int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            rc = fd < 0 || ftruncate(fd, (off_t)size) < 0
                     ? err_set_errno(err, ERR_IO, errno, "creating %s", tmp)
                     : 0;
            if (fd >= 0)
                close(fd);
        }
    } else {
        rc = qcow2_create(tmp, size, backing, backing ? "raw" : NULL, err);
    }
    if (rc == 0 && rename(tmp, path) < 0)
        rc = err_set_errno(err, ERR_IO, errno, "renaming %s", tmp);
    if (rc < 0) {
        unlink(tmp);
        err_prefix(err, "creating root disk %s", path);
    }
    free(tmp);
    return rc;
}

int
disk_instance_dir_remove(const char *dir, struct err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return err_set_errno(err, ERR_IO, errno, "opening %s", dir);
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            rc = err_set_errno(err, ERR_IO, errno, "removing %s/%s", dir, e->d_name);
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT)
        rc = err_set_errno(err, ERR_IO, errno, "removing %s", dir);
    return rc;
}

/* ---- console ---- */

char *
disk_console_tail(const char *path, long lines, size_t max_bytes, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return xstrdup("");
        return err_set_errno(err, ERR_IO, errno, "opening %s", path), NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return err_set_errno(err, ERR_IO, errno, "stat %s", path), NULL;
    }
    off_t start = st.st_size > (off_t)max_bytes ? st.st_size - (off_t)max_bytes : 0;
    size_t len = (size_t)(st.st_size - start);
    char *buf = xmalloc(len + 1);
    ssize_t n = pread(fd, buf, len, start);
    close(fd);
    if (n < 0) {
        free(buf);
        return err_set_errno(err, ERR_IO, errno, "reading %s", path), NULL;
    }
    len = (size_t)n;
    buf[len] = '\0';
    size_t from = 0;
    if (start > 0) { /* drop the partial first line */
        char *nl = memchr(buf, '\n', len);
        from = nl ? (size_t)(nl - buf) + 1 : 0;
    }
    if (lines > 0) {
        /* walk back over @lines line ends (a trailing newline ends the last line) */
        size_t i = len;
        long seen = 0;
        if (i > from && buf[i - 1] == '\n')
            i--;
        while (i > from) {
            if (buf[i - 1] == '\n' && ++seen == lines)
                break;
            i--;
        }
        from = i;
    }
    size_t k = 0;
    for (size_t i = from; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r')
            continue;
        buf[k++] = (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) ? (char)c : '?';
    }
    buf[k] = '\0';
    return buf;
}
