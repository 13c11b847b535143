/* Host side of a guest NIC: tap devices, and their bridge ports. */
#ifndef NUBE_HVD_TAP_H
#define NUBE_HVD_TAP_H

#include <stdbool.h>

#include "rpc.h"

bool tap_exists(const char *name);
/* Pick a free "vnetN" name. */
void tap_pick_name(char out[16]);
/* Create a persistent tap @name (which must not exist), owned by @owner
 * (-1: root only) so that an unprivileged monitor can attach to it. */
int tap_create(const char *name, long owner, struct rpc_error *e);
int tap_delete(const char *name);
/* Open the existing tap @name for a monitor (IFF_VNET_HDR); -1 and @e on failure. */
int tap_attach(const char *name, struct rpc_error *e);
/* Bring @name up and, if @bridge is not NULL, make it a port of @bridge. */
int tap_plug(const char *name, const char *bridge, struct rpc_error *e);
/* Interface counters from /sys/class/net/<name>/statistics/<counter>. */
long long tap_counter(const char *name, const char *counter);

#endif
