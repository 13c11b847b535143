/* Images and instance disks on the host (docs/compute-flow.md, README.md):
 *
 *   <image_cache_dir>/<image id>-<checksum>   one raw copy per image version
 *                                             (qcow2 images converted once)
 *   <instances_dir>/<instance id>/disk        the root disk: a qcow2 overlay
 *                                             on the cached image, or a
 *                                             reflinked/sparse raw copy
 *   <instances_dir>/<instance id>/console.log the serial console
 *   <instances_dir>/<instance id>/instance.json the agent's own record
 *   <instances_dir>/.deleted/<instance id>    tombstone of a deleted instance
 */
#ifndef NUBE_COMPUTE_DISK_H
#define NUBE_COMPUTE_DISK_H

#include <stdbool.h>
#include <stdint.h>

#include "compute.h"

enum disk_kind {
    DISK_QCOW2_OVERLAY, /* a qcow2 over the cached raw image (qcow2_create) */
    DISK_RAW_COPY,      /* FICLONE reflink, else a sparse copy (kvm domains take raw only) */
};

struct disk_config {
    const char *cache_dir;
    const char *qemu_img;
    uint64_t max_image_bytes;
    /* Called now and then during long work (downloads, qemu-img) so the
     * single-threaded agent keeps its heartbeats going; may be NULL. */
    void (*progress)(void *opaque);
    void *progress_opaque;
};

/* The cached (raw, for disk images) file of @img, fetched, verified against
 * its MD5 checksum, converted and renamed into place on first use; later
 * calls only stat it. Caller frees *path. */
int disk_image_get(const struct disk_config *dc, const struct compute_image *img, char **path,
                   struct err *err);
/* Create @path (if it does not exist yet) as the root disk of @root_gb GiB
 * (never smaller than the image) on top of @backing, or blank when @backing is
 * NULL. Built under a temporary name and renamed: a crash leaves no half disk. */
int disk_instance_create(enum disk_kind kind, const char *backing, long root_gb, const char *path,
                         struct err *err);
/* Remove partial downloads (*.part.*) that a killed agent left in the cache. */
void disk_cache_clean_partial(const struct disk_config *dc);
/* Write a new qcow2 v3 image @path (it must not exist) of @size bytes, over
 * @backing of format @backing_fmt, or blank when @backing is NULL, as
 * `qemu-img create -f qcow2` does but without a process (qcow2.c). */
int qcow2_create(const char *path, uint64_t size, const char *backing, const char *backing_fmt,
                 struct err *err);
/* Virtual size of a raw or qcow2 file. */
int disk_virtual_size(const char *path, uint64_t *out, struct err *err);

/* mkdir -p with mode 0755 (0711 for the last component when @private). */
int disk_mkdirs(const char *path, struct err *err);
/* Remove the instance's folder and the files in it (flat). Absent: 0. */
int disk_instance_dir_remove(const char *dir, struct err *err);

/* The last @lines lines (0: all) of @path, at most @max_bytes from its end,
 * made JSON-safe: bytes outside printable ASCII, newline and tab become '?'.
 * A missing file is empty output. Caller frees. */
char *disk_console_tail(const char *path, long lines, size_t max_bytes, struct err *err);

#endif
