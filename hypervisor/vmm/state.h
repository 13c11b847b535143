/* Versioned device-state serializer (snapshots, live migration).
 *
 * A stream is "NUBESTAT" + u32 format version, then sections:
 *   u8 name length, name, u32 section version, u32 body length, body
 * and a body is a sequence of typed, named fields:
 *   u8 type, u8 name length, name, value (u8/u16/u32/u64 little-endian, or
 *   u32 length + bytes)
 * Readers look fields up by name inside the current section, so a newer
 * writer may add fields; a missing field is ERR_NOT_FOUND and the device's
 * load() decides on a default from the section version. */
#ifndef NUBE_VMM_STATE_H
#define NUBE_VMM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STATE_FORMAT_VERSION 1
#define STATE_NAME_MAX 63

enum state_type { STATE_U8 = 1, STATE_U16, STATE_U32, STATE_U64, STATE_BYTES };

struct state_writer;
struct state_reader;

struct state_writer *state_writer_new(void);
void state_writer_free(struct state_writer *w);
/* Sections do not nest. */
int state_section_begin(struct state_writer *w, const char *name, uint32_t version,
                        struct err *err);
int state_section_end(struct state_writer *w, struct err *err);
void state_put_u8(struct state_writer *w, const char *field, uint8_t v);
void state_put_u16(struct state_writer *w, const char *field, uint16_t v);
void state_put_u32(struct state_writer *w, const char *field, uint32_t v);
void state_put_u64(struct state_writer *w, const char *field, uint64_t v);
void state_put_bool(struct state_writer *w, const char *field, bool v);
void state_put_bytes(struct state_writer *w, const char *field, const void *data, uint32_t len);
/* The stream so far (valid until the next put). */
const uint8_t *state_writer_data(const struct state_writer *w, size_t *len);

/* The reader does not copy @buf; it must outlive the reader. */
struct state_reader *state_reader_new(const uint8_t *buf, size_t len, struct err *err);
void state_reader_free(struct state_reader *r);
/* Move to the next section: 1 with its name and version, 0 at the end, -1 on a
 * malformed stream. */
int state_reader_next(struct state_reader *r, char name[STATE_NAME_MAX + 1], uint32_t *version,
                      struct err *err);
int state_get_u8(struct state_reader *r, const char *field, uint8_t *v, struct err *err);
int state_get_u16(struct state_reader *r, const char *field, uint16_t *v, struct err *err);
int state_get_u32(struct state_reader *r, const char *field, uint32_t *v, struct err *err);
int state_get_u64(struct state_reader *r, const char *field, uint64_t *v, struct err *err);
int state_get_bool(struct state_reader *r, const char *field, bool *v, struct err *err);
/* Up to @cap bytes; *len gets the stored length (longer is an error). */
int state_get_blob(struct state_reader *r, const char *field, void *data, uint32_t cap,
                   uint32_t *len, struct err *err);
/* Exactly @len bytes, or an error. */
int state_get_bytes(struct state_reader *r, const char *field, void *data, uint32_t len,
                    struct err *err);

#endif
