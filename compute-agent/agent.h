/* The agent: its configuration, driver, the records of the instances it
 * hosts, and the roles that act on them (ops.c: bus handlers; reconcile.c:
 * start-up and periodic state sync; heartbeat.c). Single-threaded: every
 * handler, sync and heartbeat runs on the thread inside bus_run(). */
#ifndef NUBE_COMPUTE_AGENT_H
#define NUBE_COMPUTE_AGENT_H

#include <jansson.h>
#include <stdint.h>

#include "compute.h"
#include "disk.h"
#include "driver.h"
#include "metrics.h"

/* What the agent last knew and reported of one instance, kept in
 * <instances_dir>/<id>/instance.json so a restarted agent still knows. */
struct agent_record {
    char id[37];
    char vm_state[16];    /* building, active, stopped, paused, suspended, error */
    int power_state;      /* enum compute_power, as last reported */
    bool suspend_paused;  /* suspended without managed save: vCPUs paused */
    char launched_at[32]; /* ISO 8601 UTC, "" before the first start */
    json_t *spec;         /* the instance object (no token) */
};

/* How events leave the agent: bus_cast on the real bus; tests collect them. */
typedef int (*agent_emit_fn)(void *opaque, const char *topic, const char *method, json_t *args,
                             struct err *err);

struct agent {
    struct compute_config cfg;
    struct compute_driver *drv;
    struct compute_driver_caps caps;
    char virt_type[16];       /* the <domain type> of new domains */
    char domain_types[8][16]; /* reported in heartbeats */
    size_t ndomain_types;
    enum disk_kind disk_kind;
    agent_emit_fn emit;
    void *emit_opaque;
    int64_t last_seq;
    struct agent_record *recs;
    size_t nrecs, caprecs;
    char (*unknown)[37]; /* nube-* domains with no record: reported, not touched */
    size_t nunknown;
    double next_heartbeat; /* monotonic seconds */
    struct power_meter power;
    struct host_cpu_sample cpu;
    char started_at[32];
};

/* Open the driver, probe the domain types and pick the one for new domains
 * ([compute] domain_type auto: kvm where the host CPU can run stock kernels on
 * it, else qemu, else the first type listed). Takes @cfg. */
int agent_init(struct agent *a, struct compute_config *cfg_take, agent_emit_fn emit,
               void *emit_opaque, struct err *err);
void agent_fini(struct agent *a);

/* ---- record.c ---- */
struct agent_record *agent_record_find(struct agent *a, const char *id);
struct agent_record *agent_record_add(struct agent *a, const char *id, json_t *spec_take);
void agent_record_drop(struct agent *a, const char *id);
int agent_record_save(struct agent *a, const struct agent_record *r, struct err *err);
/* Read every <instances_dir>/<uuid>/instance.json. */
int agent_records_load(struct agent *a, struct err *err);
char *agent_instance_dir(const struct agent *a, const char *id);
char *agent_instance_file(const struct agent *a, const char *id, const char *name);
bool agent_tombstone_exists(const struct agent *a, const char *id);
int agent_tombstone_add(const struct agent *a, const char *id, struct err *err);
/* Remove tombstones older than @max_age_s. */
void agent_tombstones_prune(const struct agent *a, long max_age_s);

/* ---- events (ops.c) ---- */
/* The next event sequence number: nanoseconds since the epoch, strictly increasing. */
int64_t agent_next_seq(struct agent *a);
/* Send instance_update for @id and remember the state in its record (if any).
 * @task_state may be NULL, @fault_msg NULL for none. */
int agent_report(struct agent *a, const char *id, const char *vm_state, const char *task_state,
                 int power_state, const char *fault_msg, struct err *err);

/* ---- ops.c: the bus methods ---- */
enum agent_result {
    AGENT_DONE,  /* acknowledge */
    AGENT_RETRY, /* transient (the bus was down): deliver again */
    AGENT_BAD,   /* malformed: dead-letter */
};
/* Run @method with @args; a call's answer goes to *reply (caller decrefs), or
 * its error to @err with AGENT_BAD / AGENT_DONE and *reply NULL. */
enum agent_result agent_dispatch(struct agent *a, const char *method, const json_t *args,
                                 json_t **reply, struct err *err);
bool agent_method_is_call(const char *method);
/* Build the domain XML of a record's spec and define it (used by start after
 * a lost definition, and by reconcile). */
int agent_define(struct agent *a, struct agent_record *r, const json_t *msg, struct err *err);

/* ---- reconcile.c ---- */
/* Compare libvirt's domains with the records: report every state that
 * changed (all of them when @force), redefine lost definitions, destroy
 * domains of tombstoned instances, collect unknown nube-* domains. */
int agent_sync(struct agent *a, bool force, struct err *err);

/* ---- heartbeat.c ---- */
/* The host_heartbeat args: capacity, usage, domain types, energy, instances. */
json_t *agent_heartbeat_build(struct agent *a, double now_mono);
int agent_heartbeat_send(struct agent *a, struct err *err);
/* Send the heartbeat if it is due (from inside long operations too). */
void agent_heartbeat_tick(struct agent *a);
/* The disk configuration, with the heartbeat tick as its progress callback. */
struct disk_config agent_disk_config(struct agent *a);

#endif
