/* The daemon side of cloud-scheduler: the host cache refreshed from
 * compute_node, the claim SQL, and the bus message handlers. */
#ifndef NUBE_SCHED_SERVICE_H
#define NUBE_SCHED_SERVICE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>

#include "bus.h"
#include "db.h"
#include "scheduler.h"

/* ---- hosts.c: the cached compute_node table ---- */

struct sched_hosts {
    struct sched_host *v;
    int n;
    int cap;
    double loaded_at; /* monotonic seconds; 0 never */
};

/* Replace the cache with every compute_node row. */
int sched_hosts_load(PGconn *conn, struct sched_hosts *hosts, struct err *err);
void sched_hosts_fini(struct sched_hosts *hosts);
double sched_monotonic(void);
double sched_realtime(void);

/* ---- claim.c: the claim and its release (docs/compute-flow.md) ---- */

enum sched_claim_result {
    SCHED_CLAIM_OK,
    SCHED_CLAIM_NO_ROOM, /* another scheduler took the room meanwhile: try the next host */
    SCHED_CLAIM_GROUP,   /* a server-group member landed meanwhile: the policy forbids it */
    SCHED_CLAIM_GONE,    /* the instance is no longer waiting for a host (deleted, claimed) */
    SCHED_CLAIM_ERROR,   /* database error (@err) */
};

/* In one transaction: the guarded compute_node UPDATE, the instance_claim
 * row, and instance.host/node/task_state='spawning' (attempts + 1). For a
 * member of a hard (anti-)affinity group, the group row is locked and its
 * members' hosts checked again inside the same transaction. */
enum sched_claim_result sched_claim(PGconn *conn, const struct sched_spec *spec,
                                    const char *group_id, const char *host, struct err *err);
/* Inside the caller's transaction: delete @instance_id's claim on @host and
 * give its figures back to compute_node. *released tells whether there was one. */
int sched_claim_release(PGconn *conn, const char *instance_id, const char *host, bool *released,
                        struct err *err);

/* ---- service.c ---- */

typedef int (*sched_cast_fn)(void *opaque, const char *topic, const char *method, json_t *args,
                             struct err *err);

#define SCHED_BOOT_CACHE 512

struct sched_boot {
    char id[40];
    json_t *boot; /* {"image": ..., "kernel": ..., "ramdisk": ...} */
};

struct sched_service {
    struct sched_conf conf;
    struct db_pool *pool;
    struct bus *bus;    /* used by the default cast */
    sched_cast_fn cast; /* NULL: bus_cast on @bus */
    void *cast_opaque;
    const volatile sig_atomic_t *stop; /* set by the daemon's signal handler */
    struct sched_hosts hosts;
    struct sched_result result;
    struct sched_boot boot_cache[SCHED_BOOT_CACHE]; /* for retries */
    int boot_next;
    /* counters, for logs and the benchmark */
    long decisions, claims_lost, no_host, recasts, retries;
};

void sched_service_init(struct sched_service *svc, const struct sched_conf *conf,
                        struct db_pool *pool, struct bus *bus);
void sched_service_fini(struct sched_service *svc);

/* Schedule instance @instance_id (build_instance from the api). @args (may
 * be NULL) are the message's: its `image`, `kernel` and `ramdisk` objects
 * are forwarded to the agent (without an image: {"id": image_id}). */
enum bus_verdict sched_service_build(struct sched_service *svc, const char *instance_id,
                                     json_t *args);
/* An agent could not build @instance_id on @host: release, retry or ERROR.
 * @args: the message's (boot objects from its echoed `instance`, if any). */
enum bus_verdict sched_service_build_failed(struct sched_service *svc, const char *instance_id,
                                            const char *host, const char *reason, json_t *args);
/* The bus handler for the `scheduler` topic (@opaque: the service). */
enum bus_verdict sched_service_handle(struct bus *bus, const struct bus_msg *msg, void *opaque);

#endif
