/* The image store: one file per image, named by the image id, in one folder
 * ([image] store_dir). An upload is written to a temporary file in the same
 * folder while its MD5 and SHA-512 are computed, then fsynced and renamed into
 * place (and the folder fsynced), so a file named by an id is always complete:
 * an interrupted upload leaves only a temporary file, which is removed (one
 * left by a crash is recognised by its mtime, which a live upload keeps
 * fresh, and removed when the image is uploaded again). Runs of
 * zero bytes are not written (the file is sparse). */
#ifndef NUBE_STORAGE_IMAGE_STORE_H
#define NUBE_STORAGE_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define IMAGE_STORE_MD5_HEX 33     /* 32 hex digits + NUL */
#define IMAGE_STORE_SHA512_HEX 129 /* 128 hex digits + NUL */

struct image_store_digest {
    uint64_t size;
    char md5[IMAGE_STORE_MD5_HEX];
    char sha512[IMAGE_STORE_SHA512_HEX];
};

struct image_store_writer;

/* Create @dir (and its parents) if missing, mode 0750. */
int image_store_init(const char *dir, struct err *err);

/* Is @id usable as a file name in the store (a UUID: hex digits and dashes)? */
int image_store_check_id(const char *id, struct err *err);

/* "@dir/@id" (caller frees). */
char *image_store_path(const char *dir, const char *id);

/* Start writing image @id: a new temporary file in @dir. More than @max_size
 * bytes is ERR_TOO_LARGE (0: no limit). */
struct image_store_writer *image_store_write_begin(const char *dir, const char *id,
                                                   uint64_t max_size, struct err *err);
/* Append @len bytes and hash them. */
int image_store_write(struct image_store_writer *w, const void *data, size_t len, struct err *err);
/* Bytes accepted so far. */
uint64_t image_store_written(const struct image_store_writer *w);
/* Flush, fsync, rename into place, fsync the folder; fill @out and free @w
 * (also on failure, when the temporary file is removed). */
int image_store_write_commit(struct image_store_writer *w, struct image_store_digest *out,
                             struct err *err);
/* Remove the temporary file and free @w. NULL is a no-op. */
void image_store_write_abort(struct image_store_writer *w);

/* Open image @id for reading; its size in @size. ERR_NOT_FOUND when absent. */
int image_store_open(const char *dir, const char *id, uint64_t *size, struct err *err);

/* Is an upload of @id being written: a temporary file of it changed in the
 * last @fresh_s seconds? */
bool image_store_has_partial(const char *dir, const char *id, int fresh_s);
/* Remove every temporary file of @id (left by an uploader that died). */
void image_store_remove_partials(const char *dir, const char *id);

/* Remove image @id; absent is not an error. */
int image_store_delete(const char *dir, const char *id, struct err *err);

#endif
