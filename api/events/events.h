/* The consumer of the `events` queue: agents' instance updates and host
 * heartbeats, applied to PostgreSQL on a thread of cloud-api's own (not an
 * HTTP handler). docs/compute-flow.md is the contract. */
#ifndef NUBE_API_EVENTS_H
#define NUBE_API_EVENTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "error.h"
#include "server.h"

struct api_events;
/* Start the thread that consumes `events` (instance_update, host_heartbeat). */
struct api_events *api_events_start(struct api_server *srv, struct err *err);
void api_events_stop(struct api_events *ev);
/* Apply one event (the handler of the consumer, exposed for tests); @casts
 * receives the messages to send back to hosts. */
int api_events_apply(PGconn *conn, const struct api_config *cfg, const char *method, json_t *args,
                     json_t **casts, struct err *err);

#endif
