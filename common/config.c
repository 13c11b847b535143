#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

struct config_entry {
    char *section;
    char *key;
    char *value;
};

struct config {
    struct config_entry *entries;
    size_t n, cap;
};

struct config *
config_new(void)
{
    return xzalloc(sizeof(struct config));
}

void
config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->entries[i].section);
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    free(cfg->entries);
    free(cfg);
}

static struct config_entry *
config_find(const struct config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 && strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

void
config_set(struct config *cfg, const char *section, const char *key, const char *value)
{
    struct config_entry *e = config_find(cfg, section, key);
    if (e) {
        free(e->value);
        e->value = xstrdup(value);
        return;
    }
    if (cfg->n == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 16;
        cfg->entries = xrealloc(cfg->entries, cfg->cap * sizeof(*cfg->entries));
    }
    cfg->entries[cfg->n++] = (struct config_entry){xstrdup(section), xstrdup(key), xstrdup(value)};
}

static int
config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    config_set(user, section, name, value);
    return 1;
}

struct config *
config_load(const char *path, struct err *err)
{
    struct config *cfg = config_new();
    int rc = ini_parse(path, config_ini_handler, cfg);
    if (rc == -1) {
        err_set_errno(err, ERR_IO, errno, "cannot open config file %s", path);
        goto fail;
    }
    if (rc != 0) {
        err_set(err, ERR_INVALID, "config file %s: syntax error on line %d", path, rc);
        goto fail;
    }
    return cfg;
fail:
    config_free(cfg);
    return NULL;
}

const char *
config_get(const struct config *cfg, const char *section, const char *key, const char *dflt)
{
    const struct config_entry *e = cfg ? config_find(cfg, section, key) : NULL;
    return e ? e->value : dflt;
}

int
config_get_long(const struct config *cfg, const char *section, const char *key, long dflt,
                long *out, struct err *err)
{
    const char *v = config_get(cfg, section, key, NULL);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 0);
    if (errno || end == v || *end)
        return err_set(err, ERR_INVALID, "config [%s] %s: '%s' is not an integer", section, key, v);
    *out = n;
    return 0;
}

int
config_get_double(const struct config *cfg, const char *section, const char *key, double dflt,
                  double *out, struct err *err)
{
    const char *v = config_get(cfg, section, key, NULL);
    if (!v) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end)
        return err_set(err, ERR_INVALID, "config [%s] %s: '%s' is not a number", section, key, v);
    *out = d;
    return 0;
}

int
config_get_bool(const struct config *cfg, const char *section, const char *key, bool dflt,
                bool *out, struct err *err)
{
    const char *v = config_get(cfg, section, key, NULL);
    if (!v) {
        *out = dflt;
        return 0;
    }
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return err_set(err, ERR_INVALID, "config [%s] %s: '%s' is not a boolean", section, key, v);
}
