/* Host side of a guest NIC: tap devices, and their bridge ports. */
#ifndef NUBE_HVD_TAP_H
#define NUBE_HVD_TAP_H

#include <stdbool.h>

#include "rpc.h"

bool tap_exists(const char *name);
/* Pick a free "vnetN" name. */
void tap_pick_name(char out[16]);
/* Create a persistent tap @name (which must not exist). */
int tap_create(const char *name, struct rpc_error *e);
int tap_delete(const char *name);
/* Bring @name up and, if @bridge is not NULL, make it a port of @bridge. */
int tap_plug(const char *name, const char *bridge, struct rpc_error *e);
/* Interface counters from /sys/class/net/<name>/statistics/<counter>. */
long long tap_counter(const char *name, const char *counter);

#endif
