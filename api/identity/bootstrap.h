/* Set-up commands of cloud-api (bootstrap.c). */
#ifndef NUBE_API_BOOTSTRAP_H
#define NUBE_API_BOOTSTRAP_H

#include "config.h"
#include "server.h"

/* Migrate, then create (idempotently) the default domain, roles, the admin
 * project and user, and the catalog. @raw supplies the [catalog] section. */
int api_bootstrap(const struct api_config *cfg, const struct config *raw,
                  const char *admin_password, struct err *err);

#endif
