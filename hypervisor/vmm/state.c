/* The versioned device-state serializer: see state.h for the format. */
#include "state.h"

#include <string.h>

#include "mem.h"

struct state_writer {
    uint8_t *buf;
    size_t len, cap;
    size_t section_len_at; /* offset of the open section's length field, 0 if none */
};

struct state_reader {
    const uint8_t *buf;
    size_t len;
    size_t next;           /* offset of the next section */
    size_t body, body_end; /* the current section's body */
    char section[STATE_NAME_MAX + 1];
};

static void
w_put(struct state_writer *w, const void *data, size_t n)
{
    if (n == 0)
        return;
    if (w->len + n > w->cap) {
        while (w->len + n > w->cap)
            w->cap = w->cap ? w->cap * 2 : 256;
        w->buf = xrealloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void
w_le(struct state_writer *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    w_put(w, b, (size_t)bytes);
}

static uint64_t
get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

struct state_writer *
state_writer_new(void)
{
    struct state_writer *w = xzalloc(sizeof(*w));
    w_put(w, "NUBESTAT", 8);
    w_le(w, STATE_FORMAT_VERSION, 4);
    return w;
}

void
state_writer_free(struct state_writer *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

const uint8_t *
state_writer_data(const struct state_writer *w, size_t *len)
{
    *len = w->len;
    return w->buf;
}

int
state_section_begin(struct state_writer *w, const char *name, uint32_t version, struct err *err)
{
    size_t n = strlen(name);
    if (w->section_len_at)
        return err_set(err, ERR_INTERNAL, "state: section %s opened inside another", name);
    if (n == 0 || n > STATE_NAME_MAX)
        return err_set(err, ERR_INVALID, "state: bad section name length %zu", n);
    w_le(w, n, 1);
    w_put(w, name, n);
    w_le(w, version, 4);
    w->section_len_at = w->len;
    w_le(w, 0, 4);
    return 0;
}

int
state_section_end(struct state_writer *w, struct err *err)
{
    if (!w->section_len_at)
        return err_set(err, ERR_INTERNAL, "state: no open section");
    size_t body = w->len - w->section_len_at - 4;
    if (body > UINT32_MAX)
        return err_set(err, ERR_TOO_LARGE, "state: section of %zu bytes", body);
    for (int i = 0; i < 4; i++)
        w->buf[w->section_len_at + (size_t)i] = (uint8_t)(body >> (8 * i));
    w->section_len_at = 0;
    return 0;
}

static void
w_field(struct state_writer *w, enum state_type type, const char *field)
{
    size_t n = strlen(field);
    if (n > STATE_NAME_MAX)
        n = STATE_NAME_MAX;
    w_le(w, type, 1);
    w_le(w, n, 1);
    w_put(w, field, n);
}

void
state_put_u8(struct state_writer *w, const char *field, uint8_t v)
{
    w_field(w, STATE_U8, field);
    w_le(w, v, 1);
}

void
state_put_u16(struct state_writer *w, const char *field, uint16_t v)
{
    w_field(w, STATE_U16, field);
    w_le(w, v, 2);
}

void
state_put_u32(struct state_writer *w, const char *field, uint32_t v)
{
    w_field(w, STATE_U32, field);
    w_le(w, v, 4);
}

void
state_put_u64(struct state_writer *w, const char *field, uint64_t v)
{
    w_field(w, STATE_U64, field);
    w_le(w, v, 8);
}

void
state_put_bool(struct state_writer *w, const char *field, bool v)
{
    state_put_u8(w, field, v ? 1 : 0);
}

void
state_put_bytes(struct state_writer *w, const char *field, const void *data, uint32_t len)
{
    w_field(w, STATE_BYTES, field);
    w_le(w, len, 4);
    w_put(w, data, len);
}

/* ---- reader ---- */

struct state_reader *
state_reader_new(const uint8_t *buf, size_t len, struct err *err)
{
    if (len < 12 || memcmp(buf, "NUBESTAT", 8) != 0) {
        err_set(err, ERR_INVALID, "state: not a Nube state stream");
        return NULL;
    }
    uint32_t version = (uint32_t)get_le(buf + 8, 4);
    if (version != STATE_FORMAT_VERSION) {
        err_set(err, ERR_UNSUPPORTED, "state: format version %u, this monitor reads %u", version,
                STATE_FORMAT_VERSION);
        return NULL;
    }
    struct state_reader *r = xzalloc(sizeof(*r));
    r->buf = buf;
    r->len = len;
    r->next = 12;
    return r;
}

void
state_reader_free(struct state_reader *r)
{
    free(r);
}

int
state_reader_next(struct state_reader *r, char name[STATE_NAME_MAX + 1], uint32_t *version,
                  struct err *err)
{
    r->body = r->body_end = 0;
    r->section[0] = 0;
    if (r->next == r->len)
        return 0;
    size_t p = r->next;
    if (r->len - p < 1)
        return err_set(err, ERR_INVALID, "state: truncated section header");
    size_t n = r->buf[p];
    if (n == 0 || n > STATE_NAME_MAX || r->len - p < 1 + n + 8)
        return err_set(err, ERR_INVALID, "state: bad section header at %zu", p);
    memcpy(r->section, r->buf + p + 1, n);
    r->section[n] = 0;
    *version = (uint32_t)get_le(r->buf + p + 1 + n, 4);
    uint64_t body_len = get_le(r->buf + p + 1 + n + 4, 4);
    size_t body = p + 1 + n + 8;
    if (body_len > r->len - body)
        return err_set(err, ERR_INVALID, "state: section %s runs past the end", r->section);
    r->body = body;
    r->body_end = body + (size_t)body_len;
    r->next = r->body_end;
    memcpy(name, r->section, n + 1);
    return 1;
}

static size_t
type_size(uint8_t type)
{
    switch (type) {
    case STATE_U8:
        return 1;
    case STATE_U16:
        return 2;
    case STATE_U32:
        return 4;
    case STATE_U64:
        return 8;
    default:
        return 0;
    }
}

/* Find @field of @type in the current section; *value points at its value
 * (for bytes: at the data, with *len set). */
static int
r_find(struct state_reader *r, const char *field, enum state_type type, const uint8_t **value,
       uint32_t *len, struct err *err)
{
    size_t fl = strlen(field);
    size_t p = r->body;
    if (!r->body_end)
        return err_set(err, ERR_INTERNAL, "state: no current section");
    while (p < r->body_end) {
        if (r->body_end - p < 2)
            return err_set(err, ERR_INVALID, "state %s: truncated field", r->section);
        uint8_t t = r->buf[p];
        size_t n = r->buf[p + 1];
        if (r->body_end - p - 2 < n)
            return err_set(err, ERR_INVALID, "state %s: truncated field name", r->section);
        const uint8_t *name = r->buf + p + 2;
        size_t v = p + 2 + n;
        size_t vlen;
        if (t == STATE_BYTES) {
            if (r->body_end - v < 4)
                return err_set(err, ERR_INVALID, "state %s: truncated length", r->section);
            uint64_t bl = get_le(r->buf + v, 4);
            v += 4;
            if (bl > r->body_end - v)
                return err_set(err, ERR_INVALID, "state %s: bytes run past the section",
                               r->section);
            vlen = (size_t)bl;
        } else {
            vlen = type_size(t);
            if (!vlen)
                return err_set(err, ERR_INVALID, "state %s: unknown field type %u", r->section, t);
            if (vlen > r->body_end - v)
                return err_set(err, ERR_INVALID, "state %s: truncated value", r->section);
        }
        if (n == fl && memcmp(name, field, n) == 0) {
            if (t != type)
                return err_set(err, ERR_INVALID, "state %s.%s: type %u, expected %u", r->section,
                               field, t, type);
            *value = r->buf + v;
            if (len)
                *len = (uint32_t)vlen;
            return 0;
        }
        p = v + vlen;
    }
    return err_set(err, ERR_NOT_FOUND, "state %s: no field %s", r->section, field);
}

#define STATE_GET(fn, ctype, type, bytes)                                                          \
    int fn(struct state_reader *r, const char *field, ctype *v, struct err *err)                   \
    {                                                                                              \
        const uint8_t *p;                                                                          \
        if (r_find(r, field, type, &p, NULL, err) < 0)                                             \
            return -1;                                                                             \
        *v = (ctype)get_le(p, bytes);                                                              \
        return 0;                                                                                  \
    }

STATE_GET(state_get_u8, uint8_t, STATE_U8, 1)
STATE_GET(state_get_u16, uint16_t, STATE_U16, 2)
STATE_GET(state_get_u32, uint32_t, STATE_U32, 4)
STATE_GET(state_get_u64, uint64_t, STATE_U64, 8)

int
state_get_bool(struct state_reader *r, const char *field, bool *v, struct err *err)
{
    uint8_t b;
    if (state_get_u8(r, field, &b, err) < 0)
        return -1;
    *v = b != 0;
    return 0;
}

int
state_get_bytes(struct state_reader *r, const char *field, void *data, uint32_t len,
                struct err *err)
{
    const uint8_t *p;
    uint32_t have;
    if (r_find(r, field, STATE_BYTES, &p, &have, err) < 0)
        return -1;
    if (have != len)
        return err_set(err, ERR_INVALID, "state %s.%s: %u bytes, expected %u", r->section, field,
                       have, len);
    memcpy(data, p, len);
    return 0;
}

int
state_get_blob(struct state_reader *r, const char *field, void *data, uint32_t cap, uint32_t *len,
               struct err *err)
{
    const uint8_t *p;
    uint32_t have;
    if (r_find(r, field, STATE_BYTES, &p, &have, err) < 0)
        return -1;
    if (have > cap)
        return err_set(err, ERR_INVALID, "state %s.%s: %u bytes, at most %u", r->section, field,
                       have, cap);
    memcpy(data, p, have);
    *len = have;
    return 0;
}
