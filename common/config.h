/* INI configuration (libinih). Every daemon takes --config FILE; values can be
 * overridden from the command line with config_set(). */
#ifndef NUBE_COMMON_CONFIG_H
#define NUBE_COMMON_CONFIG_H

#include <stdbool.h>

#include "error.h"

struct config;

struct config *config_new(void);
/* Load @path into a new config. A syntax error names the line. */
struct config *config_load(const char *path, struct err *err);
void config_free(struct config *cfg);

/* Set (or replace) section.key. */
void config_set(struct config *cfg, const char *section, const char *key, const char *value);
/* The value of section.key, or @dflt when it is absent. */
const char *config_get(const struct config *cfg, const char *section, const char *key,
                       const char *dflt);
/* Integer and boolean values; a malformed value is an error that names the key. */
int config_get_long(const struct config *cfg, const char *section, const char *key, long dflt,
                    long *out, struct err *err);
int config_get_double(const struct config *cfg, const char *section, const char *key, double dflt,
                      double *out, struct err *err);
int config_get_bool(const struct config *cfg, const char *section, const char *key, bool dflt,
                    bool *out, struct err *err);

#endif
