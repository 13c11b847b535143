/* The token revocation list, cached in memory. Events are loaded
 * incrementally (id > the last seen) at most every refresh interval, and at
 * once after this process records one; an event older than the longest token
 * lifetime can match no valid token and is dropped. */
#include <pthread.h>
#include <string.h>

#include "db.h"
#include "identity.h"
#include "log.h"
#include "mem.h"
#include "server.h"

struct revoke_event {
    int64_t id;
    char audit_id[TOKEN_AUDIT_STR];
    char user_id[TOKEN_ID_MAX + 1];
    char project_id[TOKEN_ID_MAX + 1];
    int64_t before_us;
};

struct revoke_cache {
    pthread_mutex_t lock;
    struct revoke_event *events;
    size_t n, cap;
    int64_t last_id;
    int64_t refreshed_us; /* 0: never */
    int64_t pruned_us;
    long refresh_ms;
    long max_age_s;
};

struct revoke_cache *
revoke_cache_new(long refresh_ms, long max_age_s)
{
    struct revoke_cache *c = xzalloc(sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->refresh_ms = refresh_ms;
    c->max_age_s = max_age_s;
    return c;
}

void
revoke_cache_free(struct revoke_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->events);
    free(c);
}

static void
copy_field(char *dst, size_t cap, const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    strlcpy_n(dst, s ? s : "", cap);
}

/* With c->lock held. */
static int
revoke_refresh_locked(struct revoke_cache *c, PGconn *conn, int64_t now_us, struct err *err)
{
    json_t *rows = db_revocation_list(conn, c->last_id, err);
    if (!rows)
        return -1;
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        int64_t id = json_integer_value(json_object_get(row, "id"));
        bool have = false;
        for (size_t k = 0; id <= c->last_id && k < c->n && !have; k++)
            have = c->events[k].id == id;
        if (have)
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->events = xrealloc(c->events, c->cap * sizeof(*c->events));
        }
        struct revoke_event *e = &c->events[c->n++];
        e->id = id;
        e->before_us = json_integer_value(json_object_get(row, "issued_before_us"));
        copy_field(e->audit_id, sizeof(e->audit_id), row, "audit_id");
        copy_field(e->user_id, sizeof(e->user_id), row, "user_id");
        copy_field(e->project_id, sizeof(e->project_id), row, "project_id");
        if (e->id > c->last_id)
            c->last_id = e->id;
    }
    json_decref(rows);
    /* drop what no live token can match */
    int64_t horizon = now_us - (int64_t)c->max_age_s * 1000000 - 60 * 1000000LL;
    size_t keep = 0;
    for (i = 0; i < c->n; i++)
        if (c->events[i].before_us >= horizon)
            c->events[keep++] = c->events[i];
    c->n = keep;
    if (now_us - c->pruned_us > 600 * 1000000LL) {
        struct err perr = ERR_INIT;
        if (db_revocation_prune(conn, c->max_age_s + 60, &perr) < 0)
            log_warn("pruning revocation events: %s", perr.msg);
        c->pruned_us = now_us;
    }
    c->refreshed_us = now_us;
    return 0;
}

static int
revoke_refresh(struct api_server *srv, PGconn *conn, bool force, struct err *err)
{
    struct revoke_cache *c = srv->revoke;
    int64_t now = api_now_us();
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    if (force || c->refreshed_us == 0 || now - c->refreshed_us >= c->refresh_ms * 1000) {
        PGconn *own = NULL;
        if (!conn)
            conn = own = db_pool_acquire(srv->db, err);
        rc = conn ? revoke_refresh_locked(c, conn, now, err) : -1;
        if (own)
            db_pool_release(srv->db, own);
    }
    pthread_mutex_unlock(&c->lock);
    if (rc < 0)
        err_prefix(err, "reading the token revocation list");
    return rc;
}

int
revoke_check(struct api_server *srv, const struct token_payload *p, bool *revoked, struct err *err)
{
    *revoked = false;
    if (revoke_refresh(srv, NULL, false, err) < 0) {
        err->code = ERR_UNAVAILABLE;
        return -1;
    }
    char audit[TOKEN_AUDIT_STR], parent[TOKEN_AUDIT_STR] = "";
    token_audit_str(p->audit, audit);
    if (p->has_parent)
        token_audit_str(p->parent_audit, parent);
    struct revoke_cache *c = srv->revoke;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n && !*revoked; i++) {
        const struct revoke_event *e = &c->events[i];
        if (e->audit_id[0] && (strcmp(e->audit_id, audit) == 0 || strcmp(e->audit_id, parent) == 0))
            *revoked = true;
        else if (!e->audit_id[0] && p->issued_us <= e->before_us &&
                 (!e->user_id[0] || strcmp(e->user_id, p->user_id) == 0) &&
                 (!e->project_id[0] || strcmp(e->project_id, p->project_id) == 0))
            *revoked = true;
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int
revoke_add(struct api_server *srv, PGconn *conn, const char *audit_id, const char *user_id,
           const char *project_id, struct err *err)
{
    if (db_revocation_add(conn, audit_id, user_id, project_id, api_now_us(), err) < 0)
        return err_prefix(err, "recording a token revocation");
    return revoke_refresh(srv, conn, true, err);
}
