/* The router: method + path pattern -> handler, over a list of route tables.
 * Patterns are '/'-separated literal or {name} segments; matching splits the
 * path once and compares segment by segment. */
#include <string.h>

#include "api.h"
#include "mem.h"

#define API_MAX_TABLES 64

struct api_router {
    const struct api_route_table *tables[API_MAX_TABLES];
    int ntables;
};

struct api_router *
api_router_new(void)
{
    return xzalloc(sizeof(struct api_router));
}

void
api_router_free(struct api_router *r)
{
    free(r);
}

void
api_router_add(struct api_router *r, const struct api_route_table *t)
{
    if (r->ntables >= API_MAX_TABLES)
        abort(); /* a build-time list: grow the array */
    r->tables[r->ntables++] = t;
}

/* Split @buf in place into segments; -1 when there are too many or a segment
 * is "." or "..". */
static int
api_path_split(char *buf, char **segs, int *nsegs)
{
    int n = 0;
    char *p = buf;
    if (*p == '/')
        p++;
    while (*p) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        /* an empty segment (a trailing slash, or "//") is skipped */
        if (*p) {
            if (n >= API_MAX_SEGMENTS || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
                return -1;
            segs[n++] = p;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    *nsegs = n;
    return 0;
}

/* Does @pattern match @segs? Fills the parameters of @m when it does. */
static bool
api_pattern_match(const char *pattern, char **segs, int nsegs, struct api_match *m)
{
    const char *p = pattern;
    int i = 0, nparams = 0;
    if (*p == '/')
        p++;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i >= nsegs)
            return false;
        if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
            if (nparams >= API_MAX_PARAMS)
                return false;
            m->param_names[nparams] = p + 1;
            m->param_lens[nparams] = len - 2;
            m->params[nparams] = segs[i];
            nparams++;
        } else if (strlen(segs[i]) != len || memcmp(segs[i], p, len) != 0) {
            return false;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    if (i != nsegs)
        return false;
    m->nparams = nparams;
    return true;
}

static bool
api_prefix_of(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/' || n == 1);
}

int
api_router_match(const struct api_router *r, const char *method, const char *path,
                 struct api_match *m, struct err *err)
{
    memset(m, 0, sizeof(*m));
    /* the family whose prefix is the longest match speaks the error */
    size_t best = 0;
    for (int t = 0; t < r->ntables; t++) {
        const char *prefix = r->tables[t]->prefix;
        if (prefix && api_prefix_of(prefix, path) && (!m->table || strlen(prefix) > best)) {
            m->table = r->tables[t];
            best = strlen(prefix);
        }
    }
    if (strlen(path) >= sizeof(m->buf))
        return err_set(err, ERR_NOT_FOUND, "The resource could not be found.");
    char *segs[API_MAX_SEGMENTS];
    int nsegs = 0;
    strcpy(m->buf, path);
    if (api_path_split(m->buf, segs, &nsegs) < 0)
        return err_set(err, ERR_NOT_FOUND, "The resource could not be found.");

    bool path_known = false;
    const struct api_route *head_fallback = NULL;
    const struct api_route_table *head_table = NULL;
    struct api_match fallback;
    for (int t = 0; t < r->ntables; t++) {
        const struct api_route_table *tab = r->tables[t];
        for (size_t i = 0; i < tab->nroutes; i++) {
            const struct api_route *route = &tab->routes[i];
            struct api_match cand;
            if (!api_pattern_match(route->pattern, segs, nsegs, &cand))
                continue;
            path_known = true;
            if (strcmp(route->method, method) == 0) {
                m->route = route;
                m->table = tab;
                m->nparams = cand.nparams;
                memcpy(m->param_names, cand.param_names, sizeof(m->param_names));
                memcpy(m->param_lens, cand.param_lens, sizeof(m->param_lens));
                memcpy(m->params, cand.params, sizeof(m->params));
                return 0;
            }
            if (!head_fallback && strcmp(method, "HEAD") == 0 &&
                strcmp(route->method, "GET") == 0) {
                head_fallback = route;
                head_table = tab;
                fallback = cand;
            }
        }
    }
    if (head_fallback) {
        m->route = head_fallback;
        m->table = head_table;
        m->nparams = fallback.nparams;
        memcpy(m->param_names, fallback.param_names, sizeof(m->param_names));
        memcpy(m->param_lens, fallback.param_lens, sizeof(m->param_lens));
        memcpy(m->params, fallback.params, sizeof(m->params));
        return 0;
    }
    if (path_known)
        return err_set(err, ERR_NOT_ALLOWED, "The method %s is not allowed for the resource.",
                       method);
    return err_set(err, ERR_NOT_FOUND, "The resource could not be found.");
}

const char *
api_match_param(const struct api_match *m, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < m->nparams; i++)
        if (m->param_lens[i] == n && memcmp(m->param_names[i], name, n) == 0)
            return m->params[i];
    return NULL;
}
